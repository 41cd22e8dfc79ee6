"""Read one raw export as delivered: detect encoding and layout, map headers to canonical names.

The result has one Utf8 column per canonical column of the source's vocabulary (absent optional
columns are null) and `_row`, the row number as a spreadsheet shows it, so every later message can
point at the file's own row. Where a file has several headers for one column (an intake and a
feedback classification), the one first in the vocabulary's order of preference is read.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from nsi.messages import _
from nsi.settings import INGEST_BATCH_ROWS as DEFAULT_BATCH_ROWS
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


BLOCK_BYTES = 1 << 24  # the file is decoded this much at a time, never whole


def _blocks(path: Path, start: int = 0) -> Iterator[bytes]:
    """The file from byte `start` in blocks that each end just after a line end (the last: at the end of
    the file). A line end is one byte in UTF-8, GBK and GB18030 and never inside a character, so decoding
    block by block gives the same text, replacements included, as decoding the file whole."""
    with open(path, "rb") as handle:
        handle.seek(start)
        rest = b""
        while chunk := handle.read(BLOCK_BYTES):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            if cut:
                yield data[:cut]
            rest = data[cut:]
        if rest:
            yield rest


def _lines(path: Path, start: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of every line, as `data.split(b"\\n")` of the whole file would give them."""
    offset, ended = start, True
    for block in _blocks(path, start):
        pieces = block.split(b"\n")
        ended = not pieces[-1]
        for line in pieces[:-1] if ended else pieces:
            yield offset, line
            offset += len(line) + 1
    if ended:
        yield offset, b""


@dataclass(frozen=True)
class TextFile:
    """A CSV as UTF-8 text on disk (the file itself when it is UTF-8 already), for polars to read."""

    path: Path
    encoding: str  # utf-8-sig | utf-8 | gbk
    problems: list[LineProblem]
    lines: int  # line ends + 1
    size: int  # bytes of the file as delivered


def _decoded_copy(path: Path, start: int, encoding: str, target: Path, errors: str = "strict") -> bool:
    try:
        with open(target, "wb") as out:
            for block in _blocks(path, start):
                out.write(block.decode(encoding, errors).encode("utf-8"))
        return True
    except UnicodeDecodeError:
        return False


def _decodes(path: Path, start: int, encoding: str) -> bool:
    try:
        for block in _blocks(path, start):
            block.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def utf8_text(path: Path, scratch: Path) -> TextFile:
    """The file as UTF-8 text (a copy in `scratch` unless it is UTF-8 already), the encoding it came in, and
    the lines that did not decode in it (their bad bytes replaced by U+FFFD, so that their rows can be
    rejected). Reads the file a block at a time: memory does not grow with the file."""
    with open(path, "rb") as handle:
        bom = 3 if handle.read(3) == b"\xef\xbb\xbf" else 0
    size = path.stat().st_size
    lines = sum(block.count(b"\n") for block in _blocks(path)) + 1
    if _decodes(path, bom, "utf-8"):
        # polars skips the byte-order mark itself.
        return TextFile(path, "utf-8-sig" if bom else "utf-8", [], lines, size)
    target = scratch / f"{path.name}.utf8"
    for encoding in ENCODINGS[1:]:
        if _decoded_copy(path, bom, encoding, target):
            return TextFile(target, "utf-8-sig" if bom else "gbk", [], lines, size)
    # Mostly one encoding with a few bad rows (stray bytes, a Windows-1252 row, a cut at the end): find
    # the encoding most lines decode in, and replace only what does not.
    bad: dict[str, list[tuple[int, int, int]]] = {"utf-8": [], "gb18030": []}  # (line index, offset, first bad byte)
    count, last = 0, b""
    for count, (offset, line) in enumerate(_lines(path, bom), start=1):
        for name, found in bad.items():
            if (first := _first_bad_byte(line, name)) is not None:
                found.append((count - 1, offset, first))
        last = line
    encoding = min(bad, key=lambda e: len(bad[e]))
    if len(bad[encoding]) > MAX_UNDECODABLE_SHARE * count:
        raise ExportFileError(path, _("the file is neither UTF-8 nor GBK/GB18030 text ({bad} of {lines} lines do not "
                                      "decode in either)").format(bad=len(bad[encoding]), lines=count),
                              _("Re-export it as CSV (UTF-8 or GBK) or XLSX"))
    problems = []
    for i, offset, first in bad[encoding]:
        cut = i == count - 1 and _cut_inside_a_character(last, encoding)
        problems.append(LineProblem(i + 1, offset + first, "incomplete_last_line" if cut else "undecodable_row"))
    _decoded_copy(path, bom, encoding, target, errors="replace")
    return TextFile(target, "utf-8-sig" if bom else ("utf-8" if encoding == "utf-8" else "gbk"), problems, lines, size)


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


