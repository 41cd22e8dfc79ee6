"""`nsi sample`: formats as delivered, statistical shape, planted defects, determinism, CLI errors."""

import hashlib
from collections import Counter

import numpy as np
import polars as pl
import pytest
from conftest import run_nsi

from nsi.month import Month
from nsi.reference import load_reference
from nsi.sample import people
from nsi.sample.defects import RATES
from nsi.sample.sources import generate_clean

MONTHS = ["2024-01", "2024-02", "2024-03"]
# Domain brief §2, copied here on purpose: the test must not read the generator's own tables.
MULTIPLIER = {
    "police": (0.95, 0.85, 0.97, 1.00, 1.03, 1.08, 1.12, 1.12, 1.02, 0.98, 0.94, 0.94),
    "disputes": (1.10, 0.75, 1.05, 1.00, 1.00, 1.00, 1.05, 1.00, 0.98, 0.92, 1.00, 1.15),
}


def read_csv_export(path, encoding):
    return pl.read_csv(path.read_bytes().decode(encoding).encode("utf-8"), infer_schema=False)


def digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "raw").rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------- formats
def test_twelve_exports_with_truth_files(sample_q1):
    exports = sorted(p.relative_to(sample_q1 / "raw").as_posix() for p in (sample_q1 / "raw").rglob("*")
                     if p.is_file() and not p.name.endswith(".defects.csv") and p.name != "sample.json")
    assert exports == sorted([f"{s}/{m}.{e}" for s, e in [("hotline", "csv"), ("police", "csv"),
                                                           ("disputes", "xlsx"), ("survey", "xlsx")] for m in MONTHS])
    for source in ("hotline", "police", "disputes", "survey"):
        for month in MONTHS:
            truth = pl.read_csv(sample_q1 / "raw" / source / f"{month}.defects.csv")
            assert truth.columns == ["source", "month", "row", "kind", "effect", "column", "detail"]
            assert truth.height > 0
    record = __import__("json").loads((sample_q1 / "raw/sample.json").read_text())
    native = {"hotline": "native", "police": "native", "disputes": "native", "survey": "native"}
    assert record == {m: {"scale": 0.01, "seed": 20240101, "clean": False, "dialects": native} for m in MONTHS}


