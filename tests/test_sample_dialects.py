"""`nsi sample --dialect`: every dialect as its system writes it, its ground truth, determinism, `mixed`."""

import hashlib
import json
import zipfile
from datetime import datetime

import fastexcel
import polars as pl
import pytest
from conftest import run_nsi

from nsi.month import Month
from nsi.reference import load_reference
from nsi.sample import people, world, writers
from nsi.sample.dialects import DIALECTS, JIESU, JIESU_CATEGORY_L1, JIESU_CATEGORY_L2, JIESU_CATEGORY_L3, NATIVES
from nsi.sample.generate import build_export, dialect_of_month, sample
from nsi.sample.sources import generate_clean

MONTH = "2024-02"
# The dialects as the specification lists them, copied here on purpose: the test must not read the
# generator's own declarations. (source, file type, sheet, rows above the header, headers)
SPEC = {
    "jcj": ("police", "xlsx", "警情数据", 1, [
        "警情编号", "报警时间", "接警时间", "报警方式", "报警人", "报警电话", "所属分局", "管辖单位", "警情地址", "报警内容",
        "处警情况", "接警报警类别", "接警报警类型", "接警报警细类", "接警报警子类", "反馈报警类别", "反馈报警类型",
        "反馈报警细类", "反馈报警子类", "派警时间", "到达现场时间", "是否无效警情", "经度", "纬度"]),
    "dump": ("police", "csv", None, 0, [
        "JJDBH", "BJSJ", "JJSJ", "BJFSDM", "BJDH", "BJRMC", "LXDH", "JQDZ", "BJNR", "XZQHDM", "GXDWDM", "GXDWMC",
        "JQLBDM", "JQLXDM", "JQXLDM", "JQZLDM", "WXBS", "PJSJ", "DDXCSJ", "JQCLJGDM", "JD", "WD"]),
    "jiesu": ("hotline", "xls", "工单明细", 0, [
        "工单编号", "受理时间", "来源渠道", "诉求类型", "诉求标题", "市民诉求", "诉求人姓名", "诉求人手机号", "身份证号",
        "事发地点", "所属区域", "街道", "接诉分类一级", "接诉分类二级", "接诉分类三级", "处理部门", "派单时间", "承诺时间",
        "提交办结时间", "工单状态", "是否超期", "回访结果", "重复次数"]),
    "justice": ("disputes", "xlsx", "人民调解案件", 0, [
        "案件编码", "案号", "调委会名称", "所属区域", "调解员", "受理日期", "案件来源", "纠纷类别", "案件难度级别",
        "纠纷简要情况", "涉及人数", "涉案金额", "调解日期", "调解结果", "协议形式", "协议履行情况", "是否满意", "当事人姓名",
        "当事人证件号码", "当事人联系电话"]),
    "grid": ("disputes", "xlsx", "矛盾纠纷", 0, [
        "事件编号", "登记时间", "事件来源", "矛盾纠纷类型", "风险等级", "涉及人数", "涉及金额", "所属区县", "所属街道",
        "所属社区", "所属网格", "化解组织", "化解人员", "当事人", "当事人身份证", "当事人电话", "当事人地址", "受理时间",
        "办结时间", "化解结果", "简要情况"]),
    "cati": ("survey", "xlsx", "通话记录", 0, [
        "序号", "批次", "拨打时间", "电话号码", "接通状态", "所属区", "街道", "Q2.请问您在本地居住满一年了吗?",
        "B.城镇/农村", "Q3.请问您的年龄是?", "性别", "Q7.请问在目前的社会治安环境下,您感觉安全吗?",
        "Q9.您觉得本地社会治安与去年相比?", "Q8.您身边突出的治安问题是?", "Q10.您对政法队伍的工作满意吗?", "访员", "通话时长"]),
}
# Where the spec puts the canonical columns a planted defect can name.
HEADER_OF = {
    "jcj": {"case_id": "警情编号", "receive_time": "接警时间", "caller_phone": "报警电话", "category": "接警报警类别",
            "dispatch_time": "派警时间", "arrival_time": "到达现场时间"},
    "dump": {"case_id": "JJDBH", "receive_time": "JJSJ", "caller_phone": "BJDH", "category": "JQLBDM",
             "dispatch_time": "PJSJ", "arrival_time": "DDXCSJ"},
    "jiesu": {"order_id": "工单编号", "accepted_time": "受理时间", "closed_time": "提交办结时间",
              "caller_phone": "诉求人手机号", "request_type": "诉求类型", "id_number": "身份证号", "district": "所属区域",
              "street": "街道"},
    "justice": {"dispute_id": "案件编码", "registered_date": "受理日期", "party_phone": "当事人联系电话",
                "dispute_type": "纠纷类别", "party_id_number": "当事人证件号码"},
    "grid": {"dispute_id": "事件编号", "registered_date": "登记时间", "party_phone": "当事人电话",
             "dispute_type": "矛盾纠纷类型", "party_id_number": "当事人身份证", "district": "所属区县", "street": "所属街道"},
    "cati": {"sample_id": "序号", "interview_date": "拨打时间", "phone": "电话号码", "q_satisfaction": "Q10.您对政法队伍的工作满意吗?",
             "q_safety": "Q7.请问在目前的社会治安环境下,您感觉安全吗?", "district": "所属区", "street": "街道"},
}
DRIFT_KINDS = {"old_name", "typo_name", "old_code", "jiangbei_label", "jiangbei_without_street", "unknown_district"}
WITH_DISTRICT_TEXT = {"jiesu", "grid", "cati"}


