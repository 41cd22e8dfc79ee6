"""The month's Monte Carlo: every source of uncertainty drawn together, for this month and the months its
changes compare with.

One seeded run per month (the seed is the month, 2024-03 → 202403). Each draw
- jitters every weight by a factor 1 + U(−weight_jitter, weight_jitter) (renormalised among siblings by the
  aggregation, as COINr's noisy weights) and picks a normalisation with the methodology's chances;
- redraws the indicator values within their sampling distribution: with `monte_carlo.sampling: survey` (v1)
  the survey indicators only, normal on their design standard error; with `all` every indicator — a rate's
  count Poisson on the observed count, a share Beta(num + ½, den − num + ½) (Jeffreys: 6 of 6 still has
  noise), a median and a survey share normal on their standard error (from the 95% interval);
- scores this month, last month and the same month last year with the same weights and normalisation, so
  that the draws of a change hold the sampling noise of both months and nothing of a method change.

The draws' parameters come from one stream, in the order v1's rank intervals drew them (per draw: the
weights, this month's survey noise of the districts, the normalisation), so v1's rank_p05/p50/p95 are
exactly those published; the sampling of every other (month, unit) comes from a stream of its own month,
drawn for all draws at once (draws × units × indicators).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
import polars as pl

from indicators.engine import Aggregated, Node, Structure, aggregate, decompose, normalise, rank
from indicators.methodology import Methodology, catalogue
from indicators.small_numbers import own_weight, posterior_means
from indicators.values import Z95
from nsi.reference import CITY_CODE

ROOT = "NSI"
# Which month of a draw a sampling stream belongs to: default_rng([seed, role]).
THIS_MONTH, LAST_MONTH, LAST_YEAR = 1, 2, 3
# Suffix of the quantities drawn from sampling alone (change_mom_noise, …): what the narration's bands read
# under `narration.band: sampling`.
NOISE = "_noise"

UNCERTAINTY_SCHEMA = {"month": pl.Utf8, "code": pl.Utf8, "quantity": pl.Utf8, "indicator": pl.Utf8,
                      "low": pl.Float64, "middle": pl.Float64, "high": pl.Float64, "sd": pl.Float64,
                      "methodology_version": pl.Utf8}
DRAWS_SCHEMA = {"month": pl.Utf8, "draw": pl.Int64, "seed": pl.Int64, "normalisation": pl.Utf8, "weights": pl.Utf8,
                "methodology_version": pl.Utf8}


def seed_of(month_key: str) -> int:
    return int(month_key.replace("-", ""))


def kinds(codes: list[str]) -> list[str]:
    """The catalogue's kind of denominator of each indicator: what its sampling distribution is."""
    return [catalogue().entry(code).denominator for code in codes]


@dataclass
class MonthArrays:
    """One month's indicator values as units × indicators arrays (NaN where there is none)."""
    value: np.ndarray
    value_raw: np.ndarray
    numerator: np.ndarray
    denominator: np.ndarray
    se: np.ndarray  # from the 95% interval: medians and survey shares
    smoothed: np.ndarray | None = None  # where the value was smoothed towards the city (its `smoothed:<w>` flag)

    def __post_init__(self):
        if self.smoothed is None:
            self.smoothed = np.zeros(self.value.shape, bool)

    @classmethod
    def of(cls, rows: pl.DataFrame, units: list[str], codes: list[str]) -> MonthArrays:
        def matrix(column: str) -> np.ndarray:
            if column not in rows.columns:
                return np.full((len(units), len(codes)), np.nan)
            lookup = {(r["code"], r["indicator"]): r[column] for r in rows.select("code", "indicator", column).iter_rows(named=True)}
            return np.array([[np.nan if lookup.get((u, c)) is None else lookup[(u, c)] for c in codes] for u in units],
                            float)

        value = matrix("value")
        raw = matrix("value_raw")
        flags = ({(r["code"], r["indicator"]): r["flag"] for r in rows.select("code", "indicator", "flag").iter_rows(named=True)}
                 if "flag" in rows.columns else {})
        smoothed = np.array([[own_weight(flags.get((u, c))) < 1 for c in codes] for u in units], bool)
        return cls(value, np.where(np.isfinite(raw), raw, value), matrix("numerator"), matrix("denominator"),
                   (matrix("ci_high") - matrix("ci_low")) / (2 * Z95), smoothed)


