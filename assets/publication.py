"""Publication asset: a month's work folder published as a numbered revision, with its manifest.

Thin: the manifest is built in nsi.publication.manifest, the revision switched in nsi.publication.revisions.
"""

import dagster as dg

from assets import stages
from assets.partitions import monthly_partitions
from assets.per_month import add_month_metadata
from assets.resources import NsiWarehouse
from nsi.ingest.completeness import failed_text
from nsi.publication import manifest, revisions
from nsi.publication.work import work_dir


class PublicationConfig(dg.Config):
    # Why a month already published is published again with different results (becomes revision N+1),
    # or why a month whose exports look incomplete is published as it is.
    reason: str | None = None


@dg.asset(
    group_name=stages.GROUP, tags=stages.tags("publish"), deps=["safety_index", "district_reports"],
    partitions_def=monthly_partitions, backfill_policy=dg.BackfillPolicy.single_run(), kinds={"json"}, code_version="1",
    description=stages.description(
        "publish", "编号修订版与 manifest.json，原子切换",
        "The month's outputs (index.csv, index.xlsx, the briefings) published as one numbered revision, "
        "switched at once: data/work/<month>/ → published/<month>/rev-<N>/, linked from out/<month>. "
        "manifest.json records inputs with sha256 and row counts, versions, outputs with sha256 and the run; "
        "each publication is a row of `publications`. Results identical to the current revision publish "
        "nothing new; different results need a reason (config `reason`, `nsi run --reason`). Each month's "
        "materialization: its revision, whether it is new, and the reason."),
)
def publication(context: dg.AssetExecutionContext, config: PublicationConfig, warehouse: NsiWarehouse):
    for key in context.partition_keys:
        folder = work_dir(warehouse.root, key)
        with warehouse.connect() as con:
            incomplete = manifest.incomplete_inputs(con, key)
            if incomplete and not config.reason:
                raise dg.Failure(description=(
                    f"{key} is not published: its exports may be incomplete ({failed_text(incomplete)}). "
                    f"Its results are in {folder}. Put the complete exports in raw/ and run the month again, or "
                    f"publish it as it is with --reason \"…\" (e.g. the source system confirmed the figures)"))
            manifest.write(manifest.build(con, key, folder, context.run.run_id), folder)
        try:
            outcome = revisions.publish(warehouse.root, key, config.reason)
        except revisions.PublicationRefused as exc:
            raise dg.Failure(description=f"{key}: {exc}") from exc
        with warehouse.connect() as con:
            revisions.record(con, outcome, context.run.run_id)
        context.log.info(f"{key}: revision {outcome.revision} {outcome.status}")
        add_month_metadata(context, key, {"revision": outcome.revision, "status": outcome.status,
                                          "reason": outcome.reason or ""})
    return dg.MaterializeResult()