def digest(paths):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def export_path(root, name, month=MONTH):
    source, extension, *_ = SPEC[name]
    return root / "raw" / source / f"{month}.{extension}"


def read_export(root, name, month=MONTH) -> pl.DataFrame:
    """Every cell as text, the way a reader that trusts nothing sees the file."""
    _, extension, sheet, title_rows, _ = SPEC[name]
    path = export_path(root, name, month)
    if extension == "csv":
        return pl.read_csv(path, infer_schema=False)
    return pl.read_excel(path, engine="calamine", sheet_name=sheet, read_options={"header_row": title_rows},
                         infer_schema_length=0)


@pytest.fixture(scope="module")
def dialect_roots(tmp_path_factory):
    """February 2024 at test scale in every dialect: two runs, since one run writes one dialect per source."""
    first = tmp_path_factory.mktemp("dialects_a")
    run_nsi(["sample", "--from", MONTH, "--scale", "0.01", "--dialect", "jcj", "--dialect", "jiesu",
             "--dialect", "justice", "--dialect", "cati"], first)
    second = tmp_path_factory.mktemp("dialects_b")
    run_nsi(["sample", "--from", MONTH, "--scale", "0.01", "--dialect", "dump", "--dialect", "grid",
             "--source", "police", "--source", "disputes"], second)
    return {"jcj": first, "jiesu": first, "justice": first, "cati": first, "dump": second, "grid": second}


# ---------------------------------------------------------------------------------------- formats
@pytest.mark.parametrize("name", list(SPEC))
def test_every_dialect_has_the_headers_and_sheet_the_spec_lists(dialect_roots, name):
    source, extension, sheet, _, headers = SPEC[name]
    root = dialect_roots[name]
    exports = sorted(p.name for p in (root / "raw" / source).iterdir() if not p.name.endswith(".defects.csv"))
    assert exports == [f"{MONTH}.{extension}"]
    frame = read_export(root, name)
    if name == "grid":  # the platform adds columns of its own after the listed ones
        assert frame.columns[:len(headers)] == headers and len(frame.columns) == 36
    else:
        assert frame.columns == headers
    assert frame.height > 50
    if sheet:
        assert fastexcel.read_excel(export_path(root, name)).sheet_names == [sheet]
    record = json.loads((root / "raw/sample.json").read_text())
    assert record[MONTH]["dialects"][source] == name


