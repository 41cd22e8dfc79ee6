"""The monthly index on the sample: tables, exports, plausibility, planted district differences, checks."""

import re

import polars as pl
import pytest
from conftest import query

from indicators.methodology import by_version, for_month
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
    # v2 is valid from 2024-03: the first two months are v1's
    assert dict(index.select("month", "methodology_version").unique().rows()) == {
        "2024-01": "v1", "2024-02": "v1", "2024-03": "v2"}


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
    m = by_version("v1")  # the robust-z rule
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
    m = by_version("v1")  # 2024-02's values, the last v1 month, computed as a March under v1's robust-z rule
    values = query(root, "SELECT * EXCLUDE (score, effective_weight, contribution_mom, warning, methodology_version, name, month) "
                         "FROM indicator_values WHERE month = '2024-02'")
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


# ------------------------------------------------------------------ uncertainty, checks and bridging
def v1_rank_intervals(raw, se, methodology, seed):
    """v1's rank intervals as first published: one draw at a time (the reference the Monte Carlo keeps)."""
    from itertools import accumulate

    import numpy as np

    from indicators.engine import aggregate, normalise, rank
    from indicators.index import structure_of
    mc = methodology.monte_carlo
    edges = list(zip(mc.normalisations, accumulate(mc.normalisations.values())))
    rng = np.random.default_rng(seed)
    base = structure_of(methodology)
    ranks = np.zeros((mc.draws, raw.shape[0]), dtype=int)
    for draw in range(mc.draws):
        weights = {n.code: n.weight * (1 + rng.uniform(-mc.weight_jitter, mc.weight_jitter)) for n in base.nodes}
        structure = structure_of(methodology, weights)
        values = raw + np.where(np.isfinite(se), rng.standard_normal(raw.shape) * np.nan_to_num(se), 0.0)
        u = rng.random()
        method = next((m for m, edge in edges if u < edge), edges[-1][0])
        scores = normalise(values, structure, method)
        ranks[draw] = rank(aggregate(scores, structure, methodology.aggregation, methodology.missing.rule,
                                     methodology.missing.min_weight_present).values["NSI"])
    return np.percentile(ranks, list(mc.percentiles), axis=0, method="nearest").T


def test_v1_rank_intervals_are_those_first_published(ingested_q1):
    import numpy as np
    root, _ = ingested_q1
    m = by_version("v1")
    codes = [i.code for i in m.indicators]
    for month in ("2024-01", "2024-02"):  # 2024-03 is v2's
        values = query(root, "SELECT code, indicator, value, ci_low, ci_high FROM indicator_values "
                             "WHERE month = ? AND code <> '320100' ORDER BY code", [month])
        wide = lambda column: values.pivot(on="indicator", index="code", values=column).sort("code").select(codes).to_numpy()
        se = (wide("ci_high") - wide("ci_low")) / (2 * 1.959964)
        se[:, [j for j, c in enumerate(codes) if not c.startswith("D")]] = np.nan  # v1 redrew the survey only
        expected = v1_rank_intervals(wide("value").astype(float), se.astype(float), m, int(month.replace("-", "")))
        stored = query(root, "SELECT rank_p05, rank_p50, rank_p95 FROM safety_index WHERE month = ? AND code <> '320100' "
                             "ORDER BY code", [month]).to_numpy()
        assert (stored == expected).all(), month
        drawn = query(root, "SELECT low, middle, high FROM index_uncertainty WHERE month = ? AND quantity = 'rank' "
                            "ORDER BY code", [month]).to_numpy()
        assert (drawn == stored).all(), month


def test_uncertainty_tables_of_the_month(ingested_q1):
    root, _ = ingested_q1
    m = for_month("2024-03")
    rows = query(root, "SELECT * FROM index_uncertainty WHERE month = '2024-03'")
    per_unit = rows.group_by("code").agg(pl.col("quantity").unique().sort())
    subs = [s.code for s in m.sub_indices]
    # v2 reads its bands from the sampling draws alone: those are stored beside the all-sources ones
    assert m.narration.band == "sampling"
    for code, quantities in per_unit.iter_rows():
        wanted = ({"composite", *subs, "change_mom", "contribution_mom", "change_mom_noise", "contribution_mom_noise"}
                  | ({"rank"} if code != "320100" else set()))
        assert set(quantities) == wanted, code  # no change_yoy: 2023-03 was not computed
    # one per unit and indicator with a contribution (an indicator below its minimum denominator in either month has none)
    contributed = query(root, "SELECT count(*) AS n FROM indicator_values WHERE month = '2024-03' "
                              "AND contribution_mom IS NOT NULL")["n"][0]
    assert rows.filter(pl.col("quantity") == "contribution_mom").height == contributed > 10 * len(m.indicators)
    assert (rows["low"] <= rows["middle"]).all() and (rows["middle"] <= rows["high"]).all() and (rows["sd"] >= 0).all()
    # The point values lie within their draws' 5–95% band for (nearly) every district.
    joined = rows.filter(pl.col("quantity") == "composite").join(
        query(root, "SELECT code, composite FROM safety_index WHERE month = '2024-03'"), on="code")
    assert joined.filter(pl.col("composite").is_between(pl.col("low"), pl.col("high"))).height >= 10
    draws = query(root, "SELECT * FROM monte_carlo_draws WHERE month = '2024-03' ORDER BY draw")
    assert draws["draw"].to_list() == list(range(m.monte_carlo.draws)) and set(draws["seed"]) == {202403}


