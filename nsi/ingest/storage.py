"""Where ingestion keeps its data: the archive of inputs, the extract files, and the layouts of its tables.

Table layouts are declared here, from the source vocabularies; `nsi.warehouse` checks them before
anything is deleted, so a changed layout stops the write with a message instead of emptying a month.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

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


POLARS_TYPES = {"VARCHAR": pl.Utf8, "TIMESTAMP": pl.Datetime("us"), "DOUBLE": pl.Float64, "BIGINT": pl.Int64}


def extract_path(folder: Path, source: str, month: str) -> Path:
    return folder / source / f"{month}.parquet"


class ExtractWriter:
    """Appends batches of extracted rows (PII-free) to the month's extract, one Parquet row group each.

    Parquet rather than a DuckDB table: written and read in a fraction of the time, and read only by
    the validation step, a row group at a time, and by DuckDB there and in the load."""

    def __init__(self, folder: Path, vocabulary: Vocabulary, month: str):
        self.target = extract_path(folder, vocabulary.source, month)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.partial = self.target.with_name(f".{self.target.name}.part")
        self.types = [(name, POLARS_TYPES[kind]) for name, kind in extract_layout(vocabulary)]
        self._writer: pq.ParquetWriter | None = None
        self.row_groups = 0

    def write(self, frame: pl.DataFrame) -> None:
        # Declared types, so that a batch in which a column is all empty has the file's schema.
        table = frame.select([pl.col(name).cast(kind) for name, kind in self.types]).to_arrow()
        if self._writer is None:
            # snappy: written in 0.6 of the time of zstd, for files 1.6× the size.
            self._writer = pq.ParquetWriter(self.partial, table.schema, compression="snappy")
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self.row_groups += 1
        pa.default_memory_pool().release_unused()

    def commit(self) -> Path:
        """Replaces the month's extract with what was written, atomically."""
        if self._writer is not None:
            self._writer.close()
        self.partial.replace(self.target)
        return self.target

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.partial.unlink(missing_ok=True)


def write_extract(folder: Path, vocabulary: Vocabulary, month: str, frame: pl.DataFrame) -> Path:
    """A whole month's extracted rows as one extract file (the batched writer, with one batch)."""
    writer = ExtractWriter(folder, vocabulary, month)
    writer.write(frame)
    return writer.commit()


def extract_row_groups(path: Path) -> Iterator[pl.DataFrame]:
    """The extract's rows a row group at a time, in the order of the file."""
    parquet = pq.ParquetFile(path)
    for index in range(parquet.num_row_groups):
        yield pl.from_arrow(parquet.read_row_group(index))
        # pyarrow's allocator keeps what it freed for reuse; given back, a month's row groups do not add up.
        pa.default_memory_pool().release_unused()


def with_keys(frame: pl.DataFrame, month: str, file_sha256: str) -> pl.DataFrame:
    return frame.with_columns(month=pl.lit(month), file_sha256=pl.lit(file_sha256))
