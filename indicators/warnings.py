"""Early warnings: an indicator value that its own district's trailing months make improbable.

`early_warnings` follows the methodology's `early_warning.method`:
- `robust_z` (v1): the value against the median ± threshold robust SDs of the trailing values;
- `count_test`: the month's counts against the trailing months' counts, so that a rate of 1 incident
  against 4 expected does not warn and a share near 99% that falls 4 points on a thousand cases does.

`history` holds indicator_values rows of the trailing months (month, code, indicator, numerator,
denominator, value, n, ci_low, ci_high, flag) computed under the month's own methodology version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from indicators.methodology import CountTestWarning, Methodology, all_versions, catalogue

Z95 = 1.959964  # the half-width of a stored 95% interval in standard errors (as indicators.values)


def early_warnings(values: pl.DataFrame, history: pl.DataFrame, methodology: Methodology) -> dict[tuple[str, str], str]:
    """(code, indicator) → the warning sentence, for every value the methodology's rule flags."""
    if methodology.early_warning.method == "count_test":
        return count_test(values, history, methodology)
    return robust_z(values, history, methodology)


def robust_z(values: pl.DataFrame, history: pl.DataFrame, methodology: Methodology) -> dict[tuple[str, str], str]:
    """Indicator values outside median ± threshold robust SDs (mad_factor·MAD, at least spread_floor·|median|)
    of their own trailing months, as the methodology's early_warning sets them."""
    rule = methodology.early_warning
    warnings: dict[tuple[str, str], str] = {}
    if history.height == 0:
        return warnings
    for (code, indicator), group in history.group_by(["code", "indicator"]):
        past = group.sort("month").tail(rule.trailing_months)["value"].drop_nulls().to_numpy()
        if len(past) < rule.min_history:
            continue
        current = values.filter((pl.col("code") == code) & (pl.col("indicator") == indicator))["value"]
        if current.len() == 0 or current[0] is None:
            continue
        median = float(np.median(past))
        spread = max(rule.mad_factor * float(np.median(np.abs(past - median))), rule.spread_floor * abs(median), 1e-9)
        deviation = (current[0] - median) / spread
        if abs(deviation) > rule.threshold:
            worse = (deviation > 0) == (methodology.indicator(indicator).direction == -1)
            warnings[(code, indicator)] = warning_text(worse, deviation, rule.trailing_months)
    return warnings


def warning_text(worse: bool, deviation: float, trailing_months: int | None = None) -> str:
    """An early warning as the index table's 说明 column and the briefing print it; the window is the
    methodology's trailing_months (by default that of the newest version)."""
    months = trailing_months or all_versions()[-1].early_warning.trailing_months
    side = "高" if deviation > 0 else "低"
    return f"明显{'差' if worse else '好'}于近{months}个月常态（比中位数{side}{abs(deviation):.1f}个稳健标准差）"


# --- count_test -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """One indicator value tested against its trailing months."""
    p: float  # two-sided, widened by the dispersion
    higher: bool  # this month above what the trailing months lead one to expect
    expected: float | None  # rates: expected events; shares: the smaller of expected numerator and non-numerator
    dispersion: float  # ≥ 1; 1 when overdispersion is off
    observed_text: str  # 本月… as the sentence prints it
    expected_text: str  # what the trailing months give, as the sentence prints it ({months}: their number)


def widen(p: float, dispersion: float) -> float:
    """The two-sided p of a test whose variance is multiplied by `dispersion`: the p's normal deviate divided
    by √dispersion (quasi-likelihood scaling). At 1 the exact p is returned as it is."""
    if dispersion <= 1 or p >= 1:
        return p
    return float(2 * stats.norm.sf(stats.norm.isf(p / 2) / math.sqrt(dispersion)))


def poisson_dispersion(counts: np.ndarray, exposures: np.ndarray) -> float:
    """Pearson χ²/(k−1) of the trailing counts about their pooled rate, at least 1."""
    rate = counts.sum() / exposures.sum()
    if len(counts) < 2 or rate <= 0:
        return 1.0
    expected = exposures * rate
    return max(1.0, float(((counts - expected) ** 2 / expected).sum() / (len(counts) - 1)))


def binomial_dispersion(numerators: np.ndarray, denominators: np.ndarray) -> float:
    """Pearson χ²/(k−1) of the trailing numerators about their pooled share, at least 1."""
    share = numerators.sum() / denominators.sum()
    if len(numerators) < 2 or not 0 < share < 1:
        return 1.0
    variance = denominators * share * (1 - share)
    return max(1.0, float(((numerators - denominators * share) ** 2 / variance).sum() / (len(numerators) - 1)))


def value_dispersion(values: np.ndarray, errors: np.ndarray) -> float:
    """Birge ratio of the trailing values (χ² about their precision-weighted mean over k−1), at least 1."""
    if len(values) < 2 or not (errors > 0).all():
        return 1.0
    weights = 1 / errors ** 2
    mean = (weights * values).sum() / weights.sum()
    return max(1.0, float((weights * (values - mean) ** 2).sum() / (len(values) - 1)))


def rate_test(count: int, exposure: float, past_counts: np.ndarray, past_exposures: np.ndarray,
              overdispersion: bool) -> Outcome | None:
    """The month's count against the trailing months' pooled rate: given the total of both, the month's
    share of it is binomial with p = exposure / (exposure + trailing exposure) when the rate did not
    change (the exact conditional test of two Poisson counts)."""
    past_total, past_exposure = int(past_counts.sum()), float(past_exposures.sum())
    if exposure <= 0 or past_exposure <= 0:
        return None
    expected = past_total / past_exposure * exposure
    total = count + past_total
    p = stats.binomtest(count, total, exposure / (exposure + past_exposure)).pvalue if total else 1.0
    dispersion = poisson_dispersion(past_counts, past_exposures) if overdispersion else 1.0
    shown = f"{expected:.0f}" if expected >= 10 else f"{expected:.1f}"
    return Outcome(widen(float(p), dispersion), count > expected, expected, dispersion,
                   f"本月{count}件", f"按近{{months}}个月预期约{shown}件")


