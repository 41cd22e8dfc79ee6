"""The evaluation's reading of a warehouse (indicators/evaluate.py) on a small hand-built one.

The narration's decision functions are the contract's (indicators.narration); here they are replaced by a
plain two-standard-deviation rule written in the test, so the counting is checked on its own."""

import json

import duckdb
import pytest

from indicators import evaluate
from indicators.methodology import by_version

V1 = by_version("v1")


def reading(change, sd, methodology):
    if change is None:
        return None
    return "flat" if abs(change) <= 2 * sd else "up" if change > 0 else "down"


def drivers(rows, methodology):
    named = [dict(r, side="up" if r["contribution_mom"] > 0 else "down") for r in rows
             if r["sd"] and abs(r["contribution_mom"]) > 2 * r["sd"]]
    return sorted(named, key=lambda r: -abs(r["contribution_mom"]))


# month, district, change_mom, its sd; then per indicator: contribution, its sd, warning
MONTHS = {
    ("2024-03", "320102"): (None, None, {"A1": (None, None, None), "A3": (None, None, None)}),
    ("2024-03", "320105"): (None, None, {"A1": (None, None, None), "A3": (None, None, None)}),
    ("2024-04", "320102"): (0.5, 1.0, {"A1": (0.3, 0.5, None), "A3": (0.2, 0.4, None)}),
    ("2024-04", "320105"): (-4.0, 1.0, {"A1": (-3.0, 1.0, None), "A3": (-2.0, 0.5, "明显差于近12个月常态")}),
    ("2024-05", "320102"): (0.1, 1.0, {"A1": (2.5, 1.0, None), "A3": (-0.4, 0.4, None)}),
    ("2024-05", "320105"): (0.2, 1.0, {"A1": (0.1, 1.0, None), "A3": (0.1, 0.5, None)}),
    ("2024-05", "320100"): (9.0, 0.1, {"A1": (9.0, 0.1, "城市")}),
}


def build(con, with_uncertainty=True):
    con.execute("CREATE TABLE safety_index (month VARCHAR, code VARCHAR, composite DOUBLE, change_mom DOUBLE, "
                "methodology_version VARCHAR)")
    con.execute("CREATE TABLE indicator_values (month VARCHAR, code VARCHAR, indicator VARCHAR, value DOUBLE, "
                "contribution_mom DOUBLE, warning VARCHAR, methodology_version VARCHAR)")
    if with_uncertainty:
        con.execute("CREATE TABLE index_uncertainty (month VARCHAR, code VARCHAR, quantity VARCHAR, indicator VARCHAR, "
                    "low DOUBLE, middle DOUBLE, high DOUBLE, sd DOUBLE, methodology_version VARCHAR)")
    for (month, code), (change, sd, indicators) in MONTHS.items():
        con.execute("INSERT INTO safety_index VALUES (?, ?, 60, ?, 'v1')", [month, code, change])
        if with_uncertainty:
            con.execute("INSERT INTO index_uncertainty VALUES (?, ?, 'change_mom', NULL, 0, 0, 0, ?, 'v1')",
                        [month, code, sd])
            con.execute("INSERT INTO index_uncertainty VALUES (?, ?, 'composite', NULL, 0, 0, 0, 99, 'v1')",
                        [month, code])
        for indicator, (contribution, csd, warning) in indicators.items():
            con.execute("INSERT INTO indicator_values VALUES (?, ?, ?, 1, ?, ?, 'v1')",
                        [month, code, indicator, contribution, warning])
            if with_uncertainty:
                con.execute("INSERT INTO index_uncertainty VALUES (?, ?, 'contribution_mom', ?, 0, 0, 0, ?, 'v1')",
                            [month, code, indicator, csd])


@pytest.fixture()
def warehouse():
    con = duckdb.connect()
    build(con)
    yield con
    con.close()


def test_reads_every_district_month_with_its_bands_and_warnings(warehouse):
    months = {(d.month, d.code): d for d in evaluate.read_district_months(warehouse)}
    assert set(months) == {k for k in MONTHS if k[1] != "320100"}
    april = months[("2024-04", "320105")]
    assert (april.change_mom, april.change_sd, april.methodology_version) == (-4.0, 1.0, "v1")
    assert april.contributions == [{"indicator": "A1", "contribution_mom": -3.0, "sd": 1.0},
                                   {"indicator": "A3", "contribution_mom": -2.0, "sd": 0.5}]
    assert april.warnings == ["A3"]
    assert months[("2024-03", "320102")].change_mom is None


