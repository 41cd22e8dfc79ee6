"""The vocabulary of each source system's exports, as versioned data: data/vocabularies/<source>/v<N>.yaml.

A vocabulary says which headers name each canonical column (in order of preference), which values
and codes stand for each category the indicators use, and which columns are dates, numbers or
personal data. Headers and values are compared after `header_key` / `value_key` normalisation, so
width, spaces, brackets, letter case, a question label (`Q7.`) or a declared prefix (`12345受理时间`)
do not matter. The newest version of a source is used unless a run pins another (`nsi verify`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nsi.exports import SOURCES

VOCABULARY_DIR = Path(__file__).resolve().parent.parent / "data" / "vocabularies"
PLACE_COLUMNS = ("district", "street", "branch", "unit")  # resolved through the reference data, not stored
_QUESTION_LABEL = re.compile(r"^(?:[A-Za-z]{1,2}\d{0,3}|\d{1,3})[.、．:：]")
_NUMBERING = re.compile(r"^\d{1,3}[.、．]?(?=[^\d.、．])")
_VERSION_FILE = re.compile(r"^v(\d+)\.yaml$")


class VocabularyError(ValueError):
    """A vocabulary file is malformed; the message names the file, the key and the problem."""


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def header_key(text: object, prefixes: tuple[str, ...] = ()) -> str:
    """A header as compared: half-width, no spaces, lower case, without a question label or prefix."""
    key = _fold(str(text or ""))
    key = _QUESTION_LABEL.sub("", key, count=1) if _QUESTION_LABEL.match(key) and len(key) > 3 else key
    for prefix in prefixes:
        if key.startswith(prefix) and len(key) > len(prefix):
            key = key[len(prefix):]
            break
    return key


def value_key(text: object) -> str:
    return _fold(str(text or ""))


def unnumbered(key: str) -> str:
    """`1.物业管理`, `01 刑事类警情` → the name without its list number (the number is the list's, not ours)."""
    return _NUMBERING.sub("", key, count=1)


# ------------------------------------------------------------------------------------ the file
class HeaderEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    header: str
    values: str  # the value table this header's cells go through, instead of the column's


class ColumnEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["text", "datetime", "date", "int", "float"] = "text"
    required: bool = False
    pii: Literal["phone", "id_number", "name", "address"] | None = None
    free_text: bool = False
    values: str | None = None  # name of a table under `values`
    unknown: Literal["reject", "keep"] = "reject"  # a value the table does not know: reject the row, or keep it as read
    numbered: bool = False  # cells may carry a list number (`1.物业管理`), dropped before use
    headers: list[str | HeaderEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def consistent(self):
        if self.pii and (self.values or self.free_text):
            raise ValueError("a personal-data column is hashed: it takes no value table and is not free text")
        return self


class VocabularyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    version: int = Field(ge=1)
    label_zh: str
    label_en: str
    id_column: str
    time_column: str
    header_prefixes: list[str] = []
    required_one_of: list[list[str]] = []  # at least one column of each group must be in the file
    columns: dict[str, ColumnEntry]
    values: dict[str, dict[str, list[str] | None]] = {}  # canonical value → other forms (quote codes: "01")
    notes: list[str] = []

    @field_validator("source")
    @classmethod
    def known_source(cls, value: str) -> str:
        if value not in SOURCES:
            raise ValueError(f"'{value}' is not one of {', '.join(SOURCES)}")
        return value

    @model_validator(mode="after")
    def references_resolve(self):
        for key in ("id_column", "time_column"):
            if getattr(self, key) not in self.columns:
                raise ValueError(f"{key} '{getattr(self, key)}' is not a column")
        for group in self.required_one_of:
            if missing := [c for c in group if c not in self.columns]:
                raise ValueError(f"required_one_of names unknown column(s) {', '.join(missing)}")
        for name, column in self.columns.items():
            tables = [column.values] + [h.values for h in column.headers if isinstance(h, HeaderEntry)]
            for table in filter(None, tables):
                if table not in self.values:
                    raise ValueError(f"columns.{name}: value table '{table}' is not under values")
            keys = [header_key(h.header if isinstance(h, HeaderEntry) else h, tuple(map(_fold, self.header_prefixes)))
                    for h in column.headers]
            if duplicated := sorted({k for k in keys if keys.count(k) > 1}):
                raise ValueError(f"columns.{name}: header(s) {', '.join(duplicated)} listed twice")
        for table, entries in self.values.items():
            seen: dict[str, str] = {}
            for canonical, variants in entries.items():
                for variant in variants or []:
                    key = value_key(variant)
                    if seen.get(key, canonical) != canonical:
                        raise ValueError(f"values.{table}: '{variant}' stands for both {seen[key]} and {canonical}")
                    seen[key] = canonical
        return self


# ------------------------------------------------------------------------------------ in use
@dataclass(frozen=True)
class ValueTable:
    name: str
    canonical: tuple[str, ...]
    lookup: dict[str, str]  # value_key of every form → canonical value

    def map(self, cleaned: str | None) -> str | None:
        if cleaned is None:
            return None
        key = value_key(cleaned)
        found = self.lookup.get(key)
        if found is None and (bare := unnumbered(key)) != key:
            found = self.lookup.get(bare)
        return found


@dataclass(frozen=True)
class Header:
    text: str
    key: str
    values: ValueTable | None  # this header's own table, else the column's


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool
    pii: str | None
    free_text: bool
    values: ValueTable | None
    unknown: str
    numbered: bool
    headers: tuple[Header, ...]

    @property
    def mapped(self) -> bool:
        """Cells go through a value table (the column's or a header's)."""
        return self.values is not None or any(h.values is not None for h in self.headers)


@dataclass(frozen=True)
class Vocabulary:
    source: str
    version: int
    label_zh: str
    label_en: str
    id_column: str
    time_column: str
    header_prefixes: tuple[str, ...]
    required_one_of: tuple[tuple[str, ...], ...]
    columns: tuple[Column, ...]
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return f"{self.source}/v{self.version}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    def key(self, header: object) -> str:
        return header_key(header, self.header_prefixes)

    @property
    def header_index(self) -> dict[str, list[tuple[Column, int]]]:
        """header key → (column, preference) for every column it can feed."""
        index: dict[str, list[tuple[Column, int]]] = {}
        for column in self.columns:
            for rank, header in enumerate(column.headers):
                index.setdefault(header.key, []).append((column, rank))
        return index

    def canonical_values(self, column: str) -> list[str]:
        table = self.column(column).values
        return list(table.canonical) if table else []


def _table(name: str, entries: dict) -> ValueTable:
    # A canonical value stands for itself, unless the table lists it as a form of another value: a
    # flag such as 是否超期 maps 是 to 否.
    lookup = {value_key(variant): str(canonical) for canonical, variants in entries.items() for variant in variants or []}
    for canonical in entries:
        lookup.setdefault(value_key(canonical), str(canonical))
    return ValueTable(name, tuple(str(c) for c in entries), lookup)


def _describe(error: ValidationError, path: Path) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"{path}: {where}: {first['msg']}" + (f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else "")


def load_file(path: Path) -> Vocabulary:
    path = Path(path)
    try:
        data = path.read_bytes()
        raw = yaml.safe_load(data.decode("utf-8"))
    except FileNotFoundError as exc:
        raise VocabularyError(f"{path}: no such vocabulary file") from exc
    except UnicodeDecodeError as exc:
        raise VocabularyError(f"{path}: not UTF-8 text; save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise VocabularyError(f"{path}: {where}{problem} (quote a header or value that holds ?, :, # or brackets)") from exc
    if not isinstance(raw, dict):
        raise VocabularyError(f"{path}: expected a mapping of keys (source, version, columns, …)")
    try:
        parsed = VocabularyFile.model_validate(raw)
    except ValidationError as exc:
        raise VocabularyError(_describe(exc, path)) from exc
    if (match := _VERSION_FILE.match(path.name)) and int(match.group(1)) != parsed.version:
        raise VocabularyError(f"{path}: version: the file says {parsed.version}, its name says {match.group(1)}")
    if path.parent.name in SOURCES and path.parent.name != parsed.source:
        raise VocabularyError(f"{path}: source: the file says {parsed.source}, its folder says {path.parent.name}")
    tables = {name: _table(name, entries) for name, entries in parsed.values.items()}
    prefixes = tuple(_fold(p) for p in parsed.header_prefixes)
    columns = tuple(
        Column(name, c.kind, c.required, c.pii, c.free_text, tables.get(c.values) if c.values else None, c.unknown,
               c.numbered, tuple(Header(h.header, header_key(h.header, prefixes), tables[h.values])
                                 if isinstance(h, HeaderEntry) else Header(h, header_key(h, prefixes), None)
                                 for h in c.headers))
        for name, c in parsed.columns.items()
    )
    return Vocabulary(parsed.source, parsed.version, parsed.label_zh, parsed.label_en, parsed.id_column,
                      parsed.time_column, prefixes, tuple(tuple(g) for g in parsed.required_one_of), columns, path,
                      hashlib.sha256(data).hexdigest())


def versions(source: str, directory: Path | None = None) -> list[int]:
    folder = Path(directory or VOCABULARY_DIR) / source
    found = sorted(int(m.group(1)) for p in folder.glob("v*.yaml") if (m := _VERSION_FILE.match(p.name)))
    if not found:
        raise VocabularyError(f"{folder}: no vocabulary file (v1.yaml, v2.yaml, …) for {source}")
    return found


def path_of(source: str, version: int | None = None, directory: Path | None = None) -> Path:
    chosen = version if version is not None else versions(source, directory)[-1]
    return Path(directory or VOCABULARY_DIR) / source / f"v{chosen}.yaml"


@lru_cache(maxsize=32)
def _cached(path: str, stamp: tuple[int, int]) -> Vocabulary:
    del stamp  # part of the key only: an edited file is read again
    return load_file(Path(path))


def load(source: str, version: int | None = None, directory: Path | None = None) -> Vocabulary:
    """The source's vocabulary: the newest version, or the one given (a run pinned by `nsi verify`)."""
    if source not in SOURCES:
        raise VocabularyError(f"unknown source '{source}'; choose from {', '.join(SOURCES)}")
    path = path_of(source, version, directory)
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise VocabularyError(f"{path}: no vocabulary {source} v{version}") from exc
    return _cached(str(path), (stat.st_mtime_ns, stat.st_size))


def load_all(directory: Path | None = None) -> dict[str, Vocabulary]:
    return {source: load(source, directory=directory) for source in SOURCES}
