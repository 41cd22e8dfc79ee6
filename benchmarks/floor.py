"""The floors ingestion is measured against: the least work that reads a month's four exports.

Usage: python benchmarks/floor.py DATA_DIR YYYY-MM duckdb|polars

duckdb: every row into a table of a DuckDB file (CSV through `read_csv`, all columns as text; a GBK
file decoded to UTF-8 first, which DuckDB does not read itself; a workbook through calamine, as the
pipeline reads it), then a checkpoint. polars: every file into a polars frame with every column as
text (`benchmarks/ingest.py`'s bare read), one file at a time. Each mode is meant to run as a process
of its own, so that its peak memory and time can be put beside those of `nsi run` for the same month.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import duckdb
import polars as pl

from nsi.exports import EXTENSIONS, SOURCES
from nsi.warehouse import sql_text


def exports(root: Path, month: str) -> list[Path]:
    return [next(p for e in EXTENSIONS if (p := root / "raw" / s / f"{month}.{e}").exists()) for s in SOURCES]


def _utf8(path: Path, scratch: Path) -> Path:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        return path
    except UnicodeDecodeError:
        target = scratch / f"{path.stem}.utf8.csv"
        target.write_bytes(data.decode("gb18030", errors="replace").encode())
        return target


def duckdb_floor(files: list[Path]) -> int:
    rows = 0
    with tempfile.TemporaryDirectory() as scratch:
        con = duckdb.connect(str(Path(scratch) / "floor.duckdb"))
        for i, path in enumerate(files):
            if path.suffix == ".csv":
                source = sql_text(_utf8(path, Path(scratch)).as_posix())
                con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv({source}, all_varchar = true, "
                            "header = false, strict_mode = false)")
            else:
                con.register("sheet", pl.read_excel(path, has_header=False, infer_schema_length=0))
                con.execute(f"CREATE TABLE t{i} AS SELECT * FROM sheet")
                con.unregister("sheet")
            rows += con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
        con.execute("CHECKPOINT")
        con.close()
    return rows


def polars_floor(files: list[Path]) -> int:
    rows = 0
    for path in files:
        if path.suffix in (".xlsx", ".xls"):
            rows += pl.read_excel(path, has_header=False, infer_schema_length=0).height
            continue
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data = data.decode("gb18030", errors="replace").encode()
        rows += pl.read_csv(data, has_header=False, infer_schema=False, truncate_ragged_lines=True).height
    return rows


if __name__ == "__main__":
    files = exports(Path(sys.argv[1]), sys.argv[2])
    print({"duckdb": duckdb_floor, "polars": polars_floor}[sys.argv[3]](files), "rows")