def _tail(path: Path) -> bytes:
    """The file's last two lines (or all of it, when it has fewer)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        length = 1 << 16
        while True:
            start = max(0, size - length)
            handle.seek(start)
            tail = handle.read()
            if start == 0 or tail.count(b"\n") >= 3:
                return tail
            length *= 4


def _last_line_cut(tail: bytes, rows: int, separator: str) -> bool:
    """The file stops inside its last row: no line end after it, and fewer cells than the rows before."""
    if not tail or tail.endswith(b"\n") or rows < 2:
        return False
    last = tail.rsplit(b"\n", 1)[-1]
    before = tail.rsplit(b"\n", 2)[-2] if tail.count(b"\n") >= 1 else b""
    return last.count(separator.encode()) < before.count(separator.encode())


def _cut_problems(text: TextFile, rows: int, separator: str) -> list[LineProblem]:
    """The reader's problems with the file's lines, a cut last row included (known once all rows are read)."""
    problems = text.problems
    if _last_line_cut(_tail(text.path), rows, separator) and not any(p.rule == "incomplete_last_line" for p in problems):
        problems = [p for p in problems if p.line != text.lines]
        problems.append(LineProblem(text.lines, text.size, "incomplete_last_line"))
    return problems


def _head_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(65536)


def _require_content(path: Path) -> bytes:
    """The file's first bytes; raises when it is empty or only whitespace."""
    head = _head_bytes(path)
    if not head or (head.isspace() and all(block.isspace() for block in _blocks(path))):
        raise ExportFileError(path, _("the file is empty"), _("Re-export the month from the source system"))
    return head


def _read_workbook(path: Path) -> Grid:
    try:
        sheets = pl.read_excel(path, sheet_id=0, has_header=False, infer_schema_length=0)
    except Exception as exc:  # calamine raises its own error types
        raise ExportFileError(path, _("the workbook cannot be read ({error})").format(error=exc.__class__.__name__),
                              _("Open it in Excel, save it again as .xlsx and re-run")) from exc
    names = list(sheets)
    return Grid(sheets[names[0]], WORKBOOKS[_require_content(path)[:4]], names[0], names, by_sheet=sheets)


WORKBOOKS = {b"PK\x03\x04": "xlsx", b"\xd0\xcf\x11\xe0": "xls"}


def _scan_csv(text: TextFile, separator: str) -> pl.LazyFrame:
    return pl.scan_csv(text.path, has_header=False, infer_schema=False, truncate_ragged_lines=True, separator=separator)


def _parse_error(path: Path, exc: Exception) -> ExportFileError:
    return ExportFileError(path, _("the CSV cannot be parsed ({error})").format(error=exc),
                           _("Check quoting and separators and re-export"))


def read_grid(path: Path) -> Grid:
    """All cells as text, no header interpretation yet; a workbook's sheets one by one."""
    path = Path(path)
    if _require_content(path)[:4] in WORKBOOKS:
        return _read_workbook(path)
    with tempfile.TemporaryDirectory(prefix="nsi-read-") as scratch:
        text = utf8_text(path, Path(scratch))
        separator = detect_separator(_head_bytes(text.path))
        try:
            grid = _scan_csv(text, separator).collect()
        except pl.exceptions.PolarsError as exc:
            raise _parse_error(path, exc) from exc
        return Grid(grid, text.encoding, None, [], _cut_problems(text, grid.height, separator), separator)


