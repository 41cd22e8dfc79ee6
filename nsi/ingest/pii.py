"""Personal data never passes the extract step: structured values become keyed hashes, free text is scrubbed.

The hash is SHA-256 over a secret (`NSI_PII_KEY`) and the *normalised* value, so the same
phone written `025-84123456`, `(025)84123456`, `2584123456` or in full-width digits gives the same
hash, and repeat callers can still be found. Without the key the hashes cannot be reversed by
trying every phone number.
"""

from __future__ import annotations

import os
import re

import duckdb
import polars as pl

from nsi.ingest.normalise import halfwidth

DEVELOPMENT_KEY = "nsi-DEVELOPMENT-ONLY-key-set-NSI_PII_KEY-in-production"
HASH_HEX = 16

MOBILE = r"1[3-9]\d{9}"
LANDLINE = r"(?:\(?0?25\)?[-－ ]?)?[2-9]\d{7}"
ID_NUMBER = r"\d{17}[\dXx]|\d{15}"
ADDRESS = r"(?:江苏省)?南京市[\u4e00-\u9fa5A-Za-z0-9]*?\d+号(?:\d+栋)?(?:\d+单元)?(?:\d+室)?"
# A name is 2–3 Han characters after a role word and before punctuation or a verb (no look-ahead in
# the regex engine, so the following character is captured and put back).
NAME_AFTER_ROLE = r"(报警人|联系人|当事人|诉求人|来电人)[\u4e00-\u9fa5]{2,3}([（(，,。；;：:因称反\s]|$)"


def pii_key() -> tuple[bytes, bool]:
    """(key, is_development_default)."""
    key = os.environ.get("NSI_PII_KEY", "")
    return (key.encode(), False) if key else (DEVELOPMENT_KEY.encode(), True)


def normalise_phone(expr: pl.Expr) -> pl.Expr:
    """Digits only; Nanjing landlines as 025 + 8 digits, whichever way they were written or mangled."""
    digits = halfwidth(expr).str.replace_all(r"[^0-9]", "")
    return (
        pl.when(digits.str.len_chars() == 0).then(None)
        .when(digits.str.contains(r"^1[3-9]\d{9}$")).then(digits)
        .when(digits.str.contains(r"^025\d{8}$")).then(digits)
        .when(digits.str.contains(r"^25\d{8}$")).then(pl.lit("0") + digits)  # leading 0 lost as a number
        .when(digits.str.contains(r"^\d{8}$")).then(pl.lit("025") + digits)
        .otherwise(digits)
    )


def normalise_id(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_chars() > 0).then(expr.str.replace_all(r"\s", "").str.to_uppercase()).otherwise(None)


def normalise_plain(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_chars() > 0).then(expr.str.replace_all(r"\s", "")).otherwise(None)


NORMALISERS = {"phone": normalise_phone, "id_number": normalise_id, "name": normalise_plain, "address": normalise_plain}


def keyed_hashes(frame: pl.DataFrame, columns: dict[str, str], key: bytes) -> pl.DataFrame:
    """{output: input} columns → SHA-256 over (secret key, separator, normalised value), 16 hex digits.

    Computed in DuckDB, which hashes a column in C++ (a Python loop costs seconds a month).
    """
    if not columns:
        return pl.DataFrame()
    con = duckdb.connect()
    try:
        con.register("values_to_hash", frame.select(list(set(columns.values()))))
        select = ", ".join(
            f'CASE WHEN "{source}" IS NULL THEN NULL ELSE sha256($key || chr(31) || "{source}")[:{HASH_HEX}] END AS "{target}"'
            for target, source in columns.items()
        )
        return con.execute(f"SELECT {select} FROM values_to_hash", {"key": key.decode()}).pl()
    finally:
        con.close()


def scrub_free_text(expr: pl.Expr) -> pl.Expr:
    """Patterns first (IDs before phones: an ID contains phone-like runs), then names after a role word."""
    return (
        expr.str.replace_all(ADDRESS, "[地址]")
        .str.replace_all(ID_NUMBER, "[证件号]")
        .str.replace_all(MOBILE, "[电话]")
        .str.replace_all(LANDLINE, "[电话]")
        .str.replace_all(NAME_AFTER_ROLE, "${1}[姓名]${2}")
    )


def scrub_known_values(frame: pl.DataFrame, text_column: str, value_columns: list[str], token: str) -> pl.DataFrame:
    """Remove a row's own structured values (e.g. the caller's name) from its free text, wherever they appear."""
    out = frame
    for column in value_columns:
        value = pl.col(column)
        long_enough = value.is_not_null() & (value.str.len_chars() >= 2)
        out = out.with_columns(
            pl.when(long_enough & pl.col(text_column).is_not_null())
            # polars cannot replace a per-row pattern; split on it and join with the token instead.
            .then(pl.col(text_column).str.split(value).list.join(token))
            .otherwise(pl.col(text_column))
            .alias(text_column)
        )
    return out


def looks_like_pii(text: str) -> bool:
    """For tests and checks: does a string still hold a phone, ID number or address?"""
    return bool(re.search(f"{ID_NUMBER}|{MOBILE}|{ADDRESS}", text)) or bool(re.search(r"0?25-?[2-9]\d{7}", text))
