"""Personal data never passes the extract step: structured values become keyed hashes (here), free
text is scrubbed (`nsi.ingest.scrub`).

The hash is SHA-256 over a secret (`NSI_PII_KEY`) and the *normalised* value, so the same
phone written `025-84123456`, `(025)84123456`, `2584123456` or in full-width digits gives the same
hash, and repeat callers can still be found. Without the key the hashes cannot be reversed by
trying every phone number.
"""

from __future__ import annotations

import polars as pl
import polars_hash  # noqa: F401  (registers the `chash` namespace: SHA-256 in Rust, on every core)
from pydantic import SecretStr

from nsi.ingest.normalise import compact

DEVELOPMENT_KEY = "nsi-DEVELOPMENT-ONLY-key-set-NSI_PII_KEY-in-production"
HASH_HEX = 16


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
