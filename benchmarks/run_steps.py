"""Wall time of each step of the latest Dagster run of a data directory (from the run's event log).

Usage: python benchmarks/run_steps.py DATA_DIR   (after `nsi run …` with NSI_DATA_DIR=DATA_DIR)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg


def main() -> None:
    home = Path(os.environ.get("DAGSTER_HOME") or Path(sys.argv[1]) / "dagster_home")
    os.environ["DAGSTER_HOME"] = str(home.resolve())
    instance = dg.DagsterInstance.get()
    run = instance.get_runs(limit=1)[0]
    started: dict[str, float] = {}
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    print(f"run {run.run_id} ({run.status.value}), tags {dict((k, v) for k, v in run.tags.items() if 'partition' in k)}")
    for record in instance.all_logs(run.run_id, of_type=kinds):
        event = record.dagster_event
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = record.timestamp
        else:
            print(f"{event.step_key:22} {record.timestamp - started[event.step_key]:8.1f} s")


if __name__ == "__main__":
    main()
