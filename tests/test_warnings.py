"""Early warnings (indicators/warnings.py): v1's robust z moved as it was, and the count test, checked on
small cases whose p-values are computed here from the binomial and hypergeometric formulas."""

import math

import numpy as np
import polars as pl
import pytest

from indicators import warnings
from indicators.methodology import CountTestWarning, by_version

V1 = by_version("v1")
MONTHS = [f"2023-{k:02d}" for k in range(3, 13)] + ["2024-01", "2024-02"]
EXPOSURE = 45.0  # a district of 450,000 residents: the rate's denominator in 10,000s


def count_rule(**changes) -> CountTestWarning:
    fields = {"method": "count_test", "alpha": 0.01, "trailing_months": 12, "min_history": 6, "min_expected": 5.0,
              "overdispersion": True, **changes}
    return CountTestWarning(**fields)


def with_rule(rule) -> object:
    return V1.model_copy(update={"early_warning": rule})


def rows(indicator, numerators=None, denominators=None, values=None, errors=None, code="320117", months=MONTHS):
    """indicator_values rows as the index stage passes them; errors are standard errors (ci = value ± 1.96·se)."""
    k = len(months)
    numerators = numerators if numerators is not None else [None] * k
    denominators = denominators if denominators is not None else [None] * k
    if values is None:
        values = [None if n is None or not d else n / d for n, d in zip(numerators, denominators)]
    errors = errors if errors is not None else [None] * k
    return pl.DataFrame({
        "month": months, "code": [code] * k, "indicator": [indicator] * k,
        "numerator": [None if n is None else float(n) for n in numerators],
        "denominator": [None if d is None else float(d) for d in denominators],
        "value": values, "n": [None] * k,
        "ci_low": [None if e is None else v - warnings.Z95 * e for v, e in zip(values, errors)],
        "ci_high": [None if e is None else v + warnings.Z95 * e for v, e in zip(values, errors)],
        "flag": [None] * k,
    }, schema={"month": pl.Utf8, "code": pl.Utf8, "indicator": pl.Utf8, "numerator": pl.Float64,
               "denominator": pl.Float64, "value": pl.Float64, "n": pl.Int64, "ci_low": pl.Float64,
               "ci_high": pl.Float64, "flag": pl.Utf8})


def this_month(indicator, numerator=None, denominator=None, value=None, error=None, code="320117"):
    return rows(indicator, [numerator], [denominator], None if value is None else [value],
                None if error is None else [error], code=code, months=["2024-03"])


def binomial_two_sided(k: int, n: int, p: float) -> float:
    """Σ of the binomial probabilities not above that of k (the exact test's two-sided p), by hand."""
    pmf = [math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(n + 1)]
    return min(1.0, sum(q for q in pmf if q <= pmf[k] * (1 + 1e-7)))


def fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Fisher's exact two-sided p of [[a, b], [c, d]] by enumerating the tables with the same margins."""
    row, col, total = a + b, a + c, a + b + c + d
    pmf = {x: math.comb(col, x) * math.comb(total - col, row - x) / math.comb(total, row)
           for x in range(max(0, row + col - total), min(row, col) + 1)}
    return min(1.0, sum(q for q in pmf.values() if q <= pmf[a] * (1 + 1e-7)))


def normal_two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def test_robust_z_is_v1s_rule_under_the_old_names():
    from indicators import index
    assert index.early_warnings is warnings.early_warnings and index.warning_text is warnings.warning_text
    assert V1.early_warning.method == "robust_z"
    history = rows("A1", values=[10.0, 10.4, 9.8, 10.1, 9.9, 10.3, 10.0, 9.7, 10.2, 10.1, 9.9, 10.0])
    spike = this_month("A1", value=14.0)
    # median 10.0, MAD 0.1 → robust SD max(0.14826, 0.02·10) = 0.2; (14 − 10) / 0.2 = 20
    assert warnings.early_warnings(spike, history, V1) == {
        ("320117", "A1"): "明显差于近12个月常态（比中位数高20.0个稳健标准差）"}


def test_one_incident_against_four_warns_under_robust_z_but_not_under_the_count_test():
    """The 溧水 case of the issue: 1 criminal incident against 4 in each of the last 12 months."""
    history = rows("A1", [4] * 12, [EXPOSURE] * 12)
    month = this_month("A1", 1, EXPOSURE)
    # v1: MAD 0, the spread floored at 2% of the median: (1 − 4) / (0.02·4) = −37.5 robust SDs
    assert warnings.early_warnings(month, history, V1)[("320117", "A1")].endswith("比中位数低37.5个稳健标准差）")
    # 4 expected, below min_expected 5: no warning
    assert warnings.early_warnings(month, history, with_rule(count_rule())) == {}
    # and even with no minimum, 1 of 49 when 1/13 of them are expected is not improbable
    p = binomial_two_sided(1, 49, 1 / 13)
    assert p > 0.1
    assert warnings.rate_test(1, EXPOSURE, np.full(12, 4.0), np.full(12, EXPOSURE), False).p == pytest.approx(p)
    assert warnings.early_warnings(month, history, with_rule(count_rule(min_expected=0.5))) == {}


