"""Methodology v2 and the tools that choose and compare versions: the calibration of goalposts by the
declared share at the bounds, the values a methodology would publish for a range (indicators.range_values),
the comparison of two versions and the evaluation's count of scores at a bound."""


import duckdb
import numpy as np
import polars as pl
import pytest

from indicators import calibrate, compare_versions, document, evaluate
from indicators.methodology import by_version, for_month
from indicators.range_values import values_over
from nsi.reference import CITY_CODE, load_reference

V1, V2 = by_version("v1"), by_version("v2")


# ------------------------------------------------------------------------------- the file itself
def test_v2_answers_the_audit_of_v1_with_a_reason_for_every_change():
    assert for_month("2024-02").version == "v1" and for_month("2024-03").version == "v2"
    codes = [i.code for i in V2.indicators]
    assert "A1" not in codes and "A6" in codes  # fraud is counted once, in A3
    assert "D1" not in codes and "B3" not in codes and "B5" in codes
    assert V2.early_warning.method == "count_test" and V2.monte_carlo.sampling == "all"
    assert V2.narration is not None and V2.smoothing is not None and V2.max_share_at_bounds == 0.05
    assert len(V2.changes) >= 6 and all(c.why for c in V2.changes)
    mentioned = " ".join(c.what for c in V2.changes)
    for code in ("A1", "A6", "D1", "B3", "B5"):
        assert code in mentioned, code


def test_v2_shares_may_have_goalposts_beyond_their_natural_range():
    # C2's upper goalpost above 1: a district-month with every order on time does not sit at the bound.
    assert V2.indicator("C2").goalposts[1] > 1


# ------------------------------------------------------------------------------- calibration
def test_goalposts_by_share_leave_at_most_the_declared_share_at_the_bounds():
    rng = np.random.default_rng(5)
    for values, share in ((rng.normal(0.9, 0.03, 400).clip(0, 1), True), (rng.poisson(6, 400) / 2.0, False)):
        lo, hi = calibrate.goalposts_by_share(values, share, 0.05)
        assert calibrate.share_at_bounds(values, (lo, hi)) <= 0.05
        q_lo, q_hi = np.percentile(values, [2.5, 97.5])
        assert lo <= q_lo - 0.1 * (q_hi - q_lo) + 1e-12 and hi >= q_hi + 0.1 * (q_hi - q_lo) - 1e-12  # rounded outwards


def test_goalposts_of_a_share_are_not_clipped_at_one():
    values = np.array([0.97] * 10 + [0.99] * 20 + [1.0] * 70)
    lo, hi = calibrate.goalposts_by_share(values, True, 0.05)
    assert hi > 1.0 and calibrate.share_at_bounds(values, (lo, hi)) == 0
    assert calibrate.goalposts(values, True)[1] == 1.0  # v1's rule clips, putting 70% at the bound
    assert calibrate.share_at_bounds(values, calibrate.goalposts(values, True)) == pytest.approx(0.7)


def test_share_at_bounds_counts_values_at_or_beyond_a_goalpost():
    assert calibrate.share_at_bounds(np.array([0.0, 1.0, 2.0, 3.0]), (1.0, 3.0)) == 0.75
    assert calibrate.share_at_bounds(np.array([]), (0, 1)) == 0


# ------------------------------------------------------------------------- values over a range
@pytest.fixture(scope="module")
def warehouse(ingested_q1):
    root, _ = ingested_q1
    con = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"), read_only=True)
    yield con
    con.close()


