"""Personal data never passes the extract step: structured values become keyed hashes, free text is scrubbed.

The hash is SHA-256 over a secret (`NSI_PII_KEY`) and the *normalised* value, so the same
phone written `025-84123456`, `(025)84123456`, `2584123456` or in full-width digits gives the same
hash, and repeat callers can still be found. Without the key the hashes cannot be reversed by
trying every phone number.
"""

from __future__ import annotations

import re

import polars as pl
import polars_hash  # noqa: F401  (registers the `chash` namespace: SHA-256 in Rust, on every core)
from pydantic import SecretStr

from nsi.ingest.normalise import compact, update_where

DEVELOPMENT_KEY = "nsi-DEVELOPMENT-ONLY-key-set-NSI_PII_KEY-in-production"
HASH_HEX = 16

MOBILE = r"1[3-9]\d{9}"
LANDLINE = r"(?:\(?0?25\)?[-－ ]?)?[2-9]\d{7}"
ID_NUMBER = r"\d{17}[\dXx]|\d{15}"
ADDRESS = r"(?:江苏省)?南京市[\u4e00-\u9fa5A-Za-z0-9]*?\d+号(?:\d+栋)?(?:\d+单元)?(?:\d+室)?"
# A name is 2–3 Han characters after a role word and before punctuation or a verb (no look-ahead in
# the regex engine, so the following character is captured and put back).
ROLE_WORDS = ("报警人", "联系人", "当事人", "诉求人", "来电人")
NAME_AFTER_ROLE = rf"({'|'.join(ROLE_WORDS)})[\u4e00-\u9fa5]{{2,3}}([（(，,。；;：:因称反\s]|$)"
# Every pattern above needs one of these: seven digits in a row (the shortest is a landline's eight),
# 南京市 (addresses) or a role word (names). Text without any of them is left as it is, unscanned.
MIGHT_HOLD_PII = rf"\d{{7}}|南京市|{'|'.join(ROLE_WORDS)}"


def pii_key(secret: SecretStr | None) -> tuple[bytes, bool]:
    """(key, is_development_default) for the NSI_PII_KEY setting."""
    key = secret.get_secret_value() if secret is not None else ""
    return (key.encode(), False) if key else (DEVELOPMENT_KEY.encode(), True)


def normalise_phone(expr: pl.Expr) -> pl.Expr:
    """Digits only; Nanjing landlines as 025 + 8 digits, whichever way they were written or mangled.

    Mobiles (11 digits from 1) and full landlines (025 + 8) stay as they are.
    """
    digits = compact(expr).str.replace_all(r"[^0-9]", "")
    length = digits.str.len_bytes()
    return (
        pl.when(length == 0).then(None)
        .when((length == 10) & digits.str.starts_with("25")).then(pl.lit("0") + digits)  # leading 0 lost as a number
        .when(length == 8).then(pl.lit("025") + digits)
        .otherwise(digits)
    )


def normalise_id(expr: pl.Expr) -> pl.Expr:
    text = compact(expr)
    return pl.when(text.str.len_bytes() > 0).then(text.str.to_uppercase()).otherwise(None)


def normalise_plain(expr: pl.Expr) -> pl.Expr:
    text = compact(expr)
    return pl.when(text.str.len_bytes() > 0).then(text).otherwise(None)


NORMALISERS = {"phone": normalise_phone, "id_number": normalise_id, "name": normalise_plain, "address": normalise_plain}


def keyed_hash(value: pl.Expr, key: bytes) -> pl.Expr:
    """SHA-256 over (secret key, separator 0x1F, normalised value), first 16 hex digits; null stays null."""
    return (pl.lit(key.decode() + "\x1f") + value).chash.sha2_256().str.slice(0, HASH_HEX)


def scrub_free_text(expr: pl.Expr) -> pl.Expr:
    """Patterns first (IDs before phones: an ID contains phone-like runs), then names after a role word.

    `scrub_column` applies this only to the rows that can hold a match.
    """
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
    text = pl.col(text_column)
    for column in value_columns:
        value = pl.col(column)
        holds_value = (value.str.len_chars() >= 2) & text.str.contains(value, literal=True)
        # polars cannot replace a per-row pattern; split on it and join with the token instead.
        out = update_where(out, holds_value, text_column, text.str.split(value).list.join(token))
    return out


def scrub_column(frame: pl.DataFrame, text_column: str) -> pl.DataFrame:
    text = pl.col(text_column)
    return update_where(frame, text.str.contains(MIGHT_HOLD_PII), text_column, scrub_free_text(text))


def looks_like_pii(text: str) -> bool:
    """For tests and checks: does a string still hold a phone, ID number or address?"""
    return bool(re.search(f"{ID_NUMBER}|{MOBILE}|{ADDRESS}", text)) or bool(re.search(r"0?25-?[2-9]\d{7}", text))
