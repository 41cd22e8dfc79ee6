"""Tables and charts as Dagster metadata, for the materialization of one month in the UI.

The UI draws a table value as a table and a Markdown value as Markdown, where an image may be a data
URI (its sanitiser allows `data:` sources); it plots every number it finds under the same key across
the partitions of an asset, which is how the city's composite becomes a chart of the months.
"""

from __future__ import annotations

import base64
import math

import dagster as dg
import polars as pl

from nsi.month import Month
from nsi.publication.index_table import HEADERS
from nsi.reference import CITY_CODE
from reports.charts import trend

DECIMALS = 2  # what the UI shows; the warehouse and the workbook keep full precision


def _column_type(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    return "string"


def frame_table(frame: pl.DataFrame, names: dict[str, str] | None = None) -> dg.TableMetadataValue:
    """A polars frame as a metadata table, columns renamed by `names` where given."""
    names = names or {}
    schema = dg.TableSchema(columns=[dg.TableColumn(names.get(c, c), _column_type(t)) for c, t in frame.schema.items()])
    records = [dg.TableRecord({names.get(c, c): v for c, v in row.items()}) for row in frame.iter_rows(named=True)]
    return dg.MetadataValue.table(records=records, schema=schema)


def index_table(index: pl.DataFrame, sub_index_names: dict[str, str]) -> dg.TableMetadataValue:
    """The month's safety_index rows: the city first, then the districts by rank."""
    subs = {code: f"{name}指数" for code, name in sub_index_names.items()}
    shown = (index.sort([pl.col("code") != CITY_CODE, pl.col("rank"), pl.col("code")])
             .select(["code", "name", "composite", *subs, "rank", "rank_p05", "rank_p95", "change_mom", "change_yoy",
                      "flags"])
             .with_columns(pl.col("composite", *subs, "change_mom", "change_yoy").round(DECIMALS)))
    return frame_table(shown, {**HEADERS, **subs})


def city_numbers(index: pl.DataFrame, sub_index_names: dict[str, str]) -> dict[str, float | None]:
    """The city's composite and sub-indices, as numbers the UI plots across months."""
    city = index.filter(pl.col("code") == CITY_CODE).row(0, named=True)
    numbers = {"city_composite": city["composite"],
               **{f"city_{code} {name}": city[code] for code, name in sub_index_names.items()}}
    return {k: round(v, DECIMALS) if v is not None and math.isfinite(v) else None for k, v in numbers.items()}


def history_months(month: Month, length: int = 13) -> list[str]:
    """The `length` months up to and including `month`, oldest first."""
    months = [month]
    while len(months) < length:
        months.append(months[-1].previous())
    return [m.key for m in reversed(months)]


def history_chart(months: list[str], composites: dict[str, float | None]) -> dg.MarkdownMetadataValue:
    """The city's composite over `months` as a line chart, with the figures below it."""
    series = [composites.get(m) for m in months]
    svg = trend(months, series, series, "南京市")
    image = base64.b64encode(str(svg).encode("utf-8")).decode("ascii")
    known = [(m, v) for m, v in zip(months, series) if v is not None]
    figures = " · ".join(f"{m} {v:.{DECIMALS}f}" for m, v in known) or "—"
    return dg.MetadataValue.md(f"![南京市平安指数走势](data:image/svg+xml;base64,{image})\n\n南京市平安指数：{figures}")
