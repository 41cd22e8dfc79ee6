"""Extract: a raw export → canonical, typed, PII-free rows, each still pointing at its file row.

Nothing here rejects a row; values that do not parse become null beside their cleaned text
(`<column>_text`) so validation can say exactly what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

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


def extract_frame(raw: RawExport, spec: ExportSpec, reference: Reference, key: bytes) -> pl.DataFrame:
    frame = raw.frame
    pii_columns = [c for c in spec.columns if c.pii]
    # 1. Normalise PII values (needed for hashing and for scrubbing them out of free text).
    frame = frame.with_columns([pii.NORMALISERS[c.pii](pl.col(c.name)).alias(f"_pii_{c.name}") for c in pii_columns])
    # 2. Free text: the row's own names and addresses, then every phone/ID/address/name pattern.
    for column in (c for c in spec.columns if c.free_text):
        frame = frame.with_columns(normalise.clean_text(pl.col(column.name)).alias(column.name))
        for kind in ("name", "address"):
            sources = [f"_pii_{c.name}" for c in pii_columns if c.pii == kind]
            frame = pii.scrub_known_values(frame, column.name, sources, REDACTION_TOKENS[kind])
        frame = pii.scrub_column(frame, column.name)
    # 3. Everything else: typed values beside their cleaned text. Category-like columns repeat a
    # handful of values, so they are cleaned once per distinct value.
    expressions: list[pl.Expr] = []
    for column in spec.columns:
        if column.pii or column.free_text:
            continue
        if column.name in ("district", "street"):
            cleaned = normalise.on_distinct(frame[column.name], normalise.clean_code(pl.col(column.name)))
            expressions.append(cleaned.alias(f"{column.name}_text"))
        elif column.kind in ("datetime", "date"):
            expressions.append(normalise.clean_text(pl.col(column.name)).alias(f"{column.name}_text"))
        elif column.kind in ("int", "float"):
            text = normalise.clean_code(pl.col(column.name))
            expressions += [text.alias(f"{column.name}_text"), normalise.parse_number(text).alias(column.name)]
        elif column.name == spec.id_column:
            expressions.append(normalise.clean_code(pl.col(column.name)))
        else:
            expressions.append(normalise.on_distinct(frame[column.name], normalise.clean_code(pl.col(column.name))))
    # 4. Hash the PII in the same pass; then drop every trace of the clear values.
    expressions += [pii.keyed_hash(pl.col(f"_pii_{c.name}"), key).alias(f"{c.name}_hash") for c in pii_columns]
    frame = frame.with_columns(expressions)
    frame = frame.with_columns([normalise.parse_datetime(frame[f"{c.name}_text"]).alias(c.name)
                                for c in spec.columns if c.kind in ("datetime", "date")])
    frame = frame.drop([c.name for c in pii_columns] + [f"_pii_{c.name}" for c in pii_columns] + ["district", "street"])
    frame = _resolve_districts(frame, reference)
    return frame.select(["_row", *[c for c in frame.columns if c != "_row"]])


def extract(path: Path, spec: ExportSpec, reference: Reference) -> Extracted:
    raw = read_export(path, spec)
    key, development = pii.pii_key()
    frame = extract_frame(raw, spec, reference, key)
    return Extracted(
        source=spec.source, frame=frame, file_name=Path(path).name, encoding=raw.encoding, header_row=raw.header_row,
        rows_read=raw.frame.height, blank_rows=raw.blank_rows, headers_used=raw.headers_used,
        ignored_columns=raw.ignored_columns, development_key=development,
    )
