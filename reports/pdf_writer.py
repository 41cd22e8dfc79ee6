"""HTML → PDF/A-3u with WeasyPrint: the part of rendering that runs in the worker processes.

This module imports WeasyPrint and the standard library only, so a worker process starts in
the time WeasyPrint takes to import; the HTML is made beforehand, in the parent (render.py).
The same job gives the same bytes in any process: dates, identifier and attachment come with it.

The stylesheet is parsed, and the fonts of its @font-face rules loaded, once per process and given to
every document (the HTML links no stylesheet): parsing it again for each briefing, with a font
configuration of its own, cost about a tenth of the rendering.
"""

from __future__ import annotations

import io
import os
from functools import cache
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

# Pango prefers the glyph forms of the languages in PANGO_LANGUAGE, else in LANGUAGE (a Chinese desktop
# sets LANGUAGE=zh_CN:zh): the person's settings would change the PDF's bytes. None preferred, for anyone.
os.environ["PANGO_LANGUAGE"] = ""

from weasyprint import CSS, HTML, Attachment  # noqa: E402  (after the Pango setting above)
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402

from reports.pdf import REPORTS_DIR, STYLESHEET, TEMPLATES_DIR, PdfJob  # noqa: E402


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


@cache
def stylesheet() -> tuple[CSS, FontConfiguration]:
    """The briefings' stylesheet and the font configuration holding its fonts, made once per process."""
    fonts = FontConfiguration()
    return CSS(filename=str(STYLESHEET), font_config=fonts, url_fetcher=LocalOnlyFetcher()), fonts


def write_pdf(job: PdfJob, fetcher: LocalOnlyFetcher | None = None) -> bytes:
    fetcher = fetcher or LocalOnlyFetcher()
    attachment = Attachment(string=job.attachment_csv, name=job.attachment_name, description="本简报所用指数数据",
                            created=job.created, modified=job.created)
    document = HTML(string=job.html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=fetcher)
    css, fonts = stylesheet()
    output = io.BytesIO()
    document.write_pdf(output, stylesheets=[css], font_config=fonts, pdf_variant="pdf/a-3u", custom_metadata=True,
                       pdf_identifier=job.identifier.encode(), attachments=[attachment], uncompressed_pdf=False)
    return output.getvalue()


def render_job(job: PdfJob) -> tuple[str, bytes, list[str]]:
    """(code, pdf bytes, refused URLs)."""
    fetcher = LocalOnlyFetcher()
    return job.code, write_pdf(job, fetcher), fetcher.refused


def warm_up() -> None:
    """Parse the stylesheet and load the report fonts once in this process, before the first briefing."""
    css, fonts = stylesheet()
    HTML(string="<p>南京<b>南京</b></p>", base_url=str(TEMPLATES_DIR) + "/", url_fetcher=LocalOnlyFetcher()).write_pdf(
        stylesheets=[css], font_config=fonts)


