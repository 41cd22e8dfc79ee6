"""The statistical audit of a methodology: its numbers against small cases computed by hand, and
against the warehouse the index wrote."""

import json
import math
import subprocess

import duckdb
import numpy as np
import polars as pl
import pytest
from conftest import query, run_nsi

from indicators import audit
from indicators.audit import ROOT
from indicators.methodology import by_version
from indicators.range_values import values_over
from nsi.reference import CITY_CODE, load_reference
from reports import audit as audit_document

V1 = by_version("v1")
DISTRICTS = load_reference().district_codes


# ------------------------------------------------------------------------------ hand-computed
def test_skew_and_kurtosis_are_coinrs_type_2():
    # x = 1, 2, 3, 10: mean 4, deviations −3 −2 −1 6; m2 = 50/4, m3 = 180/4, m4 = 1394/4.
    x = np.array([1.0, 2.0, 3.0, 10.0, np.nan])
    m2, m3, m4 = 12.5, 45.0, 348.5
    g1, g2 = m3 / m2 ** 1.5, m4 / m2 ** 2 - 3
    assert audit.skewness(x) == pytest.approx(math.sqrt(4 * 3) / 2 * g1)  # 1.7636…
    assert audit.kurtosis(x) == pytest.approx(((4 + 1) * g2 + 6) * 3 / (2 * 1))  # 3.2280
    assert audit.skewness(np.array([1.0, 2.0])) is None and audit.kurtosis(np.array([1.0, 2.0, 3.0])) is None
    assert audit.skewness(np.array([5.0, 5.0, 5.0])) is None


def test_cronbach_alpha_by_hand():
    # Items (1, 2, 3) and (2, 3, 5): variances 1 and 7/3; the sums (3, 5, 8) have variance 19/3.
    items = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 5.0], [np.nan, 1.0]])
    alpha, n = audit.cronbach_alpha(items)
    assert n == 3
    assert alpha == pytest.approx(2 * (1 - (1 + 7 / 3) / (19 / 3)))  # 0.9474
    assert audit.cronbach_alpha(items[:, :1])[0] is None


def test_principal_components_of_two_items_are_one_plus_and_minus_r():
    rng = np.random.default_rng(1)
    a = rng.normal(size=50)
    b = 0.6 * a + rng.normal(size=50)
    r = np.corrcoef(a, b)[0, 1]
    eigen, loadings, n = audit.principal_components(np.column_stack([a, b, np.full(50, 3.0)]))
    assert n == 50 and eigen == pytest.approx([1 + r, 1 - r])
    # Loadings of the first component: √((1 + r)/2) each; the constant item has none.
    assert loadings[:2] == pytest.approx([math.sqrt((1 + r) / 2)] * 2) and np.isnan(loadings[2])


def test_correlation_uses_the_rows_where_both_are_present():
    r, n = audit.correlation(np.array([1.0, 2.0, 3.0, np.nan, 9.0]), np.array([2.0, 4.0, 7.0, 1.0, np.nan]))
    assert n == 3 and r == pytest.approx(np.corrcoef([1, 2, 3], [2, 4, 7])[0, 1])
    assert audit.correlation(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0])) == (None, 3)


def test_importance_is_squared_correlation_normalised_within_its_level():
    # A, B and C move exactly with the composite, D not at all: importance ⅓, ⅓, ⅓, 0.
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    orthogonal = np.array([2.0, -1.0, -1.0, -1.0, -1.0, 2.0])
    assert abs(np.corrcoef(x, orthogonal)[0, 1]) < 1e-12
    nodes = {ROOT: x, "A": x, "B": 2 * x, "C": x + 1, "D": orthogonal}
    nodes.update({i.code: x for i in V1.indicators})
    table = audit.importance(V1, nodes, audit.load_settings())
    subs = {r["code"]: r for r in table.filter(pl.col("level") == "sub-index").iter_rows(named=True)}
    assert [subs[c]["importance"] for c in "ABCD"] == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0])
    assert subs["A"]["ratio"] == pytest.approx((1 / 3) / 0.35)
    assert subs["D"]["flag"] and not subs["C"]["flag"]  # 0 is outside [0.5, 2]; (1/3)/0.2 = 1.67 is inside
    indicators = table.filter(pl.col("level") == "indicator")
    assert indicators["importance"].to_list() == pytest.approx([1 / 16] * 16)
    # The nominal weight of an indicator is its weight times its sub-index's: A1 0.25 × 0.35.
    assert indicators.filter(pl.col("code") == "A1")["nominal_weight"][0] == pytest.approx(0.0875)


