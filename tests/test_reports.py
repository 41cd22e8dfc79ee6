"""PDF briefings: fonts, numbers against the warehouse, byte-identical reruns, safe rendering, line breaking."""

import hashlib
import re
import shutil
import subprocess
import sys

import duckdb
import polars as pl
import pytest
from conftest import REPO, query

from nsi import vocabulary
from nsi.reference import load_reference

CODES = [*load_reference().district_codes, "320100"]
FORBIDDEN_LINE_START = "，。、；：）》！？"



def text_of(pdf):
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_twelve_pdfs_per_month_with_only_our_fonts(ingested_q1):
    root, _ = ingested_q1
    for month in ("2024-01", "2024-02", "2024-03"):
        folder = root / "out" / month / "reports"
        assert sorted(p.stem for p in folder.glob("*.pdf")) == sorted(CODES)
    for code in ("320102", "320100"):
        fonts = subprocess.run(["pdffonts", str(root / f"out/2024-03/reports/{code}.pdf")], capture_output=True,
                               text=True, check=True).stdout.splitlines()[2:]
        names = {line.split()[0] for line in fonts}
        assert names and all(re.fullmatch(r"[A-Z]{6}\+NSI-Sans(-Bold)?", n) for n in names), names
        assert all(" yes yes yes " in line for line in fonts)


@pytest.mark.parametrize("code", ["320102", "320118", "320100"])
def test_numbers_in_the_pdf_match_the_warehouse(ingested_q1, code):
    root, _ = ingested_q1
    text = text_of(root / f"out/2024-03/reports/{code}.pdf")
    row = query(root, "SELECT * FROM safety_index WHERE month = '2024-03' AND code = ?", [code]).row(0, named=True)
    csv = pl.read_csv((root / "out/2024-03/index.csv").read_bytes()[3:], schema_overrides={"区划代码": pl.Utf8})
    published = csv.filter(pl.col("区划代码") == code)["平安指数"][0]
    assert row["name"] in text and "2024年3月" in text
    assert f"{published:.1f}" in text and round(row["composite"], 1) == published
    for sub in ("A", "B", "C", "D"):
        assert f"{row[sub]:.1f}" in text
    if code != "320100":
        lines = text.splitlines()
        start = next(i for i, line in enumerate(lines) if "全市排名" in line)
        kpis = next(line for line in lines[start + 1:] if line.strip()).split()
        assert kpis[:2] == [f"{row['composite']:.1f}", str(row["rank"])]
        assert f"{row['rank_p05']}–{row['rank_p95']}" in text
        # Other districts appear only with index value and rank: no other district's sub-index table.
        others = query(root, "SELECT name FROM safety_index WHERE month = '2024-03' AND code NOT IN (?, '320100')", [code])
        assert all(name in text for name in others["name"])
    indicators = query(root, "SELECT indicator, score FROM indicator_values WHERE month = '2024-03' AND code = ?", [code])
    for indicator, score in indicators.iter_rows():
        if score is not None:
            assert re.search(rf"{indicator} .*{score:.1f}", text), indicator


