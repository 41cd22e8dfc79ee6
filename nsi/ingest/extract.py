"""Extract: a raw export → canonical, typed, PII-free rows, each still pointing at its file row.

Nothing here rejects a row; values that do not parse, and category values the vocabulary does not
know, become null beside their cleaned text (`<column>_text`) so validation can say exactly what was
wrong. Unknown values are also counted (`Extracted.unknown_values`): the analyst's list of what to add
to the vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from pydantic import SecretStr

from nsi.ingest import normalise, pii, scrub
from nsi.ingest.read import DEFAULT_BATCH_ROWS, ExportReader, RawExport, open_export
from nsi.reference import Reference
from nsi.vocabulary import PLACE_COLUMNS, Column, ValueTable, Vocabulary

UNKNOWN_VALUE_COLUMNS = {"column": pl.Utf8, "header": pl.Utf8, "value": pl.Utf8, "rows": pl.Int64, "action": pl.Utf8}


@dataclass
class Extracted:
    source: str
    frame: pl.DataFrame | None  # None when the rows went batch by batch to the extract file
    file_name: str
    encoding: str
    header_row: int
    rows_read: int
    blank_rows: int
    headers_used: dict[str, list[str]] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    development_key: bool = False
    vocabulary: str = ""  # <source>/v<N>
    vocabulary_sha256: str = ""
    unknown_values: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=UNKNOWN_VALUE_COLUMNS))


def _resolve_districts(frame: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    keys = [f"{c}_text" for c in PLACE_COLUMNS if f"{c}_text" in frame.columns]
    places = frame.select([pl.col(k) for k in keys]).unique()
    named = dict.fromkeys(f"{c}_text" for c in PLACE_COLUMNS)
    resolved = [reference.resolve_place(*({**named, **dict(zip(keys, row))}).values()) for row in places.iter_rows()]
    lookup = places.with_columns(
        district_code=pl.Series([r.district_code for r in resolved], dtype=pl.Utf8),
        street_code=pl.Series([r.street_code for r in resolved], dtype=pl.Utf8),
        district_how=pl.Series([r.how for r in resolved], dtype=pl.Utf8),
    )
    return frame.join(lookup, on=keys, how="left", nulls_equal=True)


def place_names(reference: Reference) -> tuple[str, ...]:
    """What the free-text scrub keeps whole: the city's streets and districts."""
    return tuple(sorted({s.name for s in reference.streets.values()} | {d.name_zh for d in reference.districts.values()}))


def scrub_free_text(frame: pl.DataFrame, column: str, pii_values: pl.DataFrame, kinds: dict[str, str],
                    places: tuple[str, ...] = ()) -> pl.Series:
    """The cleaned text without personal data (`nsi.ingest.scrub`): its row's own values, then every pattern.

    pii_values: the row's personal values, normalised, one column each; kinds: column → its kind;
    places: names kept whole (`place_names`).
    """
    work = frame.select(normalise.clean_text(pl.col(column)).alias(column)).hstack(pii_values)
    own: dict[str, list[str]] = {}
    for name, kind in kinds.items():
        own.setdefault(kind, []).append(name)
    return scrub.scrub(work, column, own, places)


def _mapped(frame: pl.DataFrame, column: Column, tables: list[ValueTable | None],
            headers: list[str]) -> tuple[list[pl.Series], pl.DataFrame]:
    """The column's canonical values, and its cleaned text where the table does not know the value
    (null elsewhere: the text of a known value is its canonical value); those values, counted.

    Each distinct value is cleaned and looked up once: categories repeat a handful of values.
    """
    raw = frame[column.name]
    table = tables[0]
    distinct = raw.unique()
    cleaned = distinct.to_frame().select(normalise.clean_code(pl.col(column.name))).to_series()
    values, unknown_texts = [], []
    for text in cleaned:
        value = None if text is None else (table.map(text) if table is not None else text)
        unknown = text is not None and value is None
        values.append(text if unknown and column.unknown == "keep" else value)
        unknown_texts.append(text if unknown else None)
    mapped = raw.replace_strict(distinct, pl.Series(values, dtype=pl.Utf8), return_dtype=pl.Utf8)
    counts = pl.DataFrame(schema=UNKNOWN_VALUE_COLUMNS)
    if not any(t is not None for t in unknown_texts):
        return [mapped.alias(column.name), pl.Series(f"{column.name}_text", [None] * len(raw), pl.Utf8)], counts
    text = raw.replace_strict(distinct, pl.Series(unknown_texts, dtype=pl.Utf8), return_dtype=pl.Utf8)
    counts = (text.drop_nulls().value_counts(name="rows")
              .select(column=pl.lit(column.name), header=pl.lit(headers[0]), value=pl.col(column.name),
                      rows=pl.col("rows").cast(pl.Int64), action=pl.lit("kept" if column.unknown == "keep" else "rejected"))
              .sort("rows", "value", descending=[True, False]))
    return [mapped.alias(column.name), text.alias(f"{column.name}_text")], counts


