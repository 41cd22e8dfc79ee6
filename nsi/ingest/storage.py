"""Where ingestion keeps its data: the archive of inputs, the extract files, and the layouts of its tables.

Table layouts are declared here, from the source vocabularies; `nsi.warehouse` checks them before
anything is deleted, so a changed layout stops the write with a message instead of emptying a month.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import polars as pl

from nsi import vocabulary as vocabularies
from nsi.exports import SOURCES
from nsi.vocabulary import PLACE_COLUMNS, Vocabulary
from nsi.warehouse import ensure_table

REJECTS_DDL = """
CREATE TABLE IF NOT EXISTS rejects (
    source VARCHAR, month VARCHAR, file_name VARCHAR, file_sha256 VARCHAR,
    "row" BIGINT, "column" VARCHAR, rule VARCHAR, value VARCHAR
)"""
EXTRACT_LOG_DDL = """
CREATE TABLE IF NOT EXISTS extract_log (
    source VARCHAR, month VARCHAR, file_name VARCHAR, file_sha256 VARCHAR, file_bytes BIGINT, encoding VARCHAR,
    header_row INTEGER, rows_read BIGINT, blank_rows BIGINT, ignored_columns VARCHAR, run_id VARCHAR,
    vocabulary VARCHAR, vocabulary_sha256 VARCHAR, personal_data_key VARCHAR
)"""
# Values of mapped columns that the vocabulary does not know, counted per file: what to add to it.
UNKNOWN_VALUES_DDL = """
CREATE TABLE IF NOT EXISTS unknown_values (
    source VARCHAR, month VARCHAR, file_name VARCHAR, "column" VARCHAR, header VARCHAR, value VARCHAR,
    "rows" BIGINT, action VARCHAR, vocabulary VARCHAR
)"""
INGEST_LOG_DDL = """
CREATE TABLE IF NOT EXISTS ingest_log (
    source VARCHAR, month VARCHAR, file_name VARCHAR, file_sha256 VARCHAR, file_bytes BIGINT, encoding VARCHAR,
    rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT, duplicates_dropped BIGINT,
    reexports_dropped BIGINT, blank_rows BIGINT, districts_covered INTEGER, run_id VARCHAR
)"""

# ingest_log's counts per district the rows were placed in (district_code NULL: rows that could not be
# placed); they add up to the month's line in ingest_log. A district's briefing shows its own.
INGEST_DISTRICTS_DDL = """
CREATE TABLE IF NOT EXISTS ingest_districts (
    source VARCHAR, month VARCHAR, district_code VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT,
    duplicates_dropped BIGINT, reexports_dropped BIGINT
)"""


# Whether each source's month looks whole (nsi.ingest.completeness); the publication reads it.
COMPLETENESS_DDL = """
CREATE TABLE IF NOT EXISTS completeness (
    source VARCHAR, month VARCHAR, "check" VARCHAR, passed BOOLEAN, measured DOUBLE, expected VARCHAR, detail VARCHAR
)"""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_file(path: Path, archive: Path) -> tuple[str, int]:
    """Copy the input into the content-addressed archive (once); returns (sha256, bytes)."""
    sha = sha256_file(path)
    archive.mkdir(parents=True, exist_ok=True)
    target = archive / sha
    if not target.exists():
        partial = archive / f".{sha}.part"
        shutil.copyfile(path, partial)
        partial.replace(target)
    return sha, path.stat().st_size


def _sql_type(kind: str) -> str:
    return {"datetime": "TIMESTAMP", "date": "TIMESTAMP", "int": "DOUBLE", "float": "DOUBLE"}.get(kind, "VARCHAR")


def extract_layout(vocabulary: Vocabulary) -> list[tuple[str, str]]:
    """Columns of an extract: what `extract_frame` produces, in a fixed order."""
    columns = [("month", "VARCHAR"), ("file_sha256", "VARCHAR"), ("_row", "BIGINT")]
    for column in vocabulary.columns:
        if column.pii:
            columns.append((f"{column.name}_hash", "VARCHAR"))
        elif column.name in ("district", "street"):
            columns.append((f"{column.name}_text", "VARCHAR"))
        elif column.name in PLACE_COLUMNS:
            continue  # a branch or station places the row; its district and street are what is kept
        elif column.kind in ("datetime", "date", "int", "float"):
            columns += [(column.name, _sql_type(column.kind)), (f"{column.name}_text", "VARCHAR")]
        else:
            columns.append((column.name, "VARCHAR"))
    # The values of mapped columns as read, for rejects and the list of unknown values (extract only).
    columns += [(f"{c.name}_text", "VARCHAR") for c in vocabulary.columns if c.mapped and not c.pii]
    columns += [("district_code", "VARCHAR"), ("street_code", "VARCHAR"), ("district_how", "VARCHAR")]
    # `rule|detail` where the row could not be read as written (bad bytes, a cut last line): it is rejected.
    columns.append(("_file_problem", "VARCHAR"))
    return columns


def valid_layout(vocabulary: Vocabulary) -> list[tuple[str, str]]:
    """Columns of valid_<source>: typed values only (the *_text copies stay in the extract)."""
    keep_text = ("district_text", "street_text")
    return [(n, t) for n, t in extract_layout(vocabulary)
            if (not n.endswith("_text") or n in keep_text) and n != "_file_problem"]


def ensure_tables(con: duckdb.DuckDBPyConnection, directory: Path | None = None) -> None:
    con.execute(REJECTS_DDL)
    con.execute(INGEST_LOG_DDL)
    con.execute(INGEST_DISTRICTS_DDL)
    con.execute(EXTRACT_LOG_DDL)
    con.execute(UNKNOWN_VALUES_DDL)
    con.execute(COMPLETENESS_DDL)
    # Warehouses from before vocabularies were versioned: their months were read with what is now v1.
    con.execute("ALTER TABLE extract_log ADD COLUMN IF NOT EXISTS vocabulary VARCHAR")
    con.execute("ALTER TABLE extract_log ADD COLUMN IF NOT EXISTS vocabulary_sha256 VARCHAR")
    # development | configured: which key hashed the month's personal data (unknown for older months).
    con.execute("ALTER TABLE extract_log ADD COLUMN IF NOT EXISTS personal_data_key VARCHAR")
    for source in SOURCES:
        ensure_table(con, f"valid_{source}", valid_layout(vocabularies.load(source, directory=directory)))


def write_extract(folder: Path, vocabulary: Vocabulary, month: str, frame: pl.DataFrame) -> Path:
    """The month's extracted rows as Parquet (PII-free), replaced atomically: the hand-over to validation.

    Parquet rather than a DuckDB table: written and read in a fraction of the time, and the
    extract is only ever read whole by the validation step.
    """
    target = folder / vocabulary.source / f"{month}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    columns = [name for name, _ in extract_layout(vocabulary)]
    # snappy: written in 0.6 of the time of polars' default zstd, for files 1.6× the size.
    frame.select(columns).write_parquet(partial, compression="snappy")
    partial.replace(target)
    return target


def read_extract(folder: Path, source: str, month: str) -> pl.DataFrame:
    return pl.read_parquet(folder / source / f"{month}.parquet")


def with_keys(frame: pl.DataFrame, month: str, file_sha256: str) -> pl.DataFrame:
    return frame.with_columns(month=pl.lit(month), file_sha256=pl.lit(file_sha256))
