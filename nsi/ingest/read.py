"""Read one raw export as delivered: detect encoding and layout, map headers to canonical names.

The result has one Utf8 column per canonical column of the source's vocabulary (absent optional
columns are null) and `_row`, the row number as a spreadsheet shows it, so every later message can
point at the file's own row. Where a file has several headers for one column (an intake and a
feedback classification), the one first in the vocabulary's order of preference is read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from nsi.messages import _
from nsi.vocabulary import Column, Vocabulary

ENCODINGS = ("utf-8", "gbk", "gb18030")  # GBK first (what the police system writes, and decodes faster); both reported as gbk
HEADER_SEARCH_ROWS = 6


class ExportFileError(Exception):
    """The file as a whole cannot be used; the message names the file and what to do.

    `problem` and `action` are sentences of the catalogue, in the language in use."""

    def __init__(self, path: Path, problem: str, action: str):
        self.path, self.problem, self.action = Path(path), problem, action
        super().__init__(_("{file}: {problem}. {action}").format(file=Path(path).name, problem=problem, action=action))


@dataclass
class RawExport:
    path: Path
    frame: pl.DataFrame  # canonical Utf8 columns + _row (Int64)
    encoding: str  # utf-8-sig | utf-8 | gb18030 | xlsx
    header_row: int  # 1-based row of the header in the file
    headers_used: dict[str, list[str]] = field(default_factory=dict)  # canonical → headers found, preferred first
    ignored_columns: list[str] = field(default_factory=list)
    blank_rows: int = 0  # wholly empty lines (Excel leaves them); not records, but counted
    header_tables: dict[str, list] = field(default_factory=dict)  # mapped column → [value table of the header read]
    sheet: str | None = None  # the workbook sheet the rows come from
    sheets: list[str] = field(default_factory=list)
    problems: list = field(default_factory=list)  # LineProblem: lines that could not be read as written


@dataclass
class HeaderMatch:
    """What the header row of a file says, measured against a vocabulary."""

    header_row: int  # 1-based
    cells: list[str]  # the header cells as written
    positions: dict[str, list[int]]  # canonical column → positions of its headers in the file, preferred first
    unrecognised: list[str]  # header cells no column accepts
    missing: list[str]  # required columns (or groups of alternatives) with no header

    def used(self, vocabulary: Vocabulary) -> dict[str, list[str]]:
        """canonical column → [the header it is read from]."""
        return {name: [self.cells[positions[0]]] for name, positions in self.positions.items()}


class MissingColumnsError(ExportFileError):
    """The header row is there, but required columns are not; carries the match for the inspector."""

    def __init__(self, path: Path, problem: str, action: str, match: HeaderMatch, grid: pl.DataFrame, encoding: str,
                 vocabulary: Vocabulary):
        super().__init__(path, problem, action)
        self.match, self.grid, self.encoding, self.vocabulary = match, grid, encoding, vocabulary


# Of the lines of a text file, at most this share may fail to decode in its encoding; more, and the
# file is in some other encoding altogether (UTF-16, Big5, binary) and is refused as a whole.
MAX_UNDECODABLE_SHARE = 0.2
SEPARATORS = (",", ";", "\t", "|")
REPLACEMENT = "\ufffd"  # what an undecodable byte becomes; the rows holding it are rejected


@dataclass(frozen=True)
class LineProblem:
    """A line of the file that could not be read as it was written."""

    line: int  # 1-based line of the file
    byte_offset: int  # of the first byte that does not decode (or of the cut), from the start of the file
    rule: str  # undecodable_row | incomplete_last_line


@dataclass
class Grid:
    """All cells of the file as text, before any header is looked for."""

    frame: pl.DataFrame
    encoding: str  # utf-8-sig | utf-8 | gbk | xlsx | xls
    sheet: str | None = None  # the workbook sheet read
    sheets: list[str] = field(default_factory=list)  # every sheet of the workbook
    problems: list[LineProblem] = field(default_factory=list)
    separator: str = ","
    by_sheet: dict[str, pl.DataFrame] = field(default_factory=dict)  # a workbook's sheets, in order


def _first_bad_byte(line: bytes, encoding: str) -> int | None:
    try:
        line.decode(encoding)
        return None
    except UnicodeDecodeError as exc:
        return exc.start


def decode_csv(path: Path, data: bytes) -> tuple[bytes, str, list[LineProblem]]:
    """The file as UTF-8 bytes (what polars reads fastest), the encoding it came in, and the lines that
    did not decode in it (their bad bytes replaced by U+FFFD, so that their rows can be rejected)."""
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    data = data[bom:]
    try:
        data.decode("utf-8")
        return data, "utf-8", []
    except UnicodeDecodeError:
        pass
    for encoding in ENCODINGS[1:]:
        try:
            return data.decode(encoding).encode("utf-8"), "gbk", []
        except UnicodeDecodeError:
            continue
    # Mostly one encoding with a few bad rows (stray bytes, a Windows-1252 row, a cut at the end): find
    # the encoding most lines decode in, and replace only what does not.
    lines = data.split(b"\n")
    bad = {encoding: [i for i, line in enumerate(lines) if _first_bad_byte(line, encoding) is not None]
           for encoding in ("utf-8", "gb18030")}
    encoding = min(bad, key=lambda e: len(bad[e]))
    if len(bad[encoding]) > MAX_UNDECODABLE_SHARE * len(lines):
        raise ExportFileError(path, _("the file is neither UTF-8 nor GBK/GB18030 text ({bad} of {lines} lines do not "
                                      "decode in either)").format(bad=len(bad[encoding]), lines=len(lines)),
                              _("Re-export it as CSV (UTF-8 or GBK) or XLSX"))
    starts = [bom]  # offsets count from the start of the file as delivered, its byte-order mark included
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    problems = []
    for i in bad[encoding]:
        cut = i == len(lines) - 1 and _cut_inside_a_character(lines[i], encoding)
        offset = starts[i] + (_first_bad_byte(lines[i], encoding) or 0)
        problems.append(LineProblem(i + 1, offset, "incomplete_last_line" if cut else "undecodable_row"))
    text = data.decode(encoding, errors="replace")
    return text.encode("utf-8"), "utf-8" if encoding == "utf-8" else "gbk", problems


def _cut_inside_a_character(line: bytes, encoding: str) -> bool:
    """The bytes are fine up to the end, where a character stops half way: the file was cut."""
    try:
        line.decode(encoding)
        return False
    except UnicodeDecodeError as exc:
        return exc.reason in ("unexpected end of data", "incomplete multibyte sequence") or exc.end >= len(line)


def detect_separator(text: bytes) -> str:
    """The separator whose count is the same on most of the first lines, and largest; `,` when unsure.

    Chinese text uses the full-width ，and ；, so a half-width separator is rarely also in the cells."""
    sample = text[:65536].decode("utf-8", errors="replace").splitlines()[:30]
    if not sample:
        return ","
    best, best_count = ",", 0
    for separator in SEPARATORS:
        counts = [line.count(separator) for line in sample if line.strip()]
        header = counts[0] if counts else 0
        if header == 0:
            continue
        agreeing = sum(1 for c in counts if c == header) / len(counts)
        if agreeing >= 0.6 and header > best_count:
            best, best_count = separator, header
    return best


def _last_line_cut(data: bytes, grid: pl.DataFrame, separator: str) -> bool:
    """The file stops inside its last row: no line end after it, and fewer cells than the rows before."""
    if not data or data.endswith(b"\n") or grid.height < 2:
        return False
    last = data.rsplit(b"\n", 1)[-1]
    before = data.rsplit(b"\n", 2)[-2] if data.count(b"\n") >= 1 else b""
    return last.count(separator.encode()) < before.count(separator.encode())


def read_grid(path: Path) -> Grid:
    """All cells as text, no header interpretation yet; a workbook's sheets one by one."""
    data = path.read_bytes()
    if not data or data.isspace():  # isspace() stops at the first character that is not
        raise ExportFileError(path, _("the file is empty"), _("Re-export the month from the source system"))
    workbook = {b"PK\x03\x04": "xlsx", b"\xd0\xcf\x11\xe0": "xls"}.get(data[:4])
    if workbook:
        try:
            sheets = pl.read_excel(io.BytesIO(data), sheet_id=0, has_header=False, infer_schema_length=0)
        except Exception as exc:  # calamine raises its own error types
            raise ExportFileError(path, _("the workbook cannot be read ({error})").format(error=exc.__class__.__name__),
                                  _("Open it in Excel, save it again as .xlsx and re-run")) from exc
        names = list(sheets)
        return Grid(sheets[names[0]], workbook, names[0], names, by_sheet=sheets)
    utf8, encoding, problems = decode_csv(path, data)
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    separator = detect_separator(utf8)
    try:
        grid = pl.read_csv(utf8, has_header=False, infer_schema=False, truncate_ragged_lines=True, separator=separator)
    except pl.exceptions.PolarsError as exc:
        raise ExportFileError(path, _("the CSV cannot be parsed ({error})").format(error=exc),
                              _("Check quoting and separators and re-export")) from exc
    if _last_line_cut(utf8, grid, separator) and not any(p.rule == "incomplete_last_line" for p in problems):
        problems = [p for p in problems if p.line != utf8.count(b"\n") + 1]
        problems.append(LineProblem(utf8.count(b"\n") + 1, len(data), "incomplete_last_line"))
    return Grid(grid, encoding, None, [], problems, separator)


