"""The monthly index on the sample: tables, exports, plausibility, planted district differences, checks."""

import re

import polars as pl
import pytest
from conftest import query

from indicators.methodology import for_month
from nsi.reference import load_reference

CORE = ["320102", "320104", "320106"]  # 110 ×1.3 per resident in the generator
RURAL = ["320116", "320117", "320118"]  # 110 ×0.8, slower arrival



def test_safety_index_for_11_districts_and_city(ingested_q1):
    root, _ = ingested_q1
    index = query(root, "SELECT * FROM safety_index ORDER BY month, code")
    assert index.height == 36
    for month, group in index.group_by("month"):
        assert sorted(group["code"].to_list()) == sorted([*load_reference().district_codes, "320100"])
        districts = group.filter(pl.col("code") != "320100")
        assert sorted(districts["rank"].to_list()) == sorted(
            [1 + sum(1 for r in districts["composite"] if r > c) for c in districts["composite"]])
        assert (districts["rank_p05"] <= districts["rank"]).all() and (districts["rank"] <= districts["rank_p95"]).all()
    # Plausible: nothing pinned at an end of the scale by ill-chosen goalposts.
    for column in ("composite", "A", "B", "C", "D"):
        values = index[column]
        assert values.min() > 0 and values.max() < 100 or column in ("B", "C"), (column, values.min(), values.max())
    assert index["composite"].is_between(20, 95).all()
    assert set(index["methodology_version"].to_list()) == {"v1"}


def test_city_is_computed_from_all_records(ingested_q1):
    root, _ = ingested_q1
    ref = load_reference()
    crimes = query(root, "SELECT count(*) AS n FROM valid_police WHERE month = '2024-02' AND is_valid = '是' "
                         "AND coalesce(feedback_category, category) = '刑事'")["n"][0]
    row = query(root, "SELECT * FROM indicator_values WHERE month = '2024-02' AND code = '320100' AND indicator = 'A1'").row(0, named=True)
    assert row["numerator"] == crimes
    assert row["value"] == pytest.approx(crimes / (ref.city_population(2024) * row["population_scale"]) * 1e4)
    assert row["population_year"] == 2020


def test_survey_values_have_ci_and_sample_size(ingested_q1):
    root, _ = ingested_q1
    survey = query(root, "SELECT * FROM indicator_values WHERE indicator IN ('D1','D2','D3') AND code <> '320100'")
    assert (survey["n"] >= 290).all()
    assert (survey["ci_low"] <= survey["value"]).all() and (survey["value"] <= survey["ci_high"]).all()
    d1 = survey.filter(pl.col("indicator") == "D1")["value"]
    assert d1.mean() == pytest.approx(0.992, abs=0.01)


def test_planted_district_differences_show_in_their_sub_indices(ingested_q1):
    root, _ = ingested_q1
    scores = query(root, "SELECT code, indicator, avg(score) AS score, avg(value) AS value FROM indicator_values "
                         "GROUP BY code, indicator")
    get = lambda codes, ind, col="score": scores.filter(pl.col("code").is_in(codes) & (pl.col("indicator") == ind))[col].mean()
    # More 110 incidents per resident in the centre: worse (lower) A1, A2, A4 scores than in the rural districts.
    for indicator in ("A1", "A2", "A4"):
        assert get(CORE, indicator) < get(RURAL, indicator) - 10, indicator
    # Slower arrival in the countryside.
    assert get(RURAL, "A5", "value") > 1.8 * get(CORE, "A5", "value")
    # Top-box sense of security: 高淳 (80%) above 浦口 (68%), as planted.
    assert get(["320118"], "D2", "value") > get(["320111"], "D2", "value") + 0.06
    assert get(["320118"], "D2") > get(["320111"], "D2") + 30


def test_contributions_sum_to_the_change(ingested_q1):
    root, _ = ingested_q1
    joined = query(root, "SELECT s.code, s.change_mom, s.reweighting_mom, sum(i.contribution_mom) AS explained "
                         "FROM safety_index s JOIN indicator_values i USING (month, code) "
                         "WHERE s.month = '2024-03' GROUP BY ALL")
    assert joined.height == 12
    for row in joined.iter_rows(named=True):
        assert row["explained"] + row["reweighting_mom"] == pytest.approx(row["change_mom"], abs=1e-9)


