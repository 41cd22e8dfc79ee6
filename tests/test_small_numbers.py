"""Minimum denominators and empirical-Bayes smoothing (indicators/small_numbers.py), on small hand-worked
cases; v1, which declares neither, leaves every value of the Q1 sample as it was."""

import polars as pl
import pytest
from conftest import query
from scipy import stats

from indicators import small_numbers
from indicators.methodology import Methodology, by_version, for_month
from indicators.values import COLUMNS
from nsi.reference import CITY_CODE, load_reference

V1 = by_version("v1")
REFERENCE = load_reference()
D1, D2, D3 = REFERENCE.district_codes[:3]


def methodology(min_denominator: dict | None = None, smoothing: list[str] | None = None) -> Methodology:
    """v1 with the given per-indicator min_denominator and smoothed indicators, validated as a file would be."""
    data = V1.model_dump()
    for sub in data["sub_indices"]:
        for indicator in sub["indicators"]:
            indicator["min_denominator"] = (min_denominator or {}).get(indicator["code"])
    data["smoothing"] = {"method": "empirical_bayes", "indicators": smoothing} if smoothing else None
    return Methodology.model_validate(data)


def frame(indicator: str, rows: list[tuple]) -> pl.DataFrame:
    """(code, numerator, denominator, n, flag) → indicator_values rows as indicators.values builds them."""
    out = []
    for code, numerator, denominator, n, flag in rows:
        value = numerator / denominator if denominator else None
        out.append({"month": "2024-03", "code": code, "indicator": indicator, "numerator": numerator,
                    "denominator": denominator, "value": value, "n": n, "flag": flag})
    return pl.DataFrame(out, schema=COLUMNS)


def values_of(result: pl.DataFrame) -> dict[str, float | None]:
    return {r["code"]: r["value"] for r in result.iter_rows(named=True)}


def test_v1_values_are_untouched(ingested_q1):
    root, _ = ingested_q1
    stored = query(root, f"SELECT {', '.join(COLUMNS)} FROM indicator_values WHERE methodology_version = 'v1' "
                         "ORDER BY month, code, indicator")
    assert stored.height == 2 * 12 * 16  # 2024-01 and 2024-02; 2024-03 is computed under v2
    # the value before the small-numbers rules is the value, null where the value is null
    assert stored.filter(pl.col("value_raw").ne_missing(pl.col("value"))).height == 0
    assert stored["value"].null_count() < stored.height
    flags = stored["flag"].drop_nulls()
    assert not flags.str.contains("smoothed|below_min_denominator").any()
    # rates and shares are their counts' ratio, unshrunk
    counted = stored.filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0))
    assert counted.height > 0
    assert (counted["value"] - counted["numerator"] / counted["denominator"]).abs().max() < 1e-12
    # and applying v1 again changes nothing
    again = small_numbers.apply(stored.with_columns(value_raw=pl.lit(None, pl.Float64)), V1, REFERENCE)
    assert again.equals(stored)


def test_v2_month_of_the_run_is_smoothed_and_keeps_its_raw_value(ingested_q1):
    root, _ = ingested_q1
    stored = query(root, f"SELECT {', '.join(COLUMNS)} FROM indicator_values WHERE month = '2024-03' "
                         "ORDER BY code, indicator")
    v2 = for_month("2024-03")
    assert stored.height == 12 * len(v2.indicators)
    districts = stored.filter(pl.col("code") != "320100")
    smoothed = districts.filter(pl.col("indicator").is_in(v2.smoothing.indicators) & pl.col("value").is_not_null())
    assert smoothed.height > 0 and smoothed["flag"].str.contains("smoothed").all()
    counted = smoothed.filter(pl.col("denominator") > 0)
    # value_raw is the counts' ratio; the published value moved towards the city
    assert (counted["value_raw"] - counted["numerator"] / counted["denominator"]).abs().max() < 1e-12
    assert (counted["value"] - counted["value_raw"]).abs().max() > 0


def test_value_raw_follows_value():
    columns = small_numbers.apply(frame("B2", [(D1, 3.0, 4.0, None, None)]).drop("value_raw"), V1, REFERENCE).columns
    assert columns[columns.index("value") + 1] == "value_raw"


def test_minimum_denominator_removes_and_flags_small_values():
    m = methodology({"B3": 10, "A5": 5, "D1": 250})
    b3 = frame("B3", [(D1, 6.0, 6.0, None, None), (D2, 9.0, 10.0, None, None), (D3, 0.0, 0.0, None, None)])
    result = {r["code"]: r for r in small_numbers.apply(b3, m, REFERENCE).iter_rows(named=True)}
    assert result[D1]["value"] is None and result[D1]["value_raw"] == 1.0
    assert result[D1]["flag"] == "below_min_denominator:6<10"
    assert result[D2]["value"] == pytest.approx(0.9) and result[D2]["flag"] is None  # 10 is enough
    assert result[D3]["flag"] == "below_min_denominator:0<10"
    # medians and survey shares count their n; a flag already there is kept
    a5 = frame("A5", [(D1, None, None, 4, None), (D2, None, None, 5, None)]).with_columns(value=pl.lit(12.5))
    assert [r["flag"] for r in small_numbers.apply(a5, m, REFERENCE).iter_rows(named=True)] == [
        "below_min_denominator:4<5", None]
    d1 = frame("D1", [(D1, None, None, 150, "below_min_sample:150<200"), (D2, None, None, 240, None)])
    flags = small_numbers.apply(d1.with_columns(value=pl.lit(0.99)), m, REFERENCE)["flag"].to_list()
    assert flags == ["below_min_sample:150<200;below_min_denominator:150<250", "below_min_denominator:240<250"]
    # an indicator without a minimum is untouched
    b2 = frame("B2", [(D1, 3.0, 4.0, None, None)])
    assert small_numbers.apply(b2, m, REFERENCE)["value"].to_list() == [0.75]


