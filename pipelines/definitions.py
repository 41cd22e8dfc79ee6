"""The Dagster code location: every asset of the monthly pipeline, its resources, one job."""

import dagster as dg

from assets.delivery import briefing_deliveries
from assets.index import safety_index
from assets.ingest import ingest_assets
from assets.reports import district_reports
from pipelines.automation import build_schedule, build_sensor
from pipelines.resources import BriefingRenderer, NsiWarehouse, default_data_dir

# The run-queue limit of the production instance (deploy/dagster.postgres.yaml) keys on this tag.
WRITES_WAREHOUSE = {"nsi/writes": "warehouse"}

monthly_job = dg.define_asset_job(
    "nsi_monthly", selection=dg.AssetSelection.all(),
    description="Every asset of one month (or a range, as one run): ingest → index → reports → delivery.",
    tags=WRITES_WAREHOUSE,
)

defs = dg.Definitions(
    assets=[*ingest_assets, safety_index, district_reports, briefing_deliveries],
    jobs=[monthly_job],
    schedules=[build_schedule(monthly_job)],
    sensors=[build_sensor(monthly_job)],
    resources={"warehouse": NsiWarehouse(data_dir=default_data_dir()), "renderer": BriefingRenderer()},
    executor=dg.in_process_executor,
)