def test_index_csv_and_xlsx_match_the_warehouse(ingested_q1):
    root, _ = ingested_q1
    raw = (root / "out/2024-03/index.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    csv = pl.read_csv(raw[3:], schema_overrides={"区划代码": pl.Utf8})
    warehouse = query(root, "SELECT code, composite, rank FROM safety_index WHERE month = '2024-03' ORDER BY code")
    merged = csv.join(warehouse, left_on="区划代码", right_on="code")
    assert merged.height == 12
    for row in merged.iter_rows(named=True):
        assert row["平安指数"] == round(row["composite"], 1)
        assert row["排名"] == row["rank"]
    # The workbook's first sheet holds the same index at full precision (tests/test_workbook.py: the rest of it).
    xlsx = pl.read_excel(root / "out/2024-03/index.xlsx", sheet_name="平安指数", schema_overrides={"区划代码": pl.Utf8})
    assert xlsx["区划代码"].to_list() == csv["区划代码"].to_list()
    assert [round(v, 1) for v in xlsx["平安指数"]] == csv["平安指数"].to_list()
    stored = dict(warehouse.select("code", "composite").rows())
    assert all(v == pytest.approx(stored[c], rel=1e-15) for c, v in xlsx.select("区划代码", "平安指数").rows())
    subs = [f"{s.name_zh}指数" for s in for_month("2024-03").sub_indices]
    assert set(subs) <= set(csv.columns)


def test_rank_intervals_are_seeded(ingested_q1):
    import numpy as np

    from indicators.index import rank_intervals
    root, _ = ingested_q1
    values = query(root, "SELECT code, indicator, value FROM indicator_values WHERE month = '2024-03' AND code <> '320100' ORDER BY code, indicator")
    m = for_month("2024-03")
    raw = values.pivot(on="indicator", index="code", values="value").select([i.code for i in m.indicators]).to_numpy()
    se = np.full(raw.shape, 0.005)
    assert (rank_intervals(raw, se, m, 7) == rank_intervals(raw, se, m, 7)).all()


def test_nsi_compose_recomputes_the_published_composite(ingested_q1, tmp_path):
    """An auditor's independent path: the month's indicator values and the methodology in compose format."""
    from conftest import run_nsi
    root, _ = ingested_q1
    m = for_month("2024-03")
    values = query(root, "SELECT code, indicator, value FROM indicator_values WHERE month = '2024-03'")
    wide = values.pivot(on="indicator", index="code", values="value").rename({"code": "unit"})
    wide.select(["unit", *[i.code for i in m.indicators]]).write_csv(tmp_path / "X.csv")
    pl.DataFrame(m.structure_rows()).write_csv(tmp_path / "S.csv")
    run_nsi(["compose", "--indicators", "X.csv", "--structure", "S.csv", "--out", "R.csv"], tmp_path, cwd=tmp_path)
    recomputed = pl.read_csv(tmp_path / "R.csv", schema_overrides={"unit": pl.Utf8})
    published = query(root, "SELECT code AS unit, composite, A, B, C, D FROM safety_index WHERE month = '2024-03'")
    joined = published.join(recomputed, on="unit", suffix="_r")
    assert joined.height == 12
    for column in ("A", "B", "C", "D"):
        assert (joined[column] - joined[f"{column}_r"]).abs().max() < 1e-5
    assert (joined["composite"] - joined["NSI"]).abs().max() < 1e-5


def test_early_warning_flags_a_value_outside_its_trailing_band():
    from indicators.index import early_warnings
    m = for_month("2024-03")
    months = [f"2023-{k:02d}" for k in range(3, 13)] + ["2024-01", "2024-02"]
    history = pl.DataFrame({"month": months, "code": ["320102"] * 12, "indicator": ["A1"] * 12,
                            "value": [10.0, 10.4, 9.8, 10.1, 9.9, 10.3, 10.0, 9.7, 10.2, 10.1, 9.9, 10.0]})
    spike = pl.DataFrame({"code": ["320102"], "indicator": ["A1"], "value": [14.0]})
    usual = pl.DataFrame({"code": ["320102"], "indicator": ["A1"], "value": [10.3]})
    assert early_warnings(spike, history, m)[("320102", "A1")].startswith("明显差于近12个月常态")
    assert early_warnings(usual, history, m) == {}
    # Too little history: no warning at all.
    assert early_warnings(spike, history.tail(4), m) == {}


def test_survey_interval_does_not_collapse_at_the_ceiling():
    from indicators.values import wilson
    low, high = wilson(1.0, 0.0, 300)
    assert high == pytest.approx(1.0) and 0.985 < low < 0.995  # 300 of 300: still uncertain
    low, high = wilson(0.72, 0.026, 300)
    assert low < 0.72 < high and high - low == pytest.approx(2 * 1.96 * 0.026, rel=0.05)


def test_flags_read_in_chinese_in_the_index_table(ingested_q1):
    """说明 in index.csv and the briefing's notes are read by district offices: no English codes."""
    from indicators.index import INDEX_SCHEMA, INDICATOR_SCHEMA, compute_month, missing_text, warning_text
    from indicators.methodology import MissingRule
    from nsi.month import Month
    from nsi.publication.index_table import index_table
    root, _ = ingested_q1
    m = for_month("2024-03")
    values = query(root, "SELECT * EXCLUDE (score, effective_weight, contribution_mom, warning, methodology_version, name, month) "
                         "FROM indicator_values WHERE month = '2024-03'")
    # 玄武区: no A1 this month, and an A2 far above its own last twelve months.
    a2 = values.filter((pl.col("code") == "320102") & (pl.col("indicator") == "A2"))["value"][0]
    values = values.with_columns(pl.when((pl.col("code") == "320102") & (pl.col("indicator") == "A1"))
                                 .then(None).otherwise(pl.col("value")).alias("value"))
    months = [f"2023-{k:02d}" for k in range(3, 13)] + ["2024-01", "2024-02"]
    history = pl.DataFrame({"month": months, "code": "320102", "indicator": "A2",
                            "value": [a2 / 3 * (1 + k / 100) for k in range(12)]})
    result = compute_month(Month(2024, 3), values, m, load_reference(), pl.DataFrame(schema=INDEX_SCHEMA(m)),
                           pl.DataFrame(schema=INDICATOR_SCHEMA), history)
    flags = index_table(result.index, {s.code: s.name_zh for s in m.sub_indices}).filter(pl.col("区划代码") == "320102")["说明"][0]
    assert flags.startswith("缺值指标 A1（其余指标按权重重新归一）；A2 治安警情：明显差于近12个月常态（比中位数高")
    assert flags.endswith("个稳健标准差）")
    assert not re.search("[a-z]", flags), flags
    assert warning_text(False, -4.04) == "明显好于近12个月常态（比中位数低4.0个稳健标准差）"
    withhold = m.model_copy(update={"missing": MissingRule(rule="withhold", min_weight_present=0.5)})
    assert missing_text(["D1", "D2"], withhold) == "缺值指标 D1、D2（现有权重不足50%的分项不予计算）"
