"""Write an export the way its source system delivers it (encoding, line ends, sheets, title rows).

Output is byte-for-byte reproducible: CSV bytes depend only on the cells, XLSX files carry a creation
time taken from the month (not the clock) and fixed ZIP timestamps, and xlwt writes no timestamps.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter
import xlwt

from nsi.month import Month
from nsi.sample.dialects import Dialect
from nsi.sample.sources import export_time

XLS_SHEET_ROWS = 65536  # an Excel 97 sheet holds no more; the rest of a long export goes on further sheets


def _csv_text(dialect: Dialect, cols: dict[str, np.ndarray]) -> str:
    # Empty cells are written as nothing at all (null), as the source systems do, not as "".
    frame = pl.DataFrame([pl.Series(c.header, [None if v == "" else str(v) for v in cols[c.key]], dtype=pl.Utf8)
                          for c in dialect.columns])
    buffer = io.StringIO()
    frame.write_csv(buffer, line_terminator=dialect.line_end, quote_style="necessary")
    return buffer.getvalue()


def write_csv(dialect: Dialect, cols: dict[str, np.ndarray], path: Path) -> None:
    path.write_bytes(_csv_text(dialect, cols).encode(dialect.encoding or "utf-8"))


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and value == "") or (
        isinstance(value, (float, np.floating)) and np.isnan(value))


def write_xlsx(dialect: Dialect, cols: dict[str, np.ndarray], path: Path, month: Month) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                               "strings_to_urls": False, "strings_to_formulas": False})
    workbook.set_properties({"created": export_time(month), "author": "export", "title": dialect.label_zh})
    sheet = workbook.add_worksheet(dialect.sheet)
    bold = workbook.add_format({"bold": True, "align": "center"})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    row = 0
    if dialect.title:
        title = dialect.title.format(year=month.year, month=month.month)
        sheet.merge_range(0, 0, 0, len(dialect.columns) - 1, title, bold)
        row = 1
    for j, header in enumerate(dialect.headers):
        sheet.write_string(row, j, header, bold)
    n = len(next(iter(cols.values())))
    arrays = [cols[c.key] for c in dialect.columns]
    for i in range(n):
        r = row + 1 + i
        for j, values in enumerate(arrays):
            value = values[i]
            if _is_blank(value):
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(r, j, value, datetime_format)
            elif isinstance(value, date):
                sheet.write_datetime(r, j, datetime(value.year, value.month, value.day), date_format)
            elif isinstance(value, (int, float, np.integer, np.floating)):
                sheet.write_number(r, j, float(value))
            else:
                sheet.write_string(r, j, str(value))
    workbook.close()


def write_xls(dialect: Dialect, cols: dict[str, np.ndarray], path: Path, month: Month) -> None:
    """Excel 97. Rows past one sheet's limit continue on `<sheet>(2)`, … each under its own header row."""
    workbook = xlwt.Workbook(encoding="utf-8")
    bold = xlwt.easyxf("font: bold on; align: horiz center")
    date_format = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    datetime_format = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    n = len(next(iter(cols.values())))
    arrays = [cols[c.key] for c in dialect.columns]
    per_sheet = XLS_SHEET_ROWS - 1 - dialect.title_rows
    for number, start in enumerate(range(0, max(n, 1), per_sheet), start=1):
        sheet = workbook.add_sheet(dialect.sheet if number == 1 else f"{dialect.sheet}({number})")
        row = 0
        if dialect.title:
            title = dialect.title.format(year=month.year, month=month.month)
            sheet.write_merge(0, 0, 0, len(dialect.columns) - 1, title, bold)
            row = 1
        for j, header in enumerate(dialect.headers):
            sheet.write(row, j, header, bold)
        for i in range(start, min(n, start + per_sheet)):
            r = row + 1 + i - start
            for j, values in enumerate(arrays):
                _write_xls_cell(sheet, r, j, values[i], date_format, datetime_format)
    workbook.save(str(path))


def _write_xls_cell(sheet, r: int, j: int, value, date_format, datetime_format) -> None:
    if _is_blank(value):
        return
    if isinstance(value, datetime):
        sheet.write(r, j, value, datetime_format)
    elif isinstance(value, date):
        sheet.write(r, j, value, date_format)
    elif isinstance(value, (int, float, np.integer, np.floating)):
        sheet.write(r, j, float(value))
    else:
        sheet.write(r, j, str(value))  # text cells: IDs keep their digits and leading zeros


def write_export(dialect: Dialect, cols: dict[str, np.ndarray], path: Path, month: Month) -> None:
    tmp = path.with_name(path.name + ".part")
    if dialect.extension == "csv":
        write_csv(dialect, cols, tmp)
    elif dialect.extension == "xls":
        write_xls(dialect, cols, tmp, month)
    else:
        write_xlsx(dialect, cols, tmp, month)
    tmp.replace(path)  # a reader never sees half a file
