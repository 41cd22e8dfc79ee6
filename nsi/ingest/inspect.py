"""`nsi inspect`: what a raw export says, measured against the source vocabularies, before any run.

The encoding, the header row, each header with the column it feeds, every header no column accepts
(with the nearest accepted names), the required columns still missing, and the values of mapped
columns the vocabulary does not know, with counts. A run that stops on a file prints the same
findings, so the analyst can fix the vocabulary in one edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from rapidfuzz import fuzz, process

from nsi import vocabulary as vocabularies
from nsi.exports import SOURCES
from nsi.ingest import normalise
from nsi.ingest.read import Grid, HeaderMatch, MissingColumnsError, find_header, read_grid
from nsi.messages import N_, translator
from nsi.vocabulary import Vocabulary

SUGGESTIONS = 3
SUGGESTION_CUTOFF = 60  # rapidfuzz WRatio, 0..100


@dataclass
class HeaderLine:
    header: str
    column: str | None  # the canonical column it feeds, None when no column accepts it
    nearest: list[tuple[str, str]] = field(default_factory=list)  # (accepted header, its column)
    preferred: str | None = None  # the header the column is read from instead, when this one is not


@dataclass
class Inspection:
    path: Path
    encoding: str
    source: str | None
    vocabulary: str | None
    header_row: int | None
    rows: int
    headers: list[HeaderLine]
    missing: list[str]
    unknown_values: pl.DataFrame  # column, header, value, rows
    candidates: dict[str, int] = field(default_factory=dict)  # source → headers recognised, when guessed
    sheet: str | None = None  # the workbook sheet read
    sheets: list[str] = field(default_factory=list)
    problems: list = field(default_factory=list)  # lines that could not be read as written
    separator: str = ","

    @property
    def loads(self) -> bool:
        return self.header_row is not None and not self.missing


def _nearest(key: str, vocabulary: Vocabulary) -> list[tuple[str, str]]:
    choices = {h.key: (h.text, c.name) for c in vocabulary.columns for h in c.headers}
    found = process.extract(key, list(choices), scorer=fuzz.WRatio, limit=SUGGESTIONS, score_cutoff=SUGGESTION_CUTOFF)
    return [choices[k] for k, _, _ in found]


def _unknown_values(body: pl.DataFrame, match: HeaderMatch, vocabulary: Vocabulary) -> pl.DataFrame:
    rows = []
    for column in vocabulary.columns:
        for position in match.positions.get(column.name, [])[:1]:  # the header the column is read from
            header = match.cells[position]
            table = next(h for h in column.headers if h.key == vocabulary.key(header)).values or column.values
            if table is None:
                continue
            cleaned = body.select(normalise.clean_code(pl.col(body.columns[position]).cast(pl.Utf8)).alias("v"))
            for value, count in cleaned.group_by("v").len().drop_nulls("v").iter_rows():
                if table.map(value) is None:
                    rows.append({"column": column.name, "header": header, "value": value, "rows": count})
    frame = pl.DataFrame(rows, schema={"column": pl.Utf8, "header": pl.Utf8, "value": pl.Utf8, "rows": pl.Int64})
    return frame.sort(["column", "rows", "value"], descending=[False, True, False])


def _inspection(path: Path, found: Grid, vocabulary: Vocabulary, match: HeaderMatch | None,
                candidates: dict[str, int]) -> Inspection:
    grid, encoding = found.frame, found.encoding
    if match is None:
        return Inspection(path, encoding, vocabulary.source, vocabulary.name, None, grid.height, [], [],
                          pl.DataFrame(schema={"column": pl.Utf8, "header": pl.Utf8, "value": pl.Utf8, "rows": pl.Int64}),
                          candidates, found.sheet, found.sheets, found.problems, found.separator)
    feeds = {p: (name, positions[0]) for name, positions in match.positions.items() for p in positions}
    lines = []
    for position, header in enumerate(match.cells):
        if not header.strip():
            continue
        column, read_from = feeds.get(position, (None, None))
        preferred = match.cells[read_from] if column and read_from != position else None
        lines.append(HeaderLine(header, column, [] if column else _nearest(vocabulary.key(header), vocabulary), preferred))
    body = grid.slice(match.header_row)
    return Inspection(path, encoding, vocabulary.source, vocabulary.name, match.header_row, body.height, lines,
                      match.missing, _unknown_values(body, match, vocabulary), candidates, found.sheet, found.sheets,
                      found.problems, found.separator)


def inspect(path: Path, source: str | None = None, directory: Path | None = None) -> Inspection:
    """Raises ExportFileError when the file cannot be read at all (empty, not text, broken workbook)."""
    path = Path(path)
    whole = read_grid(path)
    if source:
        vocabulary = vocabularies.load(source, directory=directory)
        found, match = find_header(whole, vocabulary)
        return _inspection(path, found, vocabulary, match, {})
    # Which source is it? The vocabulary that recognises the most headers.
    scored = {}
    for name in SOURCES:
        vocabulary = vocabularies.load(name, directory=directory)
        found, match = find_header(whole, vocabulary)
        scored[name] = (len(match.positions) if match else 0, vocabulary, found, match)
    best = max(scored, key=lambda s: scored[s][0])
    candidates = {s: v[0] for s, v in scored.items()}
    _, vocabulary, found, match = scored[best]
    inspection = _inspection(path, found, vocabulary, match, candidates)
    if match is None:
        inspection.source = inspection.vocabulary = None
    return inspection


def inspect_failure(exc: MissingColumnsError) -> Inspection:
    """The findings for a file a run refused for its headers."""
    return _inspection(exc.path, Grid(exc.grid, exc.encoding), exc.vocabulary, exc.match, {})


# ------------------------------------------------------------------------------------ wording
# The reader's problems with a line of the file, by rule (LineProblem.rule).
LINE_PROBLEMS = {
    "undecodable_row": N_("line {line} does not decode in the file's encoding (byte {offset}): that row is rejected, "
                          "the others load"),
    "incomplete_last_line": N_("the file ends inside its last line (line {line}, byte {offset}): the export is incomplete"),
}


def findings_text(inspection: Inspection, lang: str | None = None, limit: int = 30) -> str:
    """The findings as an analyst reads them, in `lang` (default: the language in use)."""
    _ = translator(lang)
    lines = [_("file: {file}").format(file=inspection.path.name), _("encoding: {encoding}").format(encoding=inspection.encoding)]
    if inspection.sheets:
        lines.append(_("sheet read: {sheet} (all sheets: {sheets})").format(sheet=inspection.sheet,
                                                                            sheets=", ".join(inspection.sheets)))
    elif inspection.separator != ",":
        lines.append(_("separator: {separator}").format(separator=repr(inspection.separator)))
    for problem in inspection.problems[:limit]:
        lines.append(_(LINE_PROBLEMS[problem.rule]).format(line=problem.line, offset=problem.byte_offset))
    if inspection.candidates:
        lines.append(_("headers recognised per source: {counts}").format(
            counts=", ".join(f"{s} {n}" for s, n in inspection.candidates.items())))
    if inspection.header_row is None:
        from nsi.ingest.read import HEADER_SEARCH_ROWS
        lines.append(_("no header row of any source in the first {rows} rows").format(rows=HEADER_SEARCH_ROWS))
        return "\n".join(lines)
    source = _("source: {source} (guessed from the headers)") if inspection.candidates else _("source: {source}")
    lines += [source.format(source=inspection.source),
              _("vocabulary: {file}").format(file=f"data/vocabularies/{inspection.vocabulary}.yaml"),
              _("header row: {row}").format(row=inspection.header_row), _("data rows: {rows}").format(rows=inspection.rows),
              _("headers and the columns they feed:")]
    for line in inspection.headers:
        if line.column and line.preferred:
            lines.append("  " + _("{header} → {column} (not used: the column is read from {preferred})").format(
                header=line.header, column=line.column, preferred=line.preferred))
        elif line.column:
            lines.append(f"  {line.header} → {line.column}")
        else:
            nearest = ", ".join(f"{h} ({c})" for h, c in line.nearest) or _("none")
            lines.append("  " + _("{header} → ? (not used)   nearest accepted headers: {nearest}").format(
                header=line.header, nearest=nearest))
    unrecognised = [h.header for h in inspection.headers if h.column is None]
    lines.append(_("unrecognised headers: {count}").format(count=len(unrecognised)))
    lines.append(_("required columns still missing: {columns}").format(columns=", ".join(inspection.missing) or _("none")))
    lines.append(_("values the vocabulary does not know: {count}").format(count=inspection.unknown_values.height or _("none")))
    for row in inspection.unknown_values.head(limit).iter_rows(named=True):
        lines.append(f"  {row['column']} ({row['header']}): '{row['value']}' ×{row['rows']}")
    if inspection.unknown_values.height > limit:
        lines.append(f"  … +{inspection.unknown_values.height - limit}")
    lines.append(_("loads") if inspection.loads else _("does not load: fix the problems above first"))
    if inspection.missing or inspection.unknown_values.height:
        lines.append(_("to fix: add the headers or values to {file} (see docs/ingest.md)").format(
            file=f"data/vocabularies/{inspection.vocabulary}.yaml"))
    return "\n".join(lines)
