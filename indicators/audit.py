"""A statistical audit of a methodology on the district-months of a range (`nsi audit`).

What the committee reads before approving a methodology version, in the steps of the JRC/COINr
audit: the distribution of each indicator (share of scores at the goalposts, skew and kurtosis with
COINr's treatment rule), correlations within and between levels with flags, Cronbach's α and
principal components of each sub-index, the importance the data gives each sub-index and indicator
against its nominal weight, the rank shifts when one indicator or sub-index is left out, and
variance-based (Sobol) sensitivity of the ranking to the weights and the normalisation.

Pure functions: the raw indicator values (as `indicator_values` stores them) and a methodology in,
tables out. The scores, aggregates and ranks are made by the index's own engine, so the audit of
the methodology a month was computed with reproduces that month's published composite.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from indicators.engine import normalise, rank
from indicators.index import ROOT, aggregate_scores, geometric_scores, structure_of
from indicators.methodology import Methodology, MethodologyError

SETTINGS_FILE = Path(__file__).resolve().parent / "audit.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Flags(_Strict):
    collinear_above: float
    negative_below: float
    weak_below: float
    cronbach_alpha_below: float
    bound_share_above: float
    importance_ratio_outside: tuple[float, float]


class Treatment(_Strict):
    max_abs_skew: float
    max_kurtosis: float


class Sensitivity(_Strict):
    base_samples: int
    seed: int

    @field_validator("base_samples")
    @classmethod
    def power_of_two(cls, value: int) -> int:
        if value < 2 or value & (value - 1):
            raise ValueError("must be a power of 2 (Sobol' sequences keep their balance only then)")
        return value


class AuditSettings(_Strict):
    version: int
    correlation: Literal["pearson"]
    flags: Flags
    treatment: Treatment
    sensitivity: Sensitivity


@lru_cache(maxsize=4)
def load_settings(path: Path = SETTINGS_FILE) -> AuditSettings:
    try:
        return AuditSettings.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise MethodologyError(f"{Path(path).name}: {exc}") from exc


@dataclass(frozen=True)
class Panel:
    """The district-months of a range under one methodology: rows = (month, district), in order."""
    months: list[str]
    districts: list[str]
    indicators: list[str]
    raw: np.ndarray  # rows × indicators, NaN where missing
    month_of_row: np.ndarray  # index into months

    @property
    def rows(self) -> int:
        return self.raw.shape[0]


def district_values(con, first: str, last: str, districts: list[str]) -> pl.DataFrame:
    """The raw indicator values of the districts (not the city) in first..last, as the index stored them."""
    marks = ", ".join("?" for _ in districts)
    return con.execute(f"SELECT month, code, indicator, value, methodology_version FROM indicator_values "
                       f"WHERE month BETWEEN ? AND ? AND code IN ({marks}) ORDER BY month, code, indicator",
                       [first, last, *districts]).pl()


def panel(values: pl.DataFrame, methodology: Methodology, districts: list[str]) -> Panel:
    """values: month, code, indicator, value (the district rows of indicator_values)."""
    indicators = structure_of(methodology).indicators
    months = sorted(values["month"].unique().to_list())
    full = (pl.DataFrame({"month": months}).join(pl.DataFrame({"code": districts}), how="cross")
            .join(pl.DataFrame({"indicator": indicators}), how="cross")
            .join(values.select("month", "code", "indicator", "value"), on=["month", "code", "indicator"], how="left"))
    order = {c: i for i, c in enumerate(indicators)}
    full = full.with_columns(pl.col("indicator").replace_strict(order).alias("_j")).sort("month", "code", "_j")
    raw = full["value"].fill_null(np.nan).to_numpy().reshape(len(months) * len(districts), len(indicators))
    return Panel(months, districts, indicators, raw.astype(float),
                 np.repeat(np.arange(len(months)), len(districts)))


# ----------------------------------------------------------------------------------- the model
def scores_of(p: Panel, methodology: Methodology, method: str | None = None, weights: dict | None = None) -> np.ndarray:
    """Normalised scores month by month (min-max and z-scores are relative to the month's districts)."""
    structure = structure_of(methodology, weights)
    out = np.empty_like(p.raw)
    for m in range(len(p.months)):
        rows = p.month_of_row == m
        out[rows] = normalise(p.raw[rows], structure, method or methodology.normalisation)
    return out


def build(p: Panel, methodology: Methodology, scores: np.ndarray, weights: dict | None = None) -> dict[str, np.ndarray]:
    """Every node's value per district-month (indicators: their scores)."""
    structure = structure_of(methodology, weights)
    return aggregate_scores(geometric_scores(scores, methodology), structure, methodology).values


def ranks_of(p: Panel, composite: np.ndarray) -> np.ndarray:
    """Each district's rank within its month (rows are month by month, districts in order)."""
    return rank(composite.reshape(len(p.months), len(p.districts))).reshape(-1)


# ------------------------------------------------------------------------------------- statistics
def _moments(x: np.ndarray) -> tuple[int, float, np.ndarray]:
    """n, the second central moment and the deviations of the present values."""
    x = x[np.isfinite(x)]
    deviations = x - x.mean() if len(x) else x
    return len(x), float(np.mean(deviations ** 2)) if len(x) else 0.0, deviations


def skewness(x: np.ndarray) -> float | None:
    """COINr's skew (e1071 type 2): √(n(n−1))/(n−2) · m₃/m₂^1.5, n ≥ 3."""
    n, m2, d = _moments(x)
    if n < 3 or m2 == 0:
        return None
    return float(np.sqrt(n * (n - 1)) / (n - 2) * np.mean(d ** 3) / m2 ** 1.5)


def kurtosis(x: np.ndarray) -> float | None:
    """COINr's kurtosis (e1071 type 2, excess): ((n+1)(m₄/m₂² − 3) + 6)(n−1)/((n−2)(n−3)), n ≥ 4."""
    n, m2, d = _moments(x)
    if n < 4 or m2 == 0:
        return None
    return float(((n + 1) * (np.mean(d ** 4) / m2 ** 2 - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)))


def correlation(a: np.ndarray, b: np.ndarray) -> tuple[float | None, int]:
    """Pearson's r over the rows where both are present, and that number of rows."""
    both = np.isfinite(a) & np.isfinite(b)
    n = int(both.sum())
    if n < 3 or np.std(a[both]) == 0 or np.std(b[both]) == 0:
        return None, n
    return float(np.corrcoef(a[both], b[both])[0, 1]), n


def cronbach_alpha(items: np.ndarray) -> tuple[float | None, int]:
    """k/(k−1) · (1 − Σ var(item) / var(Σ items)) over the complete rows; None below 2 items or 3 rows."""
    complete = items[np.isfinite(items).all(axis=1)]
    n, k = complete.shape
    if k < 2 or n < 3:
        return None, n
    total = complete.sum(axis=1).var(ddof=1)
    if total == 0:
        return None, n
    return float(k / (k - 1) * (1 - complete.var(axis=0, ddof=1).sum() / total)), n


def principal_components(items: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Eigenvalues (descending) of the items' correlation matrix over the complete rows, the first
    component's loadings (signed so that they sum to ≥ 0), and the number of rows. Constant items are left out."""
    complete = items[np.isfinite(items).all(axis=1)]
    varying = complete.std(axis=0) > 0
    if complete.shape[0] < 3 or varying.sum() < 2:
        return np.array([]), np.full(items.shape[1], np.nan), complete.shape[0]
    values, vectors = np.linalg.eigh(np.corrcoef(complete[:, varying], rowvar=False))
    order = np.argsort(values)[::-1]
    values, first = values[order], vectors[:, order[0]]
    first = first if first.sum() >= 0 else -first
    loadings = np.full(items.shape[1], np.nan)
    loadings[varying] = first * np.sqrt(values[0])
    return values, loadings, complete.shape[0]


# ------------------------------------------------------------------------------------------ audit
@dataclass
class Audit:
    methodology: str
    settings_version: int
    months: list[str]
    district_months: int
    distributions: pl.DataFrame
    correlations: pl.DataFrame
    indicator_matrix: pl.DataFrame  # r of every pair of indicators, across sub-indices too
    consistency: pl.DataFrame
    importance: pl.DataFrame
    leave_one_out: pl.DataFrame
    sensitivity: pl.DataFrame
    sensitivity_runs: int


def _nominal_weights(methodology: Methodology) -> dict[str, float]:
    """Each sub-index's weight in the composite, and each indicator's (its weight × its sub-index's)."""
    out = {s.code: s.weight for s in methodology.sub_indices}
    out.update({i.code: i.weight * methodology.sub_index_of(i.code).weight for i in methodology.indicators})
    return out


def allowed_at_bounds(methodology: Methodology, settings: AuditSettings) -> float:
    """A methodology that declares its share of scores at the bounds is held to it; else the audit's own threshold."""
    return methodology.max_share_at_bounds or settings.flags.bound_share_above


def distributions(p: Panel, methodology: Methodology, scores: np.ndarray, settings: AuditSettings) -> pl.DataFrame:
    rows = []
    bound_share = allowed_at_bounds(methodology, settings)
    for j, code in enumerate(p.indicators):
        s = scores[:, j][np.isfinite(scores[:, j])]
        skew, kurt = skewness(p.raw[:, j]), kurtosis(p.raw[:, j])
        passes = (skew is None or abs(skew) < settings.treatment.max_abs_skew
                  or (kurt is not None and kurt < settings.treatment.max_kurtosis))
        at_low, at_high = (float(np.mean(s == 0)), float(np.mean(s == 100))) if len(s) else (None, None)
        rows.append({"indicator": code, "sub_index": methodology.sub_index_of(code).code, "n": len(s),
                     "missing": p.rows - len(s), "mean_score": float(s.mean()) if len(s) else None,
                     "share_at_0": at_low, "share_at_100": at_high, "skew": skew, "kurtosis": kurt,
                     "treat": not passes,
                     "at_bound_flag": at_low is not None and at_low + at_high > bound_share})
    return pl.DataFrame(rows)


def correlations(methodology: Methodology, nodes: dict[str, np.ndarray], settings: AuditSettings) -> pl.DataFrame:
    f = settings.flags
    rows = []

    def add(level: str, a: str, b: str, flag_of):
        r, n = correlation(nodes[a], nodes[b])
        rows.append({"level": level, "a": a, "b": b, "r": r, "n": n, "flag": None if r is None else flag_of(r)})

    def sibling_flag(r):
        return "collinear" if r > f.collinear_above else "negative" if r < f.negative_below else None

    def parent_flag(r):
        return "negative" if r < f.negative_below else "weak" if r < f.weak_below else None

    for s in methodology.sub_indices:
        codes = [i.code for i in s.indicators]
        for x, a in enumerate(codes):
            for b in codes[x + 1:]:
                add("indicator–indicator", a, b, sibling_flag)
        for a in codes:
            add("indicator–sub-index", a, s.code, parent_flag)
    for i in methodology.indicators:
        add("indicator–composite", i.code, ROOT, parent_flag)
    subs = [s.code for s in methodology.sub_indices]
    for x, a in enumerate(subs):
        for b in subs[x + 1:]:
            add("sub-index–sub-index", a, b, sibling_flag)
    for a in subs:
        add("sub-index–composite", a, ROOT, parent_flag)
    return pl.DataFrame(rows, schema={"level": pl.Utf8, "a": pl.Utf8, "b": pl.Utf8, "r": pl.Float64, "n": pl.Int64,
                                      "flag": pl.Utf8})


def indicator_matrix(p: Panel, nodes: dict[str, np.ndarray]) -> pl.DataFrame:
    rows = [{"a": a, "b": b, "r": correlation(nodes[a], nodes[b])[0]}
            for x, a in enumerate(p.indicators) for b in p.indicators[x + 1:]]
    return pl.DataFrame(rows, schema={"a": pl.Utf8, "b": pl.Utf8, "r": pl.Float64})


def consistency(methodology: Methodology, nodes: dict[str, np.ndarray], settings: AuditSettings) -> pl.DataFrame:
    """Cronbach's α and the principal components of each sub-index's indicators and of the sub-indices."""
    groups = [(s.code, [i.code for i in s.indicators]) for s in methodology.sub_indices]
    groups.append((ROOT, [s.code for s in methodology.sub_indices]))
    rows = []
    for group, members in groups:
        items = np.column_stack([nodes[c] for c in members])
        alpha, n = cronbach_alpha(items)
        eigen, loadings, _ = principal_components(items)
        rows.append({"group": group, "members": ", ".join(members), "k": len(members), "n": n, "alpha": alpha,
                     "alpha_flag": alpha is None or alpha < settings.flags.cronbach_alpha_below,
                     "pc1_share": float(eigen[0] / eigen.sum()) if len(eigen) else None,
                     "components_above_1": int((eigen > 1).sum()),
                     "pc1_loadings": ", ".join(f"{c} {x:.2f}" for c, x in zip(members, loadings) if np.isfinite(x))})
    return pl.DataFrame(rows)


def importance(methodology: Methodology, nodes: dict[str, np.ndarray], settings: AuditSettings) -> pl.DataFrame:
    """Correlation-based importance: r² of each sub-index (indicator) with the composite, normalised
    over its level to sum to 1 (the squared-correlation estimate of the first-order effect of a
    linear aggregate, Paruolo, Saisana and Saltelli 2013), beside the nominal weight."""
    nominal = _nominal_weights(methodology)
    lo, hi = settings.flags.importance_ratio_outside
    rows = []
    for level, codes in (("sub-index", [s.code for s in methodology.sub_indices]),
                         ("indicator", [i.code for i in methodology.indicators])):
        r2 = {c: (correlation(nodes[c], nodes[ROOT])[0] or 0.0) ** 2 for c in codes}
        total = sum(r2.values())
        for c in codes:
            share = r2[c] / total if total else None
            ratio = share / nominal[c] if share is not None else None
            rows.append({"level": level, "code": c, "nominal_weight": nominal[c], "r_squared": r2[c],
                         "importance": share, "ratio": ratio,
                         "flag": ratio is not None and not lo <= ratio <= hi})
    return pl.DataFrame(rows)


def leave_one_out(p: Panel, methodology: Methodology, scores: np.ndarray, nominal_ranks: np.ndarray) -> pl.DataFrame:
    """Rank shifts when one indicator (or a whole sub-index) is left out and its siblings re-weighted."""
    rows = []
    removals = [(i.code, [i.code]) for i in methodology.indicators]
    removals += [(s.code, [i.code for i in s.indicators]) for s in methodology.sub_indices]
    ranked = nominal_ranks > 0
    for code, removed in removals:
        trimmed = scores.copy()
        trimmed[:, [p.indicators.index(c) for c in removed]] = np.nan
        ranks = ranks_of(p, build(p, methodology, trimmed)[ROOT])
        both = ranked & (ranks > 0)
        shift = np.abs(ranks[both] - nominal_ranks[both])
        rows.append({"removed": code, "level": "sub-index" if len(removed) > 1 or code not in p.indicators else "indicator",
                     "mean_abs_rank_shift": float(shift.mean()) if len(shift) else None,
                     "max_abs_rank_shift": int(shift.max()) if len(shift) else None,
                     "share_rank_changed": float(np.mean(shift > 0)) if len(shift) else None})
    return pl.DataFrame(rows)


def sensitivity(p: Panel, methodology: Methodology, nominal_ranks: np.ndarray,
                settings: AuditSettings) -> tuple[pl.DataFrame, int]:
    """First-order and total Sobol indices of the mean absolute rank shift (against the nominal ranking,
    over the district-months), for every weight's factor 1 + U(−jitter, jitter) and the choice of
    normalisation, as in the index's Monte Carlo. SALib's Sobol' sample and estimators."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    mc = methodology.monte_carlo
    codes = [s.code for s in methodology.sub_indices] + [i.code for i in methodology.indicators]
    base = {n["code"]: n["weight"] for n in methodology.structure_rows()}
    problem = {"num_vars": len(codes) + 1, "names": [*codes, "normalisation"],
               "bounds": [[1 - mc.weight_jitter, 1 + mc.weight_jitter]] * len(codes) + [[0.0, 1.0]]}
    design = sobol_sample.sample(problem, settings.sensitivity.base_samples, calc_second_order=False,
                                 seed=settings.sensitivity.seed)
    methods, edges = list(mc.normalisations), np.cumsum(list(mc.normalisations.values()))
    scores = {m: scores_of(p, methodology, m) for m in methods}
    ranked = nominal_ranks > 0
    outputs = np.empty(len(design))
    for k, x in enumerate(design):
        weights = {**base, **{c: base[c] * f for c, f in zip(codes, x[:-1])}}
        method = methods[min(int(np.searchsorted(edges, x[-1], side="right")), len(methods) - 1)]
        ranks = ranks_of(p, build(p, methodology, scores[method], weights)[ROOT])
        both = ranked & (ranks > 0)
        outputs[k] = np.abs(ranks[both] - nominal_ranks[both]).mean() if both.any() else 0.0
    if np.ptp(outputs) == 0:  # the ranking never moves: nothing to apportion
        frame = pl.DataFrame({"input": problem["names"], "S1": [0.0] * len(codes + [0]), "S1_conf": [0.0] * (len(codes) + 1),
                              "ST": [0.0] * (len(codes) + 1), "ST_conf": [0.0] * (len(codes) + 1)})
        return frame, len(design)
    result = sobol_analyze.analyze(problem, outputs, calc_second_order=False, seed=settings.sensitivity.seed)
    frame = pl.DataFrame({"input": problem["names"], "S1": [float(v) for v in result["S1"]],
                          "S1_conf": [float(v) for v in result["S1_conf"]], "ST": [float(v) for v in result["ST"]],
                          "ST_conf": [float(v) for v in result["ST_conf"]]})
    return frame, len(design)


def audit(values: pl.DataFrame, methodology: Methodology, districts: list[str],
          settings: AuditSettings | None = None) -> Audit:
    settings = settings or load_settings()
    p = panel(values, methodology, districts)
    scores = scores_of(p, methodology)
    nodes = build(p, methodology, scores)
    # Statistics of the scores on the 0–100 scale the methodology states (before any geometric range).
    nodes.update({c: scores[:, j] for j, c in enumerate(p.indicators)})
    nominal_ranks = ranks_of(p, nodes[ROOT])
    table, runs = sensitivity(p, methodology, nominal_ranks, settings)
    return Audit(methodology=methodology.version, settings_version=settings.version, months=p.months,
                 district_months=int(np.isfinite(nodes[ROOT]).sum()),
                 distributions=distributions(p, methodology, scores, settings),
                 correlations=correlations(methodology, nodes, settings),
                 indicator_matrix=indicator_matrix(p, nodes),
                 consistency=consistency(methodology, nodes, settings),
                 importance=importance(methodology, nodes, settings),
                 leave_one_out=leave_one_out(p, methodology, scores, nominal_ranks),
                 sensitivity=table, sensitivity_runs=runs)
