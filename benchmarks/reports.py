"""Time to render a month's 12 briefings, each figure beside its floor measured in the same run.

Usage: python -m benchmarks.reports DATA_DIR YYYY-MM [ROUNDS]   (from the repo root, on a warehouse where
`nsi run` has computed the month; run as a file, the script would shadow the `reports` package with its
own name)

Figures, each round:
- context: the DuckDB queries and the HTML of the 12 briefings, in this process;
- one process: the 12 PDFs rendered one after the other in this process (wall and CPU);
- warm pool: the 12 briefings with their queries on a pool of 2 render processes already started, as in
  a run (the pool is a resource started with the run, and a range keeps it for every month);
- cold pool: the same with the pool made at the same moment (worker start and imports included).

The floor is the least work of the same kind: 12 one-page PDFs of one line of text in the two report
fonts (PDF/A-3u, fonts subset and embedded), by WeasyPrint alone, in this process and on a warm pool of 2.
It uses nothing of the code under test, so the script measures an older checkout against the same floor.
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb

from indicators.methodology import for_month
from nsi.month import Month
from nsi.reference import load_reference
from reports import briefing
from reports.render import PdfPool, render_all, render_pdf

FONTS = Path(briefing.__file__).resolve().parent / "fonts"
FLOOR_HTML = f"""<html lang="zh-CN"><head><style>
@font-face {{ font-family: "NSI Sans"; src: url("{(FONTS / 'NSI-Sans-Regular.otf').as_uri()}"); font-weight: 400; }}
@font-face {{ font-family: "NSI Sans"; src: url("{(FONTS / 'NSI-Sans-Bold.otf').as_uri()}"); font-weight: 700; }}
html {{ font-family: "NSI Sans"; }}
</style></head><body><p>南京市平安指数 2024年3月 <b>玄武区 45.0</b></p></body></html>"""


def floor_pdf(_: int = 0) -> int:
    from weasyprint import HTML

    return len(HTML(string=FLOOR_HTML).write_pdf(pdf_variant="pdf/a-3u"))


def build_jobs(database: Path, month: Month, ref) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return briefing.month_briefings(con, month, ref, for_month(month.key))
    finally:
        con.close()


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def one_round(database: Path, month: Month, ref, floor_pool: ProcessPoolExecutor) -> dict[str, float]:
    figures = {}
    figures["context"] = timed(lambda: render_all_html(build_jobs(database, month, ref)))
    jobs = build_jobs(database, month, ref)
    cpu = time.process_time()
    figures["one process"] = timed(lambda: [render_pdf(*job) for job in jobs])
    figures["one process, CPU"] = time.process_time() - cpu
    figures["floor, one process"] = timed(lambda: [floor_pdf() for _ in range(12)])
    with PdfPool(workers=2) as pool:
        figures["cold pool of 2"] = timed(lambda: render_all(build_jobs(database, month, ref), pool=pool))
        figures["warm pool of 2"] = timed(lambda: render_all(build_jobs(database, month, ref), pool=pool))
    figures["floor, warm pool of 2"] = timed(lambda: list(floor_pool.map(floor_pdf, range(12))))
    return figures


def render_all_html(jobs: list[tuple]) -> None:
    from reports.render import render_html

    for briefing_, _, input_sha256, data_version in jobs:
        render_html(briefing_, input_sha256, data_version)


def main() -> None:
    root, month = Path(sys.argv[1]), Month.parse(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    database = root / "warehouse" / "nsi.duckdb"
    ref = load_reference()
    jobs = build_jobs(database, month, ref)
    render_pdf(*jobs[0])  # warm-up: imports, font loading
    floor_pdf()
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as floor_pool:
        list(floor_pool.map(floor_pdf, range(4)))  # both workers started and warm
        results = [one_round(database, month, ref, floor_pool) for _ in range(rounds)]
    for name in results[0]:
        values = [r[name] for r in results]
        spread = f" (min {min(values):.2f}, max {max(values):.2f})" if rounds > 1 else ""
        print(f"{name}: {statistics.median(values):.2f} s{spread}")
    ratios = [r["warm pool of 2"] / r["floor, warm pool of 2"] for r in results]
    print(f"warm pool of 2 / its floor: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