def test_shares_shrink_to_the_beta_binomial_posterior_mean():
    # 5/20 and 15/20 against the city's 20/40 = 0.5: s² = (20·0.0625 + 20·0.0625) / 40 = 0.0625,
    # sampling 0.25 / 20 = 0.0125, so τ² = 0.05 and the beta prior counts for 0.25 / 0.05 − 1 = 4 cases:
    # (5 + 4·0.5) / (20 + 4) = 7/24 and (15 + 2) / 24 = 17/24.
    b2 = frame("B2", [(D1, 5.0, 20.0, None, None), (D2, 15.0, 20.0, None, None), (CITY_CODE, 20.0, 40.0, None, None)])
    result = small_numbers.apply(b2, methodology(smoothing=["B2"]), REFERENCE)
    values = values_of(result)
    assert values[D1] == pytest.approx(7 / 24) and values[D2] == pytest.approx(17 / 24)
    assert values[CITY_CODE] == 0.5  # the city is the prior mean, never smoothed
    # the same from scipy: the mean of Beta(2 + 5, 2 + 15), the prior Beta(4·0.5, 4·0.5) updated by 5 of 20
    assert values[D1] == pytest.approx(stats.beta(2 + 5, 2 + 15).mean())
    # each flag carries the weight of the district's own counts, 20 / (20 + 4), which the Monte Carlo reads back
    assert [r["flag"] for r in result.iter_rows(named=True)] == ["smoothed:0.833333", "smoothed:0.833333", None]
    assert [small_numbers.own_weight(r["flag"]) for r in result.iter_rows(named=True)] == [0.833333, 0.833333, 1.0]
    assert small_numbers.own_weight("below_min_sample:150<200;smoothed:0.5") == 0.5
    assert result["value_raw"].to_list() == [0.25, 0.75, 0.5]


def test_rates_shrink_by_marshalls_global_empirical_bayes():
    # 5 and 25 incidents on 10 (×10,000 residents) each, the city 30 on 20 = 1.5: s² = (10·1 + 10·1) / 20 = 1,
    # sampling 1.5 / 10 = 0.15, A = 0.85; each district keeps C = A / (A + m/n) = 0.85 of its distance:
    # 1.5 − 0.85 = 0.65 and 1.5 + 0.85 = 2.35.
    a1 = frame("A1", [(D1, 5.0, 10.0, None, None), (D2, 25.0, 10.0, None, None), (CITY_CODE, 30.0, 20.0, None, None)])
    values = values_of(small_numbers.apply(a1, methodology(smoothing=["A1"]), REFERENCE))
    assert values[D1] == pytest.approx(0.65) and values[D2] == pytest.approx(2.35) and values[CITY_CODE] == 1.5
    # the same from scipy: the gamma prior of mean 1.5 and variance 0.85 (shape 1.5²/0.85, rate 1.5/0.85)
    shape, rate = 1.5 ** 2 / 0.85, 1.5 / 0.85
    assert values[D1] == pytest.approx(stats.gamma(shape + 5, scale=1 / (rate + 10)).mean())


def test_pooling_is_capped_when_districts_differ_no_more_than_sampling():
    # 4/10 and 21/40 against 25/50 = 0.5: s² = (10·0.01 + 40·0.000625) / 50 = 0.0025 < sampling 0.25 / 25,
    # so the prior counts for the largest denominator, 40: (4 + 20) / 50 = 0.48 and (21 + 20) / 80 = 0.5125
    # (the largest district keeps half of its distance from the city).
    b2 = frame("B2", [(D1, 4.0, 10.0, None, None), (D2, 21.0, 40.0, None, None), (CITY_CODE, 25.0, 50.0, None, None)])
    values = values_of(small_numbers.apply(b2, methodology(smoothing=["B2"]), REFERENCE))
    assert values[D1] == pytest.approx(0.48) and values[D2] == pytest.approx(0.5125)
    # rates likewise: 9 and 11 on 10 each against 1.0; s² = 0.01 < 1.0 / 10, so the prior counts for 10
    a1 = frame("A1", [(D1, 9.0, 10.0, None, None), (D2, 11.0, 10.0, None, None), (CITY_CODE, 20.0, 20.0, None, None)])
    values = values_of(small_numbers.apply(a1, methodology(smoothing=["A1"]), REFERENCE))
    assert values[D1] == pytest.approx(0.95) and values[D2] == pytest.approx(1.05)


def test_smoothing_leaves_removed_values_removed_and_other_indicators_alone():
    m = methodology({"B2": 10}, smoothing=["B2"])
    b2 = frame("B2", [(D1, 5.0, 20.0, None, None), (D2, 15.0, 20.0, None, None), (D3, 2.0, 4.0, None, None),
                      (CITY_CODE, 22.0, 44.0, None, None)])
    result = {r["code"]: r for r in small_numbers.apply(b2, m, REFERENCE).iter_rows(named=True)}
    assert result[D3]["value"] is None and result[D3]["flag"] == "below_min_denominator:4<10"
    assert result[D1]["flag"].startswith("smoothed:") and result[D1]["value"] != 0.25
    c3 = frame("C3", [(D1, 5.0, 20.0, None, None), (CITY_CODE, 22.0, 44.0, None, None)])
    assert small_numbers.apply(c3, m, REFERENCE)["value"].to_list() == [0.25, 0.5]
