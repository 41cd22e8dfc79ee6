import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NSI = [sys.executable, "-m", "pipelines.cli"]


def pytest_configure(config):
    # No setting made for an analyst's own runs reaches the tests (a data directory, a key, a lock wait,
    # a recipients file or mail server): each test names its own. Nor does a Dagster instance.
    for name in [n for n in os.environ if n.startswith("NSI_") and n != "NSI_POSTGRES_UNAVAILABLE"]:
        del os.environ[name]
    os.environ.pop("DAGSTER_HOME", None)
    # The tests' assertions quote messages in English, the catalogue's message ids; Chinese, the default,
    # is tested in test_messages.py, which unsets this.
    os.environ["NSI_LANG"] = "en"
    # No test delivers to a recipients file found on the machine; the delivery tests name their own.
    os.environ["NSI_RECIPIENTS"] = "off"


def run_nsi(args, data_dir, check=True, timeout=900, env_extra=None, cwd=REPO):
    env = dict(os.environ, NSI_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    env.update(env_extra or {})
    result = subprocess.run(NSI + list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"nsi {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def sample_q1(tmp_path_factory):
    """The messy sample of 2024-01..03 at test scale, written through the CLI."""
    root = tmp_path_factory.mktemp("sample_q1")
    run_nsi(["sample", "--from", "2024-01", "--to", "2024-03", "--scale", "0.01"], root)
    return root


@pytest.fixture(scope="session")
def ingested_q1(sample_q1, tmp_path_factory):
    """The Q1 sample copied to a fresh data dir and run through `nsi run` as one range."""
    import shutil
    root = tmp_path_factory.mktemp("ingested_q1")
    shutil.copytree(sample_q1 / "raw", root / "raw")
    result = run_nsi(["run", "2024-01", "--to", "2024-03"], root, env_extra={"NSI_PII_KEY": "test-key-q1"})
    return root, result


def query(root, sql, params=()):
    """Read the warehouse of a data dir (read-only), as a polars frame."""
    import duckdb
    con = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).pl()
    finally:
        con.close()
