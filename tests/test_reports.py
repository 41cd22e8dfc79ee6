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
    assert re.search(r"nsimethodologyversion:\s*v1", custom) and re.search(r"nsiinputsha256:\s*[0-9a-f]{64}", custom)
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
    text = subprocess.run(["pdftotext", str(tmp_path / "320102.pdf"), "-"], capture_output=True, text=True).stdout
    # A long value wraps inside its fixed-width cell, and pdftotext puts the count of the next cell
    # between its lines: read the text without the lines that are only a number.
    flat = re.sub(r"\s+", "", "".join(line for line in text.splitlines() if not line.strip().isdigit()))
    for hostile in HOSTILE:
        assert re.sub(r"\s+", "", hostile) in flat, hostile
    assert "49" not in re.sub(r"\s+", "", text.split("涉安全热线诉求")[1].split("矛盾纠纷类型")[0])


def test_fetcher_refuses_everything_outside_reports(tmp_path):
    from weasyprint import HTML

    from reports.render import TEMPLATES_DIR, LocalOnlyFetcher
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
    assert manifest["month"] == "2024-03" and manifest["methodology_version"] == "v1"
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
