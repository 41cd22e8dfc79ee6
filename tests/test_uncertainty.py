"""The month's Monte Carlo on small hand-built cases: its spread against the analytic variance, its sampling
distributions, its seeding and the rows it stores."""

import json

import numpy as np
import pytest
from scipy import stats

from indicators.index import structure_of
from indicators.methodology import MonteCarlo, SubIndex, by_version
from indicators.uncertainty import Layout, MonthArrays, draw_parameters, kinds, rank_intervals, sample, simulate
from nsi.reference import CITY_CODE as CITY

UNITS = ["u1", "u2", "u3", "city"]


def one_indicator(code="A1", draws=4000, jitter=0.0, normalisations=None, sampling="all"):
    """v1 cut down to one sub-index of one indicator, so that the composite is that indicator's score."""
    v1 = by_version("v1")
    indicator = v1.indicator(code).model_copy(update={"weight": 1.0})
    sub = SubIndex(code="A", name_zh="治安状况", name_en="Public order", weight=1.0, indicators=[indicator])
    mc = MonteCarlo(draws=draws, weight_jitter=jitter, normalisations=normalisations or {"goalposts": 1.0},
                    percentiles=(5, 50, 95), sampling=sampling)
    return v1.model_copy(update={"sub_indices": [sub], "monte_carlo": mc})


def rates(counts, per):
    """A rate indicator's month: counts over a denominator of `per` (population × scale / 10 000)."""
    counts = np.array(counts, float)[:, None]
    return MonthArrays(counts / per, counts / per, counts, np.full(counts.shape, float(per)), np.full(counts.shape, np.nan))


def test_change_sd_matches_the_poisson_variance():
    # A1 (direction −1, goalposts 4.1–16.1): score = 100 − (count/per − 4.1)/12·100, linear within the goalposts,
    # so Var(change) = (100/12/per)²·(λ_now + λ_last) with λ the observed counts (Poisson on the observed count).
    m = one_indicator()
    now, last, year = rates([1000, 800, 1200, 1000], 100), rates([900, 800, 1100, 950], 100), rates([1000] * 4, 100)
    sim = simulate(m, structure_of(m), 202403, UNITS, 3, now, last, year)
    slope = 100 / 12 / 100
    expected_mom = slope * np.sqrt(np.array([1000 + 900, 800 + 800, 1200 + 1100, 1000 + 950]))
    expected_yoy = slope * np.sqrt(np.array([1000 + 1000, 800 + 1000, 1200 + 1000, 1000 + 1000]))
    # 4000 draws: the sd of a sample sd is about 1.1% of it.
    np.testing.assert_allclose(sim.change_mom.std(axis=0, ddof=1), expected_mom, rtol=0.05)
    np.testing.assert_allclose(sim.change_yoy.std(axis=0, ddof=1), expected_yoy, rtol=0.05)
    np.testing.assert_allclose(sim.now.values["NSI"].std(axis=0, ddof=1), slope * np.sqrt([1000, 800, 1200, 1000]), rtol=0.05)
    # One indicator of effective weight 1: its contribution is the whole change, draw by draw.
    np.testing.assert_allclose(sim.contribution_mom[:, :, 0], sim.change_mom, atol=1e-9)
    rows = sim.rows("2024-03", m)
    change = rows.filter((rows["quantity"] == "change_mom") & (rows["code"] == "u1")).row(0, named=True)
    assert change["sd"] == pytest.approx(expected_mom[0], rel=0.05)
    point = slope * (900 - 1000)  # the change of the observed values: more incidents, a lower score
    assert change["low"] < point < change["high"]
    assert change["middle"] == pytest.approx(point, abs=3 * expected_mom[0] / np.sqrt(4000) * 1.3)