def test_briefings_are_in_chinese(ingested_q1):
    """District offices read these: no English words, and the population basis names its year."""
    root, _ = ingested_q1
    for code in CODES:
        text = subprocess.run(["pdftotext", str(root / f"out/2024-03/reports/{code}.pdf"), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert not re.findall(r"[A-Za-z]{2,}", text), (code, re.findall(r"[A-Za-z]{2,}[^\n]*", text)[:5])
        years = query(root, "SELECT DISTINCT population_year FROM indicator_values WHERE month = '2024-03' AND code = ? "
                            "AND population_year IS NOT NULL", [code])["population_year"].to_list()
        assert len(years) == 1
        assert f"人口口径：常住人口（{years[0]}年，即不晚于当月的最新年份）；率类指标为每万常住人口每月件数" in text.replace("\n", "")


def test_chinese_line_breaking(ingested_q1):
    root, _ = ingested_q1
    for code in ("320104", "320100"):
        for line in text_of(root / f"out/2024-03/reports/{code}.pdf").splitlines():
            stripped = line.strip()
            assert not stripped or stripped[0] not in FORBIDDEN_LINE_START, line


RENDER_SCRIPT = """
import duckdb, hashlib, sys
from indicators.methodology import for_month
from nsi.month import Month
from nsi import vocabulary
from nsi.reference import load_reference
from reports.briefing import month_briefings
from reports.render import render_all
con = duckdb.connect(sys.argv[1], read_only=True)
ref, month = load_reference(), Month.parse(sys.argv[2])
jobs = month_briefings(con, month, ref, for_month(month.key))
for code, pdf, refused in render_all(jobs, workers=int(sys.argv[3])):
    print(code, hashlib.sha256(pdf).hexdigest(), len(refused))
"""


def render_hashes(database, month, workers, seed):
    result = subprocess.run([sys.executable, "-c", RENDER_SCRIPT, str(database), month, str(workers)], cwd=REPO,
                            capture_output=True, text=True, env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(line.split()[:2] for line in result.stdout.splitlines())


def test_byte_identical_across_processes(ingested_q1):
    root, _ = ingested_q1
    database = root / "warehouse/nsi.duckdb"
    first = render_hashes(database, "2024-02", 1, 1)
    second = render_hashes(database, "2024-02", 2, 2)
    assert len(first) == 12 and first == second
    published = {p.stem: hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "out/2024-02/reports").glob("*.pdf")}
    assert published == first


def test_pdf_metadata_is_archival_and_dated_from_the_data(ingested_q1):
    root, _ = ingested_q1
    pdf = root / "out/2024-03/reports/320102.pdf"
    info = subprocess.run(["pdfinfo", "-isodates", str(pdf)], capture_output=True, text=True, check=True).stdout
    # 2024-04-01 00:00 in Asia/Shanghai, the first moment after the month: from the data, not the clock
    assert re.search(r"CreationDate:\s+2024-04-01T00:00:00\+08", info), info
    meta = subprocess.run(["pdfinfo", "-meta", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert 'pdfaid:part="3"' in meta and 'pdfaid:conformance="U"' in meta
    assert b"/ID [(NSI-2024-03-320102)" in pdf.read_bytes()
    custom = subprocess.run(["pdfinfo", "-custom", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"nsimethodologyversion:\s*v2", custom) and re.search(r"nsiinputsha256:\s*[0-9a-f]{64}", custom)
    earlier = subprocess.run(["pdfinfo", "-custom", str(root / "out/2024-02/reports/320102.pdf")], capture_output=True,
                             text=True, check=True).stdout
    assert re.search(r"nsimethodologyversion:\s*v1", earlier)  # each month names the version it was computed with
    detached = subprocess.run(["pdfdetach", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "320102-2024-03-index.csv" in detached


HOSTILE = ['<img src="file:///etc/passwd">', '<link href="http://127.0.0.1:9/x">', "{{ 7*7 }}"]


def test_export_text_is_data_never_markup(ingested_q1, tmp_path):
    root, _ = ingested_q1
    database = tmp_path / "nsi.duckdb"
    shutil.copyfile(root / "warehouse/nsi.duckdb", database)
    con = duckdb.connect(str(database))
    # Three safety-related request categories of 玄武 get hostile names: they reach the briefing's top-5 table.
    labels = con.execute("SELECT category_l3, count(*) FROM valid_hotline WHERE month = '2024-03' AND district_code = '320102' "
                         "AND (category_l1 = '公共安全' OR category_l2 = '噪音扰民') GROUP BY 1 ORDER BY 2 DESC LIMIT 3").fetchall()
    for (label, _), hostile in zip(labels, HOSTILE):
        con.execute("UPDATE valid_hotline SET category_l3 = ? WHERE category_l3 = ? AND month = '2024-03'", [hostile, label])
    con.close()
    script = RENDER_SCRIPT.replace("for code, pdf, refused in", "out = {}\nfor code, pdf, refused in").replace(
        "    print(code, hashlib.sha256(pdf).hexdigest(), len(refused))",
        "    print(code, hashlib.sha256(pdf).hexdigest(), len(refused))\n    open(sys.argv[4] + f'/{code}.pdf', 'wb').write(pdf)")
    result = subprocess.run([sys.executable, "-c", script, str(database), "2024-03", "1", str(tmp_path)], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    refused = {line.split()[0]: int(line.split()[2]) for line in result.stdout.splitlines()}
    assert set(refused.values()) == {0}, "the renderer tried to fetch something"
    # A long value wraps inside its fixed-width cell: read the hotline column of the 突出问题 table, line by line.
    lines = text_of(tmp_path / "320102.pdf").splitlines()
    start = next(i for i, line in enumerate(lines) if "涉安全热线诉求" in line and "110涉安全警情细类" in line)
    left = lines[start].index("涉安全热线诉求") - 2
    right = lines[start].index("件数", left) - 1
    end = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("突出问题只计"))
    flat = re.sub(r"\s+", "", "".join(line[left:right] for line in lines[start + 1:end]))
    # Each is there as written: escaped, not fetched, and "{{ 7*7 }}" not evaluated.
    for hostile in HOSTILE:
        assert re.sub(r"\s+", "", hostile) in flat, hostile


def test_fetcher_refuses_everything_outside_reports(tmp_path):
    from weasyprint import HTML

    from reports.pdf_writer import TEMPLATES_DIR, LocalOnlyFetcher
    fetcher = LocalOnlyFetcher()
    html = ('<html><head><link rel="stylesheet" href="briefing.css"></head><body>'
            '<img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png"><img src="../../pyproject.toml">文字</body></html>')
    HTML(string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=fetcher).write_pdf()
    assert "file:///etc/passwd" in fetcher.refused and "http://127.0.0.1:9/x.png" in fetcher.refused
    assert any(u.endswith("pyproject.toml") for u in fetcher.refused)
    assert all(p.startswith(str(TEMPLATES_DIR.parent)) for p in fetcher.served)


def test_font_covers_every_character_reports_can_contain():
    from fontTools.ttLib import TTFont

    from reports.render import REPORTS_DIR
    ref = load_reference()
    text = "".join(p.read_text(encoding="utf-8") for p in (REPORTS_DIR / "templates").glob("*"))
    text += "".join(s.name for s in ref.streets.values()) + "".join(d.name_zh for d in ref.districts.values())
    text += (REPO / "indicators/methodology/v1.yaml").read_text(encoding="utf-8")
    text += "".join(p.read_text(encoding="utf-8") for p in (REPO / "nsi/sample").glob("*.py"))
    text += "".join(p.read_text(encoding="utf-8") for p in (REPO / "reports").glob("*.py"))
    # Notes the index writes into the briefing.
    from indicators.index import missing_text, warning_text
    from indicators.methodology import MissingRule, for_month
    m = for_month("2024-03")
    withhold = m.model_copy(update={"missing": MissingRule(rule="withhold", min_weight_present=0.5)})
    text += warning_text(True, 3.2) + warning_text(False, -3.2) + missing_text(["A1", "A2"], m)
    text += missing_text(["A1"], withhold)
    wanted = {c for c in text if ord(c) > 0x7F and not c.isspace()}
    for weight in ("Regular", "Bold"):
        cmap = TTFont(REPORTS_DIR / "fonts" / f"NSI-Sans-{weight}.otf").getBestCmap()
        missing = sorted(c for c in wanted if ord(c) not in cmap)
        assert not missing, f"{weight} lacks {''.join(missing)}"


def test_manifest_lists_inputs_outputs_and_versions(ingested_q1):
    import json
    root, _ = ingested_q1
    manifest = json.loads((root / "out/2024-03/manifest.json").read_text(encoding="utf-8"))
    assert manifest["month"] == "2024-03" and manifest["methodology_version"] == "v2"
    assert manifest["population_scale"] == 0.01
    assert [i["source"] for i in manifest["inputs"]] == ["disputes", "hotline", "police", "survey"]
    for item in manifest["inputs"]:
        archived = root / "archive" / item["sha256"]
        assert archived.stat().st_size == item["bytes"]
        assert item["rows_read"] == item["rows_loaded"] + item["rows_rejected"] + item["duplicates_dropped"] + item["reexports_dropped"]
        read_with = vocabulary.load(item["source"])
        assert (item["vocabulary"], item["vocabulary_sha256"]) == (read_with.name, read_with.sha256)
    survey = next(i for i in manifest["inputs"] if i["source"] == "survey")
    assert survey["rows_with_unknown_values"] > 0  # the planted invalid answers
    assert all(i["vocabulary"] == f"{i['source']}/v1" for h in manifest["history"] for i in h["inputs"])
    paths = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert {"index.csv", "index.xlsx", *(f"reports/{c}.pdf" for c in CODES)} <= set(paths)
    for path, sha in paths.items():
        assert hashlib.sha256((root / "out/2024-03" / path).read_bytes()).hexdigest() == sha
    assert len(manifest["code"]["lock_file_sha256"]) == 64 and manifest["code"]["reference_data_version"] == load_reference().version
    assert re.fullmatch(r"[0-9a-f-]{36}", manifest["dagster_run_id"])


# --- What a district office reads: its own figures, safety problems only, full pages ---------------

SOURCE_NAMES = {"police": "110接处警", "hotline": "12345热线", "disputes": "矛盾纠纷", "survey": "安全感调查"}
MM = 72 / 25.4


def layout_rows(text, label):
    """The numbers on the line of a table that starts with `label`."""
    line = next(line for line in text.splitlines() if line.strip().startswith(label))
    return [int(n) for n in re.findall(r"(?<![\d.])\d+(?![\d.])", line.strip()[len(label):])]


def test_rows_per_district_add_up_to_the_month(ingested_q1):
    """ingest_districts: every row read is in one district or among the unplaced, and loaded rows are the warehouse's."""
    root, _ = ingested_q1
    mismatch = query(root, """
        SELECT l.source, l.month FROM ingest_log l JOIN (
            SELECT source, month, sum(rows_read) AS r, sum(rows_loaded) AS lo, sum(rows_rejected) AS re,
                   sum(duplicates_dropped) AS du, sum(reexports_dropped) AS rx FROM ingest_districts GROUP BY ALL
        ) d USING (source, month)
        WHERE (d.r, d.lo, d.re, d.du, d.rx) IS DISTINCT FROM
              (l.rows_read, l.rows_loaded, l.rows_rejected, l.duplicates_dropped, l.reexports_dropped)""")
    assert mismatch.height == 0, mismatch
    assert query(root, "SELECT DISTINCT source, month FROM ingest_districts").height == 12
    for source in SOURCE_NAMES:
        loaded = query(root, f"""
            SELECT count(*) FROM (SELECT district_code, month, count(*) AS n FROM valid_{source} GROUP BY ALL) v
            FULL JOIN (SELECT * FROM ingest_districts WHERE source = '{source}' AND rows_loaded > 0) d
            USING (district_code, month) WHERE v.n IS DISTINCT FROM d.rows_loaded""").item()
        assert loaded == 0, source
    # The planted rows without a district are rejected and counted as unplaced, not in any district.
    unplaced = query(root, "SELECT sum(rows_read), sum(rows_rejected) FROM ingest_districts WHERE district_code IS NULL "
                           "AND month = '2024-03'").row(0)
    assert unplaced[0] > 0 and unplaced[0] == unplaced[1]


@pytest.mark.parametrize("code", ["320102", "320115", "320100"])
def test_data_quality_table_is_the_briefings_own(ingested_q1, code):
    root, _ = ingested_q1
    text = text_of(root / f"out/2024-03/reports/{code}.pdf")
    if code == "320100":
        expected = query(root, "SELECT source, rows_read, rows_loaded, rows_rejected, duplicates_dropped + reexports_dropped "
                               "FROM ingest_log WHERE month = '2024-03'")
        assert "数据源（全市）" in text
    else:
        expected = query(root, "SELECT source, rows_read, rows_loaded, rows_rejected, duplicates_dropped + reexports_dropped "
                               "FROM ingest_districts WHERE month = '2024-03' AND district_code = ?", [code])
        city = query(root, "SELECT source, rows_read FROM ingest_log WHERE month = '2024-03'")
        assert "数据源（本区）" in text and "数据源（全市）" not in text
        assert not set(city.rows()) & {(s, r) for s, r, *_ in expected.rows()}, "a district shows city totals"
    assert expected.height == 4
    section = text[text.index("数据源（"):]
    for source, *numbers in expected.rows():
        assert layout_rows(section, SOURCE_NAMES[source]) == numbers, source
    # The unplaced rows are named with their count, in every briefing.
    unplaced = query(root, "SELECT source, sum(rows_read) FROM ingest_districts WHERE month = '2024-03' "
                           "AND district_code IS NULL GROUP BY 1 ORDER BY 1")
    flat = re.sub(r"\s+", "", text)
    assert unplaced.height and all(f"{SOURCE_NAMES[s]}{n}行" in flat for s, n in unplaced.rows())


def concerns_table(text):
    """(110, hotline, disputes) columns of the 突出问题 table: (label, count) pairs by rank."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "110涉安全警情细类" in line)
    columns, ends = ([], [], []), []
    for line in lines[start:]:
        if line.strip().startswith("突出问题只计"):
            break
        if "110涉安全警情细类" in line:  # the header, repeated on the next page when the table breaks
            # A list shorter than five leaves empty cells: each entry is placed by where its label starts,
            # against the ends of the header's 件数 cells.
            ends = [line.index("件数", line.index(h)) + 2 for h in ("110涉安全警情细类", "涉安全热线诉求")]
            continue
        cells = line.split()
        if not cells or not cells[0].isdigit():
            continue
        at = 0
        for label, n in zip(cells[1::2], cells[2::2]):
            at = line.index(label, at)
            columns[sum(at > end for end in ends)].append((label, int(n)))
            at += len(label)
    return columns


@pytest.mark.parametrize("code", ["320100", "320106"])
def test_concerns_count_only_safety_relevant_records(ingested_q1, code):
    from indicators.methodology import catalogue, for_month
    root, _ = ingested_q1
    methodology = for_month("2024-03")
    police, hotline, disputes = concerns_table(text_of(root / f"out/2024-03/reports/{code}.pdf"))
    where = "" if code == "320100" else f"AND district_code = '{code}'"
    safe = methodology.concerns["police"].categories
    expected_police = query(root, f"""
        SELECT subcategory, count(*) AS n FROM valid_police WHERE month = '2024-03' AND is_valid = '是' {where}
        AND list_contains(?, subcategory) GROUP BY 1 ORDER BY n DESC, subcategory LIMIT 5""", [safe]).rows()
    assert police == expected_police and len(police) == 5
    noise = {"其他求助", "咨询", "其他", "财产损失事故", "经济纠纷", "开锁求助", "走失寻人"}
    assert not noise & {label for label, _ in police}
    everything = query(root, f"SELECT subcategory FROM valid_police WHERE month = '2024-03' AND is_valid = '是' {where} "
                             "GROUP BY 1 ORDER BY count(*) DESC LIMIT 5")["subcategory"].to_list()
    assert set(everything) & noise, "the sample no longer has the noise this test is about"
    expected_hotline = query(root, f"""
        SELECT category_l3, count(*) AS n FROM valid_hotline WHERE month = '2024-03' {where}
        AND ({catalogue().entry("C1").count}) GROUP BY 1 ORDER BY n DESC, category_l3 LIMIT 5""").rows()
    assert hotline == expected_hotline and hotline
    expected_disputes = query(root, f"SELECT dispute_type, count(*) AS n FROM valid_disputes WHERE month = '2024-03' {where} "
                                    "GROUP BY 1 ORDER BY n DESC, dispute_type LIMIT 5").rows()
    assert disputes == expected_disputes


def edited_methodology(tmp_path, change):
    import yaml
    data = yaml.safe_load((REPO / "indicators/methodology/v1.yaml").read_text(encoding="utf-8"))
    change(data["concerns"])
    path = tmp_path / "v1.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, message", [
    (lambda c: c["police"]["categories"].append("求助类"), "concerns: Value error, police: 求助类 not among the values of subcategory in police/v1"),
    (lambda c: c["hotline"].update(counted_by="A1"), "concerns: Value error, hotline: counted_by A1 is not a per_residents indicator of hotline"),
    (lambda c: c["disputes"].update(counted_by="B2"), "disputes: counted_by B2 is not a per_residents indicator of disputes"),
    (lambda c: c["police"].update(column="细类"), "police: 细类 is not a column of police/v1"),
    (lambda c: c.pop("hotline") and c.update(rumours={"column": "x"}), "concerns.rumours"),
])
def test_concerns_are_validated_on_load(tmp_path, change, message):
    from indicators.methodology import MethodologyError, load_file
    with pytest.raises(MethodologyError) as error:
        load_file(edited_methodology(tmp_path, change))
    assert message in str(error.value)


def test_city_radar_says_what_it_compares(ingested_q1):
    root, _ = ingested_q1
    flat = lambda path: re.sub(r"\s+", "", subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                                          check=True).stdout)
    # No month a year before in this warehouse: the city is set against last month, and says so.
    march = flat(root / "out/2024-03/reports/320100.pdf")
    assert "实线：2024年3月" in march and "虚线：2024年2月" in march and "图2全市分项指数（本月与上月；上年同月未计算）" in march
    january = flat(root / "out/2024-01/reports/320100.pdf")
    assert "实线：2024年1月" in january and "虚线" not in january
    district = flat(root / "out/2024-03/reports/320102.pdf")
    assert "实线：玄武区" in district and "虚线：南京市" in district
    assert "实线：南京市" not in march + january


def test_city_radar_prefers_the_same_month_last_year(ingested_q1, tmp_path):
    """With 2023-03 computed, the city's March is set against it (a copy of the warehouse with a 2023-03 row)."""
    from nsi.month import Month
    from reports.briefing import comparison_month
    root, _ = ingested_q1
    database = tmp_path / "nsi.duckdb"
    shutil.copyfile(root / "warehouse/nsi.duckdb", database)
    con = duckdb.connect(str(database))
    assert comparison_month(con, Month.parse("2024-03")) == Month.parse("2024-02")
    con.execute("INSERT INTO safety_index SELECT * REPLACE ('2023-03' AS month) FROM safety_index "
                "WHERE month = '2024-01' AND code = '320100'")
    assert comparison_month(con, Month.parse("2024-03")) == Month.parse("2023-03")
    assert comparison_month(con, Month.parse("2024-01")) is None
    con.close()


def test_clipped_scores_are_marked_and_explained(ingested_q1):
    root, _ = ingested_q1
    from indicators.methodology import for_month
    seen = set()
    # v1's goalposts clip (2024-01); v2's were chosen so that few scores sit at a bound (2024-03)
    for month, code in [("2024-01", c) for c in ("320105", "320113", "320100")] + [("2024-03", "320102")]:
        names = {i.code: i.name_zh for i in for_month(month).indicators}
        text = text_of(root / f"out/{month}/reports/{code}.pdf")
        scores = query(root, "SELECT indicator, score FROM indicator_values WHERE month = ? AND code = ? "
                             "AND score IS NOT NULL", [month, code]).rows()
        for indicator, score in scores:
            line = next(line for line in text.splitlines() if line.strip().startswith(f"{indicator} {names[indicator]}"))
            mark = "▼" if score == 0 else "▲" if score == 100 else ""
            assert re.search(rf"\s{score:.1f}{mark}(\s|$)", line), (code, line)
            if mark:
                seen.add(mark)
        flat = re.sub(r"\s+", "", text)
        marks = {m for m in "▼▲" if any(m in line for line in text.splitlines() if re.match(r"\s*[A-D]\d ", line))}
        assert ("得分标▼：" in flat) == ("▼" in marks) and ("得分标▲：" in flat) == ("▲" in marks)
    assert seen == {"▼", "▲"}, "no clipped score in these briefings: the test checks nothing"


def page_gaps(pdf):
    """Per page, the empty height (mm) between the lowest text of the body and the body's bottom edge."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    gaps = []
    for page in re.findall(r"<page (.*?)</page>", xml, re.S):
        height = float(re.search(r'height="([\d.]+)"', page).group(1))
        top, bottom = 16 * MM, height - 16 * MM  # the page margins of briefing.css hold header and footer
        body = [float(y) for y in re.findall(r'yMax="([\d.]+)"', page) if top < float(y) <= bottom + 1]
        gaps.append((bottom - max(body)) / MM)
    return gaps


def test_no_page_but_the_last_has_a_large_empty_area(ingested_q1):
    root, _ = ingested_q1
    for month in ("2024-01", "2024-02", "2024-03"):
        for code in CODES:
            gaps = page_gaps(root / f"out/{month}/reports/{code}.pdf")
            assert len(gaps) >= 3
            # 30 mm is a ninth of the body: less than a heading with the first rows of a table.
            assert max(gaps[:-1]) < 30, (month, code, [round(g) for g in gaps])


def test_attached_index_rows_carry_no_float_noise(ingested_q1, tmp_path):
    root, _ = ingested_q1
    residue = 0
    for month, code in (("2024-03", "320100"), ("2024-03", "320104"), ("2024-02", "320100")):
        target = tmp_path / f"{code}.csv"
        subprocess.run(["pdfdetach", "-save", "1", "-o", str(target), str(root / f"out/{month}/reports/{code}.pdf")],
                       check=True, capture_output=True)
        raw = target.read_text(encoding="utf-8")
        floats = re.findall(r"(?<![\w.])-?\d+\.\d+(?:[eE][-+]?\d+)?(?![\w.])", raw)
        assert floats and not re.search(r"\d[eE][-+]?\d", raw) and "-0.0," not in raw + ","
        assert all(len(f.split(".")[1]) <= 6 for f in floats)
        stored = query(root, "SELECT * FROM safety_index WHERE month = ? AND (? = '320100' OR code = ?) ORDER BY code",
                       [month, code, code])
        attached = pl.read_csv(target, schema=stored.schema)
        assert attached["code"].to_list() == stored["code"].to_list()
        for column, kind in stored.schema.items():
            if kind.is_float():
                diff = (attached[column] - stored[column]).abs().max()
                assert diff is None or diff <= 5e-7, column
        # The residue of cancelling sums is written as the zero it is.
        residue += stored.filter((pl.col("reweighting_mom").abs() > 0) & (pl.col("reweighting_mom").abs() < 1e-9)).height
    assert residue, "the sample no longer has float residue: this test checks nothing"


def words(pdf):
    """(page, text, xMin, yMin, xMax, yMax) of every word of the PDF."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    found = []
    for number, page in enumerate(re.findall(r"<page (.*?)</page>", xml, re.S), start=1):
        for x0, y0, x1, y1, text in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page):
            found.append((number, text, float(x0), float(y0), float(x1), float(y1)))
    return found


def test_charts_sit_side_by_side(ingested_q1):
    """The rows of charts (floats since the flex boxes went) keep their places: paired charts share a line,
    and a district's sub-index table and drivers stand beside its radar, not under it."""
    root, _ = ingested_q1
    for code, pairs in (("320102", [("图2", "图3")]), ("320100", [("图1", "图2"), ("图3", "图4")])):
        found = words(root / f"out/2024-03/reports/{code}.pdf")
        where = {text: (page, x0, y0) for page, text, x0, y0, *_ in found if re.fullmatch(r"图\d", text)}
        for left, right in pairs:
            assert where[left][0] == where[right][0] and abs(where[left][2] - where[right][2]) < 1, (code, where)
            assert where[left][1] + 200 < where[right][1], (code, where)
    page_one = [w for w in words(root / "out/2024-03/reports/320102.pdf") if w[0] == 1]
    legend = next(w for w in page_one if w[1].startswith("实线："))
    table_right = max(w[4] for w in page_one if w[1] == "全市" and w[3] < legend[3])  # the sub-index table's last column
    drivers = next(w for w in page_one if w[1] == "变化原因")
    assert table_right < legend[2] and drivers[3] < legend[3], (table_right, drivers, legend)


def test_streets_table_counts_the_warehouse(ingested_q1):
    """The streets of a district's 突出问题 (counted for all districts in one pass) against a count of its records."""
    from indicators.methodology import catalogue
    root, _ = ingested_q1
    streets = load_reference().streets
    for code in ("320104", "320113"):
        expected = query(root, f"""
            WITH h AS (SELECT street_code, count(*) AS n FROM valid_hotline WHERE month = '2024-03' AND district_code = ?
                       AND ({catalogue().entry("C1").count}) AND street_code IS NOT NULL GROUP BY 1),
                 d AS (SELECT street_code, count(*) AS n FROM valid_disputes WHERE month = '2024-03' AND district_code = ?
                       AND ({catalogue().entry("B1").count}) AND street_code IS NOT NULL GROUP BY 1)
            SELECT street_code, coalesce(h.n, 0) + coalesce(d.n, 0) AS total, coalesce(h.n, 0), coalesce(d.n, 0)
            FROM h FULL JOIN d USING (street_code) ORDER BY total DESC, street_code LIMIT 5""", [code, code]).rows()
        assert len(expected) == 5
        text = text_of(root / f"out/2024-03/reports/{code}.pdf")
        section = text[text.index("涉安全诉求与纠纷最多的街道"):]
        for street, *numbers in expected:
            assert layout_rows(section, streets[street].name) == numbers, (code, street)


# --- The briefing says only what the data supports: noise bands, rank intervals, warnings, version bridging ---

def narrated(change_level=0.9, driver_level=0.9):
    """The month's methodology with a narration rule: changes and contributions judged against their draws."""
    from indicators.methodology import Narration, for_month
    return for_month("2024-03").model_copy(update={"narration": Narration(change_level=change_level,
                                                                          driver_level=driver_level)})


def z_of(level):
    from scipy.stats import norm
    return norm.ppf(0.5 + level / 2)


def test_a_change_inside_its_noise_band_reads_as_normal_fluctuation():
    from indicators.narration import change_reading
    from reports.briefing import change_clause
    methodology, sd = narrated(change_level=0.9), 2.0
    limit = z_of(0.9) * sd  # 3.29 points: the band of a change whose draws have an SD of 2
    interval = {"low": -4.84, "high": 2.46}
    inside = change_clause("较上月", -(limit - 0.05), change_reading(-(limit - 0.05), sd, methodology), interval, methodology)
    assert inside == f"较上月−{limit - 0.05:.1f}分，在正常波动范围内（90%区间−4.8～+2.5）"
    outside = change_clause("较上月", limit + 0.05, change_reading(limit + 0.05, sd, methodology), interval, methodology)
    assert outside == f"较上月上升{limit + 0.05:.1f}分，超出正常波动范围（90%区间−4.8～+2.5）"
    # A wider band (a stricter level) takes the same change back inside it.
    strict = narrated(change_level=0.99)
    assert "在正常波动范围内" in change_clause("较上年同月", limit + 0.05, change_reading(limit + 0.05, sd, strict), None, strict)
    assert change_clause("较上月", None, None, None, methodology) == "较上月无可比数据"


def test_v1_narrates_as_before():
    """Without a narration rule a change is flat only within ±0.05 points and the drivers are the two largest
    contributions above 0.05 each way."""
    from indicators.methodology import for_month
    from indicators.narration import change_reading, named_drivers
    from reports.briefing import change_clause, drivers_clause
    v1 = for_month("2024-02")
    assert v1.version == "v1"
    assert change_clause("较上月", 0.04, change_reading(0.04, None, v1), None, v1) == "较上月基本持平"
    assert change_clause("较上月", -1.26, change_reading(-1.26, None, v1), {"low": -3.0, "high": 0.4}, v1) == \
        "较上月下降1.3分（90%区间−3.0～+0.4）"
    rows = [{"indicator": c, "contribution_mom": x} for c, x in
            (("A1", -0.9), ("A2", -0.2), ("A3", -0.04), ("B2", 0.7), ("B3", 0.3), ("C1", 0.1))]
    names = {i.code: i.name_zh for i in v1.indicators}
    assert drivers_clause(named_drivers(rows, v1), names, v1) == (
        f"拉动上升的主要是{names['B2']}（+0.7分）、{names['B3']}（+0.3分）；拖累的主要是{names['A1']}（−0.9分）、"
        f"{names['A2']}（−0.2分）")
    assert drivers_clause(named_drivers(rows[2:3], v1), names, v1) == "各项指标变化均不足0.1分"


def test_a_driver_is_named_only_beyond_its_own_band():
    from indicators.narration import named_drivers
    from reports.briefing import drivers_clause
    methodology = narrated(driver_level=0.9)
    z = z_of(0.9)
    names = {i.code: i.name_zh for i in methodology.indicators}
    # The 高淳 case of issue 15: large contributions from tiny counts, whose own draws vary as much.
    rows = [{"indicator": "A1", "contribution_mom": -8.8, "sd": 8.8 / z + 0.1},
            {"indicator": "A3", "contribution_mom": -7.0, "sd": 7.0 / z - 0.1},
            {"indicator": "B2", "contribution_mom": 6.0, "sd": 6.0 / z + 0.5},
            {"indicator": "C2", "contribution_mom": 0.3, "sd": 0.0}]
    named = named_drivers(rows, methodology)
    assert [d["indicator"] for d in named] == ["A3"]
    assert drivers_clause(named, names, methodology) == f"拖累的主要是{names['A3']}（−7.0分）"
    quiet = named_drivers([rows[0], rows[2], rows[3]], methodology)
    assert drivers_clause(quiet, names, methodology) == "没有哪一项指标的变化超出其自身的正常波动范围"


def test_ranks_bridging_and_small_numbers_in_words():
    from nsi.month import Month
    from reports.briefing import bridging_sentence, rank_label, signed, small_number_notes
    assert rank_label(3, 2, 6) == "第3位（2–6）" and rank_label(None, None, None) == "未排名"
    assert signed(-0.04) == "0.0" and signed(2.46) == "+2.5" and signed(-1.25) == "−1.2"
    march = Month.parse("2024-03")
    assert bridging_sentence(march, None, "v2") is None
    assert bridging_sentence(march, "2024-02,2023-03", "v2") == \
        "为使前后可比，上月（2024年2月）及上年同月（2023年3月）已按本月的v2方法重新计算后再作比较。"
    assert bridging_sentence(march, "2024-02", "v2") == "为使前后可比，上月（2024年2月）已按本月的v2方法重新计算后再作比较。"
    rows = [{"indicator": "B3", "name_zh": "30日化解率", "flag": "below_min_denominator:4<10"},
            {"indicator": "B2", "name_zh": "调解成功率", "flag": "smoothed"}, {"indicator": "A1", "name_zh": "刑事警情", "flag": None}]
    assert small_number_notes(rows) == ["B3 30日化解率：本月基数4，少于方法规定的最低10，不计入指数。",
                                        "B2 调解成功率的件数较少，按方法规定向全市水平平滑后计算。"]


def test_ranking_chart_draws_each_interval_under_its_bar():
    from reports.charts import RankedBar, ranking
    rows = [RankedBar("甲区", 80.0, 70.0, 86.0, "第1位（1–2）"), RankedBar("乙区", 50.0, 35.0, 60.0, "第2位（1–2）"),
            RankedBar("丙区", 40.0, None, None, "未排名")]
    svg = str(ranking(rows, "乙区", 335, 120))
    bars = re.findall(r"M([\d.]+),([\d.]+)h([\d.]+)v", re.search(r'<path d="([^"]+)" fill="#b8c7d9"', svg).group(1))
    bars += re.findall(r"M([\d.]+),([\d.]+)h([\d.]+)v", re.search(r'<path d="([^"]+)" fill="#1d4e89"', svg).group(1))
    whiskers = re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)", re.search(r'<path d="([^"]+)" fill="none" stroke', svg).group(1))
    assert len(bars) == 3 and len(whiskers) == 2  # 丙区 has no interval: no line
    left = float(bars[0][0])
    per_point = float(bars[0][2]) / 80.0
    assert float(bars[2][2]) / per_point == pytest.approx(50.0, abs=0.2)  # 乙区, the dark one
    for (x0, y, x1), (name, value, low, high, _) in zip(whiskers, rows):
        assert (float(x0) - left) / per_point == pytest.approx(low, abs=0.2)
        assert (float(x1) - left) / per_point == pytest.approx(high, abs=0.2)
    for label in ("第1位（1–2）", "第2位（1–2）", "未排名", "80.0", "50.0"):
        assert f">{label}</text>" in svg


def plain(markup):
    """The text of a briefing's HTML, without tags or white space."""
    from html import unescape
    return re.sub(r"\s+", "", unescape(re.sub(r"<[^>]+>", "", markup)))


@pytest.fixture(scope="module")
def uncertain_warehouse(ingested_q1, tmp_path_factory):
    """A copy of the Q1 warehouse with the index stage's uncertainty written in by hand: every unit's
    composite, change and contribution intervals for 2024-03 (with SDs chosen to put some changes inside
    their band and some outside), last month recomputed under this month's version, 六合 missing its
    perception sub-index (so not ranked), and three early warnings."""
    root, _ = ingested_q1
    database = tmp_path_factory.mktemp("uncertain") / "nsi.duckdb"
    shutil.copyfile(root / "warehouse/nsi.duckdb", database)
    con = duckdb.connect(str(database))
    z = z_of(0.9)
    con.execute("CREATE OR REPLACE TABLE index_uncertainty (month VARCHAR, code VARCHAR, quantity VARCHAR, indicator VARCHAR, "
                "low DOUBLE, middle DOUBLE, high DOUBLE, sd DOUBLE, methodology_version VARCHAR)")
    index = con.execute("SELECT code, composite, change_mom FROM safety_index WHERE month = '2024-03'").fetchall()
    for code, composite, change in index:
        # 玄武 (320102) and 栖霞 (320113): change inside the band; the others outside it.
        sd = abs(change) / z * (1.2 if code in ("320102", "320113") else 0.8)
        con.execute("INSERT INTO index_uncertainty VALUES ('2024-03', ?, 'composite', NULL, ?, ?, ?, 2.0, 'v1'), "
                    "('2024-03', ?, 'change_mom', NULL, ?, ?, ?, ?, 'v1')",
                    [code, composite - 3.3, composite, composite + 2.7, code, change - z * sd, change, change + z * sd, sd])
    # Of 玄武's contributions only the largest in size lies beyond its band.
    contributions = con.execute("SELECT code, indicator, contribution_mom FROM indicator_values WHERE month = '2024-03' "
                                "AND contribution_mom IS NOT NULL ORDER BY abs(contribution_mom) DESC").fetchall()
    named = next(i for c, i, _ in contributions if c == "320102")
    for code, indicator, x in contributions:
        sd = abs(x) / z * (0.5 if (code, indicator) == ("320102", named) else 1.5)
        con.execute("INSERT INTO index_uncertainty VALUES ('2024-03', ?, 'contribution_mom', ?, ?, ?, ?, ?, 'v1')",
                    [code, indicator, x - z * sd, x, x + z * sd, sd])
    # The median indicator's interval (median ± 1.96·SE from the IQR), as the index stage writes it.
    con.execute("UPDATE indicator_values SET ci_low = value - 1.234, ci_high = value + 1.5 WHERE month = '2024-03' "
                "AND code = '320102' AND indicator = 'A5'")
    con.execute("UPDATE safety_index SET comparison_recomputed = '2024-02' WHERE month = '2024-03'")
    con.execute("UPDATE safety_index SET D = NULL, rank = NULL, rank_p05 = NULL, rank_p50 = NULL, rank_p95 = NULL "
                "WHERE month = '2024-03' AND code = '320116'")
    warned = [("320104", "A6", "明显差于近12个月常态（本月41件，按近12个月预期约24件，p<0.001）"),
              ("320115", "B2", "明显好于近12个月常态（本月96.0%，按近12个月预期约81.0%，p=0.004）"),
              ("320100", "C2", "明显差于近12个月常态（本月88.0%，按近12个月预期约93.5%，p=0.002）")]
    for code, indicator, text in warned:
        con.execute("UPDATE indicator_values SET warning = ? WHERE month = '2024-03' AND code = ? AND indicator = ?",
                    [text, code, indicator])
    con.close()
    return database, named, warned


def uncertain_briefings(database):
    from nsi.month import Month
    from reports.briefing import month_briefings
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {b.code: (b, rows, sha, version) for b, rows, sha, version in
                month_briefings(con, Month.parse("2024-03"), load_reference(), narrated())}
    finally:
        con.close()


def test_briefing_narrates_changes_against_their_draws(uncertain_warehouse):
    from reports.render import render_html
    database, named, _ = uncertain_warehouse
    jobs = uncertain_briefings(database)
    con = duckdb.connect(str(database), read_only=True)
    index = {c: (m, y) for c, m, y in con.execute("SELECT code, change_mom, change_yoy FROM safety_index WHERE month = '2024-03'").fetchall()}
    band = {c: (lo, hi) for c, lo, hi in con.execute("SELECT code, low, high FROM index_uncertainty WHERE month = '2024-03' "
                                                     "AND quantity = 'change_mom'").fetchall()}
    contribution = con.execute("SELECT contribution_mom FROM indicator_values WHERE month = '2024-03' AND code = '320102' "
                               "AND indicator = ?", [named]).fetchone()[0]
    a5 = con.execute("SELECT value FROM indicator_values WHERE month = '2024-03' AND code = '320102' "
                     "AND indicator = 'A5'").fetchone()[0]
    con.close()
    sign = lambda x: ("+" if x > 0 else "−") + f"{abs(x):.1f}"
    names = {i.code: i.name_zh for i in narrated().indicators}
    xuanwu = plain(render_html(*[jobs["320102"][i] for i in (0, 2, 3)]))
    change, (low, high) = index["320102"][0], band["320102"]
    assert f"玄武区平安指数较上月{sign(change)}分，在正常波动范围内（90%区间{sign(low)}～{sign(high)}）。" in xuanwu
    side = "拉动上升的主要是" if contribution > 0 else "拖累的主要是"
    assert f"。{side}{names[named]}（{sign(contribution)}分）。" in xuanwu  # the one beyond its band, alone
    assert "分，基本持平" in xuanwu  # the key figure says it too
    assert "为使前后可比，上月（2024年2月）已按本月的v2方法重新计算后再作比较。" in xuanwu
    assert f"{a5:.2f}{a5 - 1.234:.2f}～{a5 + 1.5:.2f}" in xuanwu  # the median's interval under its value
    gulou = plain(render_html(*[jobs["320106"][i] for i in (0, 2, 3)]))
    change, (low, high) = index["320106"][0], band["320106"]
    assert f"较上月下降{abs(change):.1f}分，超出正常波动范围（90%区间{sign(low)}～{sign(high)}）" in gulou
    assert "没有哪一项指标的变化超出其自身的正常波动范围" in gulou  # all its contributions inside their bands
    city = plain(render_html(*[jobs["320100"][i] for i in (0, 2, 3)]))
    # The city's movers are the largest changes beyond their band: 玄武 and 栖霞 are not among them.
    movers = sorted(((c, m) for c, (m, _) in index.items() if c not in ("320100", "320102", "320113")),
                    key=lambda cm: -abs(cm[1]))[:3]
    kpi = city[city.index("变化超出正常波动的区"):city.index("南京市平安指数较上月")]
    assert kpi == "变化超出正常波动的区" + "".join(f"{load_reference().name(c)}{sign(m)}" for c, m in movers), kpi


def test_ranks_with_intervals_and_the_unranked_district(uncertain_warehouse):
    from reports.render import render_html
    database, _, _ = uncertain_warehouse
    jobs = uncertain_briefings(database)
    con = duckdb.connect(str(database), read_only=True)
    ranks = con.execute("SELECT name, rank, rank_p05, rank_p95 FROM safety_index WHERE month = '2024-03' "
                        "AND code != '320100'").fetchall()
    con.close()
    city = plain(render_html(*[jobs["320100"][i] for i in (0, 2, 3)]))
    table = city[city.index("一、各区指数"):city.index("二、")]
    for name, rank, low, high in ranks:
        assert (f"第{rank}位（{low}–{high}）{name}" if rank else f"未排名{name}") in table, name
    assert "六合区本月有分项缺失，未排名" in table
    luhe, _, sha, version = jobs["320116"]
    assert luhe.data["status"] == "数据不完整（试算）"
    text = plain(render_html(luhe, sha, version))
    assert "全市排名（共11区）未排名分项数据缺失，不参加排名" in text and "本月群众感受分项缺失，本区不参加排名" in text
    assert jobs["320102"][0].data["status"] == "正式版"
    # The ranking chart of a district's briefing: each district's rank and interval, 六合 last and unranked.
    chart = str(jobs["320102"][0].data["ranking_svg"])
    labels = re.findall(r'text-anchor="end" fill="#1f2d3d"(?: font-weight="700")? font-family="NSI Sans">([^<]*位[^<]*|未排名)<', chart)
    ranked = sorted((r for r in ranks if r[1]), key=lambda r: r[1])
    assert labels == [f"第{rank}位（{low}–{high}）" for _, rank, low, high in ranked] + ["未排名"]


def test_city_overview_lists_every_districts_warnings(uncertain_warehouse):
    from reports.render import render_html
    database, _, warned = uncertain_warehouse
    jobs = uncertain_briefings(database)
    names = {i.code: i.name_zh for i in narrated().indicators}
    city = plain(render_html(*[jobs["320100"][i] for i in (0, 2, 3)]))
    section = city[city.index("六、各区预警"):city.index("七、数据质量")]
    for code, indicator, text in warned:
        assert f"{load_reference().name(code)}{indicator}{names[indicator]}{text}" in section
    # A district's briefing lists its own warnings only.
    own = plain(render_html(*[jobs["320104"][i] for i in (0, 2, 3)]))
    assert warned[0][2] in own and warned[1][2] not in own and warned[2][2] not in own


def test_briefings_with_intervals_keep_full_pages(uncertain_warehouse, tmp_path):
    """The longest texts (intervals, an unranked district, the warnings table) still fill every page."""
    from reports.render import render_all
    database, _, _ = uncertain_warehouse
    jobs = uncertain_briefings(database)
    for code, pdf, refused in render_all([jobs[c] for c in ("320116", "320100")]):
        (tmp_path / f"{code}.pdf").write_bytes(pdf)
        gaps = page_gaps(tmp_path / f"{code}.pdf")
        assert not refused and max(gaps[:-1]) < 30, (code, [round(g) for g in gaps])


def test_survey_intervals_are_printed_beside_their_values(ingested_q1):
    root, _ = ingested_q1
    from indicators.methodology import for_month
    names = {i.code: i.name_zh for i in for_month("2024-03").indicators}
    for code in ("320105", "320100"):
        text = text_of(root / f"out/2024-03/reports/{code}.pdf")
        rows = query(root, "SELECT indicator, value, ci_low, ci_high FROM indicator_values WHERE month = '2024-03' "
                           "AND code = ? AND ci_low IS NOT NULL AND value IS NOT NULL AND indicator LIKE 'D%'", [code]).rows()
        assert {r[0] for r in rows} >= {"D2", "D3"}  # v2 has no D1
        lines = text.splitlines()
        for indicator, value, low, high in rows:
            at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{indicator} {names[indicator]}"))
            assert f"{value * 100:.1f}%" in lines[at]
            below = next(line for line in lines[at + 1:] if line.strip())
            assert f"{low * 100:.1f}～{high * 100:.1f}%" in below, (code, indicator, below)
        assert "数值下方为其95%区间" in re.sub(r"\s+", "", text)
