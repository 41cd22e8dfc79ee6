"""Read one raw export as delivered: detect encoding and layout, map headers to canonical names.

The result has one Utf8 column per canonical column (absent optional columns are null) and `_row`,
the row number as a spreadsheet shows it, so every later message can point at the file's own row.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from nsi.exports import ExportSpec

ENCODINGS = ("utf-8", "gbk", "gb18030")  # GBK first (what the police system writes, and decodes faster); both reported as gbk
HEADER_SEARCH_ROWS = 6


class ExportFileError(Exception):
    """The file as a whole cannot be used; the message names the file and what to do."""

    def __init__(self, path: Path, problem: str, action: str):
        self.path, self.problem, self.action = Path(path), problem, action
        super().__init__(f"{Path(path).name}: {problem}. {action}")


@dataclass
class RawExport:
    path: Path
    frame: pl.DataFrame  # canonical Utf8 columns + _row (Int64)
    encoding: str  # utf-8-sig | utf-8 | gb18030 | xlsx
    header_row: int  # 1-based row of the header in the file
    headers_used: dict[str, str] = field(default_factory=dict)  # canonical → header found
    ignored_columns: list[str] = field(default_factory=list)
    blank_rows: int = 0  # wholly empty lines (Excel leaves them); not records, but counted


def _header_key(text: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text or "")).split()).replace("（", "(").replace("）", ")")


def decode_csv(path: Path, data: bytes) -> tuple[bytes, str]:
    """The file as UTF-8 bytes (what polars reads fastest) and the encoding it came in."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
        return data, "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in ENCODINGS[1:]:
        try:
            return data.decode(encoding).encode("utf-8"), "gbk"
        except UnicodeDecodeError:
            continue
    raise ExportFileError(path, "the file is neither UTF-8 nor GBK/GB18030 text",
                          "Re-export it as CSV (UTF-8 or GBK) or XLSX")


def _grid(path: Path, spec: ExportSpec) -> tuple[pl.DataFrame, str]:
    """All cells as text, no header interpretation yet."""
    data = path.read_bytes()
    if not data or data.isspace():  # isspace() stops at the first character that is not
        raise ExportFileError(path, "the file is empty", "Re-export the month from the source system")
    if data[:4] == b"PK\x03\x04":
        try:
            grid = pl.read_excel(io.BytesIO(data), has_header=False, infer_schema_length=0)
        except Exception as exc:  # calamine raises its own error types
            raise ExportFileError(path, f"the workbook cannot be read ({exc.__class__.__name__})",
                                  "Open it in Excel, save it again as .xlsx and re-run") from exc
        return grid, "xlsx"
    utf8, encoding = decode_csv(path, data)
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    try:
        grid = pl.read_csv(utf8, has_header=False, infer_schema=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError as exc:
        raise ExportFileError(path, f"the CSV cannot be parsed ({exc})", "Check quoting and separators and re-export") from exc
    return grid, encoding


def require_export(path: Path, spec: ExportSpec) -> None:
    if not Path(path).is_file():
        raise ExportFileError(path, f"no {spec.label_zh} export for this month",
                              f"Put the export at {path} (CSV or XLSX) and re-run")


def read_export(path: Path, spec: ExportSpec) -> RawExport:
    path = Path(path)
    require_export(path, spec)
    grid, encoding = _grid(path, spec)
    known = {_header_key(h): c for h, c in spec.header_map.items()}
    header_index = None
    for i in range(min(HEADER_SEARCH_ROWS, grid.height)):
        cells = [_header_key(v) for v in grid.row(i)]
        if sum(cell in known for cell in cells) >= max(3, len(spec.columns) // 3):
            header_index = i
            break
    if header_index is None:
        raise ExportFileError(path, f"no header row of a {spec.label_zh} export in the first {HEADER_SEARCH_ROWS} rows",
                              "Check that this is the right file; it needs the column names in one row")
    header = [_header_key(v) for v in grid.row(header_index)]
    chosen: dict[str, int] = {}
    used: dict[str, str] = {}
    ignored: list[str] = []
    for position, cell in enumerate(header):
        name = known.get(cell)
        if name is None:
            if cell:
                ignored.append(cell)
            continue
        if name not in chosen:  # first of two variants of the same column wins
            chosen[name] = position
            used[name] = cell
    missing = [c for c in spec.columns if c.required and c.name not in chosen]
    if missing:
        names = ", ".join(f"{c.headers[0]} ({c.name})" for c in missing)
        raise ExportFileError(path, f"required column(s) missing: {names}",
                              "Re-export with all columns; accepted header names are listed in docs/ingest.md")
    body = grid.slice(header_index + 1)
    columns = body.columns
    frame = body.select([
        (pl.col(columns[chosen[c.name]]).cast(pl.Utf8) if c.name in chosen else pl.lit(None, pl.Utf8)).alias(c.name)
        for c in spec.columns
    ])
    first_row = header_index + 2
    frame = frame.with_columns(pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64).alias("_row"))
    # Fully blank lines are an artefact of the export, not records. A row with an ID is not blank;
    # only the rows without one are looked at cell by cell.
    no_id = frame.filter(~pl.col(spec.id_column).str.contains(r"\S").fill_null(False))
    present = pl.any_horizontal([pl.col(c.name).str.contains(r"\S") for c in spec.columns]).fill_null(False)
    blank = no_id.filter(~present)["_row"]
    records = frame.filter(~pl.col("_row").is_in(blank)) if blank.len() else frame
    if records.height == 0:
        raise ExportFileError(path, "the file has a header but no rows", "Re-export the month from the source system")
    return RawExport(path, records, encoding, header_index + 1, used, ignored, frame.height - records.height)
