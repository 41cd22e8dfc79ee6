"""The names of the analysts' workbook (nsi/publication/workbook.yaml): sheets, columns, number formats, in
Chinese and English, checked once on load so that a mistake in the file stops with its place named."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

NAMES_FILE = Path(__file__).with_name("workbook.yaml")
LANGUAGES = ("zh", "en")
Language = Literal["zh", "en"]
UNIT_FORMAT = re.compile(r"^unit:(value|denominator)$")
# Excel refuses these in a sheet name, and names longer than 31 characters.
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


class WorkbookNamesError(ValueError):
    pass


class Names(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def of(self, lang: Language) -> str:
        return getattr(self, lang)


class Unit(Names):
    value: str = Field(min_length=1)
    denominator: str = Field(min_length=1)


class Column(Names):
    key: str
    format: str | None = None
    each: Literal["sub_index", "rule"] | None = None

    @model_validator(mode="after")
    def template_names_its_part(self):
        if self.each and not ("{name}" in self.zh and "{name}" in self.en):
            raise ValueError(f"column {self.key}: one column per {self.each} needs {{name}} in zh and en")
        return self


class Sheet(Names):
    key: str
    freeze_columns: int = Field(ge=0)
    columns: list[Column] = Field(min_length=1)

    @field_validator("zh", "en")
    @classmethod
    def excel_accepts(cls, value: str) -> str:
        if len(value) > 31 or SHEET_NAME_FORBIDDEN.search(value):
            raise ValueError(f"{value!r}: Excel sheet names have at most 31 characters and none of []:*?/\\")
        return value

    @model_validator(mode="after")
    def columns_are_distinct(self):
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"sheet {self.key}: a column key appears twice")
        if self.freeze_columns > len(self.columns):
            raise ValueError(f"sheet {self.key}: freeze_columns {self.freeze_columns} is more than its columns")
        return self


class WorkbookNames(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    title: Names
    header: dict[str, str | bool]
    unknown_district: Names
    units: dict[str, Unit]
    rules: dict[str, Names]
    sheets: list[Sheet] = Field(min_length=1)

    @model_validator(mode="after")
    def formats_and_sheets(self):
        for lang in LANGUAGES:
            names = [s.of(lang) for s in self.sheets]
            if len(set(names)) != len(names):
                raise ValueError(f"two sheets share the {lang} name")
        if len({s.key for s in self.sheets}) != len(self.sheets):
            raise ValueError("a sheet key appears twice")
        for sheet in self.sheets:
            for column in sheet.columns:
                if column.format and column.format.startswith("unit") and not UNIT_FORMAT.match(column.format):
                    raise ValueError(f"sheet {sheet.key}, column {column.key}: format {column.format!r} is neither "
                                     "an Excel format nor unit:value / unit:denominator")
        return self

    def sheet(self, key: str) -> Sheet:
        return next(s for s in self.sheets if s.key == key)

    def unit(self, unit: str) -> Unit:
        if unit not in self.units:
            raise WorkbookNamesError(f"{NAMES_FILE.name}: indicator unit {unit!r} has no entry under units; "
                                     f"add its names and number formats there")
        return self.units[unit]

    def rule(self, rule: str, lang: Language) -> str:
        """The rule's short name; a rule the file does not name yet keeps its code."""
        return self.rules[rule].of(lang) if rule in self.rules else rule


def _describe(error: ValidationError) -> str:
    return "\n".join(f"{NAMES_FILE.name}: {'.'.join(str(p) for p in item['loc']) or '(top level)'}: {item['msg']}"
                     for item in error.errors())


def load_file(path: Path) -> WorkbookNames:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return WorkbookNames.model_validate(data)
    except yaml.YAMLError as exc:
        raise WorkbookNamesError(f"{Path(path).name}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        raise WorkbookNamesError(_describe(exc)) from exc


@lru_cache(maxsize=1)
def load() -> WorkbookNames:
    return load_file(NAMES_FILE)
