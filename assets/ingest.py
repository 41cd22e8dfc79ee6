"""Ingest assets: extract_<source> (decode, map, mask, archive) and valid_<source> (dedupe, validate, load).

Thin wrappers: the work is in nsi.ingest; these read and write the warehouse and report to Dagster.
"""

import dagster as dg

from assets import stages
from assets.metadata_values import frame_table
from assets.partitions import monthly_partitions
from assets.per_month import MonthChecks, add_month_metadata, monthly_check
from assets.resources import NsiWarehouse, RunPins, SettingsResource
from nsi import vocabulary as vocabularies
from nsi import warehouse as warehouse_tables
from nsi.exports import EXTENSIONS, SOURCES
from nsi.ingest import completeness
from nsi.ingest.inspect import findings_text, inspect_failure
from nsi.ingest.month import Folders, NotExtractedError, extract_month, load_month, record_extract
from nsi.ingest.read import ExportFileError, MissingColumnsError
from nsi.ingest.validate import RULE_MESSAGES, WrongMonthError
from nsi.messages import N_, _
from nsi.month import Month
from nsi.reference import load_reference

RECONCILES = "rows_reconcile"
ALL_DISTRICTS = "all_11_districts"
PLAUSIBLE_VOLUME = "volume_within_trailing_band"
KNOWN_VALUES = "unknown_values_within_share"
COMPLETE = "export_complete"
VOLUME_BAND = (0.5, 1.6)  # of the median of the trailing three months

# What the checks of a month are (their specs) and what a failed one found: the run summary and the Dagster UI
# show them, in the language of the run.
CHECK_TEXT = {
    RECONCILES: N_("rows read = loaded + rejected + duplicates and re-exports dropped"),
    ALL_DISTRICTS: N_("every one of the 11 districts has loaded rows"),
    PLAUSIBLE_VOLUME: N_("rows loaded within 0.5–1.6× the median of the three months before"),
    COMPLETE: N_("the export looks whole: last line complete, rows within the band of data/reference/volumes.csv and "
                 "against last year, most days of the month covered; a month that fails is computed but not "
                 "published without a reason"),
    KNOWN_VALUES: N_("rows rejected for a value the vocabulary does not know stay within the share the methodology "
                     "allows (unknown_values.max_share)"),
}
FAILED_TEXT = {
    RECONCILES: N_("{month}: {read} rows read, but {loaded} loaded + {rejected} rejected + {dropped} dropped"),
    ALL_DISTRICTS: N_("{month}: no rows loaded for {districts}"),
    KNOWN_VALUES: N_("{month}: {rows} rows ({share}) have values the vocabulary does not know, more than {allowed}; "
                     "add the values listed by `nsi inspect` (or the run summary) to data/vocabularies/{vocabulary}.yaml, "
                     "then run the month again"),
    PLAUSIBLE_VOLUME: N_("{month}: {rows} rows against a trailing median of {median}"),
}
LOG_TEXT = {
    "two_exports": N_("two exports for {month}: {files}"),
    "keep_one": N_("Keep only the one to load"),
    "development_key": N_("NSI_PII_KEY is not set: personal data is hashed with the development key"),
    "read": N_("{source} {month}: read {rows} rows from {file} ({encoding}, vocabulary {vocabulary})"),
    "unknown_values": N_("{source} {month}: values not in {vocabulary}: {values}"),
    "incomplete": N_("{source} {month}: the export may be incomplete: {problems}"),
    "loaded": N_("{source} {month}: read {read}, loaded {loaded}, rejected {rejected}, duplicates {duplicates}, "
                 "re-exports {reexports}"),
}


def said(key: str) -> str:
    """One of LOG_TEXT's messages in the language in use."""
    return _(LOG_TEXT[key])


def find_export(warehouse: NsiWarehouse, source: str, month: str):
    folder = warehouse.raw / source
    candidates = sorted(p for p in folder.glob(f"{month}.*") if p.name.lower() in {f"{month}.{e}" for e in EXTENSIONS})
    if not candidates:
        return folder / f"{month}.csv"  # read_export says it is missing and where it goes
    if len(candidates) > 1:
        raise ExportFileError(candidates[0], said("two_exports").format(
            month=month, files=", ".join(p.name for p in candidates)), said("keep_one"))
    return candidates[0]


def _folders(warehouse: NsiWarehouse) -> Folders:
    return Folders(archive=warehouse.archive, extract=warehouse.extract_dir)


def _fail(exc: Exception, source: str, month: str) -> dg.Failure:
    metadata = {"file": str(getattr(exc, "path", "")), "what to do": getattr(exc, "action", "")}
    description = f"{source} {month}: {exc}"
    if isinstance(exc, MissingColumnsError):
        # Everything the inspector finds, so that one edit of the vocabulary fixes the file.
        findings = findings_text(inspect_failure(exc))
        metadata["findings"] = dg.MetadataValue.md(f"```\n{findings}\n```")
        description += "\n" + findings
    return dg.Failure(description=description, metadata=metadata)