def test_jcj_title_row_and_dump_bytes(dialect_roots):
    path = export_path(dialect_roots["jcj"], "jcj")
    with zipfile.ZipFile(path) as book:
        assert '<mergeCell ref="A1:X1"/>' in book.read("xl/worksheets/sheet1.xml").decode()
    top = pl.read_excel(path, sheet_name="警情数据", has_header=False)
    assert top[0, 0] == "警情列表"
    raw = export_path(dialect_roots["dump"], "dump").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    assert raw.decode("utf-8").startswith("JJDBH,BJSJ,JJSJ,")


def test_xls_opens_with_calamine_and_keeps_ids_as_text(dialect_roots):
    path = export_path(dialect_roots["jiesu"], "jiesu")
    assert path.read_bytes().startswith(bytes.fromhex("d0cf11e0a1b11ae1"))  # an OLE2 (Excel 97) file
    frame = pl.read_excel(path, engine="calamine")
    assert frame.schema["工单编号"] == pl.Utf8
    assert frame["工单编号"].str.len_chars().unique().to_list() == [16]
    assert frame["受理时间"].dtype == pl.Datetime("ms")
    assert frame["重复次数"].dtype in (pl.Int64, pl.Float64)


def test_values_follow_the_dialects_codes(dialect_roots):
    dump = read_export(dialect_roots["dump"], "dump")
    assert set(dump["BJFSDM"]) <= {"01", "02", "03", "04", "05"}
    assert set(dump["WXBS"]) == {"0", "1"}
    assert dump["JJSJ"].drop_nulls().str.contains(r"^\d{14}$").mean() > 0.99
    assert set(dump["XZQHDM"]) - {"320100"} <= set(load_reference().district_codes)
    jcj = read_export(dialect_roots["jcj"], "jcj")
    assert "电信网络诈骗" in set(jcj["接警报警细类"]) and "骚扰110" in set(jcj["接警报警细类"])
    assert jcj.filter(pl.col("所属分局") == "南京市公安局江北新区分局").height > 0
    hotline = read_export(dialect_roots["jiesu"], "jiesu")
    assert hotline["接诉分类一级"].str.contains(r"^\d+\.").all()
    districts = hotline["所属区域"].drop_nulls()
    assert districts.str.starts_with("江苏省南京市").any() and districts.str.starts_with("南京市").any()
    assert districts.is_in(["玄武区", "秦淮区", "江宁区"]).any()  # the bare name, the third way it is written
    survey = read_export(dialect_roots["cati"], "cati")
    # February is an even month: Q7 on the 5-point scale.
    assert "很安全" in set(survey["Q7.请问在目前的社会治安环境下,您感觉安全吗?"])
    grid = read_export(dialect_roots["grid"], "grid")
    assert {"黄色", "蓝色"} <= set(grid["风险等级"])


# ---------------------------------------------------------------------------------- planted defects
def assert_carries(name, rec, row, above):
    """The cell the truth names really carries the defect."""
    kind, detail = rec["kind"], rec["detail"]
    header = HEADER_OF[name][rec["column"]]  # the truth names the canonical column
    cell = row[header]
    if kind == "blank_time":
        assert cell in (None, "")
    elif kind == "malformed_time":
        assert cell == detail
    elif kind == "out_of_month":
        assert detail.split()[1] in cell
    elif kind in ("old_name", "typo_name", "old_code", "jiangbei_label"):
        assert cell == detail or (name == "jiesu" and cell in (f"江苏省南京市{detail}", f"南京市{detail}"))
    elif kind == "jiangbei_without_street":
        assert cell.endswith("江北新区") and row[HEADER_OF[name]["street"]] in (None, "")
    elif kind == "unknown_district":
        assert (cell or "") == (detail or "") and row[HEADER_OF[name]["street"]] in (None, "")
    elif kind == "duplicate":
        assert row == above
    elif kind == "reexport":
        assert "202401" in cell  # the id of a January record
    elif kind == "stray_spaces":
        assert " " in cell
    elif kind == "fullwidth_digits":
        assert any("０" <= ch <= "９" for ch in cell)
    elif kind == "phone_as_number":
        assert cell.startswith("25") and "-" not in cell
    elif kind == "bad_id_check_digit":
        assert not people.id_number_is_valid(cell)
    elif kind == "arrival_before_dispatch":
        assert cell < row[HEADER_OF[name]["dispatch_time"]]
    elif kind == "closed_before_intake":
        assert cell < row[HEADER_OF[name]["accepted_time"]]
    elif kind == "invalid_answer":
        assert cell == "X"
    else:
        raise AssertionError(f"unchecked defect kind {kind}")