def _continued(sheets: list[pl.DataFrame]) -> pl.DataFrame:
    """The first sheet, followed by every later sheet that repeats its header row: an .xls sheet holds
    at most 65,536 rows, so a large month continues on 工单明细(2), (3) … Rows are numbered through the
    sheets as one table (a later sheet's header row is not counted)."""
    grid = sheets[0]
    top = [tuple(grid.row(i)) for i in range(min(HEADER_SEARCH_ROWS, grid.height))]
    parts = [grid]
    for sheet in sheets[1:]:
        if sheet.height == 0 or sheet.width != grid.width or tuple(sheet.row(0)) not in top:
            continue
        parts.append(sheet.slice(1).rename(dict(zip(sheet.columns, grid.columns))))
    return pl.concat(parts) if len(parts) > 1 else grid


def candidate_grids(grid: Grid) -> list[Grid]:
    """Where a header may be: the one table of a CSV, or each sheet of a workbook in order (with the
    sheets that continue it)."""
    if len(grid.by_sheet) < 2:
        return [grid]
    frames = list(grid.by_sheet.values())
    return [Grid(_continued(frames[i:]), grid.encoding, name, grid.sheets) for i, name in enumerate(grid.by_sheet)]


def find_header(grid: Grid, vocabulary: Vocabulary) -> tuple[Grid, HeaderMatch | None]:
    """The first sheet whose top rows hold this source's header row (a notes sheet 填表说明 may come first)."""
    for candidate in candidate_grids(grid):
        match = match_header(candidate.frame, vocabulary)
        if match is not None:
            return candidate, match
    return grid, None


