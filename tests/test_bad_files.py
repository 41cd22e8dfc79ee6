"""Bad files and a bad machine: a bad row costs that row, a cut or partial export is not published
unnoticed, workbooks and separators are found, and a full, read-only or busy machine gets one line."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from conftest import NSI, REPO, query, run_nsi

from nsi import vocabulary
from nsi.ingest import completeness
from nsi.ingest.extract import extract
from nsi.ingest.read import ExportFileError, read_export
from nsi.ingest.validate import validate
from nsi.month import Month
from nsi.reference import load_reference
from pipelines.problems import environment_problem

FEBRUARY = Month(2024, 2)


def loaded_and_rejected(path: Path, source: str):
    used = vocabulary.load(source)
    extracted = extract(path, used, load_reference(), None)
    validated = validate(extracted, used, FEBRUARY, "sha")
    assert validated.reconciles
    return extracted, validated


def a_loaded_row(path: Path, source: str) -> int:
    return loaded_and_rejected(path, source)[1].loaded["_row"][20]


def file_rows(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def line_of(path: Path, source: str, row: int) -> int:
    """The index in file_rows of the line a row starts on: a quoted cell may hold a line break (free
    text), so rows and lines differ. A row's line begins with its record ID."""
    record = loaded_and_rejected(path, source)[0].frame.filter(pl.col("_row") == row)
    record_id = record[vocabulary.load(source).id_column][0].encode()
    return next(i for i, line in enumerate(file_rows(path)) if line.removeprefix(b"\xef\xbb\xbf").startswith(record_id))


# ------------------------------------------------------------------------------------ bytes
def test_stray_bytes_in_one_cell_cost_that_row_only(sample_q1, tmp_path):
    path = tmp_path / "2024-02.csv"
    shutil.copyfile(sample_q1 / "raw/hotline/2024-02.csv", path)
    before = loaded_and_rejected(path, "hotline")[1]
    row = a_loaded_row(path, "hotline")
    at = line_of(path, "hotline", row)
    lines = file_rows(path)
    cell = lines[at].index(b",") + 1  # inside 受理时间, a cell the row needs
    offset = sum(len(line) + 1 for line in lines[:at]) + cell
    lines[at] = lines[at][:cell] + b"\xff\xfe" + lines[at][cell:]
    path.write_bytes(b"\n".join(lines))
    extracted, validated = loaded_and_rejected(path, "hotline")
    assert extracted.encoding == "utf-8-sig"
    assert validated.rows_loaded == before.rows_loaded - 1
    bad = validated.rejects.filter(pl.col("rule") == "undecodable_row")
    assert bad["row"].to_list() == [row]
    assert bad["value"].to_list() == [f"byte offset {offset} (line {at + 1})"]


def test_a_windows_1252_row_in_a_gbk_file_costs_that_row_only(sample_q1, tmp_path):
    path = tmp_path / "2024-02.csv"
    shutil.copyfile(sample_q1 / "raw/police/2024-02.csv", path)
    before = loaded_and_rejected(path, "police")[1]
    row = a_loaded_row(path, "police")
    at = line_of(path, "police", row)
    lines = file_rows(path)
    cells = lines[at].split(b",")
    cells[2] = "Café “quoted” €100".encode("cp1252")  # 报警方式, a cell the row does not need
    lines[at] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))
    extracted, validated = loaded_and_rejected(path, "police")
    assert extracted.encoding == "gbk"
    assert validated.rows_loaded == before.rows_loaded - 1
    assert validated.rejects.filter(pl.col("rule") == "undecodable_row")["row"].to_list() == [row]


def test_a_file_mostly_in_another_encoding_is_still_refused(sample_q1, tmp_path):
    path = tmp_path / "2024-02.csv"
    path.write_bytes(b"\xff\xfe" + (sample_q1 / "raw/hotline/2024-02.csv").read_bytes().decode("utf-8-sig").encode("utf-16-le"))
    with pytest.raises(ExportFileError, match=r"neither UTF-8 nor GBK/GB18030 text \(\d+ of \d+ lines do not decode"):
        read_export(path, vocabulary.load("hotline"))


def cut_inside_a_character(source: Path, target: Path, share: float) -> None:
    data = source.read_bytes()
    cut = int(len(data) * share)
    while data[cut] & 0xC0 != 0x80:  # inside a multi-byte character of UTF-8
        cut += 1
    target.write_bytes(data[:cut])


