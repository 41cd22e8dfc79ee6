"""Time to render a month's 12 briefings: per briefing, all 12 in one process, and a pool of 2.

Usage: python -m benchmarks.reports DATA_DIR YYYY-MM   (from the repo root, on a warehouse where `nsi run` has
computed the month; run as a file, the script would shadow the `reports` package with its own name)

The pool figures are measured the way the report asset works: the pool is made first, its
workers start (imports, fonts) while this process runs the briefings' DuckDB queries, then the 12
PDFs are rendered. "warm pool" is a further month of a range, on workers already started.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import duckdb

from indicators.methodology import for_month
from nsi.month import Month
from nsi.reference import load_reference
from reports import briefing
from reports.render import PdfPool, render_all, render_pdf


def build_jobs(database: Path, month: Month, ref) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return briefing.month_briefings(con, month, ref, for_month(month.key))
    finally:
        con.close()


def main() -> None:
    root, month = Path(sys.argv[1]), Month.parse(sys.argv[2])
    database = root / "warehouse" / "nsi.duckdb"
    ref = load_reference()
    start = time.perf_counter()
    jobs = build_jobs(database, month, ref)
    build = time.perf_counter() - start
    render_pdf(*jobs[0])  # warm-up: imports, font loading
    each = []
    for job in jobs:
        start = time.perf_counter()
        render_pdf(*job)
        each.append(time.perf_counter() - start)
    start = time.perf_counter()
    render_all(jobs, workers=1)
    one = time.perf_counter() - start
    start = time.perf_counter()
    with PdfPool(workers=2) as pool:
        render_all(build_jobs(database, month, ref), pool=pool)
        two = time.perf_counter() - start
        start = time.perf_counter()
        render_all(build_jobs(database, month, ref), pool=pool)
        warm = time.perf_counter() - start
    print(f"context for 12 briefings (DuckDB queries + SVG): {build:.2f} s")
    print(f"one briefing, warm process: median {statistics.median(each):.2f} s, max {max(each):.2f} s")
    print(f"all 12, one process: {one:.2f} s")
    print(f"all 12 with their queries, pool of 2 started with them (worker start and imports included): {two:.2f} s")
    print(f"all 12 with their queries, warm pool of 2 (a further month of a range): {warm:.2f} s")


if __name__ == "__main__":
    main()
