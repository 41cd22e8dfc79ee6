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
from nsi.ingest.extract import open_extract
from nsi.ingest.read import DEFAULT_BATCH_ROWS, require_export
from nsi.ingest.validate import ValidationCounts, loaded_rows_sql, validate_extract
from nsi.month import Month
from nsi.reference import Reference
from nsi.settings import INGEST_MEMORY_MB
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
                  run_id: str, pii_secret: SecretStr | None, batch_rows: int = DEFAULT_BATCH_ROWS) -> ExtractedMonth:
    """Raises ExportFileError when the file as a whole cannot be used. Needs no warehouse connection.

    The rows go batch by batch from the file to the extract file, so memory is set by `batch_rows`, not
    by the month. The input is archived even when it is then refused, so what was delivered can be
    looked at later.
    """
    source = vocabulary.source
    require_export(path, vocabulary)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Hashing and copying the input release the GIL: they run while the first rows are extracted.
        archived = pool.submit(storage.archive_file, path, folders.archive)
        writer = storage.ExtractWriter(folders.extract, vocabulary, month)
        try:
            with open_extract(path, vocabulary, reference, pii_secret, batch_rows) as stream:
                for frame in stream.batches():
                    sha, size = archived.result()
                    writer.write(storage.with_keys(frame, month, sha))
                extracted = stream.extracted()
        except BaseException:
            writer.abort()
            archived.exception()  # the archive is written all the same
            raise
        sha, size = archived.result()
        writer.commit()
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


def _extract_log(con: duckdb.DuckDBPyConnection, source: str, month: str) -> tuple:
    log = con.execute("SELECT file_name, file_sha256, encoding, rows_read, blank_rows, vocabulary "
                      "FROM extract_log WHERE source = ? AND month = ?", [source, month]).fetchone()
    if log is None:
        raise NotExtractedError(f"{source} {month}: not extracted yet; materialise extract_{source} for {month} first")
    file_name, sha, encoding, rows_read, blank_rows, vocabulary = log
    return file_name, sha, encoding, rows_read, blank_rows, vocabulary or f"{source}/v1"


def _trailing_median(con: duckdb.DuckDBPyConnection, source: str, month: Month) -> float | None:
    rows = con.execute("SELECT rows_loaded FROM ingest_log WHERE source = ? AND month < ? ORDER BY month DESC LIMIT 3",
                       [source, month.key]).fetchall()
    if len(rows) < 3:
        return None
    return float(sorted(r[0] for r in rows)[1])


def load_month(con: duckdb.DuckDBPyConnection, source: str, month: Month, folders: Folders, run_id: str,
               vocabulary_dir: Path | None = None, memory_mb: int = INGEST_MEMORY_MB) -> LoadedMonth:
    """Raises NotExtractedError, or WrongMonthError when most rows belong to another month.

    The loaded rows go from the extract file into valid_<source> in one INSERT … SELECT: they are
    never in Python's memory. DuckDB works within `memory_mb` meanwhile: by default it would keep every
    block the month adds to the table in memory until the connection closes (0.3–0.5 GB per million
    rows of the 110 file), and the rows are written to disk as they come all the same. DuckDB's default
    is put back afterwards (the warehouse's connections set no limit of their own)."""
    con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
    try:
        return _load_month(con, source, month, folders, run_id, vocabulary_dir)
    finally:
        con.execute("RESET memory_limit")


def _load_month(con: duckdb.DuckDBPyConnection, source: str, month: Month, folders: Folders, run_id: str,
                vocabulary_dir: Path | None) -> LoadedMonth:
    storage.ensure_tables(con, vocabulary_dir)
    file_name, sha, encoding, rows_read, blank_rows, vocabulary_name = _extract_log(con, source, month.key)
    path = storage.extract_path(folders.extract, source, month.key)
    if not path.is_file():
        raise NotExtractedError(f"{source} {month.key}: not extracted yet; materialise extract_{source} for {month.key} first")
    # The rules of the vocabulary the month was extracted with (a rerun of the extract may pin another).
    vocabulary = vocabularies.load(source, int(vocabulary_name.rsplit("/v", 1)[1]), vocabulary_dir)
    validated = validate_extract(con, path, vocabulary, month, file_name, sha, rows_read)
    covered = validated.districts_covered
    log = pl.DataFrame([{
        "source": source, "month": month.key, "file_name": file_name, "file_sha256": sha,
        "file_bytes": None, "encoding": encoding, "rows_read": validated.rows_read,
        "rows_loaded": validated.rows_loaded, "rows_rejected": validated.rows_rejected,
        "duplicates_dropped": validated.duplicates_dropped, "reexports_dropped": validated.reexports_dropped,
        "blank_rows": blank_rows, "districts_covered": len(covered), "run_id": run_id,
    }], schema_overrides={"file_bytes": pl.Int64})
    median = _trailing_median(con, source, month)
    cut = validated.rejects.filter(pl.col("rule") == "incomplete_last_line")["row"]
    last_year = con.execute("SELECT rows_read FROM ingest_log WHERE source = ? AND month = ?",
                            [source, month.year_before().key]).fetchone()
    columns = [name for name, _ in storage.valid_layout(vocabulary)]
    con.register("excluded_rows", validated.excluded)
    try:
        warehouse.replace_months(con, [
            warehouse.MonthWrite(f"valid_{source}", None, {"month": month.key}, select=loaded_rows_sql(path, columns)),
            warehouse.MonthWrite("rejects", validated.rejects, {"source": source, "month": month.key}),
            warehouse.MonthWrite("ingest_log", log, {"source": source, "month": month.key}),
            warehouse.MonthWrite("ingest_districts", validated.by_district.with_columns(
                source=pl.lit(source), month=pl.lit(month.key)), {"source": source, "month": month.key}),
        ])
    finally:
        con.unregister("excluded_rows")
    return LoadedMonth(validated.counts(), covered, median, vocabulary.name, validated.days_covered,
                       cut[0] if cut.len() else None, last_year[0] if last_year else None)
