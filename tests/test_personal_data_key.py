"""A month hashed with the development key says so: in the run summary, the manifest and `nsi verify`."""

import json
import shutil

import duckdb
from conftest import query, run_nsi

from nsi.publication import manifest
from pipelines.verify import key_differences

NOTICE = ("DEVELOPMENT KEY: personal data of 2024-02 (disputes, hotline, police, survey) was hashed with the "
          "development key, because NSI_PII_KEY is not set.")


def test_a_run_without_the_key_names_it_in_its_summary_and_the_months_manifest(ingested_q1, tmp_path):
    root, result = ingested_q1
    # The fixture's run had NSI_PII_KEY: no notice, and the manifest says so.
    assert "DEVELOPMENT KEY" not in result.stderr
    assert query(root, "SELECT DISTINCT personal_data_key AS k FROM extract_log")["k"].to_list() == ["configured"]
    published = json.loads((root / "out/2024-03/manifest.json").read_text(encoding="utf-8"))
    assert published["personal_data_key"] == "configured"
    assert {i["personal_data_key"] for i in published["inputs"]} == {"configured"}

    work = tmp_path / "data"
    shutil.copytree(root, work, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    again = run_nsi(["run", "2024-02", "--stage", "ingest"], work)
    assert NOTICE in again.stderr.replace("\n", " ")
    keys = query(work, "SELECT month, personal_data_key AS k, count(*) AS n FROM extract_log GROUP BY ALL ORDER BY month")
    assert keys.rows() == [("2024-01", "configured", 4), ("2024-02", "development", 4), ("2024-03", "configured", 4)]
    con = duckdb.connect(str(work / "warehouse/nsi.duckdb"), read_only=True)
    try:
        assert manifest.build(con, "2024-02", work / "out/2024-02", "run")["personal_data_key"] == "development"
        assert manifest.build(con, "2024-03", work / "out/2024-03", "run")["personal_data_key"] == "configured"
    finally:
        con.close()


def test_the_months_key_is_development_if_any_input_had_it():
    assert manifest.personal_data_key(["configured", "development", "configured"]) == "development"
    assert manifest.personal_data_key(["configured"] * 4) == "configured"
    # Inputs extracted before the key was recorded, or none at all: not known.
    assert manifest.personal_data_key(["configured", "unknown"]) == "unknown"
    assert manifest.personal_data_key([]) == "unknown"


def test_verify_names_a_development_key_on_either_side():
    assert key_differences("configured", False) == []
    assert key_differences("development", False) == [
        "personal-data key: published with the development key (NSI_PII_KEY was not set), rebuilt with the configured key"]
    assert key_differences("development", True) == [
        "personal-data key: published with the development key (NSI_PII_KEY was not set), rebuilt with the development "
        "key (NSI_PII_KEY is not set)"]
    assert key_differences("configured", True) == [
        "personal-data key: published with a configured key, rebuilt with the development key (NSI_PII_KEY is not set); "
        "set NSI_PII_KEY to the month's key"]
    assert key_differences(None, True)[0].startswith("personal-data key: published with an unrecorded key")
