"""Ingest assets: extract_<source> (decode, map, mask, archive) and valid_<source> (dedupe, validate, load).

Thin wrappers: the work is in nsi.ingest; these read and write the warehouse and report to Dagster.
"""

import dagster as dg

from assets.partitions import monthly_partitions
from assets.resources import NsiWarehouse, RunPins, SettingsResource
from nsi import vocabulary as vocabularies
from nsi import warehouse as warehouse_tables
from nsi.ingest import completeness
from nsi.exports import EXTENSIONS, SOURCES
from nsi.ingest.inspect import findings_text, inspect_failure
from nsi.ingest.month import Folders, NotExtractedError, extract_month, load_month, record_extract
from nsi.ingest.read import ExportFileError, MissingColumnsError
from nsi.ingest.validate import RULE_MESSAGES, ValidationCounts, WrongMonthError
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
        name=f"extract_{source}", group_name="ingest", partitions_def=monthly_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(), kinds={"parquet", "polars"}, code_version="1",
        description=f"{spec.label_zh} export of the month: decoded, headers and values mapped through the source's "
                    "vocabulary (data/vocabularies), dates parsed, districts resolved, "
                    "personal data replaced by keyed hashes (warehouse/extract/<source>/<month>.parquet); "
                    "the input file archived by its sha256.",
    )
    def _extract(context: dg.AssetExecutionContext, warehouse: NsiWarehouse, pins: RunPins,
                 settings: SettingsResource) -> dg.MaterializeResult:
        reference = load_reference()
        summary = {}
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
            summary[month] = {"file": extracted.file_name, "sha256": extracted.sha256, "rows_read": extracted.rows_read,
                              "encoding": extracted.encoding, "vocabulary": vocabulary.name,
                              "unknown_values": unknown.select("column", "value", "rows", "action").to_dicts()}
            context.log.info(f"{source} {month}: read {extracted.rows_read} rows from {extracted.file_name} "
                             f"({extracted.encoding}, vocabulary {vocabulary.name})")
            if unknown.height:
                listed = "; ".join(f"{r['column']} '{r['value']}' ×{r['rows']} ({r['action']})" for r in unknown.head(10).iter_rows(named=True))
                context.log.warning(f"{source} {month}: values not in {vocabulary.name}: {listed}")
        last = summary[context.partition_keys[-1]]
        return dg.MaterializeResult(metadata={
            "rows_read": sum(s["rows_read"] for s in summary.values()),
            "input_sha256": last["sha256"], "encoding": last["encoding"], "vocabulary": last["vocabulary"],
            "unknown_values": dg.MetadataValue.json({m: s["unknown_values"] for m, s in summary.items() if s["unknown_values"]}),
            "months": dg.MetadataValue.json(summary),
        })

    return _extract


