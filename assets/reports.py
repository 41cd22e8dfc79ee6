"""Report asset: one PDF briefing per district and the city overview, work/<month>/reports/<code>.pdf.

Thin: what a briefing says is in reports.briefing, the rendering in reports.render; the publication
asset then publishes the month's work folder.
"""

import hashlib

import dagster as dg

from assets import stages
from assets.partitions import monthly_partitions
from assets.per_month import MonthChecks, add_month_metadata, monthly_check
from assets.resources import BriefingRenderer, NsiWarehouse, RunPins
from nsi.month import Month
from nsi.publication import manifest, work
from nsi.reference import load_reference
from reports.briefing import month_briefings
from reports.render import render_all

NO_FETCH = "nothing_fetched_from_outside"


@dg.asset(
    group_name=stages.GROUP, tags=stages.tags("reports"), deps=["safety_index"], partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(), kinds={"pdf"}, code_version="1",
    description=stages.description(
        "reports", "11区及全市的PDF简报",
        "Chinese PDF briefing per district (2–4 pages) and the city overview, PDF/A-3u with the index rows "
        "attached, byte-identical on rerun, in the month's work folder (data/work/<month>/reports/); "
        "published by the `publication` asset. Each month's materialization: the number of PDFs and their sha256."),
    check_specs=[monthly_check(NO_FETCH, "district_reports", blocking=True,
                               description="rendering fetched no file or URL outside reports/")],
)
def district_reports(context: dg.AssetExecutionContext, warehouse: NsiWarehouse, renderer: BriefingRenderer,
                     pins: RunPins):
    reference = load_reference()
    checks = MonthChecks(context)
    for key in context.partition_keys:
        if not pins.renders_briefings(key):
            continue
        with warehouse.connect() as con:
            jobs = month_briefings(con, Month.parse(key), reference, pins.methodology(key))
        written, refused_all = {}, []
        produced = []
        for code, pdf, refused in render_all(jobs, pool=renderer.pool):
            work.write_output(warehouse.root, key, f"reports/{code}.pdf", pdf)
            written[code] = hashlib.sha256(pdf).hexdigest()
            refused_all += refused
            produced.append(f"reports/{code}.pdf")
        with warehouse.connect() as con:  # the month's manifest lists its briefings beside its index files
            manifest.record_computed(con, key, work.work_dir(warehouse.root, key), context.run.run_id, produced,
                                     keep_earlier=True,
                                     indicator_names={i.code: i.name_zh for i in pins.methodology(key).indicators})
        context.log.info(f"{key}: {len(jobs)} briefings")
        add_month_metadata(context, key, {"pdfs": len(written), "sha256": dg.MetadataValue.json(written)})
        checks.add(key, NO_FETCH, not refused_all,
                   description=f"{key}: rendering asked for {', '.join(refused_all[:5])}" if refused_all else None,
                   metadata={"refused": dg.MetadataValue.json(refused_all[:20])})
    yield dg.MaterializeResult()
    yield from checks.results()