def test_a_rate_far_above_its_expected_count_warns_with_its_counts():
    history = rows("A1", [24] * 12, [EXPOSURE] * 12)
    rule = with_rule(count_rule(overdispersion=False))
    p = binomial_two_sided(41, 41 + 288, 1 / 13)  # given 329 incidents in 13 equal months, 41 in this one
    assert 0.001 <= p < 0.01
    text = f"明显差于近12个月常态（本月41件，按近12个月预期约24件，p={p:.3f}）"
    assert warnings.early_warnings(this_month("A1", 41, EXPOSURE), history, rule) == {("320117", "A1"): text}
    # fewer incidents is better for A1; a larger district this month expects proportionally more
    fewer = warnings.early_warnings(this_month("A1", 8, EXPOSURE), history, rule)[("320117", "A1")]
    assert fewer.startswith("明显好于近12个月常态（本月8件，按近12个月预期约24件，p")
    larger = warnings.rate_test(41, 2 * EXPOSURE, np.full(12, 24.0), np.full(12, EXPOSURE), False)
    assert larger.expected == pytest.approx(48) and larger.p == pytest.approx(binomial_two_sided(41, 329, 2 / 14))


def test_a_share_near_99_percent_falling_4_points_on_many_cases_warns():
    history = rows("C2", [990] * 12, [1000] * 12)
    month = this_month("C2", 950, 1000)
    # v1 needs about 6 points: (0.95 − 0.99) / (0.02·0.99) = −2.0 robust SDs
    assert warnings.early_warnings(month, history, V1) == {}
    found = warnings.early_warnings(month, history, with_rule(count_rule()))
    assert found == {("320117", "C2"): "明显差于近12个月常态（本月950/1000件（95.0%），按近12个月预期约99.0%，p<0.001）"}


def test_share_p_is_fishers_exact_on_the_two_by_two():
    result = warnings.share_test(5, 12, np.array([20.0, 22.0]), np.array([24.0, 24.0]), False)
    assert result.p == pytest.approx(fisher_two_sided(5, 7, 42, 6))
    assert result.expected == pytest.approx(12 * 6 / 48)  # the smaller of 12·(42/48) and 12·(6/48)
    assert not result.higher


def test_a_share_with_few_expected_failures_does_not_warn():
    """B3 with 6 cases a month, all resolved in time for a year: 3 of 6 is improbable, but no failure was
    expected (min(6·1, 6·0) = 0 < min_expected), so a late case or three is not a warning."""
    history = rows("B3", [6] * 12, [6] * 12)
    month = this_month("B3", 3, 6)
    assert warnings.share_test(3, 6, np.full(12, 6.0), np.full(12, 6.0), True).p < 0.01
    assert warnings.early_warnings(month, history, with_rule(count_rule())) == {}


def test_too_little_history_gives_no_warning():
    history = rows("A1", [24] * 12, [EXPOSURE] * 12)
    month = this_month("A1", 80, EXPOSURE)
    rule = with_rule(count_rule())
    assert warnings.early_warnings(month, history.tail(6), rule) != {}
    assert warnings.early_warnings(month, history.tail(5), rule) == {}
    # months without counts do not count as history
    gaps = history.with_columns(pl.when(pl.col("month") < "2023-10").then(None).otherwise(pl.col("numerator"))
                                .alias("numerator"))
    assert warnings.early_warnings(month, gaps, rule) == {}


def test_medians_and_survey_shares_are_tested_on_their_standard_errors():
    # A5: 12 months of a 10.0-minute median (SE 1), this month 14.0 (SE 1): SE of the difference √(1 + 12/144)
    z = 4.0 / math.sqrt(1 + 12 / 144)
    history = rows("A5", values=[10.0] * 12, errors=[1.0] * 12)
    found = warnings.early_warnings(this_month("A5", value=14.0, error=1.0), history, with_rule(count_rule()))
    assert normal_two_sided(z) < 0.001
    assert found == {("320117", "A5"): "明显差于近12个月常态（本月中位数14.0，近12个月均值10.0，p<0.001）"}
    # D1: 99.0% ± 0.4 points a month, this month 98.0% ± 0.5 points
    past = [0.990, 0.991, 0.989, 0.990, 0.990, 0.992, 0.988, 0.990, 0.990, 0.991, 0.989, 0.990]
    se = math.sqrt(0.005 ** 2 + 12 * 0.004 ** 2 / 144)
    z = (0.98 - sum(past) / 12) / se
    result = warnings.value_test(0.98, 0.005, np.array(past), np.full(12, 0.004), True, True)
    assert result.dispersion == 1.0  # the months vary less than their errors: floored at 1
    assert result.p == pytest.approx(normal_two_sided(z))
    history = rows("D1", values=past, errors=[0.004] * 12)
    found = warnings.early_warnings(this_month("D1", value=0.98, error=0.005), history,
                                    with_rule(count_rule(alpha=0.1)))
    assert found == {("320117", "D1"): f"明显差于近12个月常态（本月98.0%，近12个月均值99.0%，p={result.p:.3f}）"}
    assert warnings.early_warnings(this_month("D1", value=0.98, error=0.005), history, with_rule(count_rule())) == {}