def _typed(frame: pl.DataFrame, vocabulary: Vocabulary, raw: RawExport) -> tuple[list[pl.Series], list[pl.DataFrame]]:
    """Typed values beside their cleaned text; category-like columns cleaned once per distinct value."""
    expressions: list[pl.Expr] = []
    series: list[pl.Series] = []
    unknown: list[pl.DataFrame] = []
    for column in vocabulary.columns:
        if column.pii or column.free_text or column.kind in ("datetime", "date"):
            continue
        if column.name in PLACE_COLUMNS:
            cleaned = normalise.on_distinct(frame[column.name], normalise.clean_code(pl.col(column.name)))
            series.append(cleaned.alias(f"{column.name}_text"))
        elif column.kind in ("int", "float"):
            text = normalise.clean_code(pl.col(column.name))
            expressions += [text.alias(f"{column.name}_text"), normalise.parse_number(text).alias(column.name)]
        elif column.name == vocabulary.id_column:
            expressions.append(normalise.clean_code(pl.col(column.name)))
        elif column.mapped and column.name in raw.header_tables:
            mapped, counts = _mapped(frame, column, raw.header_tables[column.name], raw.headers_used[column.name])
            series += mapped
            unknown.append(counts)
        elif column.mapped:  # not in the file: null, and nothing unknown
            series += [frame[column.name], frame[column.name].alias(f"{column.name}_text")]
        else:
            expression = normalise.clean_code(pl.col(column.name))
            if column.numbered:  # `1.物业管理` → 物业管理; a number without its point is part of the name
                expression = expression.str.replace(r"^\d{1,3}[.、．](\D)", "${1}")
            series.append(normalise.on_distinct(frame[column.name], expression))
    return [*frame.select(expressions).get_columns(), *series], unknown


def _moment(frame: pl.DataFrame, column: str) -> list[pl.Series]:
    text = frame.select(normalise.clean_text(pl.col(column)).alias(f"{column}_text")).to_series()
    return [normalise.parse_datetime(text).alias(column), text]


FREE_TEXT_PART_ROWS = 200_000


