"""The monthly safety index: indicator values → scores → sub-indices → composite, rank, change, uncertainty.

Pure: takes this month's indicator values, the methodology of the month, and the history the
warehouse already holds (earlier months' index rows and indicator scores); returns the rows of
`safety_index` and of `indicator_values` for the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

import numpy as np
import polars as pl

from indicators.engine import Node, Structure, aggregate, normalise, rank
from indicators.methodology import Methodology
from indicators.values import Z95
from indicators.warnings import early_warnings, warning_text  # noqa: F401 - importable from here as before
from nsi.month import Month
from nsi.reference import CITY_CODE, Reference

ROOT = "NSI"


def structure_of(methodology: Methodology, weights: dict[str, float] | None = None) -> Structure:
    rows = methodology.structure_rows()
    return Structure([Node(r["code"], r["parent"], (weights or {}).get(r["code"], r["weight"]), r["direction"],
                           r["goal_lo"], r["goal_hi"]) for r in rows])


@dataclass
class MonthIndex:
    index: pl.DataFrame  # safety_index rows
    indicators: pl.DataFrame  # indicator_values rows, with score, weight and contribution


def _matrix(values: pl.DataFrame, units: list[str], codes: list[str], column: str = "value") -> np.ndarray:
    lookup = {(r["code"], r["indicator"]): r[column] for r in values.iter_rows(named=True)}
    return np.array([[np.nan if lookup.get((u, c)) is None else lookup[(u, c)] for c in codes] for u in units], float)


def geometric_scores(scores: np.ndarray, methodology: Methodology) -> np.ndarray:
    """Scores on 0..100 as the aggregation takes them: geometric means need them mapped onto a positive range."""
    if methodology.aggregation == "geometric":
        low, high = methodology.geometric_range
        return low + scores * ((high - low) / 100)
    return scores


def _scores(raw: np.ndarray, structure: Structure, methodology: Methodology, method: str = "goalposts") -> np.ndarray:
    return geometric_scores(normalise(raw, structure, method), methodology)


def aggregate_scores(scores: np.ndarray, structure: Structure, methodology: Methodology):
    return aggregate(scores, structure, methodology.aggregation, methodology.missing.rule,
                     methodology.missing.min_weight_present)


def rank_intervals(raw: np.ndarray, se: np.ndarray, methodology: Methodology, seed: int) -> np.ndarray:
    """The methodology's three percentiles of each district's rank over a seeded Monte Carlo.

    Each draw perturbs every weight by a factor 1 + U(−jitter, jitter) (renormalised among siblings,
    as COINr's noisy weights), redraws the survey indicators within their sampling error, and picks
    a normalisation with the methodology's chances.
    """
    mc = methodology.monte_carlo
    edges = list(zip(mc.normalisations, accumulate(mc.normalisations.values())))
    rng = np.random.default_rng(seed)
    base = structure_of(methodology)
    ranks = np.zeros((mc.draws, raw.shape[0]), dtype=int)
    for draw in range(mc.draws):
        weights = {n.code: n.weight * (1 + rng.uniform(-mc.weight_jitter, mc.weight_jitter)) for n in base.nodes}
        structure = structure_of(methodology, weights)
        values = raw + np.where(np.isfinite(se), rng.standard_normal(raw.shape) * np.nan_to_num(se), 0.0)
        u = rng.random()
        # The last alternative also takes a u that the rounding of the chances left above every edge.
        method = next((m for m, edge in edges if u < edge), edges[-1][0])
        scores = _scores(values, structure, methodology, method)
        ranks[draw] = rank(aggregate_scores(scores, structure, methodology).values[ROOT])
    return np.percentile(ranks, list(mc.percentiles), axis=0, method="nearest").T


def missing_text(missing: list[str], methodology: Methodology) -> str:
    """Which indicators had no value, and what the methodology's missing-data rule did about it."""
    if methodology.missing.rule == "reweight":
        rule = "其余指标按权重重新归一"
    else:
        rule = f"现有权重不足{methodology.missing.min_weight_present:.0%}的分项不予计算"
    return f"缺值指标 {'、'.join(missing)}（{rule}）"


def compute_month(month: Month, values: pl.DataFrame, methodology: Methodology, reference: Reference,
                  previous_index: pl.DataFrame, previous_indicators: pl.DataFrame, history: pl.DataFrame) -> MonthIndex:
    """previous_index / previous_indicators: rows of last month and of the same month last year (may be empty)."""
    units = [*reference.district_codes, CITY_CODE]
    structure = structure_of(methodology)
    codes = structure.indicators
    raw = _matrix(values, units, codes)
    scores = _scores(raw, structure, methodology)
    result = aggregate_scores(scores, structure, methodology)
    districts = len(reference.district_codes)
    composite = result.values[ROOT]
    ranks = rank(composite[:districts])

    ci = _matrix(values, units, codes, "ci_high"), _matrix(values, units, codes, "ci_low")
    se = (ci[0] - ci[1]) / (2 * Z95)  # NaN but for the survey indicators, the only ones with an interval
    seed = int(month.key.replace("-", ""))
    intervals = rank_intervals(raw[:districts], se[:districts], methodology, seed)

    last, last_year = month.previous().key, month.year_before().key

    def previous_of(frame: pl.DataFrame, key: str, column: str) -> dict:
        rows = frame.filter(pl.col("month") == key)
        return {r["code"]: r[column] for r in rows.iter_rows(named=True)} if rows.height else {}

    composite_last = previous_of(previous_index, last, "composite")
    composite_year = previous_of(previous_index, last_year, "composite")
    # Contributions to the change on last month: eᵢ(now)·Δsᵢ, plus re-weighting when the set of
    # indicators present changed, so the parts add up exactly to the change (see engine.decompose).
    last_rows = previous_indicators.filter(pl.col("month") == last)
    last_score = {(r["code"], r["indicator"]): r["score"] for r in last_rows.iter_rows(named=True)}
    warnings = early_warnings(values, history, methodology)

    indicator_rows, index_rows = [], []
    for u, code in enumerate(units):
        change = composite[u] - composite_last[code] if composite_last.get(code) is not None else None
        explained = 0.0
        for j, indicator in enumerate(codes):
            s1, e1 = scores[u, j], result.effective_weights[u, j]
            s0 = last_score.get((code, indicator))
            contribution = None
            if change is not None and np.isfinite(s1) and s0 is not None and np.isfinite(s0):
                if methodology.aggregation == "arithmetic":
                    contribution = float(e1 * (s1 - s0))
                else:
                    dlog = np.log(composite[u]) - np.log(composite_last[code])
                    mean = change / dlog if abs(dlog) > 1e-12 else composite[u]
                    contribution = float(e1 * (np.log(s1) - np.log(s0)) * mean)
                explained += contribution
            row = values.filter((pl.col("code") == code) & (pl.col("indicator") == indicator)).row(0, named=True)
            indicator_rows.append({**row, "name": reference.name(code),
                                   "score": None if not np.isfinite(s1) else float(s1),
                                   "effective_weight": None if not np.isfinite(e1) else float(e1),
                                   "contribution_mom": contribution,
                                   "warning": warnings.get((code, indicator)),
                                   "methodology_version": methodology.version})
        missing = [codes[j] for j in range(len(codes)) if not np.isfinite(scores[u, j])]
        flags = [missing_text(missing, methodology)] if missing else []
        flags += [f"{codes[j]} {methodology.indicator(codes[j]).name_zh}：{warnings[(code, codes[j])]}"
                  for j in range(len(codes)) if (code, codes[j]) in warnings]
        is_district = u < districts
        index_rows.append({
            "month": month.key, "code": code, "name": reference.name(code),
            "composite": _finite(composite[u]),
            **{s.code: _finite(result.values[s.code][u]) for s in methodology.sub_indices},
            "rank": int(ranks[u]) if is_district and ranks[u] else None,
            "rank_p05": int(intervals[u, 0]) if is_district else None,
            "rank_p50": int(intervals[u, 1]) if is_district else None,
            "rank_p95": int(intervals[u, 2]) if is_district else None,
            "change_mom": _finite(change),
            "change_yoy": _finite(composite[u] - composite_year[code]) if composite_year.get(code) is not None else None,
            "reweighting_mom": _finite(change - explained) if change is not None else None,
            "methodology_version": methodology.version,
            "flags": "；".join(flags) or None,
        })
    return MonthIndex(pl.DataFrame(index_rows, schema=INDEX_SCHEMA(methodology)),
                      pl.DataFrame(indicator_rows, schema=INDICATOR_SCHEMA))


def _finite(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def INDEX_SCHEMA(methodology: Methodology) -> dict:  # noqa: N802 - a schema, named like a constant
    return {"month": pl.Utf8, "code": pl.Utf8, "name": pl.Utf8, "composite": pl.Float64,
            **{s.code: pl.Float64 for s in methodology.sub_indices},
            "rank": pl.Int64, "rank_p05": pl.Int64, "rank_p50": pl.Int64, "rank_p95": pl.Int64,
            "change_mom": pl.Float64, "change_yoy": pl.Float64, "reweighting_mom": pl.Float64,
            "methodology_version": pl.Utf8, "flags": pl.Utf8}


INDICATOR_SCHEMA = {
    "month": pl.Utf8, "code": pl.Utf8, "indicator": pl.Utf8, "numerator": pl.Float64, "denominator": pl.Float64,
    "value": pl.Float64, "value_raw": pl.Float64, "n": pl.Int64, "ci_low": pl.Float64, "ci_high": pl.Float64, "population": pl.Int64,
    "population_year": pl.Int64, "population_scale": pl.Float64, "flag": pl.Utf8, "name": pl.Utf8,
    "score": pl.Float64, "effective_weight": pl.Float64, "contribution_mom": pl.Float64, "warning": pl.Utf8,
    "methodology_version": pl.Utf8,
}
