"""Small numbers: the methodology's minimum denominators and its empirical-Bayes smoothing of indicator values.

Runs on a month's indicator values (indicators.values) before they are scored. `value_raw` keeps the
value as computed from the records; `value` is what the index scores. A methodology without
`min_denominator` and `smoothing` (v1) leaves every value as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from indicators.methodology import Methodology, catalogue
from nsi.reference import CITY_CODE, Reference

SMOOTHED = "smoothed"


def apply(values: pl.DataFrame, methodology: Methodology, reference: Reference) -> pl.DataFrame:
    """`values` with value_raw filled (right after value), values below their indicator's min_denominator
    removed and flagged `below_min_denominator:<n><<min>`, and the smoothed indicators shrunk towards
    the city and flagged `smoothed`."""
    columns = [c for c in values.columns if c != "value_raw"]
    at = columns.index("value") + 1
    values = values.with_columns(pl.col("value").alias("value_raw")).select(
        [*columns[:at], "value_raw", *columns[at:]])
    rows = values.to_dicts()
    kinds = {e.code: e.denominator for e in catalogue().indicators}
    for indicator in methodology.indicators:
        if indicator.min_denominator is not None:
            apply_min_denominator([r for r in rows if r["indicator"] == indicator.code], kinds[indicator.code],
                                  indicator.min_denominator)
    if methodology.smoothing is not None:
        for code in methodology.smoothing.indicators:
            smooth([r for r in rows if r["indicator"] == code], kinds[code], reference.district_codes)
    return pl.DataFrame(rows, schema=values.schema)


def smoothed_flag(own_weight: float) -> str:
    """`smoothed:<w>`: the posterior mean is w × the district's own value + (1 − w) × the city's, so its
    sampling noise is w times that of the value it was smoothed from (the Monte Carlo reads w back)."""
    return f"{SMOOTHED}:{own_weight:.6f}"


def own_weight(flag: str | None) -> float:
    """The weight of a value's own counts in it: w of its `smoothed:<w>` flag, 1 when it was not smoothed."""
    for part in (flag or "").split(";"):
        if part.startswith(f"{SMOOTHED}:"):
            return float(part.split(":", 1)[1])
    return 1.0


def _add_flag(row: dict, flag: str) -> None:
    row["flag"] = flag if row["flag"] is None else f"{row['flag']};{flag}"


def apply_min_denominator(rows: list[dict], kind: str, minimum: int) -> None:
    """In place: a share counts its denominator, a median or survey share its n."""
    for row in rows:
        cases = row["denominator"] if kind == "share" else row["n"]
        cases = int(cases or 0)
        if cases < minimum:
            row["value"] = None
            _add_flag(row, f"below_min_denominator:{cases}<{minimum}")


@dataclass(frozen=True)
class Prior:
    mean: float  # the city's rate or share
    strength: float  # in the denominator's units: how many cases (or residents) the prior counts for


def prior(numerators: list[float], denominators: list[float], mean: float, kind: str) -> Prior:
    """The prior of the districts' true rates or shares, by the method of moments.

    With nᵢ the districts' denominators, N their sum, k their number, n̄ = N/k and m the city's value,
    s² = Σ nᵢ(rᵢ − m)² / N is the spread of the districts' values about the city's, of which sampling
    alone gives m/n̄ for a rate (Poisson) and m(1 − m)/n̄ for a share (binomial). The excess is the
    between-district variance τ² (Marshall's global estimator, 1991). A Poisson-gamma prior with
    mean m and variance τ² counts for M = m/τ² of denominator; a beta prior for M = m(1 − m)/τ² − 1
    cases (its α + β).

    Capped pooling: when τ² is not above zero (the districts differ no more than sampling makes
    them), the estimate would pool every district fully into the city. Instead M is at most the
    largest district denominator: the prior never counts for more than the district with the most
    cases, which keeps at least half its own value, and a small district moves most of the way.
    When τ² exceeds what a share can vary (M < 0), M is 0: no smoothing.
    """
    rates = np.array(numerators, float)[None, :] / np.array(denominators, float)
    return Prior(mean, float(strengths(rates, np.array(denominators, float), np.array([mean]), kind)[0]))


def strengths(values: np.ndarray, denominators: np.ndarray, mean: np.ndarray, kind: str) -> np.ndarray:
    """`prior`'s strength M for each row (a Monte-Carlo draw) of values (draws × districts, the counts'
    ratios), the districts' denominators and the city's value of each draw: one formula for the published
    value and for every draw of it."""
    total, k, cap = denominators.sum(), len(denominators), denominators.max()
    spread = (denominators * (values - mean[:, None]) ** 2).sum(axis=1) / total
    sampling = mean if kind == "per_residents" else mean * (1 - mean)
    between = spread - sampling / (total / k)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = mean / between if kind == "per_residents" else mean * (1 - mean) / between - 1
    return np.where(between <= 0, cap, np.minimum(np.maximum(strength, 0.0), cap))


def posterior_means(values: np.ndarray, denominators: np.ndarray, mean: np.ndarray, kind: str) -> np.ndarray:
    """Each draw's values (draws × districts) smoothed as `smooth` smooths the published ones; unchanged
    in a draw whose prior has no strength."""
    strength = strengths(values, denominators, mean, kind)[:, None]
    return np.where(strength > 0, (values * denominators + strength * mean[:, None]) / (denominators + strength), values)


def smooth(rows: list[dict], kind: str, districts: list[str]) -> None:
    """In place: each district's value becomes its posterior mean (numerator + M·m) / (denominator + M),
    flagged with its own weight n / (n + M); the city's own value is the prior mean and is never smoothed."""
    city = next((r for r in rows if r["code"] == CITY_CODE), None)
    if city is None or not city["denominator"]:
        return
    data = [r for r in rows if r["code"] in districts and r["denominator"] and r["numerator"] is not None]
    if not data:
        return
    mean = city["numerator"] / city["denominator"]
    estimate = prior([r["numerator"] for r in data], [r["denominator"] for r in data], mean, kind)
    if estimate.strength == 0:
        return
    for row in data:
        if row["value"] is None:  # removed by the minimum denominator: smoothing does not bring it back
            continue
        row["value"] = (row["numerator"] + estimate.strength * estimate.mean) / (row["denominator"] + estimate.strength)
        _add_flag(row, smoothed_flag(row["denominator"] / (row["denominator"] + estimate.strength)))