def test_range_values_recompute_months_of_another_version_and_read_their_own(warehouse):
    reference = load_reference()
    values = values_over(warehouse, "2024-01", "2024-03", V2, reference, districts_only=False)
    assert values["month"].unique().sort().to_list() == ["2024-01", "2024-02", "2024-03"]
    assert set(values["indicator"]) == {i.code for i in V2.indicators}
    stored = warehouse.execute("SELECT code, indicator, value FROM indicator_values WHERE month = '2024-03' "
                               "ORDER BY code, indicator").pl()
    assert values.filter(pl.col("month") == "2024-03").select("code", "indicator", "value").equals(stored)
    # A v1 month under v2, from the same records: the formulas both versions share give v1's stored values
    # before smoothing, and A6 is A1 without the fraud that A3 counts.
    v1 = warehouse.execute("SELECT code, indicator, numerator, value FROM indicator_values WHERE month = '2024-02'").pl()
    feb = values.filter(pl.col("month") == "2024-02")
    for code in ("A2", "C1", "B2"):
        ours = feb.filter(pl.col("indicator") == code).sort("code")["value_raw"].to_list()
        assert ours == v1.filter(pl.col("indicator") == code).sort("code")["value"].to_list(), code
    by = {(r["code"], r["indicator"]): r["numerator"] for r in feb.iter_rows(named=True)}
    a1 = {r["code"]: r["numerator"] for r in v1.filter(pl.col("indicator") == "A1").iter_rows(named=True)}
    for code, count in a1.items():
        assert by[(code, "A6")] <= count and count - by[(code, "A6")] <= by[(code, "A3")]
    assert sum(a1.values()) > sum(by[(c, "A6")] for c in a1)  # some fraud was 刑事 and is no longer counted twice
    districts = values_over(warehouse, "2024-01", "2024-03", V2, reference)
    assert CITY_CODE not in set(districts["code"]) and districts.height == 3 * 11 * len(V2.indicators)


def test_compare_versions_audits_each_on_its_own_values(warehouse):
    result = compare_versions.compare(warehouse, "2024-01", "2024-03", ["v1", "v2"])
    v1, v2 = result["versions"]
    assert (v1["version"], v1["indicators"], v2["version"], v2["indicators"]) == ("v1", 16, "v2", 15)
    assert set(v2["at_bound"]) == {i.code for i in V2.indicators}
    worst = max(v1["at_bound"], key=v1["at_bound"].get)
    assert v1["worst_at_bound"] == {"indicator": worst, "share": v1["at_bound"][worst]}
    assert 0 <= result["rankings"]["share_same_rank"] <= 1 and -1 <= result["rankings"]["spearman"] <= 1
    section = "\n".join(document.render_comparison(result))
    assert "## v1 against v2 on the sample" in section and f"{worst} " in section


# --------------------------------------------------------------------------- the evaluation
def test_evaluation_counts_scores_at_a_bound_per_version_and_indicator():
    con = duckdb.connect()
    con.execute("CREATE TABLE indicator_values (month VARCHAR, code VARCHAR, indicator VARCHAR, score DOUBLE, "
                "methodology_version VARCHAR)")
    rows = [("2024-03", "320102", "A6", 100.0), ("2024-03", "320104", "A6", 40.0), ("2024-04", "320102", "A6", 0.0),
            ("2024-04", "320104", "A6", None), ("2024-03", "320102", "B5", 55.0), ("2024-03", CITY_CODE, "B5", 100.0)]
    con.executemany("INSERT INTO indicator_values VALUES (?, ?, ?, ?, 'v2')", rows)
    counted = evaluate.scores_at_bounds(con)
    assert counted == [("v2", "A6", 3, 2), ("v2", "B5", 1, 0)]  # the city left out, a missing score not scored
    table = "\n".join(evaluate.bounds_markdown(counted, {"v2": 0.05}))
    assert "| v2 | A6 | 3 | 2 | 66.7% | 5.0% |" in table


def test_the_methodology_document_carries_the_evaluations_it_finds(tmp_path):
    report = evaluate.markdown("Evaluation", [evaluate.Share("no driver named", 19, 20)], [], ["Range …"],
                               evaluate.bounds_markdown([("v2", "A6", 20, 1)], {"v2": 0.05}))
    (tmp_path / "scale-0.1.md").write_text(report, encoding="utf-8")
    section = "\n".join(document.render_evaluations(tmp_path))
    assert section.startswith("## Evaluation of the narration") and "### scale-0.1" in section
    assert "| no driver named | 19 | 20 | 95.0% | ≥ 95% |" in section and "| v2 | A6 | 20 | 1 | 5.0% | 5.0% |" in section
    assert "#### Steady city" in section  # the report's sections sit under its own heading
    assert document.render_evaluations(tmp_path / "none") == []