def test_correlation_flags_follow_the_settings():
    x = np.arange(10.0)
    nodes = {c.code: x for c in V1.indicators} | {s.code: x for s in V1.sub_indices} | {ROOT: x}
    nodes["A5"] = -x  # against its siblings, its sub-index and the composite
    nodes["B2"] = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.2])  # r = 0.09 with B
    table = audit.correlations(V1, nodes, audit.load_settings())
    flags = {(r["a"], r["b"]): r["flag"] for r in table.iter_rows(named=True)}
    assert flags[("A1", "A2")] == "collinear" and flags[("A1", "A5")] == "negative"
    assert flags[("A5", "A")] == "negative" and flags[("B2", "B")] == "weak" and flags[("B1", "B")] is None


def test_leaving_out_an_indicator_that_does_not_separate_districts_moves_no_rank():
    # B4 is the same in every district and B's other indicators order the districts as A, C and D do:
    # without B4 every rank stays; without A1, which orders them the other way, ranks move.
    months = ["2024-01", "2024-02"]
    rows = []
    for month in months:
        for d, code in enumerate(DISTRICTS):
            for i in V1.indicators:
                lo, hi = i.goalposts
                position = (d + 1) / (len(DISTRICTS) + 1)  # district d is better than d + 1 on every indicator
                if i.code == "A1":
                    position = 1 - position
                share = 0.5 if i.code == "B4" else (1 - position if i.direction == 1 else position)
                rows.append({"month": month, "code": code, "indicator": i.code, "value": lo + (hi - lo) * share})
    p = audit.panel(pl.DataFrame(rows), V1, DISTRICTS)
    scores = audit.scores_of(p, V1)
    nominal = audit.ranks_of(p, audit.build(p, V1, scores)[ROOT])
    assert nominal.tolist() == list(range(1, 12)) * 2
    table = {r["removed"]: r for r in audit.leave_one_out(p, V1, scores, nominal).iter_rows(named=True)}
    assert table["B4"]["mean_abs_rank_shift"] == 0 and table["B4"]["share_rank_changed"] == 0
    assert table["A1"]["mean_abs_rank_shift"] == 0  # A1 weighs too little to reverse the order alone
    assert set(table) == {i.code for i in V1.indicators} | {s.code for s in V1.sub_indices}


# ------------------------------------------------------------------------------ on the warehouse
@pytest.fixture(scope="module")
def audited(ingested_q1):
    root, _ = ingested_q1
    settings = audit.load_settings().model_copy(update={"sensitivity": audit.Sensitivity(base_samples=16, seed=7)})
    con = duckdb.connect(str(root / "warehouse/nsi.duckdb"), read_only=True)
    try:
        # v1 on the whole quarter: 2024-03, computed under v2, recomputed under v1 as the audit of a range does
        values = values_over(con, "2024-01", "2024-03", V1, load_reference()).select(
            "month", "code", "indicator", "value", "methodology_version")
    finally:
        con.close()
    return root, values, settings


def test_the_audit_rebuilds_the_published_composite_and_ranks(audited):
    root, _, _ = audited
    con = duckdb.connect(str(root / "warehouse/nsi.duckdb"), read_only=True)
    try:
        stored_values = audit.district_values(con, "2024-01", "2024-03", DISTRICTS)
    finally:
        con.close()
    # each version on the months it was published with: v1 for January and February, v2 for March
    for version, months in (("v1", ["2024-01", "2024-02"]), ("v2", ["2024-03"])):
        methodology = by_version(version)
        values = stored_values.filter(pl.col("month").is_in(months))
        p = audit.panel(values, methodology, DISTRICTS)
        composite = audit.build(p, methodology, audit.scores_of(p, methodology))[ROOT]
        stored = query(root, "SELECT month, code, composite, rank FROM safety_index WHERE code <> ? AND "
                             f"month IN ({', '.join('?' * len(months))}) ORDER BY month, code", [CITY_CODE, *months])
        assert p.months == months and p.rows == stored.height == 11 * len(months)
        assert np.array_equal(composite, stored["composite"].to_numpy(), equal_nan=True), version
        assert audit.ranks_of(p, composite).tolist() == stored["rank"].fill_null(0).to_list()