def test_police_is_gbk_csv_with_chinese_headers(sample_q1):
    raw = (sample_q1 / "raw/police/2024-02.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    header = text.split("\r\n", 1)[0].split(",")
    assert header[:4] == ["接警单号", "报警时间", "接警时间", "报警方式"]
    for name in ("报警电话", "报警人姓名", "事发地址", "警情类别", "是否有效警情", "到达现场时间", "反馈类别", "所属区"):
        assert name in header


def test_hotline_is_utf8_with_bom_and_mixed_dates(sample_q1):
    raw = (sample_q1 / "raw/hotline/2024-02.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = read_csv_export(sample_q1 / "raw/hotline/2024-02.csv", "utf-8-sig")
    assert frame.columns[:3] == ["工单编号", "受理时间", "诉求渠道"]
    stamps = frame["受理时间"].drop_nulls()
    kinds = Counter("serial" if s.replace(".", "").isdigit() else "slash" if "/" in s
                    else "dot0" if s.endswith(".0") else "iso" for s in stamps)
    assert {"serial", "slash", "dot0", "iso"} <= set(kinds)
    # Direct answers carry no handling unit and no closure time.
    direct = frame.filter(pl.col("办理结果") == "已直接答复")
    assert direct["承办单位"].null_count() == direct.height and direct["办结时间"].null_count() == direct.height


def test_disputes_xlsx_has_merged_title_row(sample_q1):
    import zipfile
    with zipfile.ZipFile(sample_q1 / "raw/disputes/2024-02.xlsx") as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<mergeCell ref=\"A1:" in sheet
    top = pl.read_excel(sample_q1 / "raw/disputes/2024-02.xlsx", has_header=False)
    assert str(top[0, 0]).startswith("南京市矛盾纠纷调解台账")
    frame = pl.read_excel(sample_q1 / "raw/disputes/2024-02.xlsx", read_options={"header_row": 1})
    assert frame.columns[:5] == ["纠纷编号", "登记日期", "来源", "纠纷类型", "风险等级"]


def test_survey_xlsx_headers_and_outcomes(sample_q1):
    frame = pl.read_excel(sample_q1 / "raw/survey/2024-02.xlsx")
    assert frame.columns[:4] == ["样本编号", "调查批次", "访问日期", "电话号码"]
    outcomes = Counter(frame["访问结果"].to_list())
    truth = pl.read_csv(sample_q1 / "raw/survey/2024-02.defects.csv")
    extra_rows = truth.filter(pl.col("effect") == "drop").height  # duplicates and re-exports add rows
    assert 3300 <= outcomes["完成"] <= 3300 + extra_rows
    assert {"拒访", "空号", "无人接听"} <= set(outcomes)


def test_same_seed_same_bytes_other_seed_differs(sample_q1, tmp_path):
    again = tmp_path / "again"
    run_nsi(["sample", "--from", "2024-01", "--to", "2024-03", "--scale", "0.01"], again)
    assert digest(again) == digest(sample_q1)
    other = tmp_path / "other"
    run_nsi(["sample", "--from", "2024-02", "--to", "2024-02", "--scale", "0.01", "--seed", "7",
             "--source", "police"], other)
    assert digest(other)["raw/police/2024-02.csv"] != digest(sample_q1)["raw/police/2024-02.csv"]


def test_month_does_not_depend_on_range_start(sample_q1, tmp_path):
    alone = tmp_path / "alone"
    run_nsi(["sample", "--from", "2024-03", "--scale", "0.01", "--source", "hotline"], alone)
    assert digest(alone)["raw/hotline/2024-03.csv"] == digest(sample_q1)["raw/hotline/2024-03.csv"]


# -------------------------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("args, message", [
    (["--from", "2024-13"], "month 13 does not exist"),
    (["--from", "2024-3"], "write it as YYYY-MM"),
    (["--from", "2024-03", "--to", "2024-01"], "--to 2024-01 is before --from 2024-03"),
    (["--from", "2024-03", "--scale", "0"], "--scale 0.0 must be in (0, 10]"),
    (["--from", "2024-03", "--source", "weibo"], "unknown source(s) weibo"),
])
def test_bad_arguments_give_one_line_and_nonzero_exit(tmp_path, args, message):
    result = run_nsi(["sample", *args], tmp_path, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "raw").exists()


def test_help_lists_sample():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "sample", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--clean" in out.stdout and "defects.csv" in out.stdout


# ---------------------------------------------------------------------------------- planted defects
@pytest.mark.parametrize("source", ["hotline", "police", "disputes", "survey"])
def test_planted_defects_are_in_the_files_where_truth_says(sample_q1, source):
    ext = "xlsx" if source in ("disputes", "survey") else "csv"
    month = "2024-02"
    path = sample_q1 / "raw" / source / f"{month}.{ext}"
    if source == "police":
        frame = read_csv_export(path, "gbk")
    elif source == "hotline":
        frame = read_csv_export(path, "utf-8-sig")
    else:
        frame = pl.read_excel(path, read_options={"header_row": 1 if source == "disputes" else 0},
                              infer_schema_length=0)
    first_row = 3 if source == "disputes" else 2
    rows = frame.rows()
    headers = frame.columns
    district_col = headers.index("所属区")
    truth = pl.read_csv(sample_q1 / "raw" / source / f"{month}.defects.csv")
    assert truth["row"].max() < len(rows) + first_row
    seen = Counter()
    for rec in truth.iter_rows(named=True):
        row = rows[rec["row"] - first_row]
        seen[rec["kind"]] += 1
        if rec["kind"] in ("old_name", "typo_name", "old_code", "jiangbei_label"):
            assert str(row[district_col]).strip() == rec["detail"]
        elif rec["kind"] == "duplicate":
            assert row == rows[rec["row"] - first_row - 1]
        elif rec["kind"] == "jiangbei_without_street":
            assert row[district_col] == "江北新区" and row[headers.index("所属街道")] in (None, "")
        elif rec["kind"] == "fullwidth_digits":
            assert any("０" <= ch <= "９" for ch in "".join(str(v) for v in row if v is not None))
    if len(rows) > 1000:  # at test scale the disputes file is too small to be sure of every kind
        assert {"duplicate", "stray_spaces"} <= set(seen)
    if source in ("hotline", "police"):
        assert "reexport" in seen


