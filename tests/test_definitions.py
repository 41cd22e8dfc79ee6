"""The Dagster code location loads, validates, and its import touches no file."""

import subprocess
import sys

from conftest import REPO


def test_definitions_validate_and_import_does_no_io(tmp_path):
    missing = tmp_path / "does-not-exist"
    code = (
        "import builtins, os\n"
        "opened = []\n"
        "real_open = builtins.open\n"
        "def spy(file, *a, **k):\n"
        "    if str(file).startswith(os.environ['NSI_DATA_DIR']): opened.append(file)\n"
        "    return real_open(file, *a, **k)\n"
        "builtins.open = spy\n"
        "from pipelines.definitions import defs\n"
        "defs.validate_loadable(defs)\n"
        "assert not opened, opened\n"
        "assert not os.path.exists(os.environ['NSI_DATA_DIR'])\n"
        "keys = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())\n"
        "print(' '.join(keys))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            env={"NSI_DATA_DIR": str(missing), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    for source in ("hotline", "police", "disputes", "survey"):
        assert f"extract_{source}" in result.stdout and f"valid_{source}" in result.stdout

    validated = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pipelines.definitions"],
                               cwd=REPO, capture_output=True, text=True, env={"NSI_DATA_DIR": str(missing),
                                                                            "DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert validated.returncode == 0, validated.stderr[-2000:]


def test_monthly_partitions():
    from assets.partitions import monthly_partitions
    keys = monthly_partitions.get_partition_keys()
    assert keys[0] == "2023-01"
    assert all(len(k) == 7 and k[4] == "-" for k in keys)
    assert monthly_partitions.timezone == "Asia/Shanghai"
    # The running month is not a partition until it has closed.
    from datetime import datetime
    from zoneinfo import ZoneInfo
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    assert keys[-1] < f"{now.year:04d}-{now.month:02d}"


def test_the_asset_graph_shows_the_chain_in_one_group_with_stages():
    """One asset group, so that the UI draws every asset instead of collapsed group boxes; each asset's
    stage tag is the stage `nsi run --stage` runs it in, and its description's first line names it."""
    from assets import stages
    from pipelines.definitions import defs
    from pipelines.run import STAGES

    graph = defs.resolve_asset_graph()
    nodes = {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}
    assert {node.group_name for node in nodes.values()} == {stages.GROUP}
    assert {name: node.tags[stages.STAGE_TAG] for name, node in nodes.items()} == {
        name: stage for stage, names in STAGES.items() for name in names}
    for name, node in nodes.items():
        headline = node.description.splitlines()[0]
        assert headline.startswith(stages.STAGE_NAMES[node.tags[stages.STAGE_TAG]] + " · "), (name, headline)
        assert len(headline) <= 40, headline  # fits under the asset's name in the graph
        assert node.kinds, name
    # The chain, stage by stage: no asset depends on one of a later stage.
    order = list(STAGES)
    for name, node in nodes.items():
        for parent in node.parent_keys:
            assert order.index(nodes[parent.to_user_string()].tags[stages.STAGE_TAG]) <= order.index(
                node.tags[stages.STAGE_TAG]), (parent, name)


def test_every_asset_check_is_evaluated_per_month():
    from assets.partitions import monthly_partitions
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    assert graph.asset_check_keys
    for key in graph.asset_check_keys:
        assert graph.get(key).partitions_def == monthly_partitions, key