@pytest.mark.parametrize("name", list(SPEC))
def test_defects_point_at_rows_that_carry_them(dialect_roots, name):
    source, _, _, title_rows, _ = SPEC[name]
    root = dialect_roots[name]
    rows = read_export(root, name).rows(named=True)
    truth = pl.read_csv(root / "raw" / source / f"{MONTH}.defects.csv")
    first_row = 2 + title_rows
    assert truth.height and truth["row"].min() >= first_row and truth["row"].max() < len(rows) + first_row
    for rec in truth.iter_rows(named=True):
        i = rec["row"] - first_row
        assert_carries(name, rec, rows[i], rows[i - 1] if i else None)
    kinds = set(truth["kind"])
    if len(rows) > 1000:  # at test scale a disputes month is too small to be sure of every kind
        assert {"reexport", "stray_spaces", "duplicate"} <= kinds
        if name in WITH_DISTRICT_TEXT:
            assert "jiangbei_label" in kinds
    if name not in WITH_DISTRICT_TEXT:  # the dialect writes the true district, or none: no drift to plant
        assert not kinds & DRIFT_KINDS


def test_jiesu_numbers_categories_in_order_of_first_appearance_in_the_world():
    for level, numbered in enumerate((JIESU_CATEGORY_L1, JIESU_CATEGORY_L2, JIESU_CATEGORY_L3)):
        assert numbered == tuple(dict.fromkeys(matter[level] for matter in world.HOTLINE_MATTERS))


def test_a_closure_planted_before_intake_is_a_datetime_cell_in_the_xls():
    """Too rare to be sure of at test scale, so at a larger one, on the cells before they are written."""
    ref = load_reference()
    month = Month(2024, 5)
    frame = generate_clean("hotline", ref, month, 0.1, 3)
    cells, truth = build_export("hotline", ref, month, frame, 3, False, None, JIESU)
    planted = truth.filter(pl.col("kind") == "closed_before_intake")["row"].to_list()
    assert planted
    for row in planted:
        closed, accepted = cells["closed_time"][row - 2], cells["accepted_time"][row - 2]
        assert isinstance(closed, datetime) and closed < accepted


def test_clean_dialect_month_holds_the_native_records_in_order():
    ref = load_reference()
    month = Month(2024, 2)
    for name, dialect in DIALECTS.items():
        source = dialect.source
        frame = generate_clean(source, ref, month, 0.01, 5)
        native, native_truth = build_export(source, ref, month, frame, 5, True, None, NATIVES[source])
        cells, truth = build_export(source, ref, month, frame, 5, True, None, dialect)
        assert truth.height == native_truth.height == 0
        ids = [str(v) for v in native[NATIVES[source].id_column]]
        expected = {"dump": ["320100" + i[1:] for i in ids], "jiesu": [i[:8] + i[8:].zfill(8) for i in ids]}
        assert [str(v) for v in cells[dialect.id_column]] == expected.get(name, ids), name


