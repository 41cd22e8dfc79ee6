"""The production instance (deploy/dagster.postgres.yaml) against a real PostgreSQL server on loopback.

The server is started here from the Debian packages that `scripts/test.sh` installs; the test is
skipped, with the reason, only where PostgreSQL's programs are not on the machine.
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO, run_nsi

SERVER_BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)


def _binary(name: str) -> str | None:
    for folder in SERVER_BINARIES:
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not (initdb and pg_ctl):
        # scripts/test.sh installs PostgreSQL; only where that failed does it name the reason, and only
        # then is the test skipped. Anywhere else the missing programs are a failure, not a skip.
        reason = os.environ.get("NSI_POSTGRES_UNAVAILABLE")
        if not reason:
            pytest.fail("PostgreSQL server programs (initdb, pg_ctl) are not installed: run the tests with "
                        "scripts/test.sh, which installs the Debian package postgresql")
        pytest.skip(f"PostgreSQL could not be installed: {reason}")
    # Outside pytest's private temporary folder, which the postgres user could not enter.
    folder = Path(tempfile.mkdtemp(prefix="nsi-postgres-"))
    data, socket_dir = folder / "data", folder / "run"
    socket_dir.mkdir()
    # PostgreSQL refuses to run as root: as root, run it as the postgres user the package creates.
    as_owner: list[str] = []
    if os.geteuid() == 0:
        as_owner = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
        shutil.chown(socket_dir, "postgres")
    password = "nsi-test-password"
    password_file = folder / "password"
    password_file.write_text(password)
    if as_owner:
        shutil.chown(password_file, "postgres")
    subprocess.run(as_owner + [initdb, "-D", str(data), "-U", "nsi", "--auth=scram-sha-256",
                               f"--pwfile={password_file}", "-E", "UTF8", "--locale=C.UTF-8"],
                   check=True, capture_output=True, text=True)
    port = _free_port()
    log = folder / "server.log"
    subprocess.run(as_owner + [pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "start", "-o",
                               f"-p {port} -c listen_addresses=127.0.0.1 -k {socket_dir}"],
                   check=True, capture_output=True, text=True)
    env = {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_DB": "postgres", "DAGSTER_PG_USER": "nsi",
           "DAGSTER_PG_PASSWORD": password}
    import psycopg2
    for _ in range(50):
        try:
            psycopg2.connect(host="127.0.0.1", port=port, user="nsi", password=password, dbname="postgres").close()
            break
        except psycopg2.OperationalError:
            time.sleep(0.2)
    psycopg2.connect(host="127.0.0.1", port=port, user="nsi", password=password, dbname="postgres").close()
    yield env
    subprocess.run(as_owner + [pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def _query(env, sql, params=()):
    import psycopg2
    with psycopg2.connect(host=env["DAGSTER_PG_HOST"], port=int(env["DAGSTER_PG_PORT"]), user=env["DAGSTER_PG_USER"],
                          password=env["DAGSTER_PG_PASSWORD"], dbname=env["DAGSTER_PG_DB"]) as con:
        with con.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


def test_runs_events_and_schedules_are_stored_in_postgres(postgres, sample_q1, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    root = tmp_path / "data"
    (root / "raw").mkdir(parents=True)
    for source in ("hotline", "police", "disputes", "survey"):
        (root / "raw" / source).mkdir()
        for export in (sample_q1 / "raw" / source).glob("2024-01.*"):
            shutil.copyfile(export, root / "raw" / source / export.name)
    env = {**postgres, "DAGSTER_HOME": str(home), "NSI_PII_KEY": "test-key-postgres"}

    result = run_nsi(["run", "2024-01", "--stage", "ingest"], root, env_extra=env)
    assert "run succeeded" in result.stderr
    run_id = result.stderr.rsplit("Dagster run id ", 1)[1].split()[0]
    # Nothing of the instance went to SQLite files under DAGSTER_HOME.
    assert not list(home.rglob("*.db"))

    (status,), = _query(postgres, "SELECT status FROM runs WHERE run_id = %s", (run_id,))
    assert status == "SUCCESS"
    materialised = _query(postgres, "SELECT DISTINCT asset_key, partition FROM event_logs WHERE run_id = %s "
                                    "AND dagster_event_type = 'ASSET_MATERIALIZATION' ORDER BY 1", (run_id,))
    assert [(key.strip('[]"'), partition) for key, partition in materialised] == [
        (f"{step}_{source}", "2024-01") for step, source in sorted(
            (step, source) for source in ("disputes", "hotline", "police", "survey") for step in ("extract", "valid"))]
    checks = _query(postgres, "SELECT DISTINCT check_name FROM asset_check_executions WHERE run_id = %s", (run_id,))
    assert {"rows_reconcile", "all_11_districts"} <= {name for (name,) in checks}

    # Schedule state lives in the same database.
    started = subprocess.run([sys.executable, "-m", "dagster", "schedule", "start", "nsi_monthly_schedule",
                              "-m", "pipelines.definitions"], cwd=REPO, capture_output=True, text=True,
                             env={**os.environ, **env, "NSI_DATA_DIR": str(root)})
    assert started.returncode == 0, started.stderr[-2000:]
    states = _query(postgres, "SELECT status, job_body FROM jobs WHERE job_type = 'SCHEDULE'")
    assert any(status == "RUNNING" and "nsi_monthly_schedule" in body for status, body in states), states


def test_the_run_queue_limits_are_those_documented(postgres, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    code = ("import dagster as dg\n"
            "instance = dg.DagsterInstance.get()\n"
            "queue = instance.get_concurrency_config().run_queue_config\n"
            "print(type(instance.run_storage).__name__, queue.max_concurrent_runs,"
            " [(l['key'], l['value'], l['limit']) for l in queue.tag_concurrency_limits])\n"
            "from pipelines.definitions import defs\n"
            "print(defs.resolve_job_def('nsi_monthly').tags)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, env={**os.environ, **postgres, "DAGSTER_HOME": str(home)})
    assert result.returncode == 0, result.stderr[-2000:]
    storage_line, tags_line = result.stdout.strip().splitlines()[-2:]
    assert storage_line == "PostgresRunStorage 2 [('nsi/writes', 'warehouse', 1)]"
    assert "'nsi/writes': 'warehouse'" in tags_line
