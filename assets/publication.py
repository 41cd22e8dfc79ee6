"""Publication asset: a month's work folder published as a numbered revision, with its manifest.

Thin: the manifest is built in nsi.publication.manifest, the revision switched in nsi.publication.revisions;
the briefings of a correction are rendered again with its mark by `corrected_briefings`.
"""

import dagster as dg

from assets import stages
from assets.partitions import monthly_partitions
from assets.per_month import add_month_metadata
from assets.resources import BriefingRenderer, NsiWarehouse, RunPins
from indicators.methodology import Methodology
from nsi.ingest.completeness import failed_text
from nsi.messages import N_, _
from nsi.month import Month
from nsi.publication import manifest, revisions
from nsi.publication.work import work_dir
from nsi.reference import load_reference
from reports.briefing import month_briefings
from reports.render import render_all


# What publication says in the run summary and the Dagster UI.
TEXT = {
    "incomplete": N_("{month} is not published: its exports may be incomplete ({failed}). Its results are in {folder}. "
                     "Put the complete exports in raw/ and run the month again, or publish it as it is with "
                     "--reason \"…\" (e.g. the source system confirmed the figures)"),
    # The outcome of a month (revisions.Publication.status), for the run's log.
    "published": N_("{month}: revision {revision} published"),
    "unchanged": N_("{month}: revision {revision} unchanged (the results are those already published)"),
}


def said(key: str) -> str:
    """One of TEXT's messages in the language in use."""
    return _(TEXT[key])


class PublicationConfig(dg.Config):
    # Why a month already published is published again with different results (becomes revision N+1),
    # or why a month whose exports look incomplete is published as it is.
    reason: str | None = None


def corrected_briefings(con, month: str, methodology: Methodology, correction: dict, pool=None) -> dict[str, bytes]:
    """reports/<code>.pdf → the briefing with the correction's mark (更正版, date, reason on every page).

    The same function makes the published correction and its rebuild by `nsi verify`, so both give the same bytes."""
    jobs = month_briefings(con, Month.parse(month), load_reference(), methodology, correction=correction)
    return {f"reports/{code}.pdf": pdf for code, pdf, _refused in render_all(jobs, pool=pool)}


@dg.asset(
    group_name=stages.GROUP, tags=stages.tags("publish"), deps=["safety_index", "district_reports"],
    partitions_def=monthly_partitions, backfill_policy=dg.BackfillPolicy.single_run(), kinds={"json"}, code_version="1",
    description=stages.description(
        "publish", "编号修订版与 manifest.json，原子切换",
        "The month's outputs (index.csv, index.xlsx, the briefings) published as one numbered revision, "
        "switched at once: data/work/<month>/ → published/<month>/rev-<N>/, linked from out/<month>. "
        "manifest.json records inputs with sha256 and row counts, versions, outputs with sha256, the index "
        "values and the run; each publication is a row of `publications`. Results identical to the current "
        "revision publish nothing new; different results need a reason (config `reason`, `nsi run --reason`) "
        "and become a correction: its briefings are marked 更正版 on every page with the date and the reason, "
        "and its manifest points back to the revision it replaces. Each month's materialization: its revision, "
        "whether it is new, and the reason."),
)
def publication(context: dg.AssetExecutionContext, config: PublicationConfig, warehouse: NsiWarehouse,
                renderer: BriefingRenderer, pins: RunPins):
    for key in context.partition_keys:
        folder = work_dir(warehouse.root, key)
        with warehouse.connect() as con:
            incomplete = manifest.incomplete_inputs(con, key)
            if incomplete and not config.reason:
                raise dg.Failure(description=said("incomplete").format(month=key, failed=failed_text(incomplete),
                                                                          folder=folder))
            names = {i.code: i.name_zh for i in pins.methodology(key).indicators}
            manifest.write(manifest.build(con, key, folder, context.run.run_id, indicator_names=names), folder)

        def mark(correction: dict, key=key) -> dict[str, bytes]:
            with warehouse.connect() as con:
                return corrected_briefings(con, key, pins.methodology(key), correction, renderer.pool)
        try:
            outcome = revisions.publish(warehouse.root, key, config.reason, mark=mark)
        except revisions.PublicationRefused as exc:
            raise dg.Failure(description=f"{key}: {exc}") from exc
        with warehouse.connect() as con:
            revisions.record(con, outcome, context.run.run_id)
        context.log.info(_(TEXT[outcome.status]).format(month=key, revision=outcome.revision))
        add_month_metadata(context, key, {"revision": outcome.revision, "status": outcome.status,
                                          "reason": outcome.reason or ""})
    return dg.MaterializeResult()