def test_dispersion_is_pearsons_chi_square_over_its_degrees_of_freedom():
    # counts 10, 20, 30 on equal exposures: rate 20, χ² = (100 + 0 + 100) / 20 = 10, over 2
    assert warnings.poisson_dispersion(np.array([10.0, 20.0, 30.0]), np.ones(3)) == pytest.approx(5.0)
    assert warnings.poisson_dispersion(np.array([19.0, 20.0, 21.0]), np.ones(3)) == 1.0  # 0.05, floored
    # 40/100 and 60/100: share 0.5, χ² = 2·100 / 25 = 8, over 1
    assert warnings.binomial_dispersion(np.array([40.0, 60.0]), np.array([100.0, 100.0])) == pytest.approx(8.0)
    # 1 and 3 with SEs 1 and 1: weighted mean 2, χ² = 2, over 1
    assert warnings.value_dispersion(np.array([1.0, 3.0]), np.array([1.0, 1.0])) == pytest.approx(2.0)
    # a variance four times as large halves the normal deviate
    assert warnings.widen(normal_two_sided(4.0), 4.0) == pytest.approx(normal_two_sided(2.0))
    assert warnings.widen(0.2, 1.0) == 0.2


def test_overdispersed_history_widens_the_test():
    counts = [14, 34] * 6  # mean 24, far more variable than Poisson: χ²/11 = 12·100/24/11 ≈ 4.5
    history = rows("A1", counts, [EXPOSURE] * 12)
    month = this_month("A1", 41, EXPOSURE)
    assert warnings.early_warnings(month, history, with_rule(count_rule(overdispersion=False))) != {}
    assert warnings.early_warnings(month, history, with_rule(count_rule())) == {}


def simulated(counts: np.ndarray) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each row of `counts` one district's 12 trailing months and this month, as values and history."""
    codes = [f"{i:05d}" for i in range(len(counts))]
    frame = pl.DataFrame({"code": np.repeat(codes, 13), "month": (MONTHS + ["2024-03"]) * len(codes),
                          "numerator": counts.reshape(-1).astype(float)})
    frame = frame.with_columns(indicator=pl.lit("A1"), denominator=pl.lit(EXPOSURE),
                               value=pl.col("numerator") / EXPOSURE, n=pl.lit(None, pl.Int64),
                               ci_low=pl.lit(None, pl.Float64), ci_high=pl.lit(None, pl.Float64),
                               flag=pl.lit(None, pl.Utf8)).select(this_month("A1").columns)
    return frame.filter(pl.col("month") == "2024-03"), frame.filter(pl.col("month") < "2024-03")


def test_a_steady_poisson_district_warns_in_about_alpha_of_its_months():
    alpha, months = 0.05, 2000
    counts = np.random.default_rng(202403).poisson(30, (months, 13))
    month, history = simulated(counts)
    rate = len(warnings.early_warnings(month, history, with_rule(count_rule(alpha=alpha)))) / months
    # the exact test is conservative by its discreteness, and flooring the dispersion at 1 more so
    assert alpha / 2 < rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / months)


def test_overdispersion_keeps_a_varying_district_near_alpha():
    """Months whose true rate varies (gamma, CV 0.32) around a fixed mean: the Poisson test alone warns
    far too often; widened by the trailing months' dispersion it stays near alpha."""
    alpha, months = 0.05, 600
    rng = np.random.default_rng(202404)
    counts = rng.poisson(rng.gamma(10, 3, (months, 13)))
    month, history = simulated(counts)
    plain = len(warnings.early_warnings(month, history, with_rule(count_rule(alpha=alpha, overdispersion=False))))
    widened = len(warnings.early_warnings(month, history, with_rule(count_rule(alpha=alpha))))
    assert plain / months > 3 * alpha
    assert widened / months < 2 * alpha


def test_count_test_sentences_use_only_characters_of_the_briefing_font():
    from pathlib import Path
    charset = (Path(__file__).resolve().parent.parent / "reports" / "fonts" / "charset.txt").read_text(encoding="utf-8")
    outcomes = [warnings.rate_test(41, 1.0, np.full(12, 24.0), np.ones(12), True),
                warnings.share_test(950, 1000, np.full(12, 990.0), np.full(12, 1000.0), True),
                warnings.value_test(14.0, 1.0, np.full(12, 10.0), np.ones(12), True, False),
                warnings.value_test(0.98, 0.005, np.full(12, 0.99), np.full(12, 0.004), True, True)]
    text = "".join(warnings.count_warning_text(worse, 12, o) for o in outcomes for worse in (True, False))
    assert not {c for c in text if ord(c) > 0x7F and not c.isspace()} - set(charset)
