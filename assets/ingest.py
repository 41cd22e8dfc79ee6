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
from nsi.ingest import completeness
from nsi.exports import EXTENSIONS, SOURCES
from nsi.ingest.inspect import findings_text, inspect_failure
from nsi.ingest.month import Folders, NotExtractedError, extract_month, load_month, record_extract
from nsi.ingest.read import ExportFileError, MissingColumnsError
from nsi.ingest.validate import RULE_MESSAGES, WrongMonthError
from nsi.month import Month
from nsi.reference import load_reference

RECONCILES = "rows_reconcile"
ALL_DISTRICTS = "all_11_districts"
PLAUSIBLE_VOLUME = "volume_within_trailing_band"
KNOWN_VALUES = "unknown_values_within_share"
COMPLETE = "export_complete"
VOLUME_BAND = (0.5, 1.6)  # of the median of the trailing three months


def find_export(warehouse: NsiWarehouse, source: str, month: str):
    folder = warehouse.raw / source
    candidates = sorted(p for p in folder.glob(f"{month}.*") if p.name.lower() in {f"{month}.{e}" for e in EXTENSIONS})
    if not candidates:
        return folder / f"{month}.csv"  # read_export says it is missing and where it goes
    if len(candidates) > 1:
        raise ExportFileError(candidates[0], f"two exports for {month}: {', '.join(p.name for p in candidates)}",
                              "Keep only the one to load")
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
                                          settings.pii_key)
            except ExportFileError as exc:
                raise _fail(exc, source, month) from exc
            except vocabularies.VocabularyError as exc:
                raise dg.Failure(description=f"{source} {month}: {exc}") from exc
            with warehouse.connect() as con:
                record_extract(con, extracted)
            if extracted.development_key:
                context.log.warning("NSI_PII_KEY is not set: personal data is hashed with the development key")
            unknown = extracted.unknown_values
            add_month_metadata(context, month, {
                "rows_read": extracted.rows_read, "file": extracted.file_name, "input_sha256": extracted.sha256,
                "encoding": extracted.encoding, "vocabulary": vocabulary.name,
                "unknown_value_rows": int(unknown["rows"].sum()) if unknown.height else 0,
                "unknown_values": frame_table(unknown.select("column", "value", "rows", "action")),
            })
            context.log.info(f"{source} {month}: read {extracted.rows_read} rows from {extracted.file_name} "
                             f"({extracted.encoding}, vocabulary {vocabulary.name})")
            if unknown.height:
                listed = "; ".join(f"{r['column']} '{r['value']}' ×{r['rows']} ({r['action']})" for r in unknown.head(10).iter_rows(named=True))
                context.log.warning(f"{source} {month}: values not in {vocabulary.name}: {listed}")
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
            monthly_check(RECONCILES, f"valid_{source}", blocking=True,
                          description="rows read = loaded + rejected + duplicates and re-exports dropped"),
            monthly_check(ALL_DISTRICTS, f"valid_{source}", blocking=True,
                          description="every one of the 11 districts has loaded rows"),
            monthly_check(PLAUSIBLE_VOLUME, f"valid_{source}",
                          description="rows loaded within 0.5–1.6× the median of the three months before"),
            monthly_check(COMPLETE, f"valid_{source}",
                          description="the export looks whole: last line complete, rows within the band of "
                                      "data/reference/volumes.csv and against last year, most days of the month "
                                      "covered; a month that fails is computed but not published without a reason"),
            monthly_check(KNOWN_VALUES, f"valid_{source}", blocking=True,
                          description="rows rejected for a value the vocabulary does not know stay within the share "
                                      "the methodology allows (unknown_values.max_share)"),
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
                    loaded = load_month(con, source, month, _folders(warehouse), context.run.run_id, settings.vocabulary_dir)
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
            incomplete = [f"{f.check}: {f.detail}" for f in findings if not f.passed]
            if incomplete:
                context.log.warning(f"{source} {key}: the export may be incomplete: " + "; ".join(incomplete))
            limit = pins.methodology(key).unknown_values.max_share
            unknown_rows = validated.rejected_by_rule.get("unknown_value", 0)
            share = unknown_rows / validated.rows_read if validated.rows_read else 0.0
            missing = sorted(all_codes - set(loaded.districts_covered))
            outside_band = median is not None and not (
                VOLUME_BAND[0] * median <= validated.rows_loaded <= VOLUME_BAND[1] * median)
            context.log.info(
                f"{source} {key}: read {validated.rows_read}, loaded {validated.rows_loaded}, rejected "
                f"{validated.rows_rejected}, duplicates {validated.duplicates_dropped}, re-exports {validated.reexports_dropped}"
            )
            add_month_metadata(context, key, {
                "rows_read": validated.rows_read, "rows_loaded": validated.rows_loaded,
                "rows_rejected": validated.rows_rejected, "duplicates_dropped": validated.duplicates_dropped,
                "reexports_dropped": validated.reexports_dropped,
                "rejected_by_rule": dg.MetadataValue.json(
                    {r: {"rows": n, "meaning": RULE_MESSAGES.get(r, r)} for r, n in sorted(validated.rejected_by_rule.items())}),
                "districts_covered": len(loaded.districts_covered),
            })
            checks.add(key, RECONCILES, validated.reconciles, description=None if validated.reconciles else (
                f"{key}: {validated.rows_read} rows read, but {validated.rows_loaded} loaded + {validated.rows_rejected} "
                f"rejected + {validated.duplicates_dropped + validated.reexports_dropped} dropped"), metadata={
                "rows_read": validated.rows_read, "rows_loaded": validated.rows_loaded,
                "rows_rejected": validated.rows_rejected,
                "rows_dropped": validated.duplicates_dropped + validated.reexports_dropped})
            checks.add(key, ALL_DISTRICTS, not missing,
                       description=f"{key}: no rows loaded for {', '.join(missing)}" if missing else None,
                       metadata={"missing_districts": dg.MetadataValue.json(missing)})
            checks.add(key, COMPLETE, not incomplete, severity=dg.AssetCheckSeverity.WARN,
                       description=f"{key}: {'; '.join(incomplete)}" if incomplete else None,
                       metadata={"incomplete": dg.MetadataValue.json(incomplete)})
            checks.add(key, KNOWN_VALUES, share <= limit,
                       description=None if share <= limit else (
                           f"{key}: {unknown_rows} rows ({share:.1%}) have values the vocabulary does not know, more "
                           f"than {limit:.1%}; add the values listed by `nsi inspect` (or the run summary) to "
                           f"data/vocabularies/{loaded.vocabulary}.yaml, then run the month again"),
                       metadata={"rows": unknown_rows, "share": round(share, 4), "allowed": limit})
            checks.add(key, PLAUSIBLE_VOLUME, not outside_band, severity=dg.AssetCheckSeverity.WARN,
                       description=f"{key}: {validated.rows_loaded} rows against a trailing median of {median:.0f}"
                                   if outside_band else None,
                       metadata={"rows_loaded": validated.rows_loaded, "trailing_median": median})
        yield dg.MaterializeResult()
        yield from checks.results()

    return _valid


ingest_assets = [asset for source in SOURCES for asset in (build_extract(source), build_valid(source))]