def test_defect_rates_match_the_declared_rates():
    """At a volume where rates are measurable: each kind within a binomial band of its declared rate."""
    from nsi.sample.generate import build_export
    ref = load_reference()
    month = Month(2024, 5)
    frame = generate_clean("police", ref, month, 0.1, 3)
    _, truth = build_export("police", ref, month, frame, 3, False, generate_clean("police", ref, month.previous(), 0.1, 3))
    n = frame.height
    counts = Counter(truth["kind"].to_list())
    for kind in ("blank_time", "malformed_time", "jiangbei_without_street", "unknown_district", "fullwidth_digits",
                 "stray_spaces", "duplicate"):
        rate = RATES[kind][1]
        expected = n * rate
        assert abs(counts[kind] - expected) <= 4 * np.sqrt(expected) + 2, (kind, counts[kind], expected)
    dispatched = frame.filter(pl.col("arrival_time").is_not_null()).height
    expected = dispatched * RATES["arrival_before_dispatch"][1]
    assert abs(counts["arrival_before_dispatch"] - expected) <= 4 * np.sqrt(expected) + 2
    old_rows = frame.filter(pl.col("_district").is_in(["320104", "320106", "320117", "320118"])).height
    assert abs(counts["old_name"] - old_rows * RATES["old_name"][1]) <= 4 * np.sqrt(old_rows * 0.03) + 2


def test_clean_sample_has_no_defects(tmp_path):
    run_nsi(["sample", "--from", "2024-02", "--scale", "0.01", "--clean", "--source", "hotline"], tmp_path)
    truth = pl.read_csv(tmp_path / "raw/hotline/2024-02.defects.csv")
    assert truth.height == 0


def test_id_numbers_pass_check_digit_unless_planted_bad(sample_q1):
    for source, path, column, first_row in [
        ("hotline", "raw/hotline/2024-02.csv", "身份证号", 2),
        ("disputes", "raw/disputes/2024-02.xlsx", "当事人身份证号", 3),
    ]:
        if source == "hotline":
            frame = read_csv_export(sample_q1 / path, "utf-8-sig")
        else:
            frame = pl.read_excel(sample_q1 / path, read_options={"header_row": 1}, infer_schema_length=0)
        truth = pl.read_csv(sample_q1 / f"raw/{source}/2024-02.defects.csv")
        bad_rows = set(truth.filter(pl.col("kind") == "bad_id_check_digit")["row"].to_list())
        checked = 0
        for i, value in enumerate(frame[column].to_list()):
            if not value:
                continue
            checked += 1
            assert people.id_number_is_valid(value) == (i + first_row not in bad_rows), (source, i + first_row, value)
        assert checked > 50


# ----------------------------------------------------------------------------------- statistical shape
@pytest.fixture(scope="module")
def police_2024():
    ref = load_reference()
    return {m: generate_clean("police", ref, Month(2024, m), 0.05, 11) for m in (6, 7, 9, 11)}


def test_police_per_capita_rates_by_district(police_2024):
    ref = load_reference()
    frame = police_2024[6].filter(pl.col("is_valid") == "是")
    per_10k = {code: n / ref.population(code, 2024)[0] * 1e4
               for code, n in frame.group_by("_district").len().iter_rows()}
    ordinary = np.mean([per_10k[c] for c in ("320105", "320111", "320113", "320114", "320115")])
    for core in ("320102", "320104", "320106"):
        assert per_10k[core] / ordinary == pytest.approx(1.3, rel=0.08)
    for rural in ("320116", "320117", "320118"):
        assert per_10k[rural] / ordinary == pytest.approx(0.8, rel=0.08)
    # City level: ≈330k valid incidents a month for 9.3M residents at scale 1.
    city = frame.height / 0.05 / 1.08
    assert city == pytest.approx(330_000 * 1.03 ** (17 / 12), rel=0.05)


def test_police_seasonal_multipliers(police_2024):
    valid = {m: f.filter(pl.col("is_valid") == "是").height / (30 if m in (6, 9, 11) else 31) for m, f in police_2024.items()}
    for a, b in [(7, 6), (7, 11), (9, 11)]:
        expected = MULTIPLIER["police"][a - 1] / MULTIPLIER["police"][b - 1]
        # per-day volumes; trend between the months is < 1.5%
        assert valid[a] / valid[b] == pytest.approx(expected, rel=0.04), (a, b)


