"""The PDF jobs and the processes that render them; the rendering itself is reports/pdf_writer.py.

This module imports the standard library only: the process that makes the HTML (a run, `nsi verify`)
hands jobs to the workers without importing WeasyPrint (0.8 s) itself. Only the workers, and a pool of
one, which renders in this process, import reports.pdf_writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPORTS_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = REPORTS_DIR / "templates"
STYLESHEET = TEMPLATES_DIR / "briefing.css"


@dataclass(frozen=True)
class PdfJob:
    code: str
    html: str
    attachment_csv: str
    attachment_name: str
    created: datetime  # the document's date, from the data
    identifier: str


def _warm_up() -> None:
    # Named here, not in pdf_writer: handing a worker pdf_writer's function would import WeasyPrint in
    # the parent to pickle it.
    from reports.pdf_writer import warm_up

    warm_up()


def _render_job(job: PdfJob) -> tuple[str, bytes, list[str]]:
    from reports.pdf_writer import render_job

    return render_job(job)


class PdfPool:
    """Worker processes that start (and load fonts) as soon as the pool is made.

    Make it before the slow work that precedes rendering (the DuckDB queries of the briefings):
    the workers then start in parallel with it. With one worker, everything runs in this process.
    """

    def __init__(self, workers: int):
        self.workers = workers
        self._executor = None
        if workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: the parent runs threads (Dagster, DuckDB, polars) that fork would copy mid-flight.
            self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
            for _ in range(workers):
                self._executor.submit(_warm_up)

    def render(self, jobs: list[PdfJob]) -> list[tuple[str, bytes, list[str]]]:
        if self._executor is None:
            from reports.pdf_writer import render_job

            return [render_job(job) for job in jobs]
        return list(self._executor.map(_render_job, jobs))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def __enter__(self) -> PdfPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
