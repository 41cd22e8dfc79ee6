"""The month's index for analysts: index.csv (UTF-8 with BOM, so Excel opens it) and a formatted index.xlsx."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import xlsxwriter

from indicators.methodology import Methodology

HEADERS = {"month": "月份", "code": "区划代码", "name": "地区", "composite": "平安指数", "rank": "排名",
           "rank_p05": "排名区间下限(P5)", "rank_p95": "排名区间上限(P95)", "change_mom": "环比变化",
           "change_yoy": "同比变化", "methodology_version": "方法版本", "flags": "说明"}


def index_table(index: pl.DataFrame, methodology: Methodology) -> pl.DataFrame:
    """The published columns, sub-indices by their Chinese names, values rounded to one decimal."""
    subs = {s.code: f"{s.name_zh}指数" for s in methodology.sub_indices}
    columns = ["month", "code", "name", "composite", *subs, "rank", "rank_p05", "rank_p95", "change_mom",
               "change_yoy", "methodology_version", "flags"]
    rounded = index.select(columns).with_columns(
        [pl.col(c).round(1) for c in ("composite", *subs, "change_mom", "change_yoy")])
    return rounded.rename({**HEADERS, **subs})


def _atomic(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.part")


def write_csv(table: pl.DataFrame, path: Path) -> None:
    partial = _atomic(path)
    partial.write_bytes(b"\xef\xbb\xbf" + table.write_csv(float_precision=1).encode("utf-8"))
    partial.replace(path)


def write_xlsx(table: pl.DataFrame, path: Path, month: str, created) -> None:
    partial = _atomic(path)
    with xlsxwriter.Workbook(str(partial)) as workbook:
        workbook.set_properties({"created": created, "title": f"南京平安指数 {month}"})
        table.write_excel(workbook=workbook, worksheet="平安指数", autofit=True, float_precision=1,
                          header_format={"bold": True, "bg_color": "#DCE6F1"}, freeze_panes=(1, 3))
    partial.replace(path)
