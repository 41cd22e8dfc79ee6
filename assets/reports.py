"""Report asset: one PDF briefing per district and the city overview, data/out/<month>/reports/<code>.pdf."""

import hashlib
import os

import dagster as dg
import polars as pl

from indicators import methodology as methodologies
from nsi import manifest, publish
from nsi.reference import CITY_CODE, load_reference
from nsi.sample.generate import sample_scale
from nsi.reports import context as briefings
from nsi.reports.render import render_all
from nsi.month import Month
from pipelines.partitions import monthly_partitions
from pipelines.resources import BriefingRenderer, NsiWarehouse

NO_FETCH = "nothing_fetched_from_outside"
PUBLICATIONS_DDL = ("CREATE TABLE IF NOT EXISTS publications (month VARCHAR, revision INTEGER, status VARCHAR, "
                    "reason VARCHAR, run_id VARCHAR, recorded_at TIMESTAMP)")


def month_versions(con, key: str) -> tuple[str, str]:
    """(input sha256, data version): the hash of the month's input hashes, and of its index rows."""
    inputs = con.execute("SELECT source || ':' || file_sha256 FROM ingest_log WHERE month = ? ORDER BY source", [key]).fetchall()
    input_sha = hashlib.sha256("\n".join(r[0] for r in inputs).encode()).hexdigest()
    rows = con.execute("SELECT * FROM safety_index WHERE month = ? ORDER BY code", [key]).pl()
    return input_sha, hashlib.sha256(rows.write_csv().encode()).hexdigest()


@dg.asset(
    group_name="reports", deps=["safety_index"], partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(), kinds={"pdf"}, code_version="1",
    description="Chinese PDF briefing per district (2–4 pages) and the city overview, PDF/A-3u with the index rows "
                "attached, byte-identical on rerun; the month's manifest.json (inputs with sha256 and row counts, "
                "versions, outputs with sha256, run id); then publication of the whole month as a numbered "
                "revision, switched at once: data/out/<month>/ → published/<month>/rev-<N>/.",
    check_specs=[dg.AssetCheckSpec(NO_FETCH, asset="district_reports", blocking=True,
                                   description="rendering fetched no file or URL outside reports/")],
)
def district_reports(context: dg.AssetExecutionContext, warehouse: NsiWarehouse, renderer: BriefingRenderer):
    reference = load_reference()
    refused_all: list[str] = []
    written = {}
    publications = {}
    for key in context.partition_keys:
        month = Month.parse(key)
        method = methodologies.for_run(key)
        jobs = []
        with warehouse.connect() as con:
            input_sha, data_version = month_versions(con, key)
            index = con.execute("SELECT * FROM safety_index WHERE month = ? ORDER BY code", [key]).pl()
            for code in [*reference.district_codes, CITY_CODE]:
                briefing = briefings.build(con, month, code, reference, method)
                rows = index if code == CITY_CODE else index.filter(pl.col("code") == code)
                jobs.append((briefing, rows, input_sha, data_version))
        folder = publish.work_dir(warehouse.root, key) / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        for code, pdf, refused in render_all(jobs, pool=renderer.pool):
            partial = folder / f".{code}.pdf.part"
            partial.write_bytes(pdf)
            partial.replace(folder / f"{code}.pdf")
            written[f"{key}/{code}"] = hashlib.sha256(pdf).hexdigest()
            refused_all += refused
        with warehouse.connect() as con:
            record = manifest.build(con, key, folder.parent, context.run_id, method.version,
                                    sample_scale(warehouse.root, month),
                                    lambda m: sample_scale(warehouse.root, Month.parse(m)))
        manifest.write(record, folder.parent)
        reason = context.run.tags.get("nsi/reason") or os.environ.get("NSI_PUBLISH_REASON")
        try:
            outcome = publish.publish(warehouse.root, key, reason)
        except publish.PublicationRefused as exc:
            raise dg.Failure(description=f"{key}: {exc}") from exc
        with warehouse.connect() as con:
            con.execute(PUBLICATIONS_DDL)
            con.execute("INSERT INTO publications VALUES (?, ?, ?, ?, ?, current_timestamp)",
                        [key, outcome.revision, outcome.status, outcome.reason, context.run_id])
        publications[key] = f"revision {outcome.revision} ({outcome.status})"
        context.log.info(f"{key}: {len(jobs)} briefings; revision {outcome.revision} {outcome.status}")
    yield dg.MaterializeResult(metadata={"pdfs": len(written), "sha256": dg.MetadataValue.json(written),
                                         "publication": dg.MetadataValue.json(publications)})
    yield dg.AssetCheckResult(check_name=NO_FETCH, passed=not refused_all, metadata={"refused": refused_all[:20]})
