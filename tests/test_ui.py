"""The Dagster UI (through its GraphQL API) shows the runs of `nsi run`, the partitions and the asset checks."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from conftest import REPO


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port, query):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def test_ui_lists_runs_partitions_and_checks(ingested_q1, tmp_path):
    root, _ = ingested_q1
    home = tmp_path / "dagster_home"
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
        runs = graphql(port, "{ runsOrError { ... on Runs { results { status tags { key value } } } } }")
        results = runs["runsOrError"]["results"]
        assert results and results[0]["status"] == "SUCCESS"
        tags = {t["key"]: t["value"] for t in results[0]["tags"]}
        assert tags["dagster/asset_partition_range_start"] == "2024-01"
        assert tags["dagster/asset_partition_range_end"] == "2024-03"
        asset = graphql(port, '{ assetNodeOrError(assetKey: {path: ["safety_index"]}) { ... on AssetNode { '
                              'partitionKeysByDimension { partitionKeys } '
                              'assetChecksOrError { ... on AssetChecks { checks { name } } } } } }')["assetNodeOrError"]
        keys = asset["partitionKeysByDimension"][0]["partitionKeys"]
        assert keys[0] == "2023-01" and "2024-03" in keys
        checks = {c["name"] for c in asset["assetChecksOrError"]["checks"]}
        assert checks == {"scores_within_0_100", "ranks_are_a_permutation", "weights_as_declared", "contributions_sum_to_change"}
        materialised = graphql(port, '{ assetNodeOrError(assetKey: {path: ["safety_index"]}) { ... on AssetNode { '
                                     'partitionStats { numMaterialized } } } }')
        assert materialised["assetNodeOrError"]["partitionStats"]["numMaterialized"] == 3
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