def test_without_uncertainty_table_the_bands_are_unknown():
    con = duckdb.connect()
    build(con, with_uncertainty=False)
    months = evaluate.read_district_months(con)
    assert all(d.change_sd is None for d in months)
    assert all(r["sd"] is None for d in months for r in d.contributions)


def verdicts(con):
    return evaluate.judge(evaluate.read_district_months(con), {"v1": V1}.__getitem__, drivers, reading)


def test_judges_each_district_month_as_the_narration_decides(warehouse):
    judged = {(v.month, v.code): v for v in verdicts(warehouse)}
    first = judged[("2024-03", "320102")]
    assert first.reading is None and first.drivers == []  # no last month: nothing to narrate
    april = judged[("2024-04", "320105")]
    assert april.reading == "down"
    assert [(d["indicator"], d["side"]) for d in april.drivers] == [("A1", "down"), ("A3", "down")]
    assert judged[("2024-04", "320102")].drivers == [] and judged[("2024-04", "320102")].reading == "flat"
    # A driver may be named while the composite reads as flat: they are separate decisions.
    may = judged[("2024-05", "320102")]
    assert may.reading == "flat" and [d["indicator"] for d in may.drivers] == ["A1"]


def test_steady_shares_count_quiet_district_months(warehouse):
    shares = {s.what: s for s in evaluate.steady_shares(verdicts(warehouse), min_history=1)}
    # Four district-months have a change; two of them name a driver (320105 in April, 320102 in May).
    assert (shares["no driver named"].count, shares["no driver named"].of) == (2, 4)
    # From the second month on (one month of history): four district-months, one with a warning.
    assert (shares["no warning"].count, shares["no warning"].of) == (3, 4)
    assert (shares["no driver and no warning"].count, shares["no driver and no warning"].of) == (2, 4)
    assert (shares["change read as flat"].count, shares["change read as flat"].of) == (3, 4)
    assert shares["no driver named"].share == pytest.approx(0.5)
    # Without enough history in the range no month counts for warnings, rather than all of them passing.
    none = {s.what: s for s in evaluate.steady_shares(verdicts(warehouse), min_history=3)}
    assert none["no warning"].of == 0 and none["no warning"].share is None


def test_planted_shift_is_found_with_its_rank(warehouse):
    judged = verdicts(warehouse)
    shift = evaluate.PlantedShift("电信诈骗", "320105", "2024-04", 1.3, "A3")
    found = evaluate.find_shift(judged, shift)
    assert found.named and found.rank == 2 and found.warned and found.reading == "down"
    missed = evaluate.find_shift(judged, evaluate.PlantedShift("电信诈骗", "320105", "2024-05", 1.3, "A3"))
    assert not missed.named and missed.rank is None and not missed.warned
    assert evaluate.find_shift(judged, evaluate.PlantedShift("A3", "320105", "2025-01", 1.3, "A3")) is None


def test_markdown_table_states_the_counts(warehouse):
    judged = verdicts(warehouse)
    shares = evaluate.steady_shares(judged, min_history=1)
    found = evaluate.find_shift(judged, evaluate.PlantedShift("电信诈骗", "320105", "2024-04", 1.3, "A3"))
    text = evaluate.markdown("Evaluation", shares, [found], ["Range 2024-03 … 2024-05."])
    assert "| no driver named | 2 | 4 | 50.0% | ≥ 95% |" in text
    assert "| 电信诈骗 ×1.3 | 320105 | 2024-04 | A3 | -4.0 | yes | 2 | A1 −, A3 − | down | yes |" in text  # −2.0 on an SD of 0.5


def test_planted_shifts_come_from_the_sample_declaration(tmp_path):
    (tmp_path / "raw").mkdir()
    shift = {"what": "电信诈骗", "source": "police", "target": "subcategory", "categories": ["电信诈骗"],
             "district": "320105", "from": "2024-09", "factor": 1.3, "indicator": "A3"}
    unread = dict(shift, what="停水", source="hotline", indicator=None)
    record = {"2024-08": {"scale": 0.1, "steady": True},
              "2024-09": {"scale": 0.1, "steady": True, "shifts": [shift, unread]},
              "2024-10": {"scale": 0.1, "steady": True, "shifts": [shift, unread]}}
    (tmp_path / "raw/sample.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    assert evaluate.planted(tmp_path, []) == [evaluate.PlantedShift("电信诈骗", "320105", "2024-09", 1.3, "A3")]


def test_range_of_24_months_from_march_2024_ends_in_february_2026():
    assert evaluate._last_month("2024-03", 24) == "2026-02"
    assert evaluate._last_month("2024-11", 2) == "2024-12"
