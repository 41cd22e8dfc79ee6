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
