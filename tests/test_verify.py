"""`nsi verify`: a published month rebuilt from the archive is byte-identical; tampering is caught."""

import json
import re
import shutil

import pytest
from conftest import query, run_nsi

from nsi.publication.manifest import sha256_of

KEY = {"NSI_PII_KEY": "test-key-q1"}


def copy_of(ingested_q1, tmp_path):
    root, _ = ingested_q1
    work = tmp_path / "data"
    shutil.copytree(root, work, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    return work


def vocabularies_changed_since_publication(tmp_path):
    """A police v2 that can no longer read the files (警情类别 is gone), and v1 itself edited in place,
    harmlessly: the rebuild must read each input with the v1 it was published with, and say v1 changed."""
    from nsi import vocabulary
    folder = tmp_path / "vocabularies"
    shutil.copytree(vocabulary.VOCABULARY_DIR, folder)
    v1 = folder / "police" / "v1.yaml"
    text = v1.read_text(encoding="utf-8").replace("version: 1", "version: 2", 1)
    (folder / "police" / "v2.yaml").write_text(text.replace("headers: [警情类别, 警情类别一级,", "headers: [警情类别一级,", 1),
                                                 encoding="utf-8")
    v1.write_text(v1.read_text(encoding="utf-8").replace("    无效警情: [无效报警]", "    无效警情: [无效报警, 无效来电]"),
                  encoding="utf-8")
    return folder


def test_rebuild_is_identical_in_this_process_with_its_pins_and_a_tampered_pdf_is_named(ingested_q1, tmp_path,
                                                                                       monkeypatch, capsys):
    """The command runs in this process (no `nsi` subprocess): the rebuild is a Dagster run with the pins as
    resource configuration, and writes nothing into raw/."""
    import subprocess
    import sys

    import typer

    from pipelines import cli, verify
    work = copy_of(ingested_q1, tmp_path)
    folder = vocabularies_changed_since_publication(tmp_path)
    pdf = work / "out/2024-03/reports/320105.pdf"
    pdf.write_bytes(pdf.read_bytes() + b"%tampered\n")  # still opens; different bytes
    # Published by another commit: named, but the verdict rests on the bytes.
    manifest_path = work / "out/2024-03/manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    now = manifest["code"]["git_commit"]
    manifest["code"]["git_commit"] = "0123456789abcdef0123456789abcdef01234567"
    manifest["personal_data_key"] = "development"  # as if published without NSI_PII_KEY
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")

    started, pinned, scratch = [], [], {}
    real_popen, real_run, real_rebuild = subprocess.Popen, verify._run, verify._rebuild

    def popen(args, *rest, **kwargs):
        started.append(args)
        return real_popen(args, *rest, **kwargs)

    def run(settings_, rebuild, first, last, stages):
        pinned.append((first, last, stages, dict(rebuild.pins.methodology_versions), dict(rebuild.pins.population_scales),
                       rebuild.pins.briefing_months))
        return real_run(settings_, rebuild, first, last, stages)

    def rebuild(settings_, directory, rebuild_pass):
        real_rebuild(settings_, directory, rebuild_pass)
        import duckdb
        con = duckdb.connect(str(directory / "warehouse" / "nsi.duckdb"), read_only=True)
        scratch["hashes"] = con.execute("SELECT caller_phone_hash FROM valid_hotline WHERE caller_phone_hash IS NOT NULL "
                                        "ORDER BY month, _row LIMIT 20").fetchall()
        con.close()
        scratch["raw"] = sorted(p.relative_to(directory / "raw").as_posix() for p in (directory / "raw").rglob("*")
                                if p.is_file())
        scratch["published"] = (directory / "out").exists() or (directory / "published").exists()
        scratch["briefings"] = sorted({p.parent.parent.name for p in (directory / "work").glob("*/reports/*.pdf")})

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(verify, "_run", run)
    monkeypatch.setattr(verify, "_rebuild", rebuild)
    for name, value in {"NSI_DATA_DIR": str(work), "NSI_VOCABULARY_DIR": str(folder), **KEY}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(typer.Exit) as exited:
        cli.verify("2024-03", None, None, None)
    assert exited.value.exit_code == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "ALTERED   reports/320105.pdf: the published file no longer matches its manifest" in lines
    # Everything rebuilt from the archive matches the manifest byte for byte, and the index values match.
    assert "14 of 14 published files rebuilt byte for byte; index values match; 1 published files altered" in err
    assert not [line for line in lines if line.startswith(("MISSING", "INDEX", "DIFFERENT", "CHAIN"))]
    stack = [line for line in lines if line.startswith("STACK")]
    assert stack[0] == f"STACK     code (git commit): published with 0123456789abcdef0123456789abcdef01234567, rebuilt with {now}"
    # The inputs were read with the pinned police/v1 (v2 cannot read them), which was edited since: said, not fatal.
    assert len(stack) == 3 and stack[1].startswith("STACK     vocabulary police/v1 (edited since the month was computed: sha256 ")
    assert stack[2] == ("STACK     personal-data key: published with the development key (NSI_PII_KEY was not set), "
                        "rebuilt with the configured key")
    assert "check out 0123456789abcdef0123456789abcdef01234567" in err
    # The key comes from the settings: with another key the hashes of personal data differ, and the rebuilt
    # warehouse shows it (the published files need not, so this is checked on the hashes).
    assert scratch["hashes"] == query(work, "SELECT caller_phone_hash FROM valid_hotline WHERE caller_phone_hash IS NOT NULL "
                                            "ORDER BY month, _row LIMIT 20").rows()
    # No Python was started as a program (the old rebuild ran `python -m pipelines.cli run …`); what runs
    # is `git rev-parse` for the code version and the loader's look-ups of system libraries.
    assert [args for args in started if any(sys.executable in str(a) or "pipelines" in str(a) for a in args)] == []
    # The history and the month in one run, with the versions and scales of every month recorded; only the
    # month compared has its briefings rendered.
    pins = ({"2024-01": "v1", "2024-02": "v1", "2024-03": "v2"}, {"2024-01": 0.01, "2024-02": 0.01, "2024-03": 0.01},
            ["2024-03"])
    assert pinned == [("2024-01", "2024-03", ["ingest", "index", "reports"], *pins)]
    assert scratch["briefings"] == ["2024-03"]
    assert scratch["raw"] == sorted(f"{s}/{m}.{e}" for s, e in [("hotline", "csv"), ("police", "csv"), ("disputes", "xlsx"),
                                                                ("survey", "xlsx")] for m in ("2024-01", "2024-02", "2024-03"))
    assert not scratch["published"]  # the rebuild publishes nothing


def test_tampered_archive_input_is_refused(ingested_q1, tmp_path):
    work = copy_of(ingested_q1, tmp_path)
    manifest = json.loads((work / "out/2024-03/manifest.json").read_text(encoding="utf-8"))
    police = next(i for i in manifest["inputs"] if i["source"] == "police")
    archived = work / "archive" / police["sha256"]
    archived.write_bytes(archived.read_bytes()[:-10] + b"0000000000")
    result = run_nsi(["verify", "2024-03"], work, check=False, env_extra=KEY)
    assert result.returncode == 1
    assert "archived input 2024-03.csv of police 2024-03 does not match its recorded sha256" in result.stderr


def test_a_month_never_computed(tmp_path):
    result = run_nsi(["verify", "2023-07"], tmp_path, check=False)
    assert result.returncode == 1 and "2023-07 has no manifest.json" in result.stderr
    assert "it was never computed" in result.stderr


@pytest.fixture(scope="module")
def computed_q1(sample_q1, tmp_path_factory):
    """The Q1 sample ingested and indexed as one range, nothing rendered or published (as the demo's
    twelve months before the published one)."""
    root = tmp_path_factory.mktemp("computed_q1")
    shutil.copytree(sample_q1 / "raw", root / "raw")
    run_nsi(["run", "2024-01", "--to", "2024-03", "--stage", "ingest", "--stage", "index"], root, env_extra=KEY)
    return root


def test_every_computed_month_has_a_manifest_of_what_it_was_made_from(computed_q1):
    assert not (computed_q1 / "out").exists()
    for month in ("2024-01", "2024-02", "2024-03"):
        folder = computed_q1 / "work" / month
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert {o["path"]: o["sha256"] for o in manifest["outputs"]} == {
            name: sha256_of(folder / name) for name in ("index.csv", "index.xlsx")}
        logged = query(computed_q1, "SELECT source, file_sha256, coalesce(vocabulary, source || '/v1') AS v FROM extract_log "
                                    "WHERE month = ? ORDER BY source", [month])
        assert [(i["source"], i["sha256"], i["vocabulary"]) for i in manifest["inputs"]] == logged.rows()
        for item in manifest["inputs"]:
            assert sha256_of(computed_q1 / item["archived_as"]) == item["sha256"]
        index = query(computed_q1, "SELECT * EXCLUDE (month) FROM safety_index WHERE month = ? ORDER BY code", [month])
        assert manifest["index"] == [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
                                     for row in index.to_dicts()]
        assert manifest["methodology_version"] == ("v2" if month == "2024-03" else "v1")
        assert manifest["population_scale"] == 0.01
        assert [h["month"] for h in manifest["history"]] == [m for m in ("2024-01", "2024-02") if m < month]


def test_a_range_is_verified_month_by_month_and_an_altered_archive_names_its_month(computed_q1, tmp_path):
    work = tmp_path / "data"
    shutil.copytree(computed_q1, work, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    manifest = json.loads((work / "work/2024-03/manifest.json").read_text(encoding="utf-8"))
    hotline = next(i for i in manifest["inputs"] if i["source"] == "hotline")
    archived = work / hotline["archived_as"]
    archived.write_bytes(archived.read_bytes()[:-10] + b"0000000000")
    result = run_nsi(["verify", "--from", "2024-01", "--to", "2024-03"], work, check=False, env_extra=KEY)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if re.match(r"\d{4}-\d{2}: verdict", line)]
    assert lines == [
        "2024-01: verdict: identical (2 computed files rebuilt byte for byte, index values match)",
        "2024-02: verdict: identical (2 computed files rebuilt byte for byte, index values match)",
        "2024-03: verdict: NOT identical (archived input 2024-03.csv of hotline 2024-03 does not match its recorded "
        "sha256: the archive was altered)"]
    assert "2024-01 to 2024-03: 2 of 3 months identical; verdict: NOT identical" in result.stderr


def test_a_month_depending_on_an_altered_month_cannot_be_rebuilt(computed_q1, tmp_path):
    """Its results depend on the months before it: it says which input it lacks. Nothing is rebuilt when
    no month can be."""
    from nsi import settings
    from pipelines import verify
    work = tmp_path / "data"
    shutil.copytree(computed_q1 / "work", work / "work")
    shutil.copytree(computed_q1 / "archive", work / "archive")
    january = json.loads((work / "work/2024-01/manifest.json").read_text(encoding="utf-8"))
    survey = work / next(i for i in january["inputs"] if i["source"] == "survey")["archived_as"]
    survey.unlink()
    reports = verify.verify_months(settings.load({"NSI_DATA_DIR": str(work)}), "2024-01", "2024-03")
    assert [r.problem for r in reports] == [
        f"archived input 2024-01.xlsx of survey 2024-01 is missing from the archive ({survey.name[:12]}…)",
        *[f"cannot be rebuilt: archived input 2024-01.xlsx of survey 2024-01 is missing from the archive "
          f"({survey.name[:12]}…) (a month its results depend on)"] * 2]


def manifest_of(month, history, inputs="a"):
    entry = lambda m, tag: {"month": m, "methodology_version": "v1", "population_scale": 0.01,  # noqa: E731
                            "inputs": [{"source": "police", "file_name": f"{m}.csv", "sha256": f"{tag}{m}",
                                        "vocabulary": "police/v1", "vocabulary_sha256": None}]}
    return {**entry(month, inputs), "history": [entry(m, "a") for m in history], "outputs": []}


def test_one_pass_unless_a_month_was_computed_from_other_history():
    from pathlib import Path

    from pipelines.verify import Subject, plan
    subjects = [Subject("2024-01", manifest_of("2024-01", []), Path("."), "computed"),
                Subject("2024-02", manifest_of("2024-02", ["2024-01"]), Path("."), "computed"),
                Subject("2024-03", manifest_of("2024-03", ["2024-01", "2024-02"]), Path("."), "published")]
    assert [[s.month for s in p.subjects] for p in plan(subjects)] == [["2024-01", "2024-02", "2024-03"]]
    # 2024-02 recomputed later from another export: 2024-03 was computed on the first one, so it is rebuilt apart.
    subjects[1] = Subject("2024-02", manifest_of("2024-02", ["2024-01"], inputs="b"), Path("."), "computed")
    passes = plan(subjects)
    assert [[s.month for s in p.subjects] for p in passes] == [["2024-01", "2024-02"], ["2024-03"]]
    assert passes[1].months["2024-02"]["inputs"][0]["sha256"] == "a2024-02"
    # A month computed before the month ahead of it was: its window must not gain that month.
    late = [Subject("2024-02", manifest_of("2024-02", []), Path("."), "computed"),
            Subject("2024-03", manifest_of("2024-03", ["2024-01", "2024-02"]), Path("."), "computed")]
    assert [[s.month for s in p.subjects] for p in plan(late)] == [["2024-02"], ["2024-03"]]


def test_stack_differences_name_each_part():
    from pipelines.verify import stack_differences
    now = {"git_commit": "c0ffee", "lock_file_sha256": "10c4", "reference_data_version": "2024.1"}
    assert stack_differences(dict(now), now) == []
    assert stack_differences({**now, "lock_file_sha256": "0ld"}, now) == [
        "Python packages (sha256 of requirements.lock): published with 0ld, rebuilt with 10c4"]
    assert [line.split(":")[0] for line in stack_differences({}, now)] == [
        "code (git commit)", "Python packages (sha256 of requirements.lock)", "reference data"]


def test_pins_choose_the_methodology_and_scale_of_a_month(tmp_path):
    import pytest

    from assets.resources import RunPins
    from indicators.methodology import MethodologyError
    from nsi.month import Month
    (tmp_path / "sample.json").write_text('{"2024-03": {"scale": 0.05}}', encoding="utf-8")
    free, pinned = RunPins(), RunPins(methodology_versions={"2024-03": "v1"}, population_scales={"2024-03": 0.2})
    assert free.population_scale(tmp_path, Month(2024, 3)) == 0.05  # what the sample declares
    assert free.population_scale(tmp_path, Month(2024, 4)) == 1.0  # real exports declare nothing
    assert pinned.population_scale(tmp_path, Month(2024, 3)) == 0.2
    # a pin holds a month to the version it was published with, though a later file now covers it
    assert pinned.methodology("2024-03").version == "v1" and free.methodology("2024-03").version == "v2"
    with pytest.raises(MethodologyError, match="methodology version v9 not found"):
        RunPins(methodology_versions={"2024-03": "v9"}).methodology("2024-03")