def _labels(source: str) -> vocabularies.Vocabulary:
    return vocabularies.load(source)


def build_extract(source: str) -> dg.AssetsDefinition:
    spec = _labels(source)

    @dg.asset(
        name=f"extract_{source}", group_name=stages.GROUP, tags=stages.tags("ingest"), partitions_def=monthly_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(), kinds={"parquet", "polars"}, code_version="1",
        description=stages.description(
            "ingest", f"{spec.label_zh}：读取导出文件，脱敏，归档",
            f"{spec.label_zh} export of the month: decoded, headers and values mapped through the source's "
            "vocabulary (data/vocabularies), dates parsed, districts resolved, "
            "personal data replaced by keyed hashes (warehouse/extract/<source>/<month>.parquet); "
            "the input file archived by its sha256. Each month's materialization: rows_read, file, "
            "input_sha256, encoding, vocabulary and the values the vocabulary does not know."),
    )
    def _extract(context: dg.AssetExecutionContext, warehouse: NsiWarehouse, pins: RunPins,
                 settings: SettingsResource) -> dg.MaterializeResult:
        reference = load_reference()
        for month in context.partition_keys:
            try:
                vocabulary = pins.vocabulary(source, month, settings.vocabulary_dir)
                path = find_export(warehouse, source, month)
                extracted = extract_month(path, vocabulary, month, reference, _folders(warehouse), context.run.run_id,
                                          settings.pii_key, settings.ingest_batch_rows)
            except ExportFileError as exc:
                raise _fail(exc, source, month) from exc
            except vocabularies.VocabularyError as exc:
                raise dg.Failure(description=f"{source} {month}: {exc}") from exc
            with warehouse.connect() as con:
                record_extract(con, extracted)
            if extracted.development_key:
                context.log.warning(said("development_key"))
            unknown = extracted.unknown_values
            add_month_metadata(context, month, {
                "rows_read": extracted.rows_read, "file": extracted.file_name, "input_sha256": extracted.sha256,
                "encoding": extracted.encoding, "vocabulary": vocabulary.name,
                "unknown_value_rows": int(unknown["rows"].sum()) if unknown.height else 0,
                "unknown_values": frame_table(unknown.select("column", "value", "rows", "action")),
            })
            context.log.info(said("read").format(source=source, month=month, rows=extracted.rows_read,
                                                        file=extracted.file_name, encoding=extracted.encoding,
                                                        vocabulary=vocabulary.name))
            if unknown.height:
                listed = "; ".join(f"{r['column']} '{r['value']}' ×{r['rows']} ({r['action']})" for r in unknown.head(10).iter_rows(named=True))
                context.log.warning(said("unknown_values").format(source=source, month=month,
                                                                         vocabulary=vocabulary.name, values=listed))
        return dg.MaterializeResult()

    return _extract


