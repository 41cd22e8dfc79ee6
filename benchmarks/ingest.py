"""Ingestion throughput against reading the same files with polars, measured in one process.

Usage: python benchmarks/ingest.py DATA_DIR YYYY-MM   (DATA_DIR holds raw/<source>/<YYYY-MM>.*)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

from nsi import vocabulary
from nsi.exports import EXTENSIONS, SOURCES
from nsi.ingest.month import Folders, extract_month, load_month, record_extract
from nsi.month import Month
from nsi.reference import load_reference
from nsi.warehouse import WAREHOUSE_CONFIG


def _is_gbk(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def bare_read(path: Path) -> int:
    """The least work that yields a polars frame of the file: decode GBK, parse CSV or XLSX, all as text."""
    if path.suffix in (".xlsx", ".xls"):
        return pl.read_excel(path, has_header=False, infer_schema_length=0).height
    data = path.read_bytes()
    if _is_gbk(data):
        data = data.decode("gbk").encode()
    return pl.read_csv(data, infer_schema=False).height


def polars_defaults_read(path: Path) -> int:
    """polars' own call for the file with its defaults (types inferred; GBK through `encoding=`)."""
    if path.suffix in (".xlsx", ".xls"):
        return pl.read_excel(path, has_header=False).height
    return pl.read_csv(path, encoding="gbk" if _is_gbk(path.read_bytes()) else "utf8").height


def main() -> None:
    root, month = Path(sys.argv[1]), Month.parse(sys.argv[2])
    ref = load_reference()
    rows, bare, plain, extracting, loading = {}, {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        folders = Folders(archive=Path(scratch) / "archive", extract=Path(scratch) / "extract")
        con = duckdb.connect(str(Path(scratch) / "bench.duckdb"), config=WAREHOUSE_CONFIG)
        for source in SOURCES:
            path = next(p for e in EXTENSIONS if (p := root / "raw" / source / f"{month.key}.{e}").exists())
            start = time.perf_counter()
            rows[source] = bare_read(path)
            bare[source] = time.perf_counter() - start
            start = time.perf_counter()
            polars_defaults_read(path)
            plain[source] = time.perf_counter() - start
            # Exactly what the assets extract_<source> and valid_<source> run for a month.
            start = time.perf_counter()
            record_extract(con, extract_month(path, vocabulary.load(source), month.key, ref, folders, "benchmark", None))
            extracting[source] = time.perf_counter() - start
            start = time.perf_counter()
            load_month(con, source, month, folders, run_id="benchmark")
            loading[source] = time.perf_counter() - start
        con.close()
    header = ("source", "rows", "bare read s", "polars defaults s", "extract s", "validate+load s", "ingest s",
              "× bare", "× defaults")
    print("{:10} {:>9} {:>12} {:>18} {:>10} {:>17} {:>9} {:>7} {:>11}".format(*header))
    lines = [(s, rows[s], bare[s], plain[s], extracting[s], loading[s]) for s in SOURCES]
    lines.append(("all", *(sum(line[i] for line in lines) for i in range(1, 6))))
    for source, n, b, p, e, v in lines:
        print(f"{source:10} {n:>9} {b:>12.2f} {p:>18.2f} {e:>10.2f} {v:>17.2f} {e + v:>9.2f} {(e + v) / b:>7.2f} {(e + v) / p:>11.2f}")


if __name__ == "__main__":
    main()