def require_export(path: Path, vocabulary: Vocabulary) -> None:
    if not Path(path).is_file():
        raise ExportFileError(path, _("no {source} export for this month").format(source=vocabulary.label_zh),
                              _("Put the export at {path} (CSV, XLSX or XLS) and re-run").format(path=path))


def match_header(grid: pl.DataFrame, vocabulary: Vocabulary) -> HeaderMatch | None:
    """The first of the top rows that reads as this source's header row, measured against the vocabulary."""
    index = vocabulary.header_index
    for i in range(min(HEADER_SEARCH_ROWS, grid.height)):
        cells = ["" if v is None else str(v) for v in grid.row(i)]
        keys = [vocabulary.key(c) for c in cells]
        if sum(k in index for k in keys) < max(3, len(vocabulary.columns) // 3):
            continue
        ranked: dict[str, list[tuple[int, int]]] = {}
        unrecognised = []
        for position, key in enumerate(keys):
            if key not in index:
                if key:
                    unrecognised.append(cells[position])
                continue
            for column, rank in index[key]:
                ranked.setdefault(column.name, []).append((rank, position))
        positions = {name: [p for rank, p in sorted(found)] for name, found in ranked.items()}
        missing = [c.name for c in vocabulary.columns if c.required and c.name not in positions]
        missing += [" / ".join(group) for group in vocabulary.required_one_of if not set(group) & set(positions)]
        return HeaderMatch(i + 1, cells, positions, unrecognised, missing)
    return None


def missing_columns_error(path: Path, match: HeaderMatch, vocabulary: Vocabulary, grid, encoding) -> MissingColumnsError:
    names = ", ".join(f"{vocabulary.column(m).headers[0].text} ({m})" if vocabulary.has(m) else m for m in match.missing)
    return MissingColumnsError(path, _("required column(s) missing: {columns}").format(columns=names),
                               _("Run `nsi inspect {file}` to see every header; add the file's header names to "
                                 "{vocabulary} under data/vocabularies (docs/ingest.md), or re-export with all columns")
                               .format(file=Path(path).name, vocabulary=f"{vocabulary.path.parent.name}/{vocabulary.path.name}"),
                               match, grid, encoding, vocabulary)


def read_export(path: Path, vocabulary: Vocabulary) -> RawExport:
    path = Path(path)
    require_export(path, vocabulary)
    whole = read_grid(path)
    found, match = find_header(whole, vocabulary)
    if match is None:
        problem = (_("no header row of a {source} export in the first {rows} rows of any sheet (the workbook has "
                     "{sheets})") if len(whole.sheets) > 1 else
                   _("no header row of a {source} export in the first {rows} rows"))
        raise ExportFileError(path, problem.format(source=vocabulary.label_zh, rows=HEADER_SEARCH_ROWS,
                                                   sheets=", ".join(whole.sheets)),
                              _("Check that this is the right file (`nsi inspect {file}` says which source it looks "
                                "like); it needs the column names in one row").format(file=path.name))
    grid, encoding = found.frame, found.encoding
    if match.missing:
        raise missing_columns_error(path, match, vocabulary, grid, encoding)
    header_index = match.header_row - 1
    body = grid.slice(header_index + 1)
    selected = []
    tables: dict[str, list] = {}
    for column in vocabulary.columns:
        positions = match.positions.get(column.name)
        if not positions:
            selected.append(pl.lit(None, pl.Utf8).alias(column.name))
            continue
        # The whole column comes from one header: a blank cell under it is blank, not a reason to read
        # a less preferred column (a blank 登记日期 is a missing date, not the 受理日期).
        selected.append(pl.col(body.columns[positions[0]]).cast(pl.Utf8).alias(column.name))
        if column.mapped:
            tables[column.name] = [_table_of(column, vocabulary.key(match.cells[positions[0]]))]
    frame = body.select(selected)
    first_row = header_index + 2
    frame = frame.with_columns(pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64).alias("_row"))
    frame = frame.with_columns(_file_problems(body, found.problems, first_row))
    # Fully blank lines are an artefact of the export, not records. A row with an ID is not blank;
    # only the rows without one are looked at cell by cell.
    no_id = frame.filter(~pl.col(vocabulary.id_column).str.contains(r"\S").fill_null(False))
    present = pl.any_horizontal([pl.col(c.name).str.contains(r"\S") for c in vocabulary.columns]).fill_null(False)
    blank = no_id.filter(~present)["_row"]
    records = frame.filter(~pl.col("_row").is_in(blank)) if blank.len() else frame
    if records.height == 0:
        raise ExportFileError(path, _("the file has a header but no rows"), _("Re-export the month from the source system"))
    return RawExport(path, records, encoding, match.header_row, match.used(vocabulary), match.unrecognised,
                     frame.height - records.height, tables, found.sheet, found.sheets, found.problems)


def _file_problems(body: pl.DataFrame, problems: list[LineProblem], first_row: int) -> pl.Series:
    """`rule|detail` on the rows that could not be read as written (they are rejected), else null.

    A row is found by the replacement character its bad bytes became, in the order of the bad lines;
    a cut last line is the last row."""
    values: list[str | None] = [None] * body.height
    if not problems or body.height == 0:
        return pl.Series("_file_problem", values, pl.Utf8)
    undecodable = [p for p in problems if p.rule == "undecodable_row"]
    marked = body.select(pl.any_horizontal(pl.all().cast(pl.Utf8).str.contains(REPLACEMENT, literal=True))
                         .fill_null(False)).to_series()
    for index, problem in zip(marked.arg_true().to_list(), undecodable):
        values[index] = f"undecodable_row|byte offset {problem.byte_offset} (line {problem.line})"
    for problem in problems:
        if problem.rule == "incomplete_last_line":
            values[-1] = f"incomplete_last_line|the file ends inside its last row, at byte {problem.byte_offset}"
    return pl.Series("_file_problem", values, pl.Utf8)


def _table_of(column: Column, key: str):
    header = next(h for h in column.headers if h.key == key)
    return header.values or column.values
