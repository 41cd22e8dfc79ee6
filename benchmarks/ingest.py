"""Ingestion throughput against a bare polars read of the same files, measured in one process.

Usage: python benchmarks/ingest.py DATA_DIR YYYY-MM   (DATA_DIR holds raw/<source>/<YYYY-MM>.*)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

from nsi.exports import SPECS
from nsi.ingest.month import Folders, extract_month, stage_month
from nsi.reference import load_reference
from nsi.sample.sources import Month


def bare_read(path: Path, source: str) -> int:
    """The least work that yields a polars frame of the file: decode GBK, parse CSV or XLSX."""
    if path.suffix == ".xlsx":
        return pl.read_excel(path, read_options={"header_row": SPECS[source].title_rows}, infer_schema_length=0).height
    data = path.read_bytes()
    if SPECS[source].encoding == "gbk":
        data = data.decode("gbk").encode()
    return pl.read_csv(data, infer_schema=False).height


def main() -> None:
    root, month = Path(sys.argv[1]), Month.parse(sys.argv[2])
    ref = load_reference()
    rows = {}
    bare = {}
    pipeline = {}
    with tempfile.TemporaryDirectory() as scratch:
        folders = Folders(archive=Path(scratch) / "archive", extract=Path(scratch) / "extract")
        con = duckdb.connect(str(Path(scratch) / "bench.duckdb"))
        for source, spec in SPECS.items():
            path = root / "raw" / source / f"{month.key}.{spec.extension}"
            start = time.perf_counter()
            rows[source] = bare_read(path, source)
            bare[source] = time.perf_counter() - start
            # Exactly what the assets extract_<source> and valid_<source> run for a month.
            start = time.perf_counter()
            extract_month(con, path, source, month.key, ref, folders, run_id="benchmark")
            stage_month(con, source, month, folders, run_id="benchmark")
            pipeline[source] = time.perf_counter() - start
        con.close()
    print(f"{'source':10} {'rows':>9} {'bare read s':>12} {'ingest s':>9} {'ratio':>6}")
    for source in SPECS:
        print(f"{source:10} {rows[source]:>9} {bare[source]:>12.2f} {pipeline[source]:>9.2f} {pipeline[source] / bare[source]:>6.2f}")
    total_bare, total = sum(bare.values()), sum(pipeline.values())
    print(f"{'all':10} {sum(rows.values()):>9} {total_bare:>12.2f} {total:>9.2f} {total / total_bare:>6.2f}")


if __name__ == "__main__":
    main()
