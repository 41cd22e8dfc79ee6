"""Write an export the way its source system delivers it (encoding, line ends, XLSX title rows).

Output is byte-for-byte reproducible: CSV bytes depend only on the cells, and XLSX files carry a
creation time taken from the month (not the clock) and fixed ZIP timestamps.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

from nsi.exports import ExportSpec
from nsi.month import Month
from nsi.sample.sources import export_time


def _csv_text(spec: ExportSpec, cols: dict[str, np.ndarray], line_end: str) -> str:
    headers = [c.headers[0] for c in spec.columns]
    # Empty cells are written as nothing at all (null), as the source systems do, not as "".
    frame = pl.DataFrame([pl.Series(h, [None if v == "" else str(v) for v in cols[c.name]], dtype=pl.Utf8)
                          for h, c in zip(headers, spec.columns)])
    buffer = io.StringIO()
    frame.write_csv(buffer, line_terminator=line_end, quote_style="necessary")
    return buffer.getvalue()


def write_csv(spec: ExportSpec, cols: dict[str, np.ndarray], path: Path) -> None:
    # Police exports come from a Windows client (GBK, CRLF); the hotline platform writes UTF-8 with a BOM.
    line_end = "\r\n" if spec.encoding == "gbk" else "\n"
    text = _csv_text(spec, cols, line_end)
    path.write_bytes(text.encode(spec.encoding or "utf-8"))


def write_xlsx(spec: ExportSpec, cols: dict[str, np.ndarray], path: Path, month: Month) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                               "strings_to_urls": False, "strings_to_formulas": False})
    workbook.set_properties({"created": export_time(month), "author": "export", "title": spec.label_zh})
    sheet = workbook.add_worksheet("Sheet1")
    bold = workbook.add_format({"bold": True, "align": "center"})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    row = 0
    if spec.title_rows:
        title = f"南京市{spec.label_zh}台账（{month.year}年{month.month}月）"
        sheet.merge_range(0, 0, 0, len(spec.columns) - 1, title, bold)
        row = 1
    for j, column in enumerate(spec.columns):
        sheet.write_string(row, j, column.headers[0], bold)
    n = len(next(iter(cols.values())))
    arrays = [cols[c.name] for c in spec.columns]
    for i in range(n):
        r = row + 1 + i
        for j, values in enumerate(arrays):
            value = values[i]
            if value is None or value == "":
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(r, j, value, datetime_format)
            elif isinstance(value, date):
                sheet.write_datetime(r, j, datetime(value.year, value.month, value.day), date_format)
            elif isinstance(value, (int, float, np.integer, np.floating)):
                if isinstance(value, (float, np.floating)) and np.isnan(value):
                    continue
                sheet.write_number(r, j, float(value))
            else:
                sheet.write_string(r, j, str(value))
    workbook.close()


def write_export(spec: ExportSpec, cols: dict[str, np.ndarray], path: Path, month: Month) -> None:
    tmp = path.with_name(path.name + ".part")
    if spec.extension == "csv":
        write_csv(spec, cols, tmp)
    else:
        write_xlsx(spec, cols, tmp, month)
    tmp.replace(path)  # a reader never sees half a file