def build_valid(source: str) -> dg.AssetsDefinition:
    spec = _labels(source)

    @dg.asset(
        name=f"valid_{source}", group_name=stages.GROUP, tags=stages.tags("ingest"), partitions_def=monthly_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(), kinds={"duckdb", "pandera"}, code_version="1",
        deps=[f"extract_{source}"],
        description=stages.description(
            "ingest", f"{spec.label_zh}：校验入库，问题行记入 rejects",
            f"Validated {spec.label_zh} rows of the month (table valid_{source}); rejected rows in `rejects` with "
            "file, row, column and rule; duplicates and re-exports of last month dropped and counted. Each month's "
            "materialization: rows read, loaded, rejected and dropped, rejections by rule, districts covered."),
        check_specs=[
            monthly_check(RECONCILES, f"valid_{source}", blocking=True, description=_(CHECK_TEXT[RECONCILES])),
            monthly_check(ALL_DISTRICTS, f"valid_{source}", blocking=True, description=_(CHECK_TEXT[ALL_DISTRICTS])),
            monthly_check(PLAUSIBLE_VOLUME, f"valid_{source}", description=_(CHECK_TEXT[PLAUSIBLE_VOLUME])),
            monthly_check(COMPLETE, f"valid_{source}", description=_(CHECK_TEXT[COMPLETE])),
            monthly_check(KNOWN_VALUES, f"valid_{source}", blocking=True, description=_(CHECK_TEXT[KNOWN_VALUES])),
        ],
    )
    def _valid(context: dg.AssetExecutionContext, warehouse: NsiWarehouse, pins: RunPins, settings: SettingsResource):
        reference = load_reference()
        all_codes = set(reference.district_codes)
        checks = MonthChecks(context)
        for key in context.partition_keys:
            month = Month.parse(key)
            with warehouse.connect() as con:
                try:
                    loaded = load_month(con, source, month, _folders(warehouse), context.run.run_id, settings.vocabulary_dir,
                                        settings.ingest_memory_mb)
                except NotExtractedError as exc:
                    raise dg.Failure(description=str(exc)) from exc
                except WrongMonthError as exc:
                    raise dg.Failure(description=f"{source} {key}: {exc}") from exc
            validated, median = loaded.counts, loaded.trailing_median
            scale = pins.population_scale(warehouse.raw, month)
            last_year = loaded.last_year_rows
            if last_year and reference.volumes[source].scales_with_population:
                # A synthetic year at another --scale: compare like with like.
                last_year = round(last_year * scale / pins.population_scale(warehouse.raw, month.year_before()))
            findings = completeness.assess(source, month, validated.rows_read, loaded.days_covered, loaded.cut_row,
                                           last_year, reference.volumes[source], scale)
            with warehouse.connect() as con:
                warehouse_tables.replace_months(con, [warehouse_tables.MonthWrite(
                    "completeness", completeness.frame(findings), {"source": source, "month": key})])
            incomplete = [f"{f.check}: {completeness.said(f.detail)}" for f in findings if not f.passed]
            if incomplete:
                context.log.warning(said("incomplete").format(source=source, month=key,
                                                                     problems="; ".join(incomplete)))
            limit = pins.methodology(key).unknown_values.max_share
            unknown_rows = validated.rejected_by_rule.get("unknown_value", 0)
            share = unknown_rows / validated.rows_read if validated.rows_read else 0.0
            missing = sorted(all_codes - set(loaded.districts_covered))
            outside_band = median is not None and not (
                VOLUME_BAND[0] * median <= validated.rows_loaded <= VOLUME_BAND[1] * median)
            context.log.info(said("loaded").format(
                source=source, month=key, read=validated.rows_read, loaded=validated.rows_loaded,
                rejected=validated.rows_rejected, duplicates=validated.duplicates_dropped,
                reexports=validated.reexports_dropped))
            add_month_metadata(context, key, {
                "rows_read": validated.rows_read, "rows_loaded": validated.rows_loaded,
                "rows_rejected": validated.rows_rejected, "duplicates_dropped": validated.duplicates_dropped,
                "reexports_dropped": validated.reexports_dropped,
                "rejected_by_rule": dg.MetadataValue.json(
                    {r: {"rows": n, "meaning": RULE_MESSAGES.get(r, r)} for r, n in sorted(validated.rejected_by_rule.items())}),
                "districts_covered": len(loaded.districts_covered),
            })
            checks.add(key, RECONCILES, validated.reconciles, description=None if validated.reconciles else (
                _(FAILED_TEXT[RECONCILES]).format(month=key, read=validated.rows_read, loaded=validated.rows_loaded,
                                                  rejected=validated.rows_rejected,
                                                  dropped=validated.duplicates_dropped + validated.reexports_dropped)),
                metadata={
                "rows_read": validated.rows_read, "rows_loaded": validated.rows_loaded,
                "rows_rejected": validated.rows_rejected,
                "rows_dropped": validated.duplicates_dropped + validated.reexports_dropped})
            checks.add(key, ALL_DISTRICTS, not missing,
                       description=_(FAILED_TEXT[ALL_DISTRICTS]).format(month=key, districts=", ".join(missing))
                       if missing else None,
                       metadata={"missing_districts": dg.MetadataValue.json(missing)})
            checks.add(key, COMPLETE, not incomplete, severity=dg.AssetCheckSeverity.WARN,
                       description=f"{key}: {'; '.join(incomplete)}" if incomplete else None,
                       metadata={"incomplete": dg.MetadataValue.json(incomplete)})
            checks.add(key, KNOWN_VALUES, share <= limit,
                       description=None if share <= limit else (
                           _(FAILED_TEXT[KNOWN_VALUES]).format(month=key, rows=unknown_rows, share=f"{share:.1%}",
                                                               allowed=f"{limit:.1%}", vocabulary=loaded.vocabulary)),
                       metadata={"rows": unknown_rows, "share": round(share, 4), "allowed": limit})
            checks.add(key, PLAUSIBLE_VOLUME, not outside_band, severity=dg.AssetCheckSeverity.WARN,
                       description=_(FAILED_TEXT[PLAUSIBLE_VOLUME]).format(month=key, rows=validated.rows_loaded,
                                                                           median=f"{median:.0f}")
                       if outside_band else None,
                       metadata={"rows_loaded": validated.rows_loaded, "trailing_median": median})
        yield dg.MaterializeResult()
        yield from checks.results()

    return _valid


ingest_assets = [asset for source in SOURCES for asset in (build_extract(source), build_valid(source))]