def batches_of(frames: Iterable[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """The frames' rows again, in frames of exactly `rows` rows (the last: what is left)."""
    pending: list[pl.DataFrame] = []
    held = 0
    for frame in frames:
        while frame.height:
            take = min(rows - held, frame.height)
            pending.append(frame.slice(0, take))
            frame, held = frame.slice(take), held + take
            if held == rows:
                yield pl.concat(pending) if len(pending) > 1 else pending[0]
                pending, held = [], 0
    if held:
        yield pl.concat(pending) if len(pending) > 1 else pending[0]


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


def _no_header(path: Path, whole: Grid, vocabulary: Vocabulary) -> ExportFileError:
    problem = (_("no header row of a {source} export in the first {rows} rows of any sheet (the workbook has "
                 "{sheets})") if len(whole.sheets) > 1 else
               _("no header row of a {source} export in the first {rows} rows"))
    return ExportFileError(path, problem.format(source=vocabulary.label_zh, rows=HEADER_SEARCH_ROWS,
                                                sheets=", ".join(whole.sheets)),
                           _("Check that this is the right file (`nsi inspect {file}` says which source it looks "
                             "like); it needs the column names in one row").format(file=path.name))


@dataclass
class ExportReader:
    """A raw export whose header has been found; `batches()` then reads its rows, batch by batch, once.

    What the whole file says (blank rows, rows read, the lines that could not be read) is complete
    once the last batch has been read."""

    path: Path
    encoding: str
    header_row: int
    headers_used: dict[str, list[str]]
    ignored_columns: list[str]
    header_tables: dict[str, list]
    sheet: str | None
    sheets: list[str]
    problems: list[LineProblem]
    _body: Iterator[tuple[pl.DataFrame, bool]]  # grid rows below the header, batched; True with the last
    _columns: list[pl.Expr]
    _vocabulary: Vocabulary
    _finish: object = None  # the lines' problems, once the number of rows in the file is known
    blank_rows: int = 0
    rows_read: int = 0

    def batches(self) -> Iterator[RawExport]:
        first_row = self.header_row + 1
        undecodable = 0  # undecodable lines matched with rows so far
        for body, last in self._body:
            if body.height == 0:
                continue
            if last and self._finish is not None:
                self.problems = self._finish()
            frame = body.select(self._columns)
            frame = frame.with_columns(pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64).alias("_row"))
            problems, undecodable = _file_problems(body, self.problems, undecodable, last)
            frame = frame.with_columns(problems)
            first_row += frame.height
            records = _without_blank_rows(frame, self._vocabulary)
            self.blank_rows += frame.height - records.height
            self.rows_read += records.height
            yield RawExport(self.path, records, self.encoding, self.header_row, self.headers_used, self.ignored_columns,
                            frame.height - records.height, self.header_tables, self.sheet, self.sheets, self.problems)
        if self.rows_read == 0:
            raise ExportFileError(self.path, _("the file has a header but no rows"),
                                  _("Re-export the month from the source system"))


def _without_blank_rows(frame: pl.DataFrame, vocabulary: Vocabulary) -> pl.DataFrame:
    """Fully blank lines are an artefact of the export, not records. A row with an ID is not blank; only
    the rows without one are looked at cell by cell."""
    no_id = frame.filter(~pl.col(vocabulary.id_column).str.contains(r"\S").fill_null(False))
    present = pl.any_horizontal([pl.col(c.name).str.contains(r"\S") for c in vocabulary.columns]).fill_null(False)
    blank = no_id.filter(~present)["_row"]
    return frame.filter(~pl.col("_row").is_in(blank.implode())) if blank.len() else frame


def _marked_last(frames: Iterator[pl.DataFrame]) -> Iterator[tuple[pl.DataFrame, bool]]:
    """Each frame with whether it is the last one (read one ahead); at least one frame, possibly empty."""
    held = next(frames, None)
    if held is None:
        yield pl.DataFrame(), True
        return
    for frame in frames:
        yield held, False
        held = frame
    yield held, True


def _polars_errors(path: Path, frames: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    try:
        yield from frames
    except pl.exceptions.PolarsError as exc:
        raise _parse_error(path, exc) from exc


@contextmanager
def open_export(path: Path, vocabulary: Vocabulary, batch_rows: int) -> Iterator[ExportReader]:
    """The export's header, and its rows in batches of `batch_rows` (a CSV is never in memory whole; a
    workbook is, as the reader of its format reads it whole). Raises ExportFileError when the file as a
    whole cannot be used."""
    path = Path(path)
    require_export(path, vocabulary)
    with tempfile.TemporaryDirectory(prefix="nsi-read-") as scratch:
        if _require_content(path)[:4] in WORKBOOKS:
            found, match = find_header(_read_workbook(path), vocabulary)
            if match is None:
                raise _no_header(path, _read_workbook(path), vocabulary)
            grid, finish = found.frame, None
            body = iter([grid.slice(match.header_row)])
        else:
            text = utf8_text(path, Path(scratch))
            separator = detect_separator(_head_bytes(text.path))
            rows = _polars_errors(path, batches_of(_scan_csv(text, separator).collect_batches(chunk_size=batch_rows),
                                                   batch_rows))
            head: list[pl.DataFrame] = []
            while sum(f.height for f in head) < HEADER_SEARCH_ROWS and (frame := next(rows, None)) is not None:
                head.append(frame)
            grid = pl.concat(head) if head else pl.DataFrame()
            found = Grid(grid, text.encoding, None, [], text.problems, separator)
            match = match_header(grid, vocabulary)
            if match is None:
                raise _no_header(path, found, vocabulary)
            counted = {"rows": 0}

            def counting(frames):
                for frame in frames:
                    counted["rows"] += frame.height
                    yield frame

            body = counting(_chain(grid.slice(match.header_row), rows))
            finish = lambda: _cut_problems(text, match.header_row + counted["rows"], separator)  # noqa: E731
        if match.missing:
            # The inspector's findings read the whole file: this is the path of a refused file only.
            whole, missing = find_header(read_grid(path), vocabulary)
            raise missing_columns_error(path, missing or match, vocabulary, whole.frame, whole.encoding)
        selected, tables = _selected(grid, match, vocabulary)
        yield ExportReader(path, found.encoding, match.header_row, match.used(vocabulary), match.unrecognised, tables,
                           found.sheet, found.sheets, list(found.problems),
                           _marked_last(batches_of(body, batch_rows)), selected, vocabulary, finish)


def _chain(first: pl.DataFrame, rest: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    yield first
    yield from rest


def _selected(grid: pl.DataFrame, match: HeaderMatch, vocabulary: Vocabulary) -> tuple[list[pl.Expr], dict[str, list]]:
    """The expressions that make canonical columns of the grid's, and each mapped column's value table."""
    selected = []
    tables: dict[str, list] = {}
    for column in vocabulary.columns:
        positions = match.positions.get(column.name)
        if not positions:
            selected.append(pl.lit(None, pl.Utf8).alias(column.name))
            continue
        # The whole column comes from one header: a blank cell under it is blank, not a reason to read
        # a less preferred column (a blank 登记日期 is a missing date, not the 受理日期).
        selected.append(pl.col(grid.columns[positions[0]]).cast(pl.Utf8).alias(column.name))
        if column.mapped:
            tables[column.name] = [_table_of(column, vocabulary.key(match.cells[positions[0]]))]
    return selected, tables


def read_export(path: Path, vocabulary: Vocabulary, batch_rows: int = DEFAULT_BATCH_ROWS) -> RawExport:
    """The whole export at once (the batches of `open_export`, put together): for looking at a file."""
    with open_export(path, vocabulary, batch_rows) as reader:
        frames = [batch.frame for batch in reader.batches()]
        return RawExport(reader.path, pl.concat(frames), reader.encoding, reader.header_row, reader.headers_used,
                         reader.ignored_columns, reader.blank_rows, reader.header_tables, reader.sheet, reader.sheets,
                         reader.problems)


def _file_problems(body: pl.DataFrame, problems: list[LineProblem], matched: int,
                   last: bool) -> tuple[pl.Series, int]:
    """`rule|detail` on the rows that could not be read as written (they are rejected), else null; and
    how many undecodable lines have been matched with rows, this batch's included.

    A row is found by the replacement character its bad bytes became, in the order of the bad lines
    (`matched` of them went to earlier batches); a cut last line is the last row of the last batch."""
    values: list[str | None] = [None] * body.height
    if not problems or body.height == 0:
        return pl.Series("_file_problem", values, pl.Utf8), matched
    undecodable = [p for p in problems if p.rule == "undecodable_row"][matched:]
    marked = body.select(pl.any_horizontal(pl.all().cast(pl.Utf8).str.contains(REPLACEMENT, literal=True))
                         .fill_null(False)).to_series()
    for index, problem in zip(marked.arg_true().to_list(), undecodable):
        values[index] = f"undecodable_row|byte offset {problem.byte_offset} (line {problem.line})"
        matched += 1
    if last:
        for problem in problems:
            if problem.rule == "incomplete_last_line":
                values[-1] = f"incomplete_last_line|the file ends inside its last row, at byte {problem.byte_offset}"
    return pl.Series("_file_problem", values, pl.Utf8), matched


def _table_of(column: Column, key: str):
    header = next(h for h in column.headers if h.key == key)
    return header.values or column.values
