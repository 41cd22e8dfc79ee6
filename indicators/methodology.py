"""The methodology as data: indicators/methodology/<version>.yaml, validated on load.

A month is computed with the version whose `valid_from` is the latest not after the month. A new
weight or goalpost is a new file, never an edit of a published version.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

METHODOLOGY_DIR = Path(__file__).resolve().parent / "methodology"
# What the indicator SQL can compute; a methodology naming anything else is refused.
COMPUTABLE = {
    "A1": "police", "A2": "police", "A3": "police", "A4": "police", "A5": "police",
    "B1": "disputes", "B2": "disputes", "B3": "disputes", "B4": "disputes",
    "C1": "hotline", "C2": "hotline", "C3": "hotline", "C4": "hotline",
    "D1": "survey", "D2": "survey", "D3": "survey",
}


class MethodologyError(ValueError):
    pass


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name_zh: str
    name_en: str
    source: Literal["police", "hotline", "disputes", "survey"]
    definition: str
    definition_zh: str
    unit: str
    direction: Literal[1, -1]
    weight: float = Field(gt=0)
    goalposts: tuple[float, float]
    min_sample: int | None = None

    @field_validator("goalposts")
    @classmethod
    def ordered(cls, value):
        if not value[0] < value[1]:
            raise ValueError(f"goalposts must be [low, high] with low < high, got {list(value)}")
        return value


class SubIndex(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name_zh: str
    name_en: str
    weight: float = Field(gt=0)
    indicators: list[Indicator]


class MissingRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: Literal["reweight", "withhold"]
    min_weight_present: float = Field(ge=0, le=1)


class Methodology(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    valid_from: str
    title: str
    aggregation: Literal["arithmetic", "geometric"]
    normalisation: Literal["goalposts"]
    population_basis: str
    missing: MissingRule
    survey_min_completes: int
    goalpost_basis: str
    sub_indices: list[SubIndex]
    notes: list[str] = []

    @model_validator(mode="after")
    def weights_and_codes(self):
        total = sum(s.weight for s in self.sub_indices)
        if abs(total - 1) > 1e-9:
            raise ValueError(f"sub_indices: weights sum to {total:.6f}, not 1")
        seen = set()
        for sub in self.sub_indices:
            inner = sum(i.weight for i in sub.indicators)
            if abs(inner - 1) > 1e-9:
                raise ValueError(f"sub_indices.{sub.code}: indicator weights sum to {inner:.6f}, not 1")
            for indicator in sub.indicators:
                if indicator.code in seen:
                    raise ValueError(f"indicator {indicator.code} appears twice")
                seen.add(indicator.code)
                if indicator.code not in COMPUTABLE:
                    raise ValueError(f"sub_indices.{sub.code}.{indicator.code}: no computation for this indicator "
                                     f"(computable: {', '.join(sorted(COMPUTABLE))})")
                if COMPUTABLE[indicator.code] != indicator.source:
                    raise ValueError(f"sub_indices.{sub.code}.{indicator.code}: source must be {COMPUTABLE[indicator.code]}")
        return self

    @property
    def indicators(self) -> list[Indicator]:
        return [i for s in self.sub_indices for i in s.indicators]

    def indicator(self, code: str) -> Indicator:
        return next(i for i in self.indicators if i.code == code)

    def sub_index_of(self, code: str) -> SubIndex:
        return next(s for s in self.sub_indices if any(i.code == code for i in s.indicators))

    def structure_rows(self) -> list[dict]:
        """The hierarchy in the compose format: code, parent, weight, direction, goal_lo, goal_hi."""
        rows = [{"code": "NSI", "parent": None, "weight": 1.0, "direction": None, "goal_lo": None, "goal_hi": None}]
        for sub in self.sub_indices:
            rows.append({"code": sub.code, "parent": "NSI", "weight": sub.weight, "direction": None,
                         "goal_lo": None, "goal_hi": None})
            for i in sub.indicators:
                rows.append({"code": i.code, "parent": sub.code, "weight": i.weight, "direction": i.direction,
                             "goal_lo": i.goalposts[0], "goal_hi": i.goalposts[1]})
        return rows


def _describe(error: ValidationError, path: Path) -> str:
    lines = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"]) or "(top level)"
        lines.append(f"{path.name}: {location}: {item['msg']}")
    return "\n".join(lines)


def load_file(path: Path) -> Methodology:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MethodologyError(f"{Path(path).name}: not valid YAML: {exc}") from exc
    try:
        return Methodology.model_validate(data)
    except ValidationError as exc:
        raise MethodologyError(_describe(exc, Path(path))) from exc


@lru_cache(maxsize=8)
def all_versions(directory: str | None = None) -> tuple[Methodology, ...]:
    folder = Path(directory) if directory else METHODOLOGY_DIR
    versions = [load_file(p) for p in sorted(folder.glob("*.yaml"))]
    if not versions:
        raise MethodologyError(f"no methodology file in {folder}")
    starts = [v.valid_from for v in versions]
    if len(set(starts)) != len(starts):
        raise MethodologyError(f"two methodology versions start in the same month: {starts}")
    return tuple(sorted(versions, key=lambda v: v.valid_from))


def for_month(month: str, directory: str | None = None) -> Methodology:
    eligible = [v for v in all_versions(directory) if v.valid_from <= month]
    if not eligible:
        raise MethodologyError(f"no methodology version is valid for {month}")
    return eligible[-1]


def by_version(version: str, directory: str | None = None) -> Methodology:
    for v in all_versions(directory):
        if v.version == version:
            return v
    raise MethodologyError(f"methodology version {version} not found")


def for_run(month: str) -> Methodology:
    """The version a run uses for a month: pinned by `nsi verify` (NSI_METHODOLOGY_PIN, a JSON map
    month → version, so a rebuild uses what was published), else the version valid for the month."""
    import json
    import os

    pins = json.loads(os.environ.get("NSI_METHODOLOGY_PIN", "{}"))
    return by_version(pins[month]) if month in pins else for_month(month)