def test_disputes_seasonal_multipliers():
    ref = load_reference()
    per_day = {}
    for m, days in ((1, 31), (2, 28), (10, 31), (12, 31)):
        per_day[m] = generate_clean("disputes", ref, Month(2025, m), 0.3, 5).height / days
    assert per_day[12] / per_day[10] == pytest.approx(1.15 / 0.92, rel=0.06)
    assert per_day[2] / per_day[1] == pytest.approx(0.75 / 1.10, rel=0.06)


def test_police_category_mix(police_2024):
    valid = police_2024[7].filter(pl.col("is_valid") == "是")
    share = {k: v / valid.height for k, v in valid.group_by("category").len().iter_rows()}
    for category, pct in {"群众求助": 25, "交通事故": 15, "纠纷": 20, "治安": 12, "刑事": 3, "其他": 23.5}.items():
        assert share[category] == pytest.approx(pct / 100, abs=0.01), category
    crime = valid.filter(pl.col("category") == "刑事")
    fraud = crime.filter(pl.col("subcategory") == "电信诈骗").height / crime.height
    assert fraud == pytest.approx(0.45, abs=0.05)
    invalid = police_2024[7].filter(pl.col("is_valid") == "否").height
    assert 0.5 <= invalid / valid.height <= 1.0


def test_arrival_slower_in_rural_districts(police_2024):
    frame = police_2024[9].filter(pl.col("arrival_time").is_not_null()).with_columns(
        minutes=(pl.col("arrival_time") - pl.col("receive_time")).dt.total_seconds() / 60)
    median = dict(frame.group_by("_district").agg(pl.col("minutes").median()).iter_rows())
    assert 5 <= median["320102"] <= 8
    assert 12 <= median["320118"] <= 20
    assert median["320118"] > 1.8 * median["320102"]


def test_hotline_volume_types_and_festival_week():
    ref = load_reference()
    feb = generate_clean("hotline", ref, Month(2024, 2), 0.05, 2)
    assert feb.filter(pl.col("handling_unit") != "").height / feb.height == pytest.approx(35 / 150, abs=0.03)
    types = {k: v / feb.height for k, v in feb.group_by("request_type").len().iter_rows()}
    assert 0.50 <= types["咨询"] <= 0.60 and 0.20 <= types["求助"] <= 0.30 and 0.05 <= types["投诉"] <= 0.15
    # Spring Festival 2024: 除夕 9 Feb; the week from 9 to 15 Feb falls 40–55% against the weeks around it.
    daily = feb.group_by(pl.col("accepted_time").dt.day().alias("day")).len()
    by_day = dict(daily.iter_rows())
    festival = np.mean([by_day[d] for d in range(9, 16)])
    around = np.mean([by_day[d] for d in list(range(1, 8)) + list(range(19, 26))])
    assert 0.40 <= festival / around <= 0.60


def test_disputes_district_mix():
    ref = load_reference()
    frame = generate_clean("disputes", ref, Month(2024, 6), 0.5, 9)
    share = lambda codes, kind: frame.filter(pl.col("_district").is_in(codes) & (pl.col("dispute_type") == kind)).height \
        / frame.filter(pl.col("_district").is_in(codes)).height
    assert share(["320115", "320111", "320113"], "劳动争议") > 1.1 * share(["320102", "320104", "320105"], "劳动争议")
    assert share(["320116", "320117", "320118"], "房屋宅基地纠纷") > 1.3 * share(["320102", "320104", "320105"], "房屋宅基地纠纷")


def test_survey_sense_of_security_near_99_percent():
    ref = load_reference()
    frame = generate_clean("survey", ref, Month(2024, 6), 1.0, 4).filter(pl.col("outcome") == "完成")
    assert frame.height == 3300
    safe = frame.filter(pl.col("q_safety").is_in(["安全", "比较安全"])).height / frame.height
    assert safe == pytest.approx(0.992, abs=0.006)


# ------------------------------------------------------------------------------- steady city and shifts
def frame_digest(frame):
    return hashlib.sha256(frame.write_csv().encode()).hexdigest()


# Written by the generator before --steady and --shift existed: the ordinary city must keep every draw.
ORDINARY_FRAMES = {
    ("police", "2024-02"): "a946bf7abc0dd2a442e79cf45dfbb070218c2c9f51b1819bde1ff225d0833ccb",
    ("hotline", "2024-02"): "0eccf12ae93b88fec74fa34b66979c6ee5ee3b169473dcf6b5dfd71c7c4b7714",
    ("disputes", "2024-12"): "49add59f5ed45e0d553eb78e161642a40eb6589bee52cbe1367e3d475fe963b9",
    ("survey", "2024-02"): "72b832713d2700c3e5ba785f2bb30db6b1ea2f604e1fc6818c28c6e44a892ed7",
}


