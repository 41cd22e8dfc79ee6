"""The Dagster code location: every asset of the monthly pipeline, its resources, one job.

Resources are configured here and nowhere else, from the settings (nsi.settings). `build_definitions`
is also how `nsi verify` rebuilds a month: the same assets and job on a scratch data directory, with
the versions of the month's publication pinned.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.delivery import briefing_deliveries
from assets.index import safety_index
from assets.ingest import ingest_assets
from assets.publication import publication
from assets.reports import district_reports
from assets.resources import BriefingRenderer, Mail, NsiWarehouse, PersonalDataKey, RunPins
from nsi import settings as nsi_settings
from pipelines.automation import build_schedule, build_sensor

JOB = "nsi_monthly"
# The run-queue limit of the production instance (deploy/dagster.postgres.yaml) keys on this tag.
WRITES_WAREHOUSE = {"nsi/writes": "warehouse"}


def build_definitions(settings: nsi_settings.Settings, data_dir: Path | None = None,
                      pins: RunPins | None = None, recipients: str | None = None) -> dg.Definitions:
    """data_dir, pins and recipients replace what the settings say (a rebuild passes all three)."""
    monthly_job = dg.define_asset_job(
        JOB, selection=dg.AssetSelection.all(),
        description="Every asset of one month (or a range, as one run): ingest → index → reports → publication → delivery.",
        tags=WRITES_WAREHOUSE,
    )
    root = str(data_dir or settings.data_dir)
    return dg.Definitions(
        assets=[*ingest_assets, safety_index, district_reports, publication, briefing_deliveries],
        jobs=[monthly_job],
        schedules=[build_schedule(monthly_job)],
        sensors=[build_sensor(monthly_job, Path(root) / "raw")],
        resources={
            "warehouse": NsiWarehouse(data_dir=root, lock_wait_seconds=settings.lock_wait_seconds),
            "renderer": BriefingRenderer(),
            "pins": pins or RunPins(),
            "personal_data_key": PersonalDataKey(),
            "mail": Mail(recipients=recipients or settings.recipients),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions(nsi_settings.load())
