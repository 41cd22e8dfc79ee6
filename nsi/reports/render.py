"""Render briefings to PDF/A-3u with WeasyPrint: fixed dates, stable identifier, nothing fetched from outside.

The same warehouse content gives the same bytes: dates come from the month (never the clock), the
document identifier is NSI-<month>-<code>, the fonts are the project's own subset files, and
the renderer refuses every URL that is not a file under reports/.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import jinja2
import polars as pl
from weasyprint import HTML, Attachment
from weasyprint.urls import URLFetcher, URLFetcherResponse

from nsi.reports.context import Briefing

REPORTS_DIR = Path(__file__).resolve().parent.parent.parent / "reports"
TEMPLATES_DIR = REPORTS_DIR / "templates"
SHANGHAI = timezone(timedelta(hours=8))


class LocalOnlyFetcher(URLFetcher):
    """Serves files under reports/ and refuses everything else (other files, any network URL)."""

    def __init__(self, root: Path = REPORTS_DIR):
        super().__init__(allowed_protocols={"file"})
        self.root = root.resolve()
        self.refused: list[str] = []
        self.served: list[str] = []

    def fetch(self, url, headers=None):
        parsed = urlparse(url)
        path = Path(url2pathname(parsed.path)).resolve() if parsed.scheme == "file" else None
        if path is None or not path.is_relative_to(self.root) or not path.is_file():
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url}: only the report's own files may be loaded")
        self.served.append(str(path))
        media = {".css": "text/css", ".otf": "font/otf", ".svg": "image/svg+xml"}.get(path.suffix, "application/octet-stream")
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media})


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
    template = "city.html.j2" if briefing.code == "320100" else "district.html.j2"
    return environment().get_template(template).render(
        **briefing.data, snapshot=snapshot_time(briefing).isoformat(), input_sha256=input_sha256,
        data_version=data_version, methodology_version=briefing.methodology.version)


def render_pdf(briefing: Briefing, index_rows: pl.DataFrame, input_sha256: str, data_version: str,
               fetcher: LocalOnlyFetcher | None = None) -> bytes:
    fetcher = fetcher or LocalOnlyFetcher()
    html = render_html(briefing, input_sha256, data_version)
    created = snapshot_time(briefing)
    attachment = Attachment(string=index_rows.write_csv(), name=f"{briefing.code}-{briefing.month.key}-index.csv",
                            description="本简报所用指数数据", created=created, modified=created)
    document = HTML(string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=fetcher)
    output = io.BytesIO()
    document.write_pdf(output, pdf_variant="pdf/a-3u", custom_metadata=True,
                       pdf_identifier=f"NSI-{briefing.month.key}-{briefing.code}".encode(),
                       attachments=[attachment], uncompressed_pdf=False)
    return output.getvalue()


def _render_job(job: tuple) -> tuple[str, bytes, list[str]]:
    briefing, index_rows, input_sha256, data_version = job
    fetcher = LocalOnlyFetcher()
    pdf = render_pdf(briefing, index_rows, input_sha256, data_version, fetcher)
    return briefing.code, pdf, fetcher.refused


def render_all(jobs: list[tuple], workers: int = 1) -> list[tuple[str, bytes, list[str]]]:
    """(code, pdf bytes, refused URLs) per briefing; a process pool when workers > 1."""
    if workers <= 1:
        return [_render_job(job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_render_job, jobs))
