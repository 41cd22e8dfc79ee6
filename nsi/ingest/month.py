"""One month of one source through ingestion, as the ingest assets run it (and as the benchmark times it).

`extract_month`: the raw export → archived input, PII-free extract file; `record_extract` then
writes its line in `extract_log`.
`load_month`: the extract → duplicates and re-exports dropped, validated, the month of
`valid_<source>` and `rejects` replaced and a line in `ingest_log`, in one transaction.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from pydantic import SecretStr

from nsi import vocabulary as vocabularies
from nsi import warehouse
from nsi.ingest import storage
from nsi.ingest.extract import Extracted, extract
from nsi.ingest.read import require_export
from nsi.ingest.validate import ValidationCounts, validate
from nsi.month import Month
from nsi.reference import Reference
from nsi.vocabulary import Vocabulary


@dataclass(frozen=True)
class Folders:
    archive: Path  # content-addressed copies of the inputs
    extract: Path  # extract files, the hand-over from extract to validation


@dataclass(frozen=True)
class ExtractedMonth:
    file_name: str
    sha256: str
    encoding: str
    rows_read: int
    development_key: bool
    log: pl.DataFrame  # its line in extract_log, written by `record_extract`
    unknown_values: pl.DataFrame  # values the vocabulary does not know, with counts (written beside the log line)


@dataclass(frozen=True)
class LoadedMonth:
    counts: ValidationCounts
    districts_covered: list[str]
    trailing_median: float | None  # rows loaded in the three months before, when all three are loaded
    vocabulary: str  # <source>/v<N> the month was read with
    days_covered: int  # calendar days of the month with at least one loaded record
    cut_row: int | None  # the last row, when the file ends inside it
    last_year_rows: int | None  # rows read of the same month a year before, when it was loaded


# What extract_log.personal_data_key says: the month was hashed without NSI_PII_KEY, or with it.
DEVELOPMENT_KEY, CONFIGURED_KEY = "development", "configured"


class NotExtractedError(RuntimeError):
    pass


def extract_month(path: Path, vocabulary: Vocabulary, month: str, reference: Reference, folders: Folders,
                  run_id: str, pii_secret: SecretStr | None) -> ExtractedMonth:
    """Raises ExportFileError when the file as a whole cannot be used. Needs no warehouse connection.

    The input is archived even when it is then refused, so what was delivered can be looked at later.
    """
    source = vocabulary.source
    require_export(path, vocabulary)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Hashing and copying the input release the GIL: they run while the rows are extracted.
        archived = pool.submit(storage.archive_file, path, folders.archive)
        extracted = extract(path, vocabulary, reference, pii_secret)
        sha, size = archived.result()
    storage.write_extract(folders.extract, vocabulary, month, storage.with_keys(extracted.frame, month, sha))
    log = pl.DataFrame([{
        "source": source, "month": month, "file_name": path.name, "file_sha256": sha, "file_bytes": size,
        "encoding": extracted.encoding, "header_row": extracted.header_row, "rows_read": extracted.rows_read,
        "blank_rows": extracted.blank_rows, "ignored_columns": json.dumps(extracted.ignored_columns, ensure_ascii=False),
        "run_id": run_id, "vocabulary": extracted.vocabulary, "vocabulary_sha256": extracted.vocabulary_sha256,
        "personal_data_key": DEVELOPMENT_KEY if extracted.development_key else CONFIGURED_KEY,
    }])
    unknown = extracted.unknown_values.select(
        source=pl.lit(source), month=pl.lit(month), file_name=pl.lit(path.name), column=pl.col("column"),
        header=pl.col("header"), value=pl.col("value"), rows=pl.col("rows"), action=pl.col("action"),
        vocabulary=pl.lit(extracted.vocabulary))
    return ExtractedMonth(path.name, sha, extracted.encoding, extracted.rows_read, extracted.development_key, log, unknown)


def record_extract(con: duckdb.DuckDBPyConnection, extracted: ExtractedMonth) -> None:
    source, month = extracted.log["source"][0], extracted.log["month"][0]
    storage.ensure_tables(con)
    warehouse.replace_months(con, [
        warehouse.MonthWrite("extract_log", extracted.log, {"source": source, "month": month}),
        warehouse.MonthWrite("unknown_values", extracted.unknown_values, {"source": source, "month": month}),
    ])


def _read_extracted(con: duckdb.DuckDBPyConnection, folders: Folders, source: str, month: str) -> tuple[Extracted, str]:
    log = con.execute("SELECT file_name, file_sha256, encoding, header_row, rows_read, blank_rows, vocabulary, "
                      "vocabulary_sha256 FROM extract_log WHERE source = ? AND month = ?", [source, month]).fetchone()
    if log is None:
        raise NotExtractedError(f"{source} {month}: not extracted yet; materialise extract_{source} for {month} first")
    frame = storage.read_extract(folders.extract, source, month).drop("month", "file_sha256")
    file_name, sha, encoding, header_row, rows_read, blank_rows, vocabulary, vocabulary_sha = log
    return Extracted(source, frame, file_name, encoding, header_row, rows_read, blank_rows,
                     vocabulary=vocabulary or f"{source}/v1", vocabulary_sha256=vocabulary_sha or ""), sha


def _trailing_median(con: duckdb.DuckDBPyConnection, source: str, month: Month) -> float | None:
    rows = con.execute("SELECT rows_loaded FROM ingest_log WHERE source = ? AND month < ? ORDER BY month DESC LIMIT 3",
                       [source, month.key]).fetchall()
    if len(rows) < 3:
        return None
    return float(sorted(r[0] for r in rows)[1])


def load_month(con: duckdb.DuckDBPyConnection, source: str, month: Month, folders: Folders, run_id: str,
               vocabulary_dir: Path | None = None) -> LoadedMonth:
    """Raises NotExtractedError, or WrongMonthError when most rows belong to another month."""
    storage.ensure_tables(con, vocabulary_dir)
    extracted, sha = _read_extracted(con, folders, source, month.key)
    # The rules of the vocabulary the month was extracted with (a rerun of the extract may pin another).
    vocabulary = vocabularies.load(source, int(extracted.vocabulary.rsplit("/v", 1)[1]), vocabulary_dir)
    validated = validate(extracted, vocabulary, month, sha)
    covered = sorted(set(validated.loaded["district_code"].drop_nulls().unique().to_list()))
    log = pl.DataFrame([{
        "source": source, "month": month.key, "file_name": extracted.file_name, "file_sha256": sha,
        "file_bytes": None, "encoding": extracted.encoding, "rows_read": validated.rows_read,
        "rows_loaded": validated.rows_loaded, "rows_rejected": validated.rows_rejected,
        "duplicates_dropped": validated.duplicates_dropped, "reexports_dropped": validated.reexports_dropped,
        "blank_rows": extracted.blank_rows, "districts_covered": len(covered), "run_id": run_id,
    }], schema_overrides={"file_bytes": pl.Int64})
    median = _trailing_median(con, source, month)
    days = validated.loaded.select(pl.col(vocabulary.time_column).dt.date().n_unique()).item()
    cut = validated.rejects.filter(pl.col("rule") == "incomplete_last_line")["row"]
    last_year = con.execute("SELECT rows_read FROM ingest_log WHERE source = ? AND month = ?",
                            [source, month.year_before().key]).fetchone()
    warehouse.replace_months(con, [
        warehouse.MonthWrite(f"valid_{source}", storage.with_keys(validated.loaded, month.key, sha), {"month": month.key}),
        warehouse.MonthWrite("rejects", validated.rejects, {"source": source, "month": month.key}),
        warehouse.MonthWrite("ingest_log", log, {"source": source, "month": month.key}),
        warehouse.MonthWrite("ingest_districts", validated.by_district.with_columns(
            source=pl.lit(source), month=pl.lit(month.key)), {"source": source, "month": month.key}),
    ])
    return LoadedMonth(validated.counts(), covered, median, vocabulary.name, days, cut[0] if cut.len() else None,
                       last_year[0] if last_year else None)