def share_test(numerator: int, denominator: int, past_numerators: np.ndarray, past_denominators: np.ndarray,
               overdispersion: bool) -> Outcome | None:
    """The month's numerator against the trailing months' pooled share: Fisher's exact test on the 2×2 of
    (numerator, rest) this month and in the trailing months together."""
    past_num, past_den = int(past_numerators.sum()), int(past_denominators.sum())
    if denominator <= 0 or past_den <= 0:
        return None
    share = past_num / past_den
    expected = min(denominator * share, denominator * (1 - share))
    p = stats.fisher_exact([[numerator, denominator - numerator], [past_num, past_den - past_num]]).pvalue
    dispersion = binomial_dispersion(past_numerators, past_denominators) if overdispersion else 1.0
    observed = f"本月{numerator}/{denominator}件（{numerator / denominator:.1%}）"
    return Outcome(widen(float(min(p, 1.0)), dispersion), numerator / denominator > share, expected, dispersion,
                   observed, f"按近{{months}}个月预期约{share:.1%}")


def value_test(value: float, error: float, past_values: np.ndarray, past_errors: np.ndarray, overdispersion: bool,
               percent: bool) -> Outcome | None:
    """A median or survey share against the mean of its trailing months, on the standard error of the
    difference (this month's and that of the mean, from each month's 95% interval)."""
    combined = math.sqrt(error ** 2 + float((past_errors ** 2).sum()) / len(past_errors) ** 2)
    if combined <= 0:
        return None
    mean = float(past_values.mean())
    dispersion = value_dispersion(past_values, past_errors) if overdispersion else 1.0
    z = (value - mean) / (combined * math.sqrt(dispersion))
    shown = (lambda x: f"{x:.1%}") if percent else (lambda x: f"{x:.1f}")
    observed = f"本月{shown(value)}" if percent else f"本月中位数{shown(value)}"
    return Outcome(float(2 * stats.norm.sf(abs(z))), value > mean, None, dispersion, observed,
                   f"近{{months}}个月均值{shown(mean)}")


def count_warning_text(worse: bool, months: int, result: Outcome) -> str:
    """One sentence: better or worse than usual, this month's figure, what the trailing months give, and p."""
    p = "p<0.001" if result.p < 0.001 else f"p={result.p:.3f}"
    return (f"明显{'差' if worse else '好'}于近{months}个月常态"
            f"（{result.observed_text}，{result.expected_text.format(months=months)}，{p}）")


def _usable(rows: pl.DataFrame, kind: str) -> pl.DataFrame:
    if kind in ("per_residents", "share"):
        return rows.filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0))
    return rows.filter(pl.col("value").is_not_null() & pl.col("ci_low").is_not_null() & pl.col("ci_high").is_not_null())


def indicator_test(current: dict, past: pl.DataFrame, kind: str, rule: CountTestWarning) -> Outcome | None:
    """The test of one (district, indicator) by the kind of its denominator (catalogue), or None when the
    month has nothing to test or the trailing months are too few."""
    if current.get("value") is None or past.height < rule.min_history:
        return None
    if kind == "per_residents":
        return rate_test(round(current["numerator"]), current["denominator"], past["numerator"].round().to_numpy(),
                         past["denominator"].to_numpy(), rule.overdispersion)
    if kind == "share":
        return share_test(round(current["numerator"]), round(current["denominator"]),
                          past["numerator"].round().to_numpy(), past["denominator"].round().to_numpy(),
                          rule.overdispersion)
    if current.get("ci_low") is None or current.get("ci_high") is None:
        return None
    errors = ((past["ci_high"] - past["ci_low"]) / (2 * Z95)).to_numpy()
    return value_test(current["value"], (current["ci_high"] - current["ci_low"]) / (2 * Z95),
                      past["value"].to_numpy(), errors, rule.overdispersion, kind == "post_stratified_share")


def count_test(values: pl.DataFrame, history: pl.DataFrame, methodology: Methodology) -> dict[tuple[str, str], str]:
    """Values whose test against their own trailing months (methodology early_warning: count_test) gives
    p < alpha, two-sided; none when fewer than min_expected cases are expected or fewer than min_history
    trailing months can be tested."""
    rule = methodology.early_warning
    warnings: dict[tuple[str, str], str] = {}
    if history.height == 0:
        return warnings
    needed = {"month", "code", "indicator", "numerator", "denominator", "value", "ci_low", "ci_high"}
    if missing := sorted(needed - set(history.columns)):
        raise ValueError(f"count_test warnings need the trailing months' {', '.join(missing)}")
    kinds = {e.code: e.denominator for e in catalogue().indicators}
    current = {(r["code"], r["indicator"]): r for r in values.iter_rows(named=True)}
    for (code, indicator), group in history.group_by(["code", "indicator"]):
        if (code, indicator) not in current:
            continue
        kind = kinds[indicator]
        past = _usable(group.sort("month").tail(rule.trailing_months), kind)
        result = indicator_test(current[(code, indicator)], past, kind, rule)
        if result is None or result.p >= rule.alpha:
            continue
        if result.expected is not None and result.expected < rule.min_expected:
            continue
        worse = result.higher == (methodology.indicator(indicator).direction == -1)
        warnings[(code, indicator)] = count_warning_text(worse, past.height, result)
    return warnings
