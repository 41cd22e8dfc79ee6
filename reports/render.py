"""Render briefings to PDF/A-3u: fixed dates, stable identifier, nothing fetched from outside.

The same warehouse content gives the same bytes: dates come from the month (never the clock), the
document identifier is NSI-<month>-<code>, the fonts are the project's own subset files, and
the renderer refuses every URL that is not a file under reports/ (reports/pdf_writer.py). WeasyPrint
is imported only where a PDF is written (the pool's workers, or here for a pool of one).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache

import jinja2
import polars as pl

from nsi.reference import CITY_CODE
from reports.briefing import Briefing
from reports.pdf import REPORTS_DIR, TEMPLATES_DIR, PdfJob, PdfPool

__all__ = ["REPORTS_DIR", "TEMPLATES_DIR", "PdfPool", "prepare", "render_all", "render_html", "render_pdf"]
SHANGHAI = timezone(timedelta(hours=8))


@cache  # compiling the templates took 50 ms a briefing
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )


def snapshot_time(briefing: Briefing) -> datetime:
    """The document's date: the first moment after the month, Asia/Shanghai (from the data, not the clock)."""
    end = briefing.month.end
    return datetime(end.year, end.month, end.day, tzinfo=SHANGHAI)


def render_html(briefing: Briefing, input_sha256: str, data_version: str) -> str:
    template = "city.html.j2" if briefing.code == CITY_CODE else "district.html.j2"
    return environment().get_template(template).render(
        **briefing.data, snapshot=snapshot_time(briefing).isoformat(), input_sha256=input_sha256,
        data_version=data_version, methodology_version=briefing.methodology.version)


# Decimals of the attached index rows: far finer than the briefing's one decimal, far coarser than the
# floating-point residue of sums that cancel (a re-weighting term of 8.9e-15 is written 0.0).
ATTACHMENT_DECIMALS = 6


def attachment_csv(index_rows: pl.DataFrame) -> str:
    """The index rows as CSV, floats rounded and written without exponent."""
    rounded = {name: pl.col(name).round(ATTACHMENT_DECIMALS) for name, kind in index_rows.schema.items() if kind.is_float()}
    # Rounding a tiny negative residue leaves -0.0, which would be written "-0.0".
    unsigned = [pl.when(value == 0).then(0.0).otherwise(value).alias(name) for name, value in rounded.items()]
    return index_rows.with_columns(unsigned).write_csv(float_scientific=False)


def prepare(briefing: Briefing, index_rows: pl.DataFrame, input_sha256: str, data_version: str) -> PdfJob:
    """Everything the PDF needs, as plain text: made here so the workers need nothing but WeasyPrint."""
    return PdfJob(code=briefing.code, html=render_html(briefing, input_sha256, data_version),
                  attachment_csv=attachment_csv(index_rows),
                  attachment_name=f"{briefing.code}-{briefing.month.key}-index.csv",
                  created=snapshot_time(briefing), identifier=f"NSI-{briefing.month.key}-{briefing.code}")


def render_pdf(briefing: Briefing, index_rows: pl.DataFrame, input_sha256: str, data_version: str,
               fetcher=None) -> bytes:
    """One PDF in this process; fetcher: a reports.pdf_writer.LocalOnlyFetcher, to see what was fetched."""
    from reports.pdf_writer import write_pdf

    return write_pdf(prepare(briefing, index_rows, input_sha256, data_version), fetcher)


def render_all(jobs: list[tuple], workers: int = 1, pool: PdfPool | None = None) -> list[tuple[str, bytes, list[str]]]:
    """(code, pdf bytes, refused URLs) per (briefing, index rows, input sha256, data version)."""
    prepared = [prepare(*job) for job in jobs]
    if pool is not None:
        return pool.render(prepared)
    with PdfPool(workers) as own:
        return own.render(prepared)
