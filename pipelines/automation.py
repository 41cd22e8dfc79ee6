"""Unattended runs: a monthly schedule and a sensor for complete exports. Both are off by default.

Turn them on in the Dagster UI (Automation) or with
`dagster schedule start nsi_monthly_schedule` / `dagster sensor start nsi_exports_sensor`, with
`dagster-daemon run` (or `nsi ui`, which starts the daemon) running.
"""

import hashlib
from pathlib import Path

import dagster as dg

from assets.partitions import monthly_partitions
from nsi.exports import SOURCES

LOOKBACK_MONTHS = 3


def build_schedule(job) -> dg.ScheduleDefinition:
    # 06:00 Asia/Shanghai on the 3rd: the exports of the month before have landed by then.
    return dg.build_schedule_from_partitioned_job(
        job, name="nsi_monthly_schedule", day_of_month=3, hour_of_day=6, minute_of_hour=0,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Runs the previous month on the 3rd at 06:00 (Asia/Shanghai).",
    )


def complete_exports(raw: Path, month: str) -> list[Path] | None:
    """The month's four exports, or None while any is missing."""
    found = []
    for source in SOURCES:
        candidates = [p for p in (raw / source).glob(f"{month}.*") if p.name in (f"{month}.csv", f"{month}.xlsx")]
        if not candidates:
            return None
        found.append(candidates[0])
    return found


def build_sensor(job, raw: Path) -> dg.SensorDefinition:
    @dg.sensor(name="nsi_exports_sensor", job=job, minimum_interval_seconds=300,
               default_status=dg.DefaultSensorStatus.STOPPED,
               description="Requests a month once all four exports for it are in raw/; a changed file requests it again.")
    def exports_sensor(context: dg.SensorEvaluationContext):
        keys = monthly_partitions.get_partition_keys()[-LOOKBACK_MONTHS:]
        requests = []
        for month in keys:
            files = complete_exports(raw, month)
            if files is None:
                continue
            # The run key changes when any file changes, so a corrected export is picked up again.
            stamp = hashlib.sha256("|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files).encode())
            requests.append(dg.RunRequest(run_key=f"{month}:{stamp.hexdigest()[:16]}", partition_key=month))
        return dg.SensorResult(run_requests=requests)

    return exports_sensor
