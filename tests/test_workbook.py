"""The analysts' workbook (out/<month>/index.xlsx and `nsi export`): opened with openpyxl and compared with the
warehouse of the Q1 run, sheet by sheet, to full precision; its names in English; the same bytes on rewrite."""

import io
import zipfile

import duckdb
import openpyxl
import pytest
from conftest import query, run_nsi

from indicators.methodology import all_versions, by_version, for_month
from nsi import vocabulary as vocabularies
from nsi.ingest.validate import RULE_MESSAGES
from nsi.month import Month
from nsi.publication import workbook
from nsi.publication.workbook_names import load as load_names
from nsi.reference import load_reference

MONTH = "2024-03"
CITY = "320100"
# A cell keeps 16 significant digits (Excel shows 15): anything closer than this is the stored value.
PRECISION = 1e-15


def rows_of(sheet) -> list[dict]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row)) for row in values[1:]]


def same(cell, stored) -> bool:
    if stored is None:
        return cell is None
    if isinstance(stored, float):
        return cell == pytest.approx(stored, rel=PRECISION, abs=0)
    return cell == stored


def assert_rows_match(sheet_rows: list[dict], warehouse_rows: list[dict], columns: dict[str, str]):
    """columns: header → warehouse column; rows in the same order."""
    assert len(sheet_rows) == len(warehouse_rows)
    for got, want in zip(sheet_rows, warehouse_rows):
        for header, column in columns.items():
            assert same(got[header], want[column]), (header, got[header], want[column], want)


@pytest.fixture(scope="module")
def month_book(ingested_q1):
    root, _ = ingested_q1
    return openpyxl.load_workbook(root / "out" / MONTH / "index.xlsx")


