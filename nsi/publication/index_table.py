"""The month's published index table, index.csv (UTF-8 with BOM, so Excel opens it), as bytes; the index
stage writes it into the month's work folder. The month's index.xlsx is the analysts' workbook
(nsi/publication/workbook.py).
"""

from __future__ import annotations

import polars as pl

HEADERS = {"month": "月份", "code": "区划代码", "name": "地区", "composite": "平安指数", "rank": "排名",
           "rank_p05": "排名区间下限(P5)", "rank_p95": "排名区间上限(P95)", "change_mom": "环比变化",
           "change_yoy": "同比变化", "methodology_version": "方法版本", "flags": "说明"}


def index_table(index: pl.DataFrame, sub_index_names: dict[str, str]) -> pl.DataFrame:
    """The published columns, sub-indices (code → Chinese name) headed 「<name>指数」, values rounded to one decimal."""
    subs = {code: f"{name}指数" for code, name in sub_index_names.items()}
    columns = ["month", "code", "name", "composite", *subs, "rank", "rank_p05", "rank_p95", "change_mom",
               "change_yoy", "methodology_version", "flags"]
    rounded = index.select(columns).with_columns(
        [pl.col(c).round(1) for c in ("composite", *subs, "change_mom", "change_yoy")])
    return rounded.rename({**HEADERS, **subs})


def csv_bytes(table: pl.DataFrame) -> bytes:
    return b"\xef\xbb\xbf" + table.write_csv(float_precision=1).encode("utf-8")

