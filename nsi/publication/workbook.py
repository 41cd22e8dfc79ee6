"""The analysts' workbook of a month or a range of months, as .xlsx bytes.

Sheets, column names and number formats come from nsi/publication/workbook.yaml, the values from the
warehouse (nsi/publication/workbook_tables.py). Every value is stored at full precision (as many digits
as a cell holds) and only shown rounded; every sheet has an autofilter and a frozen header row.

The same warehouse gives the same bytes: the document's creation time is the end of the last month,
and every part of the file carries the fixed timestamp and attributes of xlsxwriter's in-memory mode.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import xlsxwriter

from nsi.month import Month
from nsi.publication import workbook_names
from nsi.publication.workbook_names import Language, WorkbookNames
from nsi.publication.workbook_tables import SheetData, sheets
from nsi.reference import Reference, load_reference

MIN_WIDTH, MAX_WIDTH = 8, 60
HEADER_WIDTH = 24  # a longer header wraps inside its cell rather than widening the column
HEADER_HEIGHT = 30  # points: two lines of a wrapped header (Excel does not grow a row for wrapped text by itself)
NUMBER_WIDTH = 12


def build(con: duckdb.DuckDBPyConnection, first: Month, last: Month, methodologies: Callable[[str], Any], *,
          lang: Language = "zh", extract_dir: Path | None = None, reference: Reference | None = None) -> bytes:
    """The workbook of months first..last from the warehouse behind `con`.

    methodologies(version): the methodology a month was computed with, as indicators.methodology loads it.
    extract_dir: the extract files beside the warehouse, which place rejected rows in their district.
    """
    names = workbook_names.load()
    reference = reference or load_reference()
    data = sheets(con, first, last, methodologies, names, lang, reference, extract_dir)
    span = first.key if first == last else f"{first.key} – {last.key}"
    return write(data, names, lang, names.title.of(lang).format(months=span), last.end)


def _display_width(value) -> int:
    if value is None:
        return 0
    if not isinstance(value, str):
        return NUMBER_WIDTH
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def _columns(sheet: SheetData, names: WorkbookNames, lang: Language) -> list[tuple[str, str, str | None]]:
    """(frame column, header, number format) of each shown column, parts expanded."""
    spec = names.sheet(sheet.key)
    out = []
    for column in spec.columns:
        if column.each:
            out += [(f"{column.key}:{code}", column.of(lang).format(name=name), column.format)
                    for code, name in sheet.parts.get(column.each, {}).items()]
        else:
            out.append((column.key, column.of(lang), column.format))
    missing = [c for c, _, _ in out if c not in sheet.frame.columns]
    if missing:
        raise KeyError(f"sheet {sheet.key}: the warehouse query gives no column {', '.join(missing)}")
    return out


def write(data: list[SheetData], names: WorkbookNames, lang: Language, title: str, created: datetime) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"created": created, "title": title})
    header = workbook.add_format(dict(names.header))
    formats: dict[str, Any] = {}

    def number_format(text: str | None):
        if text is None:
            return None
        if text not in formats:
            formats[text] = workbook.add_format({"num_format": text})
        return formats[text]

    for sheet in data:
        spec = names.sheet(sheet.key)
        worksheet = workbook.add_worksheet(spec.of(lang))
        columns = _columns(sheet, names, lang)
        frame = sheet.frame
        units = frame["_unit"].to_list() if "_unit" in frame.columns else [None] * frame.height
        for j, (key, title_text, fmt) in enumerate(columns):
            worksheet.write_string(0, j, title_text, header)
            values = frame[key].to_list()
            for i, value in enumerate(values, start=1):
                if value is None or (isinstance(value, float) and not math.isfinite(value)):
                    continue
                if isinstance(value, str):
                    worksheet.write_string(i, j, value)
                    continue
                shown = fmt
                if fmt and fmt.startswith("unit:"):
                    unit = units[i - 1]
                    shown = getattr(names.unit(unit), fmt.removeprefix("unit:")) if unit else None
                worksheet.write_number(i, j, value, number_format(shown))
            width = max([min(_display_width(title_text), HEADER_WIDTH), *map(_display_width, values)], default=8)
            worksheet.set_column(j, j, min(max(width, MIN_WIDTH) + 2, MAX_WIDTH))
        worksheet.set_row(0, HEADER_HEIGHT)
        worksheet.autofilter(0, 0, frame.height, len(columns) - 1)
        worksheet.freeze_panes(1, spec.freeze_columns)
        # Codes and months are text on purpose (320102, 2024-03): no "number stored as text" marks.
        worksheet.ignore_errors({"number_stored_as_text": f"A1:{xlsxwriter.utility.xl_col_to_name(len(columns) - 1)}"
                                                          f"{frame.height + 1}"})
    workbook.close()
    return buffer.getvalue()