def build_valid(source: str) -> dg.AssetsDefinition:
    spec = _labels(source)

    @dg.asset(
        name=f"valid_{source}", group_name="ingest", partitions_def=monthly_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(), kinds={"duckdb", "pandera"}, code_version="1",
        deps=[f"extract_{source}"],
        description=f"Validated {spec.label_zh} rows of the month (table valid_{source}); rejected rows in `rejects` with "
                    "file, row, column and rule; duplicates and re-exports of last month dropped and counted.",
        check_specs=[
            dg.AssetCheckSpec(RECONCILES, asset=f"valid_{source}", blocking=True,
                              description="rows read = loaded + rejected + duplicates and re-exports dropped"),
            dg.AssetCheckSpec(ALL_DISTRICTS, asset=f"valid_{source}", blocking=True,
                              description="every one of the 11 districts has loaded rows"),
            dg.AssetCheckSpec(PLAUSIBLE_VOLUME, asset=f"valid_{source}",
                              description="rows loaded within 0.5–1.6× the median of the three months before"),
            dg.AssetCheckSpec(COMPLETE, asset=f"valid_{source}",
                              description="the export looks whole: last line complete, rows within the band of "
                                          "data/reference/volumes.csv and against last year, most days of the month "
                                          "covered; a month that fails is computed but not published without a reason"),
            dg.AssetCheckSpec(KNOWN_VALUES, asset=f"valid_{source}", blocking=True,
                              description="rows rejected for a value the vocabulary does not know stay within the share "
                                          "the methodology allows (unknown_values.max_share)"),
        ],
    )
    def _valid(context: dg.AssetExecutionContext, warehouse: NsiWarehouse, pins: RunPins, settings: SettingsResource):
        reference = load_reference()
        unknown_shares: dict[str, dict] = {}
        incomplete: dict[str, list[str]] = {}
        results: dict[str, ValidationCounts] = {}
        coverage: dict[str, list[str]] = {}
        volume_notes: dict[str, str] = {}
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
            if failed := [f"{f.check}: {f.detail}" for f in findings if not f.passed]:
                incomplete[key] = failed
                context.log.warning(f"{source} {key}: the export may be incomplete: " + "; ".join(failed))
            limit = pins.methodology(key).unknown_values.max_share
            unknown_rows = validated.rejected_by_rule.get("unknown_value", 0)
            share = unknown_rows / validated.rows_read if validated.rows_read else 0.0
            if share > limit:
                unknown_shares[key] = {
                    "rows": unknown_rows, "share": round(share, 4), "allowed": limit,
                    "what to do": f"add the values listed by `nsi inspect` (or the run summary) to "
                                  f"data/vocabularies/{loaded.vocabulary}.yaml, then run the month again"}
            results[key], coverage[key] = validated, loaded.districts_covered
            if median is not None and not (VOLUME_BAND[0] * median <= validated.rows_loaded <= VOLUME_BAND[1] * median):
                volume_notes[key] = f"{validated.rows_loaded} rows against a trailing median of {median:.0f}"
            context.log.info(
                f"{source} {key}: read {validated.rows_read}, loaded {validated.rows_loaded}, rejected "
                f"{validated.rows_rejected}, duplicates {validated.duplicates_dropped}, re-exports {validated.reexports_dropped}"
            )
        all_codes = set(reference.district_codes)
        missing = {k: sorted(all_codes - set(v)) for k, v in coverage.items() if set(v) != all_codes}
        by_rule: dict[str, int] = {}
        for validated in results.values():
            for rule, n in validated.rejected_by_rule.items():
                by_rule[rule] = by_rule.get(rule, 0) + n
        yield dg.MaterializeResult(metadata={
            "rows_read": sum(v.rows_read for v in results.values()),
            "rows_loaded": sum(v.rows_loaded for v in results.values()),
            "rows_rejected": sum(v.rows_rejected for v in results.values()),
            "duplicates_dropped": sum(v.duplicates_dropped for v in results.values()),
            "reexports_dropped": sum(v.reexports_dropped for v in results.values()),
            "rejected_by_rule": dg.MetadataValue.json({r: {"rows": n, "meaning": RULE_MESSAGES.get(r, r)} for r, n in by_rule.items()}),
            "district_coverage": dg.MetadataValue.json({k: len(v) for k, v in coverage.items()}),
        })
        unreconciled = [k for k, v in results.items() if not v.reconciles]
        yield dg.AssetCheckResult(check_name=RECONCILES, passed=not unreconciled,
                                  metadata={"months_not_reconciling": unreconciled})
        yield dg.AssetCheckResult(check_name=ALL_DISTRICTS, passed=not missing,
                                  metadata={"missing_districts": dg.MetadataValue.json(missing)})
        yield dg.AssetCheckResult(check_name=COMPLETE, passed=not incomplete, severity=dg.AssetCheckSeverity.WARN,
                                  description="; ".join(f"{m}: {', '.join(v)}" for m, v in incomplete.items()) or None,
                                  metadata={"incomplete": dg.MetadataValue.json(incomplete)})
        yield dg.AssetCheckResult(check_name=KNOWN_VALUES, passed=not unknown_shares,
                                  description="; ".join(f"{m}: {v['rows']} rows ({v['share']:.1%}) have values the vocabulary "
                                                        f"does not know, more than {v['allowed']:.1%}; {v['what to do']}"
                                                        for m, v in unknown_shares.items()) or None,
                                  metadata={"months_over_share": dg.MetadataValue.json(unknown_shares)})
        yield dg.AssetCheckResult(check_name=PLAUSIBLE_VOLUME, passed=not volume_notes,
                                  severity=dg.AssetCheckSeverity.WARN, metadata={"outside_band": dg.MetadataValue.json(volume_notes)})

    return _valid


ingest_assets = [asset for source in SOURCES for asset in (build_extract(source), build_valid(source))]