@pytest.mark.parametrize("source, month", list(ORDINARY_FRAMES))
def test_ordinary_city_keeps_the_records_it_had(source, month):
    frame = generate_clean(source, load_reference(), Month.parse(month), 0.003, 17)
    assert frame_digest(frame) == ORDINARY_FRAMES[(source, month)]


def steady(shifts=()):
    from nsi.sample.scenario import scenario_of
    return scenario_of(True, list(shifts), load_reference().district_codes)


def within_poisson(count, expected, sds=4):
    return abs(count - expected) <= sds * np.sqrt(expected) + 1


@pytest.mark.parametrize("source, valid_city", [("police", 330_000), ("disputes", 15_000)])
def test_steady_city_has_one_expected_volume_every_month(source, valid_city):
    """February, July and a December two years on: the same expected volume, drawn with Poisson noise."""
    ref, scale = load_reference(), 0.02 if source == "police" else 0.3
    for month in (Month(2024, 2), Month(2024, 7), Month(2025, 12)):
        frame = generate_clean(source, ref, month, scale, 3, steady())
        count = frame.filter(pl.col("is_valid") == "是").height if source == "police" else frame.height
        assert within_poisson(count, valid_city * scale), (source, month, count)
    # The ordinary city's February and July differ far beyond that noise.
    feb, jul = (generate_clean("disputes", ref, Month(2024, m), 0.3, 3).height for m in (2, 7))
    assert jul / feb > 1.3


def test_steady_city_has_no_festival_week():
    feb = generate_clean("hotline", load_reference(), Month(2024, 2), 0.05, 2, steady())
    by_day = dict(feb.group_by(pl.col("accepted_time").dt.day().alias("day")).len().iter_rows())
    festival = np.mean([by_day[d] for d in range(9, 16)])  # 除夕 9 Feb 2024
    around = np.mean([by_day[d] for d in list(range(1, 8)) + list(range(19, 26))])
    assert 0.9 <= festival / around <= 1.1


def test_shift_multiplies_one_subcategory_from_its_month_on():
    """Fraud ×2 in every district from 2024-05: twice the expected fraud, the other incidents as before,
    and April exactly the steady city's."""
    ref, scale = load_reference(), 0.03
    shifted = steady([f"电信诈骗:{code}:2024-05:2" for code in ref.district_codes])
    april = Month(2024, 4)
    assert frame_digest(generate_clean("police", ref, april, scale, 8, shifted)) == \
        frame_digest(generate_clean("police", ref, april, scale, 8, steady()))
    valid = generate_clean("police", ref, Month(2024, 5), scale, 8, shifted).filter(pl.col("is_valid") == "是")
    fraud = valid.filter(pl.col("subcategory") == "电信诈骗").height
    share = 0.03 * 0.45  # 刑事 3% of valid incidents, 电信诈骗 45% of 刑事 (domain brief)
    assert within_poisson(fraud, 2 * 330_000 * scale * share)
    assert within_poisson(valid.height - fraud, 330_000 * scale * (1 - share))
    theft = valid.filter(pl.col("subcategory") == "盗窃").height
    assert within_poisson(theft, 330_000 * scale * 0.03 * 0.35)


def test_shift_reaches_only_its_district():
    ref = load_reference()
    valid = generate_clean("police", ref, Month(2024, 9), 0.05, 8, steady(["刑事:320105:2024-09:3"])) \
        .filter(pl.col("is_valid") == "是")
    crime = dict(valid.filter(pl.col("category") == "刑事").group_by("_district").len().iter_rows())
    total = dict(valid.group_by("_district").len().iter_rows())
    share = {c: crime[c] / (total[c] - (2 / 3) * crime[c] if c == "320105" else total[c]) for c in crime}
    # Without the district's added crime, its crime share is 3%·3 of the rest: 9%; elsewhere 3%.
    assert share["320105"] == pytest.approx(0.09, abs=0.02)
    others = sum(crime[c] for c in crime if c != "320105") / sum(total[c] for c in total if c != "320105")
    assert others == pytest.approx(0.03, abs=0.004)


