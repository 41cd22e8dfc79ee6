"""The monthly safety index: indicator values → scores → sub-indices → composite, rank, change, uncertainty.

Pure: takes this month's indicator values, the methodology of the month, and the history the
warehouse already holds (earlier months' index rows and indicator scores); returns the rows of
`safety_index` and of `indicator_values` for the month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from indicators.engine import Node, Structure, aggregate, normalise, rank
from indicators.methodology import Methodology
from indicators.uncertainty import (
    MonthArrays,
    geometric_scores,
    rank_intervals,  # noqa: F401 - v1's rank intervals, read here by their callers
    seed_of,
    simulate,
)
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
    uncertainty: pl.DataFrame  # index_uncertainty rows
    draws: pl.DataFrame  # monte_carlo_draws rows


def _matrix(values: pl.DataFrame, units: list[str], codes: list[str], column: str = "value") -> np.ndarray:
    lookup = {(r["code"], r["indicator"]): r[column] for r in values.iter_rows(named=True)}
    return np.array([[np.nan if lookup.get((u, c)) is None else lookup[(u, c)] for c in codes] for u in units], float)


def _scores(raw: np.ndarray, structure: Structure, methodology: Methodology, method: str = "goalposts") -> np.ndarray:
    return geometric_scores(normalise(raw, structure, method), methodology)


def aggregate_scores(scores: np.ndarray, structure: Structure, methodology: Methodology):
    return aggregate(scores, structure, methodology.aggregation, methodology.missing.rule,
                     methodology.missing.min_weight_present)


def missing_text(missing: list[str], methodology: Methodology) -> str:
    """Which indicators had no value, and what the methodology's missing-data rule did about it."""
    if methodology.missing.rule == "reweight":
        rule = "其余指标按权重重新归一"
    else:
        rule = f"现有权重不足{methodology.missing.min_weight_present:.0%}的分项不予计算"
    return f"缺值指标 {'、'.join(missing)}（{rule}）"


def unranked_text(subs: list[str], missing: list[str], methodology: Methodology) -> str:
    """Why a district has no rank: a sub-index with no indicator (or, under `withhold`, too little weight) present."""
    parts = []
    for sub in (s for s in methodology.sub_indices if s.code in subs):
        empty = all(i.code in missing for i in sub.indicators)
        parts.append(f"分项{sub.code} {sub.name_zh}{'全部缺值' if empty else '不予计算'}")
    return f"{'、'.join(parts)}，不参与排名"


