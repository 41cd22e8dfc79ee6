"""The commands that need neither Dagster nor WeasyPrint do not import them: importing Dagster and loading
the definitions takes seconds, WeasyPrint most of a second, and `nsi --help`, `nsi sample` and `nsi inspect`
are typed by hand."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

HEAVY = ("dagster", "weasyprint")
# Runs a command of `nsi` in a fresh interpreter, then prints which of the modules asked for it imported.
PROBE = """
import json, sys
from pipelines import cli
sys.argv = ["nsi", *json.loads(sys.argv[1])]
try:
    cli.main()
except SystemExit:
    pass
print("MODULES " + json.dumps(sorted(m for m in json.loads(sys.argv_modules) if m in sys.modules)))
"""


def imported(args, data_dir, modules=HEAVY):
    probe = PROBE.replace("sys.argv_modules", repr(json.dumps(list(modules))))
    env = dict(os.environ, NSI_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", probe, json.dumps(args)], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300)
    line = next(line for line in result.stdout.splitlines() if line.startswith("MODULES "))
    return result, json.loads(line.removeprefix("MODULES "))


@pytest.mark.parametrize("args", [["--help"], ["sample", "--help"], ["run", "--help"], ["inspect", "--help"]])
def test_help_imports_neither_dagster_nor_weasyprint(args, tmp_path):
    result, found = imported(args, tmp_path, (*HEAVY, "typer"))
    assert "Usage" in result.stdout or "用法" in result.stdout, result.stderr
    assert found == ["typer"]  # the probe sees the process's modules, and none of the heavy ones


def test_sample_and_inspect_import_neither_dagster_nor_weasyprint(tmp_path):
    result, found = imported(["sample", "--from", "2024-03", "--scale", "0.01", "--source", "disputes"], tmp_path)
    assert result.returncode == 0 and (tmp_path / "raw/disputes/2024-03.xlsx").exists(), result.stderr
    assert found == []
    result, found = imported(["inspect", str(tmp_path / "raw/disputes/2024-03.xlsx")], tmp_path,
                             (*HEAVY, "nsi.ingest.inspect"))
    assert found == ["nsi.ingest.inspect"], result.stderr


# Prints the allocator setting in the environment at the moment polars starts to load.
ALLOCATOR_PROBE = """
import importlib, os, sys
class Watch:
    seen = None
    def find_spec(self, name, path=None, target=None):
        if name == "polars" and Watch.seen is None:
            Watch.seen = os.environ.get("_RJEM_MALLOC_CONF", "")
        return None
sys.meta_path.insert(0, Watch())
importlib.import_module(sys.argv[1])
import polars
print("SETTING " + Watch.seen)
"""


@pytest.mark.parametrize("entry", ["pipelines.cli", "pipelines.definitions"])
def test_polars_gives_back_freed_memory_soon_in_every_entry_point(entry, tmp_path):
    """jemalloc reads its setting when polars loads: the package sets it before anything imports polars
    (the peak of a month's run at full scale rests on it: BENCHMARKS.md), and an operator's own wins."""
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    env.update(NSI_DATA_DIR=str(tmp_path), DAGSTER_HOME=str(tmp_path), PYTHONPATH=str(REPO))
    for given, expected in [(None, "dirty_decay_ms:250,muzzy_decay_ms:0"), ("dirty_decay_ms:0", "dirty_decay_ms:0")]:
        run_env = dict(env, _RJEM_MALLOC_CONF=given) if given else env
        result = subprocess.run([sys.executable, "-c", ALLOCATOR_PROBE, entry], cwd=REPO, env=run_env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert f"SETTING {expected}" in result.stdout.splitlines()