def test_shift_of_a_share_moves_its_probability():
    ref = load_reference()
    frame = generate_clean("disputes", ref, Month(2024, 9), 1.0, 4, steady(["B2:320114:2024-09:0.5"]))
    closed = frame.filter(pl.col("result") != "在调")
    rate = {c: g.filter(pl.col("result") == "调解成功").height / g.height
            for (c,), g in closed.group_by("_district")}
    n = closed.filter(pl.col("_district") == "320114").height
    assert abs(rate["320114"] - 0.46) <= 4 * np.sqrt(0.46 * 0.54 / n)
    assert rate["320105"] > 0.85


def test_shift_names_the_indicator_it_plants():
    from nsi.sample.scenario import parse_shift
    codes = load_reference().district_codes
    planted = {what: parse_shift(f"{what}:320105:2024-09:0.9", codes).indicator
               for what in ("电信诈骗", "盗窃", "火灾", "A4", "劳动争议", "治安隐患", "停水", "B2", "A5")}
    assert planted == {"电信诈骗": "A3", "盗窃": "A1", "火灾": "A4", "A4": "A4", "劳动争议": "B1", "治安隐患": "C1",
                       "停水": None, "B2": "B2", "A5": "A5"}


def test_indicator_targets_count_what_the_catalogue_counts():
    """Each count indicator a shift can name covers exactly the generated records its catalogue formula counts."""
    import duckdb

    from indicators.methodology import catalogue
    from nsi.sample import world
    from nsi.sample.scenario import INDICATOR_TARGETS, police_cells
    formulas = {e.code: e.count for e in catalogue().indicators}
    con = duckdb.connect()
    tables = {
        "police": pl.DataFrame([{"final_category": c, "subcategory": s, "cell": f"{c}|{s}"}
                                for c, subs in world.POLICE_SUBCATEGORIES.items() for s in subs]),
        "disputes": pl.DataFrame({"dispute_type": list(world.DISPUTE_TYPES), "cell": list(world.DISPUTE_TYPES)}),
        "hotline": pl.DataFrame([{"category_l1": m[0], "category_l2": m[1], "category_l3": m[2], "cell": m[2]}
                                 for m in world.HOTLINE_MATTERS]),
    }
    checked = 0
    for code, (source, knob, names) in INDICATOR_TARGETS.items():
        if knob not in ("category", "subcategory", "dispute_type", "matter"):
            continue
        cells = tables[source]  # noqa: F841 - read by DuckDB
        counted = set(con.execute(f"SELECT cell FROM cells WHERE {formulas[code]}").pl()["cell"].to_list())
        mine = {f"{c}|{s}" for c, s in police_cells(knob, names)} if source == "police" else set(names)
        assert counted == mine, code
        checked += 1
    assert checked == 6


def test_sample_declares_what_it_planted(tmp_path):
    run_nsi(["sample", "--from", "2024-08", "--to", "2024-09", "--scale", "0.002", "--source", "disputes",
             "--steady", "--shift", "电信诈骗:320105:2024-09:1.3"], tmp_path)
    record = __import__("json").loads((tmp_path / "raw/sample.json").read_text(encoding="utf-8"))
    assert record["2024-08"]["steady"] is True and "shifts" not in record["2024-08"]
    assert record["2024-09"]["shifts"] == [{"what": "电信诈骗", "source": "police", "target": "subcategory",
                                            "categories": ["电信诈骗"], "district": "320105", "from": "2024-09",
                                            "factor": 1.3, "indicator": "A3"}]


def test_bad_shift_gives_one_line(tmp_path):
    result = run_nsi(["sample", "--from", "2024-09", "--shift", "电信诈骗:320199:2024-09:1.3"], tmp_path, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "320199 is not a district code" in lines[0], lines
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize("shift, message", [
    ("邻里纠纷:320105:2024-09:1.3", "write one of police/subcategory/邻里纠纷, disputes/dispute_type/邻里纠纷"),
    ("C2:320105:2024-09:1.3", "times 1.3 it would exceed 1.0"),
    ("电信诈骗:320105:2024-09", "write WHAT:DISTRICT:FROM_MONTH:FACTOR"),
    ("电信诈骗:320105:2024-09:-1", "the factor must be a positive number"),
])
def test_bad_shift_is_refused_with_its_reason(shift, message):
    from nsi.sample.scenario import parse_shift
    with pytest.raises(ValueError, match=message):
        parse_shift(shift, load_reference().district_codes)
