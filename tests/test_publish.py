"""Publication: all at once, never overwritten silently, and untouched by a run killed at any stage."""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from datetime import date

from conftest import NSI, REPO, run_nsi

KEY = {"NSI_PII_KEY": "test-key-q1"}


def snapshot(root, month="2024-02"):
    folder = root / "out" / month
    return os.readlink(folder), {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                                 for p in sorted(folder.rglob("*")) if p.is_file()}


def page_texts(pdf):
    """The text of each page of a PDF (pdftotext)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def corrected_copy(ingested_q1, tmp_path):
    """A copy of the published Q1 data whose 2024-02 hotline export was re-exported with 20 rows fewer."""
    root, _ = ingested_q1
    work = tmp_path / "data"
    shutil.copytree(root, work, symlinks=True)
    export = work / "raw/hotline/2024-02.csv"
    lines = export.read_bytes().split(b"\n")
    # A quoted free-text cell may hold a line break: rows start where a line starts with a work-order ID.
    starts = [i for i, line in enumerate(lines) if re.match(rb"\d{13},", line)]
    export.write_bytes(b"\n".join(lines[:starts[-20]] + [b""]))
    return work


def test_republication_makes_a_new_revision_and_keeps_the_old(ingested_q1, tmp_path):
    work = corrected_copy(ingested_q1, tmp_path)
    before = snapshot(work)
    assert before[0] == "../published/2024-02/rev-1"
    refused = run_nsi(["run", "2024-02"], work, check=False, env_extra=KEY)
    assert refused.returncode == 1
    assert "2024-02 is published as revision 1 and this run's results differ; nothing was changed" in refused.stderr
    assert snapshot(work) == before
    run_nsi(["run", "2024-02", "--reason", "hotline re-exported without test rows"], work, env_extra=KEY)
    link, files = snapshot(work)
    assert link == "../published/2024-02/rev-2" and files != before[1]
    manifest = json.loads((work / "out/2024-02/manifest.json").read_text(encoding="utf-8"))
    assert (manifest["revision"], manifest["previous_revision"]) == (2, 1)
    assert manifest["reason"] == "hotline re-exported without test rows"
    old = work / "published/2024-02/rev-1"
    assert {p.relative_to(old).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(old.rglob("*")) if p.is_file()} == before[1]
    # The correction says so: every page of every briefing of revision 2, with the date and the reason; the
    # manifest points back to revision 1's, whose briefings say nothing of it.
    correction = manifest["correction"]
    assert correction == {"revision": 2, "previous_revision": 1, "reason": "hotline re-exported without test rows",
                          "date": correction["date"]}
    day = date.fromisoformat(correction["date"])
    assert manifest["previous_manifest_sha256"] == hashlib.sha256((old / "manifest.json").read_bytes()).hexdigest()
    briefings = [o for o in manifest["outputs"] if o["path"].startswith("reports/")]
    assert len(briefings) == 12
    for output in briefings:
        pages = page_texts(work / "out/2024-02" / output["path"])
        assert len(pages) >= 2
        for page in pages:
            assert "更正版" in page and f"{day.year}年{day.month}月{day.day}日更正" in page, output["path"]
            assert "hotline re-exported without test rows" in page.replace("\n", " "), output["path"]
        assert "正式版" not in pages[0]
        assert output["sha256"] == hashlib.sha256((work / "out/2024-02" / output["path"]).read_bytes()).hexdigest()
        assert output["unmarked_sha256"] == hashlib.sha256((work / "work/2024-02" / output["path"]).read_bytes()).hexdigest()
        first = "".join(page_texts(old / output["path"]))
        assert "更正" not in first and "hotline re-exported" not in first and "正式版" in first
    # The same results again: nothing new is published.
    again = run_nsi(["run", "2024-02"], work, env_extra=KEY)
    assert "run succeeded" in again.stderr and snapshot(work)[0] == "../published/2024-02/rev-2"
    assert not (work / "published/2024-02/rev-3").exists()
    # An auditor's rebuild of the correction gives its bytes, marks included.
    from nsi import settings
    from pipelines import verify
    report = verify.verify(settings.load({"NSI_DATA_DIR": str(work), **KEY}), "2024-02")
    assert report.ok and len(report.identical) == 14 and not report.chain, report
    (old / "manifest.json").write_bytes((old / "manifest.json").read_bytes() + b"\n")
    assert verify.broken_links(work, "2024-02", manifest) == [
        "manifest.json of revision 1 no longer has the sha256 revision 2 recorded for it"]


def test_sigkill_at_each_stage_leaves_the_published_month_as_it_was(ingested_q1, tmp_path):
    work = corrected_copy(ingested_q1, tmp_path)
    before = snapshot(work)
    env = dict(os.environ, NSI_DATA_DIR=str(work), **KEY)
    # Killed while ingesting, while computing the index, and while rendering (once this run has
    # written its first briefing: a fixed delay could fall before rendering or after publication).
    briefings = work / "work/2024-02/reports"
    for marker, mid_render in [("done   valid_police", False), ("done   valid_survey", False),
                               ("done   safety_index", True)]:
        started = time.time()
        run = subprocess.Popen(NSI + ["run", "2024-02", "--reason", "killed"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        seen = []
        for line in run.stderr:
            seen.append(line)
            if marker in line:
                break
        assert any(marker in line for line in seen), "".join(seen)
        while mid_render and run.poll() is None and not any(
                p.stat().st_mtime > started for p in briefings.glob("*.pdf") if p.exists()):
            time.sleep(0.02)
        assert run.poll() is None, f"the run ended before it was killed after {marker!r}"
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        assert snapshot(work) == before, f"killed after {marker!r}"
    # The next run completes normally and publishes.
    result = run_nsi(["run", "2024-02", "--reason", "after killed runs"], work, env_extra=KEY)
    assert "run succeeded" in result.stderr
    assert snapshot(work)[0] == "../published/2024-02/rev-2"


def test_a_reason_without_the_publish_stage_is_refused(tmp_path):
    result = run_nsi(["run", "2024-03", "--stage", "index", "--stage", "reports", "--reason", "re-export"], tmp_path,
                     check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == ("nsi run: error: --reason is the reason of a publication: add --stage publish "
                                     "(or run every stage)")
