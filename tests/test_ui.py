"""The Dagster UI (through its GraphQL API) after `nsi run 2024-01 --to 2024-03`, one run over three months:
the run, every month's own materialization and check results, the index as metadata, no newsletter prompt."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import polars as pl
import pytest

from conftest import REPO, query

MONTHS = ["2024-01", "2024-02", "2024-03"]
SOURCES = ["hotline", "police", "disputes", "survey"]
CITY = "320100"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port, text):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": text}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def alias(*parts):
    return "_".join(parts).replace("-", "_")


@pytest.fixture(scope="module")
def ui(ingested_q1, tmp_path_factory):
    """The webserver on a copy of the range run's instance; (port, data dir, instance dir, run id)."""
    root, _ = ingested_q1
    home = tmp_path_factory.mktemp("ui") / "dagster_home"
    shutil.copytree(root / "dagster_home", home)
    port = free_port()
    env = dict(os.environ, DAGSTER_HOME=str(home), NSI_DATA_DIR=str(root))
    server = subprocess.Popen([sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port),
                               "-m", "pipelines.definitions"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                assert time.time() < deadline, "the UI did not start"
                time.sleep(1)
        runs = graphql(port, "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }")
        yield port, root, home, runs["runsOrError"]["results"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_ui_lists_runs_partitions_and_checks(ui):
    port, _, _, runs = ui
    assert runs and runs[0]["status"] == "SUCCESS"
    tags = {t["key"]: t["value"] for t in runs[0]["tags"]}
    assert tags["dagster/asset_partition_range_start"] == "2024-01"
    assert tags["dagster/asset_partition_range_end"] == "2024-03"
    asset = graphql(port, '{ assetNodeOrError(assetKey: {path: ["safety_index"]}) { ... on AssetNode { '
                          'partitionKeysByDimension { partitionKeys } partitionStats { numMaterialized } '
                          'assetChecksOrError { ... on AssetChecks { checks { name } } } } } }')["assetNodeOrError"]
    keys = asset["partitionKeysByDimension"][0]["partitionKeys"]
    assert keys[0] == "2023-01" and "2024-03" in keys
    checks = {c["name"] for c in asset["assetChecksOrError"]["checks"]}
    assert checks == {"scores_within_0_100", "ranks_are_a_permutation", "weights_as_declared", "contributions_sum_to_change"}
    assert asset["partitionStats"]["numMaterialized"] == 3


def test_the_ui_opens_without_the_newsletter_prompt(ui):
    port, _, home, _ = ui
    # Nobody dismissed the prompt on this instance: it is off because dagster.yaml turns it off.
    assert not (home / ".nux" / "nux.yaml").exists()
    assert graphql(port, "{ shouldShowNux }")["shouldShowNux"] is False


def _materializations(port, assets, run_id):
    """{asset: {partition: {label: entry}}} of the materializations the run recorded."""
    fields = " ".join(
        f'{alias(a)}: assetNodeOrError(assetKey: {{path: ["{a}"]}}) {{ ... on AssetNode {{ '
        f'assetMaterializations(partitions: {json.dumps(MONTHS)}) {{ partition runId metadataEntries {{ label '
        '... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue } '
        '... on TextMetadataEntry { text } ... on MarkdownMetadataEntry { mdStr } '
        '... on TableMetadataEntry { table { records schema { columns { name } } } } } } } }'
        for a in assets)
    answer = graphql(port, f"{{ {fields} }}")
    found = {}
    for a in assets:
        events = [e for e in answer[alias(a)]["assetMaterializations"] if e["runId"] == run_id]
        found[a] = {e["partition"]: {m["label"]: m for m in e["metadataEntries"]} for e in events}
        assert sorted(found[a]) == MONTHS and len(events) == len(MONTHS), (a, [e["partition"] for e in events])
    return found


def test_every_month_of_a_range_run_has_its_own_ingest_figures(ui):
    port, root, _, runs = ui
    assets = [f"{step}_{source}" for source in SOURCES for step in ("extract", "valid")]
    found = _materializations(port, assets, runs[0]["runId"])
    log = query(root, "SELECT source, month, rows_read, rows_loaded, rows_rejected, duplicates_dropped, "
                      "reexports_dropped FROM ingest_log").rows_by_key(["source", "month"], named=True, unique=True)
    for source in SOURCES:
        for month in MONTHS:
            expected = log[(source, month)]
            assert found[f"extract_{source}"][month]["rows_read"]["intValue"] == expected["rows_read"]
            valid = found[f"valid_{source}"][month]
            for figure in ("rows_read", "rows_loaded", "rows_rejected", "duplicates_dropped", "reexports_dropped"):
                assert valid[figure]["intValue"] == expected[figure], (source, month, figure)
        # Not the range's total nor one month's figure repeated.
        read = [found[f"valid_{source}"][m]["rows_read"]["intValue"] for m in MONTHS]
        assert len(set(read)) == len(MONTHS), read


def test_every_check_result_carries_its_month(ui):
    port, _, _, runs = ui
    run_id = runs[0]["runId"]
    checked = ["safety_index", "district_reports", *[f"valid_{s}" for s in SOURCES]]
    names = graphql(port, "{ " + " ".join(
        f'{alias(a)}: assetNodeOrError(assetKey: {{path: ["{a}"]}}) {{ ... on AssetNode {{ '
        'assetChecksOrError { ... on AssetChecks { checks { name } } } } }' for a in checked) + " }")
    pairs = [(a, c["name"]) for a in checked for c in names[alias(a)]["assetChecksOrError"]["checks"]]
    assert len(pairs) == 1 + 4 + 5 * len(SOURCES)
    executions = graphql(port, "{ " + " ".join(
        f'{alias(a, c)}: assetCheckExecutions(assetKey: {{path: ["{a}"]}}, checkName: "{c}", limit: 50) '
        '{ runId partition status evaluation { partition success } }' for a, c in pairs) + " }")
    for a, c in pairs:
        ran = [e for e in executions[alias(a, c)] if e["runId"] == run_id]
        assert sorted(e["partition"] for e in ran) == MONTHS, (a, c, ran)
        for e in ran:  # each month's result arrived, and names the same month
            assert e["evaluation"] is not None and e["evaluation"]["partition"] == e["partition"], (a, c, e)
            assert e["status"] in ("SUCCEEDED", "FAILED"), (a, c, e)


def test_the_index_of_every_month_is_shown_as_a_table_a_chart_and_numbers(ui):
    port, root, _, runs = ui
    found = _materializations(port, ["safety_index"], runs[0]["runId"])["safety_index"]
    index = query(root, "SELECT month, code, name, composite, rank FROM safety_index")
    for month in MONTHS:
        entries = found[month]
        rows = index.filter(index["month"] == month)
        table = entries["index"]["table"]
        records = [json.loads(r) for r in table["records"]]
        assert len(records) == 12 and records[0]["区划代码"] == CITY
        assert [c["name"] for c in table["schema"]["columns"]][:4] == ["区划代码", "地区", "平安指数", "治安状况指数"]
        for record in records:
            row = rows.row(by_predicate=pl.col("code") == record["区划代码"], named=True)
            assert record["地区"] == row["name"] and record["排名"] == row["rank"]
            assert record["平安指数"] == pytest.approx(row["composite"], abs=0.006)
        # The districts in rank order after the city.
        assert [r["排名"] for r in records[1:]] == sorted(r["排名"] for r in records[1:])
        city = rows.row(by_predicate=pl.col("code") == CITY, named=True)["composite"]
        assert entries["city_composite"]["floatValue"] == pytest.approx(city, abs=0.006)
        chart = entries["history"]["mdStr"]
        assert chart.startswith("![南京市平安指数走势](data:image/svg+xml;base64,")
        # Under the chart, the city's figures of the months so far (the chart's 13 months), this month last.
        so_far = index.filter((index["code"] == CITY) & (index["month"] <= month)).sort("month")
        figures = " · ".join(f"{m} {v:.2f}" for m, v in so_far.select("month", "composite").iter_rows())
        assert chart.rsplit("\n", 1)[1] == f"南京市平安指数：{figures}"