@dataclass
class Parameters:
    """What every draw chose: the weights of every node (before renormalisation among siblings), the
    normalisation, and v1's standard-normal survey noise of this month's districts."""
    seed: int
    nodes: list[str]
    weights: np.ndarray  # draws × nodes
    normalisation: list[str]
    survey_noise: np.ndarray  # draws × districts × indicators

    def weights_of(self) -> dict[str, np.ndarray]:
        """Per node, one weight per draw, shaped to broadcast against draws × units."""
        return {code: self.weights[:, k][:, None] for k, code in enumerate(self.nodes)}

    def rows(self, month: str, version: str) -> pl.DataFrame:
        return pl.DataFrame([{"month": month, "draw": d, "seed": self.seed, "normalisation": self.normalisation[d],
                              "weights": json.dumps(dict(zip(self.nodes, map(float, self.weights[d]))), ensure_ascii=False),
                              "methodology_version": version} for d in range(len(self.normalisation))],
                            schema=DRAWS_SCHEMA)


def draw_parameters(methodology: Methodology, structure: Structure, seed: int, districts: int,
                    indicators: int) -> Parameters:
    mc = methodology.monte_carlo
    edges = list(zip(mc.normalisations, accumulate(mc.normalisations.values())))
    rng = np.random.default_rng(seed)
    base = np.array([n.weight for n in structure.nodes])
    weights = np.empty((mc.draws, len(base)))
    noise = np.empty((mc.draws, districts, indicators))
    chosen = []
    for draw in range(mc.draws):  # one stream in v1's order; a draw's few calls cost nothing beside the scoring
        weights[draw] = base * (1 + rng.uniform(-mc.weight_jitter, mc.weight_jitter, len(base)))
        noise[draw] = rng.standard_normal((districts, indicators))
        u = rng.random()
        # The last alternative also takes a u that the rounding of the chances left above every edge.
        chosen.append(next((m for m, edge in edges if u < edge), edges[-1][0]))
    return Parameters(seed, [n.code for n in structure.nodes], weights, chosen, noise)


@dataclass(frozen=True)
class Layout:
    """Which rows of a month's arrays are the districts (the first `districts`) and which is the city: what
    the smoothing of a draw needs to re-estimate its prior."""
    districts: int
    city: int | None