def test_a_file_cut_inside_a_character_is_named_incomplete_at_its_last_line(sample_q1, tmp_path):
    path = tmp_path / "2024-02.csv"
    cut_inside_a_character(sample_q1 / "raw/hotline/2024-02.csv", path, 0.6)
    extracted, validated = loaded_and_rejected(path, "hotline")
    last = extracted.frame["_row"].max()
    cut = validated.rejects.filter(pl.col("rule") == "incomplete_last_line")
    assert cut["row"].to_list() == [last]
    assert cut["value"][0].startswith("the file ends inside its last row, at byte")
    found = completeness.assess("hotline", FEBRUARY, validated.rows_read, 17, last, None,
                                load_reference().volumes["hotline"], 0.01)
    failed = {f.check: f.detail for f in found if not f.passed}
    assert set(failed) == {"last_line_complete", "volume_within_expected_band", "days_of_month_covered"}
    assert failed["last_line_complete"] == f"the file ends inside row {last}: the export was cut off"
    assert f"{validated.rows_read:,} rows, 0." in failed["volume_within_expected_band"]


# ------------------------------------------------------------------------------------ layout
@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_csv_with_another_separator_reads_the_same(sample_q1, tmp_path, separator):
    original = sample_q1 / "raw/hotline/2024-02.csv"
    path = tmp_path / "2024-02.csv"
    path.write_bytes(pl.read_csv(original, infer_schema=False).write_csv(separator=separator).encode("utf-8"))
    used = vocabulary.load("hotline")
    ref = load_reference()
    compared = ["order_id", "accepted_time", "request_type", "category_l3", "district_code", "status"]
    assert extract(path, used, ref, None).frame.select(compared).equals(extract(original, used, ref, None).frame.select(compared))


def workbook(path: Path, sheets: dict[str, pl.DataFrame | list[str]]) -> None:
    book = xlsxwriter.Workbook(str(path))
    for name, content in sheets.items():
        sheet = book.add_worksheet(name)
        rows = content if isinstance(content, list) else content.rows()
        for r, row in enumerate(rows):
            for c, value in enumerate([row] if isinstance(row, str) else row):
                if value is not None:
                    sheet.write_string(r, c, value)
    book.close()


def test_the_sheet_with_the_header_is_read_after_a_notes_sheet(sample_q1, tmp_path):
    grid = pl.read_excel(sample_q1 / "raw/survey/2024-02.xlsx", has_header=False, infer_schema_length=0)
    path = tmp_path / "2024-02.xlsx"
    workbook(path, {"填表说明": ["填表说明：每行一个样本", "日期格式 2024-03-05"], "数据": grid})
    raw = read_export(path, vocabulary.load("survey"))
    assert (raw.sheet, raw.sheets) == ("数据", ["填表说明", "数据"])
    assert raw.frame.height == grid.height - 1
    result = run_nsi(["inspect", str(path), "--lang", "en"], tmp_path)
    assert "sheet read: 数据 (all sheets: 填表说明, 数据)" in result.stdout


def test_a_workbook_without_a_header_names_its_sheets(tmp_path):
    path = tmp_path / "2024-02.xlsx"
    workbook(path, {"填表说明": ["填表说明"], "汇总": ["合计", "100"]})
    with pytest.raises(ExportFileError, match=r"in the first 6 rows of any sheet \(the workbook has 填表说明, 汇总\)"):
        read_export(path, vocabulary.load("survey"))


# ------------------------------------------------------------------------------------ a month
def test_a_truncated_export_is_not_published_without_a_reason(ingested_q1, tmp_path):
    published, _ = ingested_q1
    root = tmp_path / "data"
    shutil.copytree(published, root, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    before = hashes(root / "out/2024-02")
    cut_inside_a_character(published / "raw/hotline/2024-02.csv", root / "raw/hotline/2024-02.csv", 0.6)
    run_nsi(["run", "2024-02", "--stage", "ingest"], root)
    stopped = run_nsi(["run", "2024-02", "--stage", "publish"], root, check=False)
    assert stopped.returncode == 1
    assert "2024-02 is not published: its exports may be incomplete (hotline days_of_month_covered: records on" in stopped.stderr
    assert "hotline last_line_complete: the file ends inside row" in stopped.stderr
    assert "hotline volume_within_expected_band:" in stopped.stderr and "--reason" in stopped.stderr
    assert hashes(root / "out/2024-02") == before
    checks = query(root, "SELECT source, \"check\" FROM completeness WHERE month = '2024-02' AND NOT passed ORDER BY 2")
    assert checks["source"].unique().to_list() == ["hotline"]
    accepted = run_nsi(["run", "2024-02", "--stage", "publish", "--reason", "the hotline confirmed the partial export"],
                       root)
    assert "run succeeded" in accepted.stderr
    manifest = json.loads((root / "work/2024-02/manifest.json").read_text(encoding="utf-8"))
    assert {i["check"] for i in manifest["incomplete_inputs"]} == {
        "last_line_complete", "volume_within_expected_band", "days_of_month_covered"}


# ------------------------------------------------------------------------------------ the machine
@pytest.mark.parametrize("text, expected", [
    ("OSError: [Errno 28] No space left on device: '/srv/nsi/warehouse/nsi.duckdb.wal'",
     "no space left on the disk (/srv/nsi/warehouse/nsi.duckdb.wal). What to do: free some space"),
    ("sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) disk I/O error", "no space left on the disk. What"),
    ("OSError: [Errno 30] Read-only file system: '/srv/nsi/dagster_home/.storage-init.lock'",
     "the folder is read-only (/srv/nsi/dagster_home/.storage-init.lock). What to do"),
    ("PermissionError: [Errno 13] Permission denied: '/srv/nsi/out'", "permission denied (/srv/nsi/out). What to do"),
    ("OSError: cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file: No such file",
     "a system library is missing (libpango-1.0-0). What to do: install the system packages with `bash scripts/setup.sh`"),
])
def test_faults_of_the_machine_read_as_one_line(text, expected):
    assert environment_problem(text).startswith(expected)
    assert "\n" not in environment_problem(text)


def test_a_wrong_value_is_not_taken_for_a_fault_of_the_machine():
    assert environment_problem("ValueError: '2024-13': month 13 does not exist") is None


@pytest.fixture
def small_disk(tmp_path):
    """A file system of its own, so that the test can fill it or make it read-only."""
    mount = tmp_path / "disk"
    mount.mkdir()

    def make(size: str) -> Path:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True,
                       capture_output=True)
        return mount

    yield make
    subprocess.run(["umount", str(mount)], capture_output=True)