def test_audit_tables_on_the_warehouse(audited):
    _, values, settings = audited
    result = audit.audit(values.drop("methodology_version"), V1, DISTRICTS, settings)
    d = {r["indicator"]: r for r in result.distributions.iter_rows(named=True)}
    stored = values.filter(pl.col("indicator") == "A1")["value"].drop_nulls().to_numpy()
    assert d["A1"]["skew"] == pytest.approx(audit.skewness(stored)) and d["A1"]["n"] == len(stored)
    for level in ("sub-index", "indicator"):
        assert result.importance.filter(pl.col("level") == level)["importance"].sum() == pytest.approx(1)
    assert result.indicator_matrix.height == 16 * 15 // 2
    # Sobol: N × (inputs + 2) runs without second-order terms; every weight and the normalisation is an input.
    assert result.sensitivity["input"].to_list() == [s.code for s in V1.sub_indices] + [i.code for i in V1.indicators] + ["normalisation"]
    assert result.sensitivity_runs == 16 * (21 + 2)
    again = audit.audit(values.drop("methodology_version"), V1, DISTRICTS, settings)
    assert again.sensitivity.equals(result.sensitivity)  # seeded


def test_the_audit_documents_are_reproducible_and_say_what_they_found(audited, tmp_path):
    root, values, settings = audited
    con = duckdb.connect(str(root / "warehouse/nsi.duckdb"), read_only=True)
    try:
        settings_file = tmp_path / "audit.yaml"
        settings_file.write_text(audit.SETTINGS_FILE.read_text(encoding="utf-8").replace("base_samples: 256", "base_samples: 16"),
                                 encoding="utf-8")
        first = audit_document.audit_range(con, "2024-01", "2024-03", DISTRICTS, settings_path=settings_file)
        second = audit_document.audit_range(con, "2024-01", "2024-03", DISTRICTS, settings_path=settings_file)
    finally:
        con.close()
    # by default the version of the range's last month, v2, audited on the values it gives every month
    assert first.files == second.files and first.folder_name == "v2_2024-01_2024-03"
    document = json.loads(first.files.json)
    assert document["months"] == ["2024-01", "2024-02", "2024-03"] and document["district_months"] == 33
    v2 = by_version("v2")
    assert document["sensitivity_runs"] == 16 * (len(v2.sub_indices) + len(v2.indicators) + 1 + 2)
    (tmp_path / "audit.pdf").write_bytes(first.files.pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "audit.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")
    for heading in ("方法审计", "数据给出的重要性与名义权重", "指标分布与上下限", "相关性", "内部一致性与主成分",
                    "剔除单项后的排名变化", "方差敏感性"):
        assert heading in text
    markdown = first.files.markdown.decode("utf-8")
    for line in audit_document.findings(first.audit, by_version("v2"), audit.load_settings(settings_file)):
        assert f"- {line}" in markdown
    a = first.audit.importance.filter(pl.col("code") == "A").row(0, named=True)
    assert f"| A 治安状况 | 0.3500 | {a['r_squared']:.3f} | {a['importance']:.3f} |" in markdown


def test_nsi_audit_writes_the_three_documents_and_names_a_bad_methodology(ingested_q1, tmp_path):
    root, _ = ingested_q1
    result = run_nsi(["audit", "--from", "2024-01", "--to", "2024-03", "--out", str(tmp_path / "audit")], root)
    assert sorted(p.name for p in (tmp_path / "audit").iterdir()) == ["audit.json", "audit.md", "audit.pdf"]
    document = json.loads((tmp_path / "audit/audit.json").read_text(encoding="utf-8"))
    assert document["methodology"] == "v2" and document["district_months"] == 33
    v2 = by_version("v2")
    assert document["sensitivity_runs"] == audit.load_settings().sensitivity.base_samples * (
        len(v2.sub_indices) + len(v2.indicators) + 1 + 2)
    assert "33 district-months" in result.stderr  # the console writes to stderr
    # A draft methodology file can be audited before it is adopted; a broken one is named.
    draft = tmp_path / "v2-draft.yaml"
    draft.write_text(by_version("v1").model_dump_json(), encoding="utf-8")  # JSON is YAML
    run_nsi(["audit", "--from", "2024-03", "--methodology", str(draft), "--out", str(tmp_path / "draft")], root)
    assert json.loads((tmp_path / "draft/audit.json").read_text(encoding="utf-8"))["months"] == ["2024-03"]
    draft.write_text("version: v2\n", encoding="utf-8")
    failed = run_nsi(["audit", "--from", "2024-03", "--methodology", str(draft)], root, check=False)
    assert failed.returncode == 1 and "v2-draft.yaml" in failed.stderr + failed.stdout
