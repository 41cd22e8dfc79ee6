"""Vectorised clean-up of export text: full-width characters, spaces, dates in every format seen."""

from __future__ import annotations

from datetime import datetime

import polars as pl

# Full-width digits, Latin letters, the ideographic space and the separators used in numbers and
# dates. Chinese punctuation (，（）：) stays as it is: it belongs to the text.
_FULLWIDTH = ([chr(c) for c in range(0xFF10, 0xFF1A)] + [chr(c) for c in range(0xFF21, 0xFF3B)]
              + [chr(c) for c in range(0xFF41, 0xFF5B)] + ["－", "／", "．", "＋"])
_HALFWIDTH = [chr(ord(c) - 0xFEE0) for c in _FULLWIDTH]
# What the regex class `\s` matches (Unicode White_Space): removed from codes in the same pass as the
# full-width mapping, which costs one scan instead of two.
_WHITESPACE = ["\t", "\n", "\x0b", "\x0c", "\r", " ", "\x85", "\xa0", "\u1680",
               *[chr(c) for c in range(0x2000, 0x200B)], "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
_CODE_FROM = _FULLWIDTH + _WHITESPACE
_CODE_TO = _HALFWIDTH + [""] * len(_WHITESPACE)
_FULLWIDTH.append("\u3000")
_HALFWIDTH.append(" ")
EXCEL_DAY_ZERO = datetime(1899, 12, 30)
# Serial numbers Excel can hold for 1954–2119; anything else in a date column is not a serial.
SERIAL_MIN, SERIAL_MAX = 20_000, 80_000

DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日",
    # Database dumps (20240305090712, 20240305) and Chinese forms (2024年3月5日 9:07, 9时07分).
    "%Y%m%d%H%M%S", "%Y%m%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M:%S", "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H时%M分%S秒", "%Y年%m月%d日 %H时%M分", "%Y年%m月%d日%H时%M分%S秒", "%Y年%m月%d日%H时%M分",
)
# A stamp with its UTC offset (2024-03-05T09:07:12+08:00) is taken at Beijing time, the time of every other stamp.
OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%SZ")
LOCAL_ZONE = "Asia/Shanghai"


def halfwidth(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(_FULLWIDTH, _HALFWIDTH)


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Half-width, trimmed; empty becomes null."""
    text = halfwidth(expr).str.strip_chars()
    return pl.when(text.str.len_bytes() > 0).then(text).otherwise(None)


def on_distinct(series: pl.Series, expr: pl.Expr) -> pl.Series:
    """Apply a cleaning expression once per distinct value: categories repeat a handful of values."""
    distinct = series.unique()
    if len(distinct) * 4 > len(series):
        return series.to_frame().select(expr).to_series().alias(series.name)
    cleaned = distinct.to_frame().select(expr).to_series()
    return series.replace_strict(distinct, cleaned, return_dtype=pl.Utf8).alias(series.name)


def compact(expr: pl.Expr) -> pl.Expr:
    """Half-width with no whitespace anywhere; may leave an empty string."""
    return expr.str.replace_many(_CODE_FROM, _CODE_TO)


def clean_code(expr: pl.Expr) -> pl.Expr:
    """Category-like values: no whitespace anywhere ("刑 事 " is 刑事); empty becomes null."""
    text = compact(expr)
    return pl.when(text.str.len_bytes() > 0).then(text).otherwise(None)


def update_where(frame: pl.DataFrame, mask: pl.Expr, column: str, expr: pl.Expr) -> pl.DataFrame:
    """Set `column` to `expr` on the rows where `mask` holds; other rows keep their value.

    For costly text work that only a few rows need: the expression runs on those rows alone
    (polars evaluates every branch of `when/then` on every row).
    """
    index = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).filter(mask.fill_null(False))).to_series()
    if index.len() == 0:
        return frame
    if index.len() == frame.height:
        return frame.with_columns(expr.alias(column))
    rows = frame.select(pl.col(expr.meta.root_names()).gather(index))
    values = rows.select(expr.alias(column)).to_series()
    return frame.with_columns(frame[column].scatter(index, values))


def _try_formats(text: pl.Series, result: pl.Series, todo: pl.Series, formats: tuple[str, ...]) -> tuple[pl.Series, pl.Series]:
    """Most rows share one format, so each format is tried only on the rows still unparsed."""
    for fmt in formats:
        if not todo.any():
            break
        index = todo.arg_true()
        parsed = text.gather(index).str.strptime(pl.Datetime("us"), fmt, strict=False)
        ok = parsed.is_not_null()
        result = result.scatter(index.filter(ok), parsed.filter(ok))
        todo = todo.scatter(index.filter(ok), False)
    return result, todo


def _try_offsets(text: pl.Series, result: pl.Series, todo: pl.Series) -> tuple[pl.Series, pl.Series]:
    for fmt in OFFSET_FORMATS:
        if not todo.any():
            break
        index = todo.arg_true()
        parsed = text.gather(index).str.strptime(pl.Datetime("us", "UTC"), fmt, strict=False)
        local = parsed.dt.convert_time_zone(LOCAL_ZONE).dt.replace_time_zone(None)
        ok = local.is_not_null()
        result = result.scatter(index.filter(ok), local.filter(ok))
        todo = todo.scatter(index.filter(ok), False)
    return result, todo


def parse_datetime(text: pl.Series) -> pl.Series:
    """ISO, '2024/3/5 9:07', compact '20240305090712', Chinese '2024年3月5日 9:07', date-only forms,
    seconds with a '.0' fraction, stamps with a UTC offset, and Excel serials."""
    result = pl.Series(text.name, [], pl.Datetime("us")).extend_constant(None, len(text))
    result, todo = _try_formats(text, result, text.is_not_null(), DATETIME_FORMATS)
    if todo.any():
        # Database exports write '2024-03-05 09:07:00.0'; the fraction follows the seconds, so a date
        # such as '2024.03.05' or a serial such as '45352.604' is left alone.
        whole_seconds = text.str.replace(r"(:\d{2})\.\d+$", "${1}")
        result, todo = _try_formats(whole_seconds, result, todo, DATETIME_FORMATS)
    if todo.any():
        result, todo = _try_offsets(text, result, todo)
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