def sample(month: MonthArrays, kind: list[str], sampling: str, rng: np.random.Generator, draws: int,
           layout: Layout | None = None) -> np.ndarray:
    """draws × units × indicators values redrawn within their sampling distribution. A smoothed value is
    the smoothing applied again to each draw (`layout` given): the districts' drawn counts and the city's
    give the draw's own prior, so its noise is that of the published estimator, prior included."""
    shape = (draws, *month.value.shape)
    kind = np.array(kind)[None, :]
    se = np.where(np.isfinite(month.se), month.se, 0.0)
    normal = month.value + rng.standard_normal(shape) * se
    if sampling == "survey":
        return np.where(kind == "post_stratified_share", normal, month.value)
    count, of = np.nan_to_num(month.numerator), np.nan_to_num(month.denominator)
    counts = rng.poisson(np.where(kind == "per_residents", count, 0.0), shape)
    usable = (kind == "share") & (of > 0)
    shares = rng.beta(np.where(usable, count + 0.5, 1.0), np.where(usable, of - count + 0.5, 1.0), shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = counts / np.where(of > 0, of, np.nan)
    raw = np.select([kind == "per_residents", kind == "share"], [rates, shares], normal)
    # An unsmoothed value moves with its counts' noise about the published value (which differs from the
    # counts' ratio only where the methodology adjusted it).
    base = np.where(np.isfinite(month.value_raw), month.value_raw, month.value)
    drawn = raw + np.where(np.isfinite(base), month.value - base, 0.0)
    smoothed = month.smoothed
    if layout is not None and layout.city is not None and smoothed.any():
        d = layout.districts
        for j in np.flatnonzero(smoothed.any(axis=0)):
            # The prior is estimated from every district with counts (a value set aside included), as published.
            den = month.denominator[:d, j]
            fed = np.isfinite(month.numerator[:d, j]) & (np.nan_to_num(den) > 0)
            if not fed.any():
                continue
            posterior = posterior_means(raw[:, :d, j][:, fed], den[fed], raw[:, layout.city, j], kind[0, j])
            column = drawn[:, :d, j]
            column[:, fed] = np.where(smoothed[:d, j][fed], posterior, column[:, fed])
    # A value the methodology set aside stays missing. The draws are centred on the published value, so that
    # an interval is the noise about the figure printed: Jeffreys' half counts and a small district's
    # re-estimated prior would otherwise move the draws of small counts off it.
    drawn = np.where(np.isfinite(month.value), drawn, np.nan)
    finite = np.isfinite(drawn)
    counted = finite.sum(axis=0)
    mean = np.where(counted > 0, np.where(finite, drawn, 0.0).sum(axis=0) / np.maximum(counted, 1), np.nan)
    return drawn + np.where(np.isfinite(month.value) & (counted > 0), month.value - mean, 0.0)


def geometric_scores(scores: np.ndarray, methodology: Methodology) -> np.ndarray:
    """Scores on 0..100 as the aggregation takes them: geometric means need them mapped onto a positive range."""
    if methodology.aggregation == "geometric":
        low, high = methodology.geometric_range
        return low + scores * ((high - low) / 100)
    return scores


def score(values: np.ndarray, structure: Structure, methodology: Methodology, parameters: Parameters,
          districts: int) -> tuple[np.ndarray, Aggregated]:
    """draws × units × indicators values → scores and aggregates, each draw with its weights and normalisation;
    minmax's range is the districts' (the city is scored on their scale)."""
    among = np.arange(values.shape[1]) < districts
    chosen = np.array(parameters.normalisation)
    scores = np.full(values.shape, np.nan)
    for method in sorted(set(parameters.normalisation)):
        which = chosen == method
        scores[which] = normalise(values[which], structure, method, among)
    scores = geometric_scores(scores, methodology)
    result = aggregate(scores, structure, methodology.aggregation, methodology.missing.rule,
                       methodology.missing.min_weight_present, weights=parameters.weights_of())
    return scores, result


def ranks_of(composite: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """draws × districts ranks among the ranked districts (0 for the others)."""
    return rank(np.where(ranked, composite, np.nan))


@dataclass
class Simulation:
    parameters: Parameters
    units: list[str]
    districts: int
    indicators: list[str]
    sub_indices: list[str]
    now: Aggregated
    ranks: np.ndarray  # draws × districts
    change_mom: np.ndarray | None  # draws × units
    change_yoy: np.ndarray | None
    contribution_mom: np.ndarray | None  # draws × units × indicators
    # The same three from the sampling draws alone, under the declared weights and normalisation.
    change_mom_noise: np.ndarray | None = None
    change_yoy_noise: np.ndarray | None = None
    contribution_mom_noise: np.ndarray | None = None

    def rank_percentiles(self, percentiles) -> np.ndarray:
        return np.percentile(self.ranks, list(percentiles), axis=0, method="nearest").T

    def rows(self, month: str, methodology: Methodology) -> pl.DataFrame:
        """index_uncertainty rows: each quantity's draws summarised at the methodology's percentiles, and their sd."""
        percentiles = list(methodology.monte_carlo.percentiles)
        out = []

        def add(code, quantity, draws, indicator=None, method="linear"):
            finite = draws[np.isfinite(draws)]
            if finite.size == 0:
                return
            low, middle, high = np.percentile(finite, percentiles, method=method)
            out.append({"month": month, "code": code, "quantity": quantity, "indicator": indicator,
                        "low": float(low), "middle": float(middle), "high": float(high),
                        "sd": float(np.std(finite, ddof=1)) if finite.size > 1 else 0.0,
                        "methodology_version": methodology.version})

        for u, code in enumerate(self.units):
            add(code, "composite", self.now.values[ROOT][:, u])
            for sub in self.sub_indices:
                add(code, sub, self.now.values[sub][:, u])
            if u < self.districts and (self.ranks[:, u] > 0).all():
                add(code, "rank", self.ranks[:, u].astype(float), method="nearest")
            for suffix in ("", NOISE):
                change_mom, change_yoy, contribution = (getattr(self, f"{q}{suffix}") for q in
                                                        ("change_mom", "change_yoy", "contribution_mom"))
                if change_mom is not None:
                    add(code, f"change_mom{suffix}", change_mom[:, u])
                if change_yoy is not None:
                    add(code, f"change_yoy{suffix}", change_yoy[:, u])
                if contribution is not None:
                    for j, indicator in enumerate(self.indicators):
                        add(code, f"contribution_mom{suffix}", contribution[:, u, j], indicator)
        return pl.DataFrame(out, schema=UNCERTAINTY_SCHEMA)


def simulate(methodology: Methodology, structure: Structure, seed: int, units: list[str], districts: int,
             now: MonthArrays, last: MonthArrays | None = None, last_year: MonthArrays | None = None,
             ranked: np.ndarray | None = None) -> Simulation:
    """The month's draws. `now`, `last`, `last_year`: the indicator values of the three months under this
    methodology (None where the month has no index to compare with); `ranked`: the districts ranked."""
    mc = methodology.monte_carlo
    codes = structure.indicators
    parameters = draw_parameters(methodology, structure, seed, districts, len(codes))
    kind = kinds(codes)

    layout = Layout(districts, units.index(CITY_CODE) if CITY_CODE in units else None)

    def values_of(month: MonthArrays, role: int) -> np.ndarray:
        drawn = sample(month, kind, mc.sampling, np.random.default_rng([seed, role]), mc.draws, layout)
        if role == THIS_MONTH and mc.sampling == "survey":
            # v1: the districts' survey values drawn from the parameters' stream, as its rank intervals were
            survey = np.array(kind) == "post_stratified_share"
            se = np.where(survey & np.isfinite(now.se), now.se, np.nan)[:districts]
            drawn[:, :districts] = now.value[:districts] + np.where(
                np.isfinite(se), parameters.survey_noise * np.nan_to_num(se), 0.0)
        return drawn

    drawn_now = values_of(now, THIS_MONTH)
    drawn_last = values_of(last, LAST_MONTH) if last is not None else None
    drawn_year = values_of(last_year, LAST_YEAR) if last_year is not None else None
    scores_now, result_now = score(drawn_now, structure, methodology, parameters, districts)
    ranked = np.ones(districts, bool) if ranked is None else ranked
    ranks = ranks_of(result_now.values[ROOT][:, :districts], ranked)
    changes = _changes(structure, methodology, parameters, districts, scores_now, result_now, drawn_last, drawn_year)
    if methodology.narration is None or methodology.narration.band != "sampling":
        return Simulation(parameters, units, districts, codes, [s.code for s in methodology.sub_indices], result_now,
                          ranks, *changes)
    # The noise of the published figures alone: the same sampling draws under the declared weights and the
    # published normalisation (what a change must exceed to be more than the counts' chance).
    published = Parameters(parameters.seed, parameters.nodes, np.broadcast_to(
        np.array([n.weight for n in structure.nodes]), parameters.weights.shape), [methodology.normalisation] * mc.draws,
        parameters.survey_noise)
    noise_now, noise_result = score(drawn_now, structure, methodology, published, districts)
    noise = _changes(structure, methodology, published, districts, noise_now, noise_result, drawn_last, drawn_year)
    return Simulation(parameters, units, districts, codes, [s.code for s in methodology.sub_indices], result_now,
                      ranks, *changes, *noise)


def _changes(structure: Structure, methodology: Methodology, parameters: Parameters, districts: int,
             scores_now: np.ndarray, result_now: Aggregated, drawn_last: np.ndarray | None,
             drawn_year: np.ndarray | None) -> tuple:
    """change_mom, change_yoy and the contributions to change_mom, draws × units (× indicators)."""
    change_mom = change_yoy = contribution = None
    if drawn_last is not None:
        scores_last, result_last = score(drawn_last, structure, methodology, parameters, districts)
        change_mom = result_now.values[ROOT] - result_last.values[ROOT]
        contribution, _ = decompose(result_last, result_now, scores_last, scores_now, structure, methodology.aggregation)
        # An indicator missing in either month contributes nothing to the change but its re-weighting.
        contribution = np.where(np.isfinite(scores_now) & np.isfinite(scores_last), contribution, np.nan)
    if drawn_year is not None:
        _, result_year = score(drawn_year, structure, methodology, parameters, districts)
        change_yoy = result_now.values[ROOT] - result_year.values[ROOT]
    return change_mom, change_yoy, contribution


def rank_intervals(raw: np.ndarray, se: np.ndarray, methodology: Methodology, seed: int) -> np.ndarray:
    """districts × the methodology's three percentiles of each district's rank over the seeded draws, every
    value with a finite `se` redrawn normal on it from the parameters' stream (v1's rank intervals)."""
    structure = _structure(methodology)
    parameters = draw_parameters(methodology, structure, seed, *raw.shape)
    values = raw + np.where(np.isfinite(se), parameters.survey_noise * np.nan_to_num(se), 0.0)
    _, result = score(values, structure, methodology, parameters, raw.shape[0])
    ranks = rank(result.values[ROOT])
    return np.percentile(ranks, list(methodology.monte_carlo.percentiles), axis=0, method="nearest").T


def _structure(methodology: Methodology) -> Structure:
    return Structure([Node(r["code"], r["parent"], r["weight"], r["direction"], r["goal_lo"], r["goal_hi"])
                      for r in methodology.structure_rows()])