def order_sql(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return f"{prefix}month, {prefix}code = '{CITY}', {prefix}code"


def test_sheets_headers_filters_and_frozen_rows(month_book):
    names = load_names()
    assert month_book.sheetnames == ["平安指数", "指标值", "得分与贡献", "预警", "数据质量", "历史"]
    assert month_book.sheetnames == [s.zh for s in names.sheets]
    subs = [f"{s.name_zh}指数" for s in for_month(MONTH).sub_indices]
    headers = {ws.title: [c.value for c in ws[1]] for ws in month_book.worksheets}
    assert headers["平安指数"][:4 + len(subs)] == ["月份", "区划代码", "地区", "平安指数", *subs]
    assert {"排名", "排名区间下限(P5)", "排名中位数(P50)", "排名区间上限(P95)", "环比变化", "同比变化"} <= set(headers["平安指数"])
    assert {"分子", "分母（万人或记录数）", "指标值", "95%置信区间下限", "95%置信区间上限"} <= set(headers["指标值"])
    assert {"标准化得分", "有效权重", "对环比变化的贡献"} <= set(headers["得分与贡献"])
    assert {"读入行数", "入库行数", "拒收行数", "拒收：江北新区无街道"} <= set(headers["数据质量"])
    for ws in month_book.worksheets:
        assert headers[ws.title][0] == "月份", ws.title  # the month first, in every sheet
        spec = next(s for s in names.sheets if s.zh == ws.title)
        last_column = openpyxl.utils.get_column_letter(len(headers[ws.title]))
        assert ws.auto_filter.ref == f"A1:{last_column}{ws.max_row}", ws.title
        assert ws.freeze_panes == f"{openpyxl.utils.get_column_letter(spec.freeze_columns + 1)}2", ws.title
        assert all(c.font.b for c in ws[1]), ws.title


def test_index_sheet_is_the_warehouse_at_full_precision(ingested_q1, month_book):
    root, _ = ingested_q1
    subs = for_month(MONTH).sub_indices
    stored = query(root, f"SELECT * FROM safety_index WHERE month = ? ORDER BY {order_sql()}", [MONTH]).to_dicts()
    rows = rows_of(month_book["平安指数"])
    assert [r["区划代码"] for r in rows] == [*load_reference().district_codes, CITY]
    assert_rows_match(rows, stored, {
        "月份": "month", "区划代码": "code", "地区": "name", "平安指数": "composite",
        **{f"{s.name_zh}指数": s.code for s in subs}, "排名": "rank", "排名区间下限(P5)": "rank_p05",
        "排名中位数(P50)": "rank_p50", "排名区间上限(P95)": "rank_p95", "环比变化": "change_mom",
        "同比变化": "change_yoy", "环比变化中缺值重新加权的部分": "reweighting_mom", "方法版本": "methodology_version",
        "说明": "flags"})
    # Full precision, not the one decimal of index.csv: 44.9788…, shown as 45.0.
    assert any(r["平安指数"] != round(r["平安指数"], 1) for r in rows)
    sheet = month_book["平安指数"]
    assert sheet["D2"].number_format == "0.0" and sheet["I2"].number_format == "0"
    change = [c for c in sheet[1] if c.value == "环比变化"][0].column
    assert sheet.cell(2, change).number_format == "+0.0;-0.0;0.0"


def test_indicator_and_score_sheets_are_the_warehouse(ingested_q1, month_book):
    root, _ = ingested_q1
    method = for_month(MONTH)
    stored = query(root, f"SELECT * FROM indicator_values WHERE month = ? ORDER BY {order_sql()}, indicator",
                   [MONTH]).to_dicts()
    # the sheet lists a unit's indicators in the methodology's order (v2's A6 first)
    units, position = list(dict.fromkeys(r["code"] for r in stored)), {i.code: k for k, i in enumerate(method.indicators)}
    stored.sort(key=lambda r: (units.index(r["code"]), position[r["indicator"]]))
    values = rows_of(month_book["指标值"])
    assert len(values) == 12 * len(method.indicators)
    assert_rows_match(values, stored, {
        "月份": "month", "区划代码": "code", "地区": "name", "指标代码": "indicator", "分子": "numerator",
        "分母（万人或记录数）": "denominator", "指标值": "value", "样本量": "n", "95%置信区间下限": "ci_low",
        "95%置信区间上限": "ci_high", "常住人口": "population", "人口年份": "population_year",
        "人口比例系数": "population_scale", "标记": "flag"})
    by_code = {i.code: i for i in method.indicators}
    for row in values:
        indicator = by_code[row["指标代码"]]
        assert row["指标名称"] == indicator.name_zh
        assert row["所属分项"] == method.sub_index_of(indicator.code).name_zh
    units = {row["指标代码"]: row["单位"] for row in values}
    assert units["A6"] == "每万常住人口" and units["A5"] == "分钟" and units["B2"] == "比例"
    # Each value shown in its unit's format: a share as a percentage, a rate with two decimals.
    sheet = month_book["指标值"]
    header = {c.value: c.column for c in sheet[1]}
    formats = {sheet.cell(i, header["指标代码"]).value: sheet.cell(i, header["指标值"]).number_format for i in range(2, 18)}
    assert formats["B2"] == "0.00%" and formats["A6"] == "0.00" and formats["A5"] == "0.0"
    assert sheet.cell(2, header["分子"]).number_format == "#,##0"

    scores = rows_of(month_book["得分与贡献"])
    assert_rows_match(scores, stored, {"区划代码": "code", "指标代码": "indicator", "有效权重": "effective_weight",
                                       "标准化得分": "score", "对环比变化的贡献": "contribution_mom"})
    for row in scores:
        indicator = by_code[row["指标代码"]]
        assert row["方向"] == indicator.direction
        assert (row["目标下限"], row["目标上限"]) == tuple(indicator.goalposts)
        assert row["方法权重"] == pytest.approx(indicator.weight * method.sub_index_of(indicator.code).weight, rel=PRECISION)
    # Contributions and re-weighting, as the workbook shows them, add up to the change on last month.
    index = {r["区划代码"]: r for r in rows_of(month_book["平安指数"])}
    for code, row in index.items():
        # an indicator missing in either month (below its minimum denominator) has no contribution, only re-weighting
        explained = sum(s["对环比变化的贡献"] or 0.0 for s in scores if s["区划代码"] == code)
        assert explained + row["环比变化中缺值重新加权的部分"] == pytest.approx(row["环比变化"], abs=1e-9)


def test_data_quality_sheet_counts_rows_per_source_and_district(ingested_q1, month_book):
    root, _ = ingested_q1
    rows = rows_of(month_book["数据质量"])
    log = query(root, "SELECT * FROM ingest_log WHERE month = ?", [MONTH]).to_dicts()
    totals = {r["数据源"]: r for r in rows if r["区划代码"] == CITY}
    assert len(totals) == len(log) == 4
    for source in log:
        row = totals[vocabularies.load(source["source"]).label_zh]
        assert (row["读入行数"], row["入库行数"], row["拒收行数"]) == (
            source["rows_read"], source["rows_loaded"], source["rows_rejected"])
        assert row["剔除行数（重复、上月重导出）"] == source["duplicates_dropped"] + source["reexports_dropped"]
        assert row["拒收率"] == pytest.approx(source["rows_rejected"] / source["rows_read"], rel=PRECISION)

    # Each district's rows: loaded from valid_<source>, rejected by rule placed through the extract row.
    police = [r for r in rows if r["数据源"] == vocabularies.load("police").label_zh]
    loaded = dict(query(root, "SELECT district_code, count(*) FROM valid_police WHERE month = ? GROUP BY ALL", [MONTH]).rows())
    extract = (root / "warehouse" / "extract" / "police" / f"{MONTH}.parquet").as_posix()
    placed = query(root, f"""
        SELECT e.district_code AS code, r.rule, count(DISTINCT r."row") AS n
        FROM rejects r LEFT JOIN read_parquet('{extract}') e ON e._row = r."row" AND e.file_sha256 = r.file_sha256
        WHERE r.source = 'police' AND r.month = ? GROUP BY ALL""", [MONTH]).rows()
    read = dict(query(root, f"SELECT district_code, count(*) FROM read_parquet('{extract}') GROUP BY ALL").rows())
    rule_names = load_names().rules
    for row in police:
        code = row["区划代码"]
        if code == CITY:
            continue
        assert row["入库行数"] == loaded.get(code, 0)
        assert row["读入行数"] == read.get(code, 0)
        for rule, n in ((rule, n) for c, rule, n in placed if c == code):
            assert row[f"拒收：{rule_names[rule].zh}"] == n, (code, rule)
        assert row["拒收行数"] + row["入库行数"] + row["剔除行数（重复、上月重导出）"] == row["读入行数"]
    unplaced = next(r for r in police if r["区划代码"] is None)
    assert unplaced["地区"] == "区划不明" and unplaced["拒收：江北新区无街道"] > 0
    assert unplaced["读入行数"] == read[None] and unplaced["入库行数"] == 0
    for rule, n in ((rule, n) for c, rule, n in placed if c is None):
        assert unplaced[f"拒收：{rule_names[rule].zh}"] == n, rule
    # The districts and the rows no district claims add up to the file.
    city = next(r for r in police if r["区划代码"] == CITY)
    for column in ("读入行数", "入库行数", "拒收行数"):
        assert sum(r[column] for r in police if r["区划代码"] != CITY) == city[column], column


def test_history_sheet_holds_the_thirteen_months_up_to_the_month(ingested_q1, month_book):
    root, _ = ingested_q1
    stored = query(root, f"SELECT * FROM safety_index WHERE month BETWEEN '2023-03' AND ? ORDER BY {order_sql()}",
                   [MONTH]).to_dicts()
    rows = rows_of(month_book["历史"])
    assert sorted({r["月份"] for r in rows}) == ["2024-01", "2024-02", "2024-03"]
    assert_rows_match(rows, stored, {"月份": "month", "区划代码": "code", "平安指数": "composite", "排名": "rank",
                                     **{f"{s.name_zh}指数": s.code for s in for_month(MONTH).sub_indices}})
    # A month's own workbook knows nothing of later months.
    january = openpyxl.load_workbook(root / "out" / "2024-01" / "index.xlsx")
    assert {r["月份"] for r in rows_of(january["历史"])} == {"2024-01"}


def test_the_published_workbook_is_rebuilt_byte_for_byte(ingested_q1):
    """What an auditor's rerun needs: the same warehouse gives the same bytes, whenever it is written."""
    root, _ = ingested_q1
    con = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"), read_only=True)
    try:
        rebuilt = [workbook.build(con, Month(2024, 1), Month(2024, 1), by_version,
                                  extract_dir=root / "warehouse" / "extract") for _ in range(2)]
    finally:
        con.close()
    assert rebuilt[0] == rebuilt[1] == (root / "out" / "2024-01" / "index.xlsx").read_bytes()
    members = zipfile.ZipFile(io.BytesIO(rebuilt[0])).infolist()
    assert {m.date_time for m in members} == {(1980, 1, 1, 0, 0, 0)}
    core = zipfile.ZipFile(io.BytesIO(rebuilt[0])).read("docProps/core.xml").decode()
    assert "2024-02-01T00:00:00Z" in core  # created: the end of the month, not the time of the run


def test_nsi_export_a_range_in_english(ingested_q1, tmp_path):
    root, _ = ingested_q1
    out = tmp_path / "q1-en.xlsx"
    result = run_nsi(["export", "--from", "2024-01", "--to", MONTH, "--lang", "en", "--out", str(out)], root)
    assert str(out) in result.stderr
    book = openpyxl.load_workbook(out)
    names = load_names()
    assert book.sheetnames == ["Index", "Indicator values", "Scores and contributions", "Early warnings",
                               "Data quality", "History"]
    index = rows_of(book["Index"])
    assert list(index[0])[:4] == ["Month", "Code", "Area", "Safety index"]
    assert [f"{s.name_en} index" for s in for_month(MONTH).sub_indices] == list(index[0])[4:8]
    stored = query(root, f"SELECT * FROM safety_index WHERE month BETWEEN '2024-01' AND ? ORDER BY {order_sql()}",
                   [MONTH]).to_dicts()
    assert_rows_match(index, stored, {"Month": "month", "Code": "code", "Safety index": "composite", "Rank": "rank",
                                      "Rank interval low (P5)": "rank_p05", "Rank interval high (P95)": "rank_p95"})
    assert index[0]["Area"] == "Xuanwu District" and index[11]["Area"] == "Nanjing"
    values = rows_of(book["Indicator values"])
    assert {r["Month"] for r in values} == {"2024-01", "2024-02", MONTH} and len(values) == 2 * 12 * 16 + 12 * 15  # v1, v1, v2
    assert values[0]["Indicator name"] == for_month("2024-01").indicators[0].name_en  # the range's first month, v1
    quality = rows_of(book["Data quality"])
    assert {r["Source"] for r in quality} == {vocabularies.load(s).label_en for s in ("hotline", "police", "disputes", "survey")}
    assert any(k == f"Rejected: {names.rules['jiangbei_without_street'].en}" for k in quality[0])
    for ws in book.worksheets:
        assert ws.auto_filter.ref and ws.freeze_panes, ws.title
    # The default place, and the Chinese names by default.
    run_nsi(["export", MONTH], root)
    default = root / "out" / "exports" / f"nsi-{MONTH}-zh.xlsx"
    assert openpyxl.load_workbook(default).sheetnames[0] == "平安指数"


def test_nsi_export_refuses_a_month_not_computed(ingested_q1):
    root, _ = ingested_q1
    result = run_nsi(["export", "2023-12"], root, check=False)
    assert result.returncode == 1
    assert "2023-12" in result.stderr and "nsi run" in result.stderr


@pytest.fixture()
def warehouse_copy(ingested_q1):
    """The Q1 warehouse copied into memory, for changes no run makes."""
    root, _ = ingested_q1
    con = duckdb.connect()
    con.execute(f"ATTACH '{(root / 'warehouse' / 'nsi.duckdb').as_posix()}' AS q1 (READ_ONLY)")
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'q1'").fetchall()]
    for table in tables:
        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM q1."{table}"')
    con.execute("DETACH q1")
    yield root, con
    con.close()


def test_warnings_sheet_lists_each_early_warning(warehouse_copy):
    root, con = warehouse_copy
    text = "明显差于近12个月常态（比中位数高4.2个稳健标准差）"
    con.execute("UPDATE indicator_values SET warning = ? WHERE month = ? AND code = '320104' AND indicator = 'A2'",
                [text, MONTH])
    book = openpyxl.load_workbook(io.BytesIO(workbook.build(con, Month(2024, 3), Month(2024, 3), by_version,
                                                            extract_dir=root / "warehouse" / "extract")))
    warned = rows_of(book["预警"])
    value = con.execute("SELECT value, score FROM indicator_values WHERE month = ? AND code = '320104' AND indicator = 'A2'",
                        [MONTH]).fetchone()
    assert len(warned) == 1
    assert warned[0] == {"月份": MONTH, "区划代码": "320104", "地区": "秦淮区", "指标代码": "A2", "指标名称": "治安警情",
                         "指标值": pytest.approx(value[0], rel=PRECISION), "标准化得分": pytest.approx(value[1], rel=PRECISION),
                         "预警说明": text}


def test_without_the_extract_rejected_rows_are_not_placed(warehouse_copy):
    _, con = warehouse_copy
    book = openpyxl.load_workbook(io.BytesIO(workbook.build(con, Month(2024, 3), Month(2024, 3), by_version,
                                                            extract_dir=None)))
    police = [r for r in rows_of(book["数据质量"]) if r["数据源"] == "110接处警"]
    districts = [r for r in police if r["区划代码"] not in (CITY, None)]
    assert len(districts) == 11 and all(r["读入行数"] is None and r["拒收行数"] is None for r in districts)
    assert all(r["入库行数"] > 0 for r in districts)
    unplaced = next(r for r in police if r["区划代码"] is None)
    city = next(r for r in police if r["区划代码"] == CITY)
    assert unplaced["拒收行数"] == city["拒收行数"] > 0


def test_the_names_file_names_every_rule_and_unit():
    names = load_names()
    assert set(RULE_MESSAGES) <= set(names.rules)
    units = {i.unit for version in all_versions() for i in version.indicators}
    assert units <= set(names.units)
    for sheet in names.sheets:
        assert sheet.zh != sheet.en and all(c.zh and c.en for c in sheet.columns)
