"""Extract: a raw export → canonical, typed, PII-free rows, each still pointing at its file row.

Nothing here rejects a row; values that do not parse become null beside their cleaned text
(`<column>_text`) so validation can say exactly what was wrong.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from pydantic import SecretStr

from nsi.exports import ExportSpec
from nsi.ingest import normalise, pii
from nsi.ingest.read import RawExport, read_export
from nsi.reference import Reference

REDACTION_TOKENS = {"phone": "[电话]", "id_number": "[证件号]", "name": "[姓名]", "address": "[地址]"}


@dataclass
class Extracted:
    source: str
    frame: pl.DataFrame
    file_name: str
    encoding: str
    header_row: int
    rows_read: int
    blank_rows: int
    headers_used: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    development_key: bool = False


def _resolve_districts(frame: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    pairs = frame.select("district_text", "street_text").unique()
    resolved = [reference.resolve(d, s) for d, s in pairs.iter_rows()]
    lookup = pairs.with_columns(
        district_code=pl.Series([r.district_code for r in resolved], dtype=pl.Utf8),
        street_code=pl.Series([r.street_code for r in resolved], dtype=pl.Utf8),
        district_how=pl.Series([r.how for r in resolved], dtype=pl.Utf8),
    )
    return frame.join(lookup, on=["district_text", "street_text"], how="left", nulls_equal=True)


def _free_text(frame: pl.DataFrame, column: str, pii_values: pl.DataFrame, pii_columns: list) -> pl.Series:
    """Cleaned text without the row's own names and addresses, then without any phone/ID/address/name pattern."""
    work = frame.select(normalise.clean_text(pl.col(column)).alias(column)).hstack(pii_values)
    for kind in ("name", "address"):
        sources = [f"_pii_{c.name}" for c in pii_columns if c.pii == kind]
        work = pii.scrub_known_values(work, column, sources, REDACTION_TOKENS[kind])
    return pii.scrub_column(work, column)[column]


def _typed(frame: pl.DataFrame, spec: ExportSpec) -> list[pl.Series]:
    """Typed values beside their cleaned text; category-like columns cleaned once per distinct value."""
    expressions: list[pl.Expr] = []
    for column in spec.columns:
        if column.pii or column.free_text or column.kind in ("datetime", "date"):
            continue
        if column.name in ("district", "street"):
            cleaned = normalise.on_distinct(frame[column.name], normalise.clean_code(pl.col(column.name)))
            expressions.append(cleaned.alias(f"{column.name}_text"))
        elif column.kind in ("int", "float"):
            text = normalise.clean_code(pl.col(column.name))
            expressions += [text.alias(f"{column.name}_text"), normalise.parse_number(text).alias(column.name)]
        elif column.name == spec.id_column:
            expressions.append(normalise.clean_code(pl.col(column.name)))
        else:
            expressions.append(normalise.on_distinct(frame[column.name], normalise.clean_code(pl.col(column.name))))
    return frame.select(expressions).get_columns()


def _moment(frame: pl.DataFrame, column: str) -> list[pl.Series]:
    text = frame.select(normalise.clean_text(pl.col(column)).alias(f"{column}_text")).to_series()
    return [normalise.parse_datetime(text).alias(column), text]


def extract_frame(raw: RawExport, spec: ExportSpec, reference: Reference, key: bytes) -> pl.DataFrame:
    frame = raw.frame
    pii_columns = [c for c in spec.columns if c.pii]
    # Normalised PII values: hashed, and scrubbed out of free text.
    pii_values = frame.select([pii.NORMALISERS[c.pii](pl.col(c.name)).alias(f"_pii_{c.name}") for c in pii_columns])
    # The column groups below are independent. polars releases the GIL, so run side by side they
    # keep both cores busy where one after the other they would not.
    with ThreadPoolExecutor(max_workers=4) as pool:
        hashes = pool.submit(lambda: pii_values.select(
            [pii.keyed_hash(pl.col(f"_pii_{c.name}"), key).alias(f"{c.name}_hash") for c in pii_columns]).get_columns())
        free_text = {c.name: pool.submit(_free_text, frame, c.name, pii_values, pii_columns)
                     for c in spec.columns if c.free_text}
        moments = {c.name: pool.submit(_moment, frame, c.name) for c in spec.columns if c.kind in ("datetime", "date")}
        typed = pool.submit(_typed, frame, spec)
        new_columns = [*typed.result(), *hashes.result()]
        new_columns += [f.result() for f in free_text.values()]
        new_columns += [series for f in moments.values() for series in f.result()]
    frame = frame.with_columns(new_columns)
    frame = frame.drop([c.name for c in pii_columns] + ["district", "street"])
    frame = _resolve_districts(frame, reference)
    return frame.select(_column_order(spec))


def _column_order(spec: ExportSpec) -> list[str]:
    """The extract's columns: each export column where it stood, then the cleaned texts, hashes and district codes."""
    kept = [c.name for c in spec.columns if not c.pii and c.name not in ("district", "street")]
    texts = [f"{c.name}_text" for c in spec.columns
             if c.name in ("district", "street") or c.kind in ("datetime", "date", "int", "float")]
    hashes = [f"{c.name}_hash" for c in spec.columns if c.pii]
    return ["_row", *kept, *texts, *hashes, "district_code", "street_code", "district_how"]


def extract(path: Path, spec: ExportSpec, reference: Reference, pii_secret: SecretStr | None) -> Extracted:
    raw = read_export(path, spec)
    key, development = pii.pii_key(pii_secret)
    frame = extract_frame(raw, spec, reference, key)
    return Extracted(
        source=spec.source, frame=frame, file_name=Path(path).name, encoding=raw.encoding, header_row=raw.header_row,
        rows_read=raw.frame.height, blank_rows=raw.blank_rows, headers_used=raw.headers_used,
        ignored_columns=raw.ignored_columns, development_key=development,
    )