def test_sampling_distributions():
    rng = np.random.default_rng(5)
    # Shares: the spread of Jeffreys' Beta(num + ½, den − num + ½), about the published share; 6 of 6 still varies.
    shares = MonthArrays(np.array([[1.0], [0.75]]), np.array([[1.0], [0.75]]), np.array([[6.0], [3.0]]),
                         np.array([[6.0], [4.0]]), np.full((2, 1), np.nan))
    drawn = sample(shares, ["share"], "all", rng, 20000)
    for unit, (a, b) in enumerate([(6.5, 0.5), (3.5, 1.5)]):
        assert drawn[:, unit, 0].mean() == pytest.approx([1.0, 0.75][unit], abs=1e-12)
        assert drawn[:, unit, 0].var() == pytest.approx(stats.beta.var(a, b), rel=0.05)
    assert drawn[:, 0, 0].std() > 0.05
    # Medians and survey shares: normal on the standard error of their interval; a survey share only, in v1's mode.
    spread = MonthArrays(np.array([[8.0, 0.9]]), np.array([[8.0, 0.9]]), np.full((1, 2), np.nan),
                         np.full((1, 2), np.nan), np.array([[0.5, 0.01]]))
    drawn = sample(spread, ["median", "post_stratified_share"], "all", rng, 20000)
    np.testing.assert_allclose(drawn[:, 0].std(axis=0), [0.5, 0.01], rtol=0.03)
    v1_mode = sample(spread, ["median", "post_stratified_share"], "survey", rng, 200)
    assert (v1_mode[:, 0, 0] == 8.0).all() and v1_mode[:, 0, 1].std() > 0
    # A value the methodology set aside stays missing; an adjusted one moves by its counts' noise about itself.
    held = MonthArrays(np.array([[np.nan, 0.5]]), np.array([[0.2, 0.8]]), np.array([[1.0, 4.0]]),
                       np.array([[5.0, 5.0]]), np.full((1, 2), np.nan))
    drawn = sample(held, ["share", "share"], "all", rng, 5000)
    assert np.isnan(drawn[:, 0, 0]).all()
    assert drawn[:, 0, 1].mean() == pytest.approx(0.5, abs=1e-12) and drawn[:, 0, 1].var() == pytest.approx(
        stats.beta.var(4.5, 1.5), rel=0.05)


def test_same_month_same_draws():
    m = one_indicator(draws=50, jitter=0.25, normalisations={"goalposts": 0.5, "minmax": 0.5})
    now, last = rates([1000, 800, 1200, 1000], 100), rates([900, 800, 1100, 950], 100)
    first = simulate(m, structure_of(m), 202403, UNITS, 3, now, last)
    again = simulate(m, structure_of(m), 202403, UNITS, 3, now, last)
    other = simulate(m, structure_of(m), 202404, UNITS, 3, now, last)
    assert first.rows("2024-03", m).equals(again.rows("2024-03", m))
    assert first.parameters.rows("2024-03", "v1").equals(again.parameters.rows("2024-03", "v1"))
    assert not np.array_equal(first.change_mom, other.change_mom)


def test_stored_parameters_regenerate_the_draws():
    v1 = by_version("v1")
    structure = structure_of(v1)
    parameters = draw_parameters(v1, structure, 202403, 11, 16)
    rows = parameters.rows("2024-03", "v1")
    assert rows.height == v1.monte_carlo.draws and set(rows["seed"]) == {202403}
    assert set(rows["normalisation"]) == set(v1.monte_carlo.normalisations)
    # Each draw's weights are the declared ones times 1 + U(−jitter, jitter): within the jitter, and they
    # are what the draw scored with.
    for row in rows.head(20).iter_rows(named=True):
        weights = json.loads(row["weights"])
        assert list(weights) == [n.code for n in structure.nodes]
        for node in structure.nodes:
            assert abs(weights[node.code] / node.weight - 1) <= v1.monte_carlo.weight_jitter
        assert weights == dict(zip(parameters.nodes, parameters.weights[row["draw"]]))


def test_a_district_not_ranked_has_no_rank_draws():
    m = one_indicator(draws=30, jitter=0.25)
    sim = simulate(m, structure_of(m), 202403, UNITS, 3, rates([1000, 800, 1200, 1000], 100),
                   ranked=np.array([True, False, True]))
    assert (sim.ranks[:, 1] == 0).all() and set(np.unique(sim.ranks[:, [0, 2]])) <= {1, 2}
    rows = sim.rows("2024-03", m)
    assert sorted(rows.filter(rows["quantity"] == "rank")["code"].to_list()) == ["u1", "u3"]
    assert rows.filter(rows["quantity"].is_in(["change_mom", "change_yoy", "contribution_mom"])).height == 0