def scored_month(values: pl.DataFrame, methodology: Methodology, reference: Reference) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A month's composites (safety_index rows: month, code, composite, sub-indices) and indicator rows with
    their scores, computed under `methodology`: what a month computed under another version compares as."""
    units = [*reference.district_codes, CITY_CODE]
    structure = structure_of(methodology)
    codes = structure.indicators
    scores = _scores(_matrix(values, units, codes), structure, methodology)
    result = aggregate_scores(scores, structure, methodology)
    month = values["month"][0] if values.height else None
    index = pl.DataFrame([{"month": month, "code": code, "composite": _finite(result.values[ROOT][u]),
                           **{s.code: _finite(result.values[s.code][u]) for s in methodology.sub_indices},
                           "methodology_version": methodology.version} for u, code in enumerate(units)])
    score = pl.DataFrame([{"code": code, "indicator": indicator, "score": _finite(scores[u, j])}
                          for u, code in enumerate(units) for j, indicator in enumerate(codes)],
                         schema={"code": pl.Utf8, "indicator": pl.Utf8, "score": pl.Float64})
    indicators = values.join(score, on=["code", "indicator"], how="left").with_columns(
        pl.lit(methodology.version).alias("methodology_version"))
    return index, indicators


def compute_month(month: Month, values: pl.DataFrame, methodology: Methodology, reference: Reference,
                  previous_index: pl.DataFrame, previous_indicators: pl.DataFrame, history: pl.DataFrame,
                  comparison_recomputed: list[str] | tuple = ()) -> MonthIndex:
    """previous_index / previous_indicators: rows of last month and of the same month last year (may be
    empty), computed under this month's methodology (recomputed by the caller when they were not, and
    named in `comparison_recomputed`); history: indicator rows of the trailing months, likewise."""
    units = [*reference.district_codes, CITY_CODE]
    structure = structure_of(methodology)
    codes = structure.indicators
    raw = _matrix(values, units, codes)
    scores = _scores(raw, structure, methodology)
    result = aggregate_scores(scores, structure, methodology)
    districts = len(reference.district_codes)
    composite = result.values[ROOT]
    # A district with a whole sub-index missing is not comparable with the others: it is not ranked.
    missing_subs = [[s.code for s in methodology.sub_indices if not np.isfinite(result.values[s.code][u])]
                    for u in range(len(units))]
    ranked = np.array([not missing_subs[u] for u in range(districts)])
    ranks = rank(np.where(ranked, composite[:districts], np.nan))

    last, last_year = month.previous().key, month.year_before().key

    def previous_of(frame: pl.DataFrame, key: str, column: str) -> dict:
        rows = frame.filter(pl.col("month") == key)
        return {r["code"]: r[column] for r in rows.iter_rows(named=True)} if rows.height else {}

    def arrays_of(key: str) -> MonthArrays | None:
        rows = previous_indicators.filter(pl.col("month") == key)
        if not rows.height or not previous_index.filter(pl.col("month") == key).height:
            return None
        return MonthArrays.of(rows, units, codes)

    simulation = simulate(methodology, structure, seed_of(month.key), units, districts, MonthArrays.of(values, units, codes),
                          arrays_of(last), arrays_of(last_year), ranked)
    intervals = simulation.rank_percentiles(methodology.monte_carlo.percentiles)

    composite_last = previous_of(previous_index, last, "composite")
    composite_year = previous_of(previous_index, last_year, "composite")
    # Contributions to the change on last month: eᵢ(now)·Δsᵢ, plus re-weighting when the set of
    # indicators present changed, so the parts add up exactly to the change (see engine.decompose).
    last_rows = previous_indicators.filter(pl.col("month") == last)
    last_score = {(r["code"], r["indicator"]): r["score"] for r in last_rows.iter_rows(named=True)}
    warnings = early_warnings(values, history, methodology)
    row_of = {(r["code"], r["indicator"]): r for r in values.iter_rows(named=True)}

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
            indicator_rows.append({**row_of[(code, indicator)], "name": reference.name(code),
                                   "score": None if not np.isfinite(s1) else float(s1),
                                   "effective_weight": None if not np.isfinite(e1) else float(e1),
                                   "contribution_mom": contribution,
                                   "warning": warnings.get((code, indicator)),
                                   "methodology_version": methodology.version})
        missing = [codes[j] for j in range(len(codes)) if not np.isfinite(scores[u, j])]
        flags = [missing_text(missing, methodology)] if missing else []
        is_district = u < districts
        if is_district and missing_subs[u]:
            flags.append(unranked_text(missing_subs[u], missing, methodology))
        flags += [f"{codes[j]} {methodology.indicator(codes[j]).name_zh}：{warnings[(code, codes[j])]}"
                  for j in range(len(codes)) if (code, codes[j]) in warnings]
        in_ranking = is_district and bool(ranked[u])
        index_rows.append({
            "month": month.key, "code": code, "name": reference.name(code),
            "composite": _finite(composite[u]),
            **{s.code: _finite(result.values[s.code][u]) for s in methodology.sub_indices},
            "rank": int(ranks[u]) if in_ranking and ranks[u] else None,
            "rank_p05": int(intervals[u, 0]) if in_ranking else None,
            "rank_p50": int(intervals[u, 1]) if in_ranking else None,
            "rank_p95": int(intervals[u, 2]) if in_ranking else None,
            "change_mom": _finite(change),
            "change_yoy": _finite(composite[u] - composite_year[code]) if composite_year.get(code) is not None else None,
            "reweighting_mom": _finite(change - explained) if change is not None else None,
            "comparison_recomputed": ",".join(comparison_recomputed) or None,
            "methodology_version": methodology.version,
            "flags": "；".join(flags) or None,
        })
    return MonthIndex(pl.DataFrame(index_rows, schema=INDEX_SCHEMA(methodology)),
                      pl.DataFrame(indicator_rows, schema=INDICATOR_SCHEMA),
                      simulation.rows(month.key, methodology),
                      simulation.parameters.rows(month.key, methodology.version))


def _finite(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def INDEX_SCHEMA(methodology: Methodology) -> dict:  # noqa: N802 - a schema, named like a constant
    return {"month": pl.Utf8, "code": pl.Utf8, "name": pl.Utf8, "composite": pl.Float64,
            **{s.code: pl.Float64 for s in methodology.sub_indices},
            "rank": pl.Int64, "rank_p05": pl.Int64, "rank_p50": pl.Int64, "rank_p95": pl.Int64,
            "change_mom": pl.Float64, "change_yoy": pl.Float64, "reweighting_mom": pl.Float64,
            "comparison_recomputed": pl.Utf8, "methodology_version": pl.Utf8, "flags": pl.Utf8}


INDICATOR_SCHEMA = {
    "month": pl.Utf8, "code": pl.Utf8, "indicator": pl.Utf8, "numerator": pl.Float64, "denominator": pl.Float64,
    "value": pl.Float64, "value_raw": pl.Float64, "n": pl.Int64, "ci_low": pl.Float64, "ci_high": pl.Float64, "population": pl.Int64,
    "population_year": pl.Int64, "population_scale": pl.Float64, "flag": pl.Utf8, "name": pl.Utf8,
    "score": pl.Float64, "effective_weight": pl.Float64, "contribution_mom": pl.Float64, "warning": pl.Utf8,
    "methodology_version": pl.Utf8,
}