# ------------------------------------------------------------------------------ determinism, mixed
def test_same_seed_same_bytes(dialect_roots, tmp_path):
    run_nsi(["sample", "--from", MONTH, "--scale", "0.01", "--dialect", "jcj", "--dialect", "jiesu",
             "--source", "police", "--source", "hotline"], tmp_path)
    names = ("jcj", "jiesu")
    again = digest([export_path(tmp_path, n) for n in names])
    assert again == digest([export_path(dialect_roots[n], n) for n in names])
    for source in ("police", "hotline"):
        path = f"raw/{source}/{MONTH}.defects.csv"
        assert (tmp_path / path).read_bytes() == (dialect_roots["jcj"] / path).read_bytes()


def test_mixed_is_deterministic_and_varied(tmp_path):
    run_nsi(["sample", "--from", "2024-01", "--to", "2024-02", "--scale", "0.01", "--dialect", "mixed",
             "--source", "hotline", "--source", "disputes", "--source", "survey"], tmp_path)
    record = json.loads((tmp_path / "raw/sample.json").read_text())
    chosen = set()
    for month in ("2024-01", "2024-02"):
        for source, name in record[month]["dialects"].items():
            assert dialect_of_month(source, Month.parse(month), "mixed", 20240101).name == name
            chosen.add(name)
            written = [p for p in (tmp_path / "raw" / source).glob(f"{month}.*") if not p.name.endswith("defects.csv")]
            extension = SPEC[name][1] if name in SPEC else NATIVES[source].extension
            assert [p.suffix for p in written] == [f".{extension}"]
    assert len(chosen) > 1
    months = [Month(2024, m) for m in range(1, 13)]
    for source in NATIVES:
        picks = [dialect_of_month(source, m, "mixed", 7).name for m in months]
        assert picks == [dialect_of_month(source, m, "mixed", 7).name for m in months]
        assert len(set(picks)) > 1, source


def test_a_month_written_again_in_another_file_type_replaces_its_export(tmp_path):
    first = Month(2024, 2)
    sample(tmp_path, first, first, scale=0.01, clean=True, sources=["hotline"], workers=1)
    assert (tmp_path / f"raw/hotline/{MONTH}.csv").exists()
    sample(tmp_path, first, first, scale=0.01, clean=True, sources=["hotline"], workers=1,
           dialects={"hotline": "jiesu"})
    assert sorted(p.name for p in (tmp_path / "raw/hotline").iterdir()) == [f"{MONTH}.defects.csv", f"{MONTH}.xls"]
    assert json.loads((tmp_path / "raw/sample.json").read_text())[MONTH]["dialects"] == {"hotline": "jiesu"}


def test_a_long_xls_export_continues_on_further_sheets(tmp_path, monkeypatch):
    ref = load_reference()
    month = Month(2024, 2)
    frame = generate_clean("hotline", ref, month, 0.01, 5)
    cells, _ = build_export("hotline", ref, month, frame, 5, True, None, JIESU)
    monkeypatch.setattr(writers, "XLS_SHEET_ROWS", 400)
    path = tmp_path / "long.xls"
    writers.write_export(JIESU, cells, path, month)
    sheets = fastexcel.read_excel(path).sheet_names
    assert sheets[:2] == ["工单明细", "工单明细(2)"] and len(sheets) == -(-frame.height // 399)
    read = pl.concat([pl.read_excel(path, sheet_name=s, infer_schema_length=0) for s in sheets])
    assert read["工单编号"].to_list() == [str(v) for v in cells["order_id"]]


# -------------------------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("args, message", [
    (["--dialect", "weibo"],
     "unknown dialect(s) weibo; choose from jcj, dump, jiesu, justice, grid, cati, native, mixed"),
    (["--dialect", "jcj", "--dialect", "dump"], "both police dialects"),
    (["--dialect", "cati", "--source", "police"], "survey is not among the sources written"),
])
def test_bad_dialects_give_one_line_and_nonzero_exit(tmp_path, args, message):
    result = run_nsi(["sample", "--from", MONTH, *args], tmp_path, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "raw").exists()