def test_rank_intervals_ignore_medians_in_v1():
    """v1's intervals redraw what has a standard error; compute_month gives them the survey's only, so A5's
    new interval changes no rank interval (test_index.py compares v1's stored intervals on the sample)."""
    v1 = by_version("v1")
    rng = np.random.default_rng(2)
    lo = np.array([i.goalposts[0] for i in v1.indicators])
    hi = np.array([i.goalposts[1] for i in v1.indicators])
    raw = lo + rng.random((11, 16)) * (hi - lo)
    survey = np.array(kinds([i.code for i in v1.indicators])) == "post_stratified_share"
    se = np.where(survey, 0.01, np.nan)[None, :].repeat(11, axis=0)
    with_median = se.copy()
    with_median[:, [i.code for i in v1.indicators].index("A5")] = 2.0
    assert not (rank_intervals(raw, se, v1, 7) == rank_intervals(raw, with_median, v1, 7)).all()
    month = MonthArrays(raw, raw, np.full(raw.shape, np.nan), np.full(raw.shape, np.nan), with_median)
    sim = simulate(v1, structure_of(v1), 7, [f"d{k}" for k in range(11)], 11, month)
    assert (sim.rank_percentiles(v1.monte_carlo.percentiles) == rank_intervals(raw, se, v1, 7)).all()


def test_a_smoothed_value_is_drawn_as_the_smoothing_of_drawn_counts():
    # Three districts and the city, a rate smoothed by small_numbers; the draws of the smoothed values must
    # spread as the estimator does: Poisson counts drawn for every unit, then smoothed one draw at a time
    # by small_numbers.smooth itself (the prior re-estimated each time).
    from indicators import small_numbers
    den = np.array([20.0, 5.0, 10.0, 35.0])  # population × scale / 10 000
    counts = np.array([60.0, 30.0, 25.0, 115.0])
    codes = ["d1", "d2", "d3", "city"]

    def smoothed(c):
        rows = [{"code": code, "numerator": float(x), "denominator": n, "value": x / n, "flag": None}
                for code, x, n in zip(codes, c, den)]
        rows[-1]["code"] = CITY
        small_numbers.smooth(rows, "per_residents", codes[:3])
        return [r["value"] for r in rows], [r["flag"] for r in rows]

    values, flags = smoothed(counts)
    weights = np.array([[small_numbers.own_weight(f)] for f in flags])
    assert (weights[:3] < 1).all() and weights[3, 0] == 1
    month = MonthArrays(np.array(values)[:, None], (counts / den)[:, None], counts[:, None], den[:, None],
                        np.full((4, 1), np.nan), smoothed=weights < 1)
    drawn = sample(month, ["per_residents"], "all", np.random.default_rng(3), 20000, Layout(3, 3))
    rng = np.random.default_rng(11)
    brute = np.array([smoothed(rng.poisson(counts))[0] for _ in range(4000)])
    np.testing.assert_allclose(drawn[:, :, 0].std(axis=0), brute.std(axis=0), rtol=0.06)
    # centred on the published values: an interval is the noise about the figure printed
    np.testing.assert_allclose(drawn[:, :, 0].mean(axis=0), values, rtol=1e-12)
    # w × the counts' noise would be too narrow: the prior is estimated from the same noisy counts
    assert drawn[:, 1, 0].std() > 1.2 * weights[1, 0] * np.sqrt(30) / 5


def test_noise_bands_hold_the_sampling_alone_under_the_published_method():
    from indicators.methodology import Narration
    # Jittered weights and half the draws min-max: the all-sources change varies more than the counts make it;
    # the `_noise` draws, under the declared weights and goalposts, match the Poisson variance as above.
    base = one_indicator(jitter=0.25, normalisations={"goalposts": 0.5, "minmax": 0.5})
    m = base.model_copy(update={"narration": Narration(change_level=0.9, driver_level=0.99, band="sampling")})
    now, last = rates([1000, 800, 1200, 1000], 100), rates([900, 800, 1100, 950], 100)
    sim = simulate(m, structure_of(m), 202403, UNITS, 3, now, last)
    slope = 100 / 12 / 100
    expected = slope * np.sqrt(np.array([1000 + 900, 800 + 800, 1200 + 1100, 1000 + 950]))
    np.testing.assert_allclose(sim.change_mom_noise.std(axis=0, ddof=1), expected, rtol=0.05)
    assert sim.change_mom.std(axis=0, ddof=1)[0] > 2 * expected[0]  # min-max rescales the month by its extremes
    quantities = set(sim.rows("2024-03", m)["quantity"])
    assert {"change_mom_noise", "contribution_mom_noise"} <= quantities and "change_yoy_noise" not in quantities
    # without the sampling band (v1's narration and none) no `_noise` rows are stored
    plain = simulate(base, structure_of(base), 202403, UNITS, 3, now, last)
    assert plain.change_mom_noise is None and not any(q.endswith("_noise") for q in plain.rows("2024-03", base)["quantity"])
