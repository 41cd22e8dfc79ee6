"""Source vocabularies as data: loading and its messages, header and value matching, places, dates,
the inspector, and a file in an unknown dialect made to load by editing the vocabulary file alone."""

import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import query, run_nsi

from nsi import vocabulary
from nsi.exports import SOURCES
from nsi.ingest import normalise
from nsi.ingest.extract import extract
from nsi.ingest.inspect import findings_text, inspect
from nsi.ingest.read import MissingColumnsError
from nsi.ingest.validate import schema_for, validate
from nsi.month import Month
from nsi.reference import load_reference

SHIPPED = vocabulary.VOCABULARY_DIR


def copy_vocabularies(tmp_path: Path) -> Path:
    target = tmp_path / "vocabularies"
    shutil.copytree(SHIPPED, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """What an analyst does in an editor: replace one piece of text."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# ------------------------------------------------------------------------------------ loading
@pytest.mark.parametrize("source", SOURCES)
def test_shipped_vocabulary_declares_what_the_rules_read(source):
    loaded = vocabulary.load(source)
    assert (loaded.source, loaded.version) == (source, 1)
    declared = {c.name for c in loaded.columns} | {f"{c.name}_text" for c in loaded.columns}
    rules = set(schema_for(loaded).columns) - {"district_code", "record_month"}
    assert rules <= declared, rules - declared
    for column in loaded.columns:
        if column.values is not None:
            assert column.values.canonical, column.name


@pytest.mark.parametrize("old, new, message", [
    ("values: category\n    headers: [警情类别", "values: categories\n    headers: [警情类别",
     r"columns\.category: value table 'categories' is not under values"),
    ("    刑事: [刑事类警情, 刑事案件, 刑事警情]", "    刑事: [刑事类警情, 刑事案件, 刑事警情, 治安类警情]",
     r"values\.category: '治安类警情' stands for both 刑事 and 治安"),
    ('    刑事: ["010000"]', "    刑事: [010000]", r"values\.category_code\.刑事\.0: Input should be a valid string"),
    ("version: 1", "version: 2", r"version: the file says 2, its name says 1"),
    ("id_column: case_id", "id_column: case_number", r"id_column 'case_number' is not a column"),
    ("  case_id: {required: true, headers: [接警单号,", "  case_id: {required: yes please, headers: [接警单号,",
     r"columns\.case_id\.required"),
    ("headers: [报警时间, BJSJ]}", "headers: [报警时间, BJSJ}", r"line \d+, column \d+: .*quote a header"),
    ("headers: [报警时间, BJSJ]}", "headers: [报警时间, 报警 时间]}", r"columns\.report_time: header\(s\) 报警时间 listed twice"),
])
def test_a_malformed_vocabulary_is_refused_naming_file_and_key(tmp_path, old, new, message):
    folder = copy_vocabularies(tmp_path)
    path = folder / "police" / "v1.yaml"
    edit(path, old, new)
    with pytest.raises(vocabulary.VocabularyError, match=message) as caught:
        vocabulary.load("police", directory=folder)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_the_newest_version_is_used_unless_one_is_pinned(tmp_path):
    folder = copy_vocabularies(tmp_path)
    text = (folder / "police" / "v1.yaml").read_text(encoding="utf-8").replace("version: 1", "version: 2", 1)
    (folder / "police" / "v2.yaml").write_text(text.replace("接警单号, ", "接警单号, 事件单号, ", 1), encoding="utf-8")
    assert vocabulary.load("police", directory=folder).name == "police/v2"
    assert vocabulary.load("police", 1, directory=folder).name == "police/v1"
    with pytest.raises(vocabulary.VocabularyError, match="no vocabulary police v7"):
        vocabulary.load("police", 7, directory=folder)


def test_an_edited_file_is_read_again(tmp_path):
    folder = copy_vocabularies(tmp_path)
    before = vocabulary.load("survey", directory=folder)
    edit(folder / "survey" / "v1.yaml", "    正忙: [占线]", "    正忙: [占线, 忙音]")
    after = vocabulary.load("survey", directory=folder)
    assert after.sha256 != before.sha256
    assert after.column("outcome").values.map("忙音") == "正忙"


# ------------------------------------------------------------------------------------ matching
@pytest.mark.parametrize("written, accepted", [
    ("接警时间", "接警时间"), (" 接警 时间 ", "接警时间"), ("涉及金额（元）", "涉及金额(元)"), ("ＪＪＳＪ", "JJSJ"),
    ("jjsj", "JJSJ"), ("Q7.请问在目前的社会治安环境下，您感觉安全吗？", "请问在目前的社会治安环境下,您感觉安全吗?"),
    ("B.城镇/农村", "城镇/农村"),
])
def test_headers_match_whatever_their_width_spaces_brackets_case_or_question_label(written, accepted):
    assert vocabulary.header_key(written) == vocabulary.header_key(accepted)


def test_a_declared_prefix_is_dropped_from_headers():
    hotline = vocabulary.load("hotline")
    assert hotline.key("12345受理时间") == hotline.key("受理时间")
    assert hotline.key("12345") == "12345"  # a header that is only the prefix stays itself


@pytest.mark.parametrize("source, column, written, canonical", [
    ("police", "category", "行政（治安）类警情", "治安"), ("police", "category", "01 刑事类警情", "刑事"),
    ("police", "category", "道路交通类警情", "交通事故"), ("police", "subcategory", "电信网络诈骗", "电信诈骗"),
    ("hotline", "request_type", "投诉举报类", "投诉举报"), ("hotline", "status", "已退单", "退单"),
    ("disputes", "dispute_type", "劳动争议纠纷", "劳动争议"), ("disputes", "risk_level", "橙色", "橙"),
    ("disputes", "result", "调解中", "在调"), ("survey", "outcome", "已接听", "完成"),
    ("survey", "q_safety", "很不安全", "不安全"), ("survey", "q_safety", "说不清", "说不清"),
])
def test_values_map_to_the_categories_the_indicators_count(source, column, written, canonical):
    table = vocabulary.load(source).column(column).values
    assert table.map(written) == canonical


def test_a_flag_with_the_opposite_meaning_maps_through_its_own_header():
    police = vocabulary.load("police")
    by_header = {h.text: (h.values or police.column("is_valid").values) for h in police.column("is_valid").headers}
    assert by_header["是否有效警情"].map("是") == "是"
    assert by_header["是否无效警情"].map("1") == "否" and by_header["是否无效警情"].map("0") == "是"
    assert by_header["WXBS"].map("1") == "否"
    on_time = {h.text: h.values for h in vocabulary.load("hotline").column("on_time").headers}
    assert on_time["是否超期"].map("是") == "否" and on_time["是否超期"].map("否") == "是"


def test_places_come_from_branch_station_committee_and_prefixed_names():
    ref = load_reference()
    assert ref.resolve_place("江苏省南京市栖霞区").district_code == "320113"
    assert ref.resolve_place("南京市江宁区").district_code == "320115"
    assert ref.resolve_place("鼓樓區").district_code == "320106"  # traditional characters
    by_station = ref.resolve_place("320100", None, None, "南京市公安局鼓楼分局宁海路派出所")
    assert (by_station.district_code, by_station.how) == ("320106", "police_station")
    by_branch = ref.resolve_place(None, None, "南京市公安局玄武分局", None)
    assert (by_branch.district_code, by_branch.street_code) == ("320102", None)
    jiangbei = ref.resolve_place(None, None, "南京市公安局江北新区分局", "泰山派出所")
    assert jiangbei.district_code == "320111" and jiangbei.street_code == "320192007000"
    assert ref.resolve_place(None, None, "南京市公安局江北新区分局", None).how == "jiangbei_without_street"
    committee = ref.resolve_place(None, None, None, "宁海路街道人民调解委员会")
    assert (committee.district_code, committee.street_code) == ("320106", "320106001000")
    assert ref.resolve_place("320100").how == "city_only"
    assert ref.resolve_place("南京", "宁海路街道").district_code == "320106"


def test_compact_chinese_and_offset_dates_parse():
    text = pl.Series(["20240305090712", "20240305", "2024年3月5日 9:07", "2024年3月5日9时07分",
                      "2024-03-05T09:07:12+08:00", "2024-03-05T01:07:12Z", "2024-02-30 09:00:00"])
    parsed = normalise.parse_datetime(text).to_list()
    assert [p.isoformat() if p else None for p in parsed] == [
        "2024-03-05T09:07:12", "2024-03-05T00:00:00", "2024-03-05T09:07:00", "2024-03-05T09:07:00",
        "2024-03-05T09:07:12", "2024-03-05T09:07:12", None]


# ------------------------------------------------------------------------------------ files
@pytest.fixture
def police_file(sample_q1, tmp_path):
    path = tmp_path / "2024-02.csv"
    shutil.copyfile(sample_q1 / "raw/police/2024-02.csv", path)
    return path


def test_ids_in_scientific_notation_are_rejected_not_mangled(police_file):
    police = vocabulary.load("police")
    before = validate(extract(police_file, police, load_reference(), None), police, Month(2024, 2), "sha")
    row = before.loaded["_row"][10]  # a row that loads as it is
    lines = police_file.read_bytes().decode("gbk").split("\r\n")
    lines[row - 1] = "2.02402E+13" + lines[row - 1][lines[row - 1].index(","):]
    police_file.write_bytes("\r\n".join(lines).encode("gbk"))
    validated = validate(extract(police_file, police, load_reference(), None), police, Month(2024, 2), "sha")
    rejected = validated.rejects.filter(pl.col("rule") == "scientific_notation")
    assert rejected["row"].to_list() == [row] and rejected["value"].to_list() == ["2.02402E+13"]


def foreign_dialect(path: Path) -> tuple[int, int]:
    """The file as another system writes it: two headers and the criminal-incident label renamed.
    Returns (rows, rows whose category was 刑事)."""
    text = path.read_bytes().decode("gbk")
    header, body = text.split("\r\n", 1)
    header = header.replace("接警单号", "事件单号").replace("警情类别", "警情大类")
    path.write_bytes((header + "\r\n" + body.replace(",刑事,", ",刑案,")).encode("gbk"))
    frame = pl.read_csv(path.read_bytes().decode("gbk").encode(), infer_schema=False)
    return frame.height, frame.filter(pl.col("警情大类") == "刑案").height


def test_an_unknown_dialect_stops_with_findings_and_loads_once_the_vocabulary_knows_it(police_file, tmp_path):
    baseline = extract(police_file, vocabulary.load("police"), load_reference(), None).frame
    rows, criminal = foreign_dialect(police_file)
    assert criminal > 0
    folder = copy_vocabularies(tmp_path)
    police = vocabulary.load("police", directory=folder)
    with pytest.raises(MissingColumnsError, match=r"required column\(s\) missing: 接警单号 \(case_id\), 警情类别 \(category\)"):
        extract(police_file, police, load_reference(), None)
    found = inspect(police_file, "police", folder)
    unrecognised = {line.header: line.nearest for line in found.headers if line.column is None}
    assert set(unrecognised) == {"事件单号", "警情大类"}
    assert ("警情类别", "category") in unrecognised["警情大类"]
    assert found.missing == ["case_id", "category"] and not found.loads
    english = findings_text(found, "en")
    assert "事件单号 → ? (not used)" in english and "required columns still missing: case_id, category" in english
    assert "仍缺少的必需字段: case_id, category" in findings_text(found, "zh")

    # One edit of the vocabulary file: the two headers, then the value; no code changes.
    path = folder / "police" / "v1.yaml"
    edit(path, "case_id: {required: true, headers: [接警单号,", "case_id: {required: true, headers: [接警单号, 事件单号,")
    edit(path, "    headers: [警情类别, 警情类别一级,", "    headers: [警情类别, 警情大类, 警情类别一级,")
    found = inspect(police_file, "police", folder)
    unknown = found.unknown_values.filter(pl.col("value") == "刑案")
    assert found.loads and unknown.filter(pl.col("column") == "category")["rows"].to_list() == [criminal]
    assert set(unknown["column"]) == {"category", "feedback_category"}  # 反馈类别 has the same label
    edit(path, "    刑事: [刑事类警情, 刑事案件, 刑事警情]", "    刑事: [刑事类警情, 刑事案件, 刑事警情, 刑案]")
    police = vocabulary.load("police", directory=folder)
    extracted = extract(police_file, police, load_reference(), None)
    assert extracted.unknown_values.height == 0 and extracted.rows_read == rows
    compared = ["case_id", "category", "feedback_category", "district_code"]
    assert extracted.frame.select(compared).equals(baseline.select(compared))


def test_inspect_command_guesses_the_source_and_exits_by_whether_the_file_loads(sample_q1, police_file, tmp_path):
    result = run_nsi(["inspect", str(sample_q1 / "raw/survey/2024-02.xlsx"), "--lang", "en"], tmp_path / "d")
    assert "source: survey (guessed from the headers)" in result.stdout
    assert "q_safety (安全感评价): 'X' ×" in result.stdout  # the planted invalid answers
    foreign_dialect(police_file)
    result = run_nsi(["inspect", str(police_file), "--lang", "zh"], tmp_path / "d", check=False)
    assert result.returncode == 1
    assert "数据源: police（按表头自动判断）" in result.stdout and "不能导入" in result.stdout
    result = run_nsi(["inspect", str(police_file), "--source", "nowhere"], tmp_path / "d", check=False)
    assert result.returncode == 2 and "unknown source nowhere" in result.stderr


def test_a_run_on_an_unknown_dialect_prints_the_findings_and_loads_after_the_edit(sample_q1, tmp_path):
    root = tmp_path / "data"
    (root / "raw" / "police").mkdir(parents=True)
    shutil.copyfile(sample_q1 / "raw/police/2024-02.csv", root / "raw/police/2024-02.csv")
    foreign_dialect(root / "raw/police/2024-02.csv")
    folder = copy_vocabularies(tmp_path)
    env = {"NSI_VOCABULARY_DIR": str(folder)}
    for source in ("hotline", "disputes", "survey"):
        shutil.copytree(sample_q1 / "raw" / source, root / "raw" / source)
    failed = run_nsi(["run", "2024-02", "--stage", "ingest"], root, check=False, env_extra=env)
    assert failed.returncode == 1
    assert "required column(s) missing: 接警单号 (case_id), 警情类别 (category)" in failed.stderr
    assert "事件单号 → ? (not used)" in failed.stderr  # the inspector's findings, in the run's own output
    path = folder / "police" / "v1.yaml"
    edit(path, "case_id: {required: true, headers: [接警单号,", "case_id: {required: true, headers: [接警单号, 事件单号,")
    edit(path, "    headers: [警情类别, 警情类别一级,", "    headers: [警情类别, 警情大类, 警情类别一级,")
    edit(path, "    刑事: [刑事类警情, 刑事案件, 刑事警情]", "    刑事: [刑事类警情, 刑事案件, 刑事警情, 刑案]")
    run_nsi(["run", "2024-02", "--stage", "ingest"], root, env_extra=env)
    log = query(root, "SELECT vocabulary, vocabulary_sha256 FROM extract_log WHERE source = 'police'")
    assert log["vocabulary"].to_list() == ["police/v1"]
    assert log["vocabulary_sha256"].to_list() == [vocabulary.load("police", directory=folder).sha256]


def test_unknown_values_past_the_declared_share_stop_the_month(sample_q1, tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(sample_q1 / "raw", root / "raw")
    path = root / "raw/hotline/2024-02.csv"
    original = path.read_bytes()
    frame = pl.read_csv(original, infer_schema=False)

    dropped = set(pl.read_csv(root / "raw/hotline/2024-02.defects.csv").filter(pl.col("effect") == "drop")["row"])

    def with_unknown(share: float) -> int:
        marked = pl.int_range(pl.len()) % int(1 / share) == 0
        changed = frame.with_columns(pl.when(marked).then(pl.lit("咨询投诉类")).otherwise(pl.col("诉求类型")).alias("诉求类型"))
        path.write_bytes(b"\xef\xbb\xbf" + changed.write_csv().encode("utf-8"))
        return changed.filter(pl.col("诉求类型") == "咨询投诉类").height

    stopped = with_unknown(0.05)
    failed = run_nsi(["run", "2024-02", "--stage", "ingest"], root, check=False)
    assert failed.returncode == 1
    assert "valid_hotline: unknown_values_within_share" in failed.stderr
    assert "data/vocabularies/hotline/v1.yaml" in failed.stderr
    assert f"hotline request_type (诉求类型) '咨询投诉类' ×{stopped}: rows rejected" in failed.stderr

    kept = with_unknown(0.004)
    passed = run_nsi(["run", "2024-02", "--stage", "ingest"], root)
    assert "unknown_values_within_share" not in passed.stderr
    assert f"'咨询投诉类' ×{kept}: rows rejected" in passed.stderr
    # Every marked row is rejected for its value, except the duplicates and re-exports dropped before the rules.
    marked_rows = {i + 2 for i in range(frame.height) if i % int(1 / 0.004) == 0}
    rejected = query(root, "SELECT \"row\" FROM rejects WHERE source = 'hotline' AND rule = 'unknown_value'")
    assert set(rejected["row"]) == marked_rows - dropped
    import dagster as dg
    # opened as Dagster's own entry points open an instance: with DAGSTER_HOME naming it
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    with dg.DagsterInstance.from_config(str(root / "dagster_home")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("extract_hotline"))
        listed = [record.data for record in event.asset_materialization.metadata["unknown_values"].records]
    assert event.asset_materialization.partition == "2024-02"
    assert listed == [{"column": "request_type", "value": "咨询投诉类", "rows": kept, "action": "rejected"}]


def test_a_prefixed_gbk_hotline_export_with_numbered_and_suffixed_values_reads_the_same(sample_q1, tmp_path):
    """Mutations the project's generator never writes: every header prefixed with 12345, GBK instead of
    UTF-8, 类 after the request type, list numbers before the categories, the province and city before
    the district, traditional characters."""
    original = sample_q1 / "raw/hotline/2024-02.csv"
    frame = pl.read_csv(original, infer_schema=False)
    numbers = {name: i + 1 for i, name in enumerate(sorted(frame["一级分类"].drop_nulls().unique().to_list()))}
    traditional = {"鼓楼区": "鼓樓區", "栖霞区": "棲霞區"}
    mutated = frame.with_columns(
        pl.col("诉求类型") + "类",
        pl.col("一级分类").replace_strict(numbers, return_dtype=pl.Utf8) + "." + pl.col("一级分类"),
        pl.when(pl.int_range(pl.len()) % 2 == 0).then("江苏省南京市" + pl.col("所属区")).otherwise(
            pl.col("所属区").replace(traditional)),
    ).rename(lambda header: "12345" + header)
    path = tmp_path / "2024-02.csv"
    path.write_bytes(mutated.write_csv(line_terminator="\r\n").encode("gb18030"))
    hotline = vocabulary.load("hotline")
    ref = load_reference()
    before = extract(original, hotline, ref, None).frame
    after = extract(path, hotline, ref, None)
    assert after.encoding == "gbk" and after.unknown_values.height == 0
    compared = ["order_id", "request_type", "category_l1", "district_code", "street_code", "status", "accepted_time"]
    assert after.frame.select(compared).equals(before.select(compared))