def extract_frame(raw: RawExport, vocabulary: Vocabulary, reference: Reference, key: bytes) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = raw.frame
    pii_columns = [c for c in vocabulary.columns if c.pii]
    # Normalised PII values: hashed, and scrubbed out of free text.
    pii_values = frame.select([pii.NORMALISERS[c.pii](pl.col(c.name)).alias(f"_pii_{c.name}") for c in pii_columns])
    # The column groups below are independent. polars releases the GIL, so run side by side they
    # keep both cores busy where one after the other they would not.
    with ThreadPoolExecutor(max_workers=4) as pool:
        hashes = pool.submit(lambda: pii_values.select(
            [pii.keyed_hash(pl.col(f"_pii_{c.name}"), key).alias(f"{c.name}_hash") for c in pii_columns]).get_columns())
        kinds = {f"_pii_{c.name}": c.pii for c in pii_columns}
        places = place_names(reference)
        # A long free-text column goes in parts (two at least), so that the longest job (the 110 summaries)
        # does not finish alone on one core.
        part_rows = max(1, min(FREE_TEXT_PART_ROWS, -(-frame.height // 2)))
        parts = [(start, min(part_rows, frame.height - start)) for start in range(0, max(frame.height, 1), part_rows)]
        free_text = {c.name: [pool.submit(scrub_free_text, frame.slice(*part), c.name, pii_values.slice(*part), kinds,
                                          places) for part in parts]
                     for c in vocabulary.columns if c.free_text}
        moments = {c.name: pool.submit(_moment, frame, c.name) for c in vocabulary.columns if c.kind in ("datetime", "date")}
        typed = pool.submit(_typed, frame, vocabulary, raw)
        typed_columns, unknown = typed.result()
        new_columns = [*typed_columns, *hashes.result()]
        new_columns += [pl.concat([f.result() for f in futures]) for futures in free_text.values()]
        new_columns += [series for f in moments.values() for series in f.result()]
    frame = frame.with_columns(new_columns)
    frame = frame.drop([c.name for c in pii_columns] + [c for c in PLACE_COLUMNS if c in frame.columns])
    frame = _resolve_districts(frame, reference).drop([f"{c}_text" for c in ("branch", "unit") if f"{c}_text" in frame.columns])
    unknown_values = pl.concat(unknown) if unknown else pl.DataFrame(schema=UNKNOWN_VALUE_COLUMNS)
    return frame.select(column_order(vocabulary)), unknown_values


def column_order(vocabulary: Vocabulary) -> list[str]:
    """The extract's columns: each export column where it stood, then the cleaned texts, hashes and district codes."""
    kept = [c.name for c in vocabulary.columns if not c.pii and c.name not in PLACE_COLUMNS]
    texts = [f"{c.name}_text" for c in vocabulary.columns
             if c.name in ("district", "street") or c.kind in ("datetime", "date", "int", "float")]
    texts += [f"{c.name}_text" for c in vocabulary.columns if c.mapped and not c.pii]
    hashes = [f"{c.name}_hash" for c in vocabulary.columns if c.pii]
    return ["_row", *kept, *texts, *hashes, "district_code", "street_code", "district_how", "_file_problem"]


def merge_unknown(parts: list[pl.DataFrame], vocabulary: Vocabulary) -> pl.DataFrame:
    """The unknown values of all batches, counted over the file: by column in the vocabulary's order, most
    rows first."""
    frames = [p for p in parts if p.height]
    if not frames:
        return pl.DataFrame(schema=UNKNOWN_VALUE_COLUMNS)
    order = {c.name: i for i, c in enumerate(vocabulary.columns)}
    merged = pl.concat(frames).group_by("column", "header", "value", "action").agg(pl.col("rows").sum())
    return (merged.with_columns(_order=pl.col("column").replace_strict(order, return_dtype=pl.Int64))
            .sort(["_order", "rows", "value"], descending=[False, True, False]).select(list(UNKNOWN_VALUE_COLUMNS)))


class ExtractStream:
    """The extracted rows of one export, batch by batch (`batches()`, once); `extracted()` then says what the
    whole file held."""

    def __init__(self, reader: ExportReader, vocabulary: Vocabulary, reference: Reference, key: bytes, development: bool):
        self.reader, self.vocabulary, self.reference = reader, vocabulary, reference
        self.key, self.development = key, development
        self._unknown: list[pl.DataFrame] = []

    def batches(self) -> Iterator[pl.DataFrame]:
        for raw in self.reader.batches():
            frame, unknown = extract_frame(raw, self.vocabulary, self.reference, self.key)
            self._unknown.append(unknown)
            yield frame

    def extracted(self, frame: pl.DataFrame | None = None) -> Extracted:
        reader = self.reader
        return Extracted(
            source=self.vocabulary.source, frame=frame, file_name=reader.path.name, encoding=reader.encoding,
            header_row=reader.header_row, rows_read=reader.rows_read, blank_rows=reader.blank_rows,
            headers_used=reader.headers_used, ignored_columns=reader.ignored_columns, development_key=self.development,
            vocabulary=self.vocabulary.name, vocabulary_sha256=self.vocabulary.sha256,
            unknown_values=merge_unknown(self._unknown, self.vocabulary),
        )


@contextmanager
def open_extract(path: Path, vocabulary: Vocabulary, reference: Reference, pii_secret: SecretStr | None,
                 batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[ExtractStream]:
    key, development = pii.pii_key(pii_secret)
    with open_export(path, vocabulary, batch_rows) as reader:
        yield ExtractStream(reader, vocabulary, reference, key, development)


def extract(path: Path, vocabulary: Vocabulary, reference: Reference, pii_secret: SecretStr | None,
            batch_rows: int = DEFAULT_BATCH_ROWS) -> Extracted:
    """The whole file's extract in memory (the batches put together): for looking at a file."""
    with open_extract(path, vocabulary, reference, pii_secret, batch_rows) as stream:
        frame = pl.concat(list(stream.batches()))
        return stream.extracted(frame)