def fill(disk: Path, leave_bytes: int) -> Path:
    """Fill the file system up to `leave_bytes` free."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        handle.truncate(0)
        chunk = b"\0" * (1 << 20)
        remaining = free - leave_bytes
        while remaining > 0:
            handle.write(chunk[:min(remaining, len(chunk))])
            remaining -= len(chunk)
    return filler


def one_line_error(result, expected: str) -> None:
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_read_only_data_folder_gets_one_line(sample_q1, small_disk):
    disk = small_disk("64m")
    shutil.copytree(sample_q1 / "raw", disk / "data/raw")
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    result = run_nsi(["run", "2024-02"], disk / "data", check=False)
    one_line_error(result, "nsi run: error: the folder is read-only (")
    assert "What to do: give the data folder ($NSI_DATA_DIR) write access" in result.stderr


def test_a_disk_full_from_the_start_gets_one_line(sample_q1, small_disk):
    disk = small_disk("64m")
    shutil.copytree(sample_q1 / "raw", disk / "data/raw")
    fill(disk, 200_000)
    result = run_nsi(["run", "2024-02"], disk / "data", check=False)
    one_line_error(result, "no space left on the disk")


def hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def test_a_disk_filling_while_publishing_leaves_the_last_publication_and_an_identical_rerun(ingested_q1, small_disk):
    published, _ = ingested_q1
    disk = small_disk("512m")
    root = disk / "data"
    shutil.copytree(published, root, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    march = hashes(published / "out/2024-03")
    # March computed but not yet published: its publication is what the disk runs out under.
    (root / "out/2024-03").unlink()
    shutil.rmtree(root / "published/2024-03")
    february = hashes(root / "out/2024-02")
    filler = fill(disk, 150_000)
    result = run_nsi(["run", "2024-03", "--stage", "publish"], root, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "no space left on the disk" in result.stderr, result.stderr
    assert hashes(root / "out/2024-02") == february
    assert not (root / "out/2024-03").exists()
    filler.unlink()
    run_nsi(["run", "2024-03", "--stage", "publish"], root)
    assert hashes(root / "out/2024-03") == march


def test_a_run_waiting_for_the_writer_lock_says_so(sample_q1, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(sample_q1 / "raw", root / "raw")
    lock = root / "warehouse/.writer.lock"
    lock.parent.mkdir(parents=True)
    # The holder keeps the lock until the run says it is waiting (however slowly the run starts), then
    # five more seconds, so the run also reports how long it has waited.
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"handle = open({str(lock)!r}, 'a+')\n"
        "fcntl.flock(handle, fcntl.LOCK_EX)\n"
        "handle.seek(0); handle.truncate(); handle.write('Dagster run test-holder (pid 1)'); handle.flush()\n"
        "print('held', flush=True)\n"
        "sys.stdin.readline()\n"
        "time.sleep(5)\n"
        "handle.seek(0); handle.truncate(); handle.flush()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        env = dict(os.environ, NSI_DATA_DIR=str(root), PYTHONPATH=str(REPO))
        run = subprocess.Popen(NSI + ["run", "2024-02", "--stage", "ingest"], cwd=REPO, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = []
        for line in run.stderr:
            seen.append(line)
            if "waiting for" in line:
                break
        holder.stdin.write("release\n")
        holder.stdin.flush()
        out, rest = run.communicate(timeout=600)
        result = subprocess.CompletedProcess(run.args, run.returncode, out, "".join(seen) + rest)
        assert result.returncode == 0, result.stderr
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert "waiting for Dagster run test-holder (pid 1) to finish writing the warehouse (" in result.stderr
    assert "s so far; NSI_LOCK_WAIT_SECONDS is how long to wait)" in result.stderr
    assert "the warehouse is free:" in result.stderr