def test_a5_interval_from_its_quartiles(ingested_q1):
    import numpy as np
    root, _ = ingested_q1
    minutes = query(root, "SELECT date_diff('second', receive_time, arrival_time) / 60.0 AS m FROM valid_police "
                          "WHERE month = '2024-03' AND is_valid = '是' AND district_code = '320104' "
                          "AND coalesce(feedback_category, category) IN ('刑事', '治安') AND arrival_time IS NOT NULL")["m"].to_numpy()
    row = query(root, "SELECT * FROM indicator_values WHERE month = '2024-03' AND code = '320104' AND indicator = 'A5'").row(0, named=True)
    q1, median, q3 = np.percentile(minutes, [25, 50, 75])
    se = 1.2533 * (q3 - q1) / 1.349 / np.sqrt(len(minutes))
    assert row["value"] == pytest.approx(median) and row["n"] == len(minutes)
    assert row["ci_low"] == pytest.approx(median - 1.959964 * se) and row["ci_high"] == pytest.approx(median + 1.959964 * se)
    assert row["value_raw"] == row["value"]


def month_values(root, month="2024-03"):
    return query(root, "SELECT * EXCLUDE (score, effective_weight, contribution_mom, warning, methodology_version, name) "
                       "FROM indicator_values WHERE month = ?", [month])


def compute(values, m, previous_index=None, previous_indicators=None, recomputed=(), month="2024-03"):
    from indicators.index import INDEX_SCHEMA, INDICATOR_SCHEMA, compute_month
    from indicators.values import COLUMNS
    from nsi.month import Month
    return compute_month(Month.parse(month), values, m, load_reference(),
                         previous_index if previous_index is not None else pl.DataFrame(schema=INDEX_SCHEMA(m)),
                         previous_indicators if previous_indicators is not None else pl.DataFrame(schema=INDICATOR_SCHEMA),
                         pl.DataFrame(schema=COLUMNS), recomputed)


def without(values, code, indicators):
    hole = (pl.col("code") == code) & pl.col("indicator").is_in(indicators)
    return values.with_columns(pl.when(hole).then(None).otherwise(pl.col("value")).alias("value"))


def test_a_missing_indicator_passes_weights_as_declared(ingested_q1):
    """The issue's failing case at unit level: 320105 without B2 and B3, as in 2024-02 of `nsi sample --seed 13
    --scale 0.01`, which stopped on "['B1', 'B2', 'B3', 'B4'] differ from the declared weights"."""
    from assets.index import WEIGHTS, check_month
    root, _ = ingested_q1
    m = by_version("v1")
    result = compute(without(month_values(root, "2024-02"), "320105", ["B2", "B3"]), m, month="2024-02")
    weights = dict(result.indicators.filter(pl.col("code") == "320105").select("indicator", "effective_weight").rows())
    b = {i.code: i.weight for i in m.sub_indices[1].indicators}
    present = b["B1"] + b["B4"]
    for code in ("B1", "B4"):  # renormalised among B's indicators present; A, C, D as declared
        assert weights[code] == pytest.approx(0.20 * b[code] / present)
    assert weights["B2"] == weights["B3"] == 0 and weights["A1"] == pytest.approx(0.35 * 0.25)
    assert check_month(result.index, result.indicators, m)[WEIGHTS] == []
    # A weight that is not the renormalised one is still caught.
    wrong = result.indicators.with_columns(
        pl.when((pl.col("code") == "320105") & (pl.col("indicator") == "B1")).then(pl.col("effective_weight") + 0.01)
        .when((pl.col("code") == "320105") & (pl.col("indicator") == "B4")).then(pl.col("effective_weight") - 0.01)
        .otherwise(pl.col("effective_weight")).alias("effective_weight"))
    assert check_month(result.index, wrong, m)[WEIGHTS] == [
        "320105: ['B1', 'B4'] differ from the declared weights renormalised among the indicators present"]


def test_a_district_missing_a_whole_sub_index_is_not_ranked(ingested_q1):
    from assets.index import RANKS, check_month
    root, _ = ingested_q1
    m = for_month("2024-03")  # v2: D is D2 and D3
    result = compute(without(month_values(root), "320113", ["D2", "D3"]), m)
    index = result.index.filter(pl.col("code") != "320100")
    unranked = index.filter(pl.col("code") == "320113").row(0, named=True)
    assert unranked["rank"] is None and unranked["rank_p05"] is None and unranked["D"] is None
    assert unranked["composite"] is not None
    assert "分项D 群众感受全部缺值，不参与排名" in unranked["flags"]
    from indicators.index import unranked_text
    assert unranked_text(["B", "D"], ["B1", "D2", "D3"], m) == "分项B 矛盾化解不予计算、分项D 群众感受全部缺值，不参与排名"
    others = index.filter(pl.col("code") != "320113")
    assert sorted(others["rank"].to_list()) == sorted(1 + sum(1 for c in others["composite"] if c > x) for x in others["composite"])
    assert max(others["rank"]) == 10 and others["rank_p95"].max() <= 10
    assert check_month(result.index, result.indicators, m)[RANKS] == []
    ranked_anyway = result.index.with_columns(pl.when(pl.col("code") == "320113").then(11).otherwise(pl.col("rank")).alias("rank"))
    assert check_month(ranked_anyway, result.indicators, m)[RANKS] == ["320113: ranked with a whole sub-index missing"]
    uncertainty = result.uncertainty
    assert uncertainty.filter((pl.col("code") == "320113") & (pl.col("quantity") == "rank")).height == 0


