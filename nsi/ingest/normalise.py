"""Vectorised clean-up of export text: full-width characters, spaces, dates in every format seen."""

from __future__ import annotations

from datetime import datetime

import polars as pl

# Full-width digits, Latin letters, the ideographic space and the separators used in numbers and
# dates. Chinese punctuation (，（）：) stays as it is: it belongs to the text.
_FULLWIDTH = ([chr(c) for c in range(0xFF10, 0xFF1A)] + [chr(c) for c in range(0xFF21, 0xFF3B)]
              + [chr(c) for c in range(0xFF41, 0xFF5B)] + ["－", "／", "．", "＋"])
_HALFWIDTH = [chr(ord(c) - 0xFEE0) for c in _FULLWIDTH]
_FULLWIDTH.append("\u3000")
_HALFWIDTH.append(" ")
EXCEL_DAY_ZERO = datetime(1899, 12, 30)
# Serial numbers Excel can hold for 1954–2119; anything else in a date column is not a serial.
SERIAL_MIN, SERIAL_MAX = 20_000, 80_000

DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日",
)


def halfwidth(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(_FULLWIDTH, _HALFWIDTH)


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Half-width, trimmed; empty becomes null."""
    text = halfwidth(expr).str.strip_chars()
    return pl.when(text.str.len_chars() > 0).then(text).otherwise(None)


def on_distinct(series: pl.Series, expr: pl.Expr) -> pl.Series:
    """Apply a cleaning expression once per distinct value: categories repeat a handful of values."""
    distinct = series.unique()
    if len(distinct) * 4 > len(series):
        return series.to_frame().select(expr).to_series().alias(series.name)
    cleaned = distinct.to_frame().select(expr).to_series()
    return series.replace_strict(distinct, cleaned, return_dtype=pl.Utf8).alias(series.name)


def clean_code(expr: pl.Expr) -> pl.Expr:
    """Category-like values: no whitespace anywhere ("刑 事 " is 刑事)."""
    text = halfwidth(expr).str.replace_all(r"\s", "")
    return pl.when(text.str.len_chars() > 0).then(text).otherwise(None)


def parse_datetime(text: pl.Series) -> pl.Series:
    """ISO (with or without '.0' fractions), '2024/3/5 9:07', date-only forms and Excel serials.

    Most rows share one format, so each format is tried only on the rows still unparsed.
    """
    text = text.str.replace(r"\.\d+$", "")
    result = pl.Series(text.name, [], pl.Datetime("us")).extend_constant(None, len(text))
    todo = text.is_not_null()
    for fmt in DATETIME_FORMATS:
        if not todo.any():
            return result
        index = todo.arg_true()
        parsed = text.gather(index).str.strptime(pl.Datetime("us"), fmt, strict=False)
        ok = parsed.is_not_null()
        result = result.scatter(index.filter(ok), parsed.filter(ok))
        todo = todo.scatter(index.filter(ok), False)
    if todo.any():
        index = todo.arg_true()
        serial = text.gather(index).cast(pl.Float64, strict=False)
        ok = serial.is_between(SERIAL_MIN, SERIAL_MAX).fill_null(False)
        micros = (serial.filter(ok) * 86_400_000_000).round(0).cast(pl.Int64)
        moments = micros.to_frame("m").select(
            # serials carry float noise: round to the second the source system stored
            (pl.lit(EXCEL_DAY_ZERO, dtype=pl.Datetime("us")) + pl.col("m").cast(pl.Duration("us"))).dt.round("1s")
        ).to_series()
        result = result.scatter(index.filter(ok), moments)
    return result


def parse_number(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(",", "").cast(pl.Float64, strict=False)
