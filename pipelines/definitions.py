"""The Dagster code location: every asset of the monthly pipeline, its resources, one job.

Resources are configured here and nowhere else, from the settings (nsi.settings): `nsi` builds them
from the settings it validated when the command started; `dagster dev` (nsi ui) from the module-level
`defs`. `build_definitions` is also how `nsi verify` rebuilds a month: the same assets and job on a
scratch data directory, with the versions of the month's publication pinned.
"""

from __future__ import annotations

import dagster as dg

from assets.delivery import briefing_deliveries
from assets.index import safety_index
from assets.ingest import ingest_assets
from assets.publication import publication
from assets.reports import district_reports
from assets.resources import BriefingRenderer, NsiWarehouse, RunPins
from nsi import settings as nsi_settings
from pipelines.automation import build_schedule, build_sensor

JOB = "nsi_monthly"
# The run-queue limit of the production instance (deploy/dagster.postgres.yaml) keys on this tag.
WRITES_WAREHOUSE = {"nsi/writes": "warehouse"}


def build_definitions(settings: nsi_settings.Settings, pins: RunPins | None = None) -> dg.Definitions:
    """pins: what a rebuild must compute with (nsi verify); otherwise each month's current choice."""
    monthly_job = dg.define_asset_job(
        JOB, selection=dg.AssetSelection.all(),
        description="Every asset of one month (or a range, as one run): ingest → index → reports → publication → delivery.",
        tags=WRITES_WAREHOUSE,
    )
    return dg.Definitions(
        assets=[*ingest_assets, safety_index, district_reports, publication, briefing_deliveries],
        jobs=[monthly_job],
        schedules=[build_schedule(monthly_job)],
        sensors=[build_sensor(monthly_job, settings.data_dir / "raw")],
        resources={
            "warehouse": NsiWarehouse(data_dir=str(settings.data_dir), lock_wait_seconds=settings.lock_wait_seconds),
            "renderer": BriefingRenderer(),
            "pins": pins or RunPins(),
            "settings": settings,
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions(nsi_settings.load())