def draft_versions(tmp_path):
    """v1 and a draft v2-like file from 2024-03: other A1 goalposts and weights, every indicator sampled, narration."""
    import yaml

    from indicators.methodology import METHODOLOGY_DIR, all_versions
    folder = tmp_path / "methodology"
    folder.mkdir()
    text = (METHODOLOGY_DIR / "v1.yaml").read_text(encoding="utf-8")
    (folder / "v1.yaml").write_text(text, encoding="utf-8")
    data = yaml.safe_load(text)
    data.update(version="v9", valid_from="2024-03", narration={"change_level": 0.95, "driver_level": 0.998})
    data["monte_carlo"]["sampling"] = "all"
    data["sub_indices"][0]["indicators"][0]["goalposts"] = [2.0, 30.0]
    data["sub_indices"][0]["weight"], data["sub_indices"][1]["weight"] = 0.30, 0.25
    (folder / "v9.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return all_versions(str(folder))


def test_bridging_recomputes_the_comparison_months_under_the_new_version(ingested_q1, tmp_path):
    import shutil

    import duckdb

    from indicators import bridging
    from indicators.index import scored_month
    from nsi.month import Month
    root, _ = ingested_q1
    v1, v9 = draft_versions(tmp_path)
    shutil.copy(root / "warehouse" / "nsi.duckdb", tmp_path / "nsi.duckdb")
    con = duckdb.connect(str(tmp_path / "nsi.duckdb"))
    reference = load_reference()
    calls = []
    recompute = bridging.Recomputation(con, v9, reference, lambda month: calls.append(month) or 1.0)
    compared = bridging.comparison(con, Month(2024, 3), v9, recompute)
    assert compared.recomputed == ["2024-02"]  # 2023-03 was never computed
    stored = month_values(root, "2024-02")
    again = compared.indicators.filter(pl.col("month") == "2024-02").sort("code", "indicator")
    # Same definitions: the same values, from the loaded records at 2024-02's own population scale.
    assert again["value"].to_list() == pytest.approx(stored.sort("code", "indicator")["value"].to_list(), nan_ok=True)
    assert calls == []  # the scale came from the stored month
    # Its composite under v9, by the engine on the stored values with v9's goalposts and weights.
    expected, _ = scored_month(stored, v9, reference)
    composites = dict(compared.index.filter(pl.col("month") == "2024-02").select("code", "composite").rows())
    assert composites == pytest.approx(dict(expected.select("code", "composite").rows()))
    v1_composites = dict(query(root, "SELECT code, composite FROM safety_index WHERE month = '2024-02'").rows())
    assert all(abs(composites[c] - v1_composites[c]) > 1e-6 for c in composites)
    # The trailing months are v9's too, and each month was recomputed once, kept for the next reader.
    assert sorted(set(compared.history["month"])) == ["2024-01", "2024-02"]
    kept = con.execute("SELECT month, count(*) FROM indicator_values_recomputed WHERE methodology_version = 'v9' "
                       "GROUP BY month ORDER BY month").fetchall()
    assert kept == [("2024-01", 192), ("2024-02", 192)]
    assert bridging.comparison(con, Month(2024, 3), v9, recompute).index.equals(compared.index)

    # 2024-03 is stored under v2: v9's values of it come from the loaded records, as bridging computes them
    result = compute(recompute.values(Month(2024, 3)).drop("month"), v9, compared.index, compared.indicators,
                     compared.recomputed)
    now = dict(result.index.select("code", "composite").rows())
    for row in result.index.iter_rows(named=True):
        assert row["comparison_recomputed"] == "2024-02"
        assert row["change_mom"] == pytest.approx(now[row["code"]] - composites[row["code"]])
    # Under its own version the month compares with the stored rows, and says nothing was recomputed.
    same = bridging.comparison(con, Month(2024, 3), v1, bridging.Recomputation(con, v1, reference, lambda m: 1.0))
    assert same.recomputed == [] and same.index["composite"].to_list() == query(
        root, "SELECT composite FROM safety_index WHERE month = '2024-02' ORDER BY code")["composite"].to_list()
    # Computing a month again drops what was kept of it and of the month after.
    from nsi import warehouse
    warehouse.replace_months(con, bridging.invalidations(Month(2024, 1)))
    assert con.execute("SELECT DISTINCT month FROM indicator_values_recomputed").fetchall() == [("2024-03",)]
    con.close()
