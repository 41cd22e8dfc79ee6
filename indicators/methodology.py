"""The methodology as data: indicators/methodology/<version>.yaml, validated on load, and the
indicator catalogue it draws on (indicators/catalogue.yaml: what each indicator computes).

A month is computed with the version whose `valid_from` is the latest not after the month. A new
weight or goalpost is a new file, never an edit of a published version.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

METHODOLOGY_DIR = Path(__file__).resolve().parent / "methodology"
CATALOGUE_FILE = Path(__file__).resolve().parent / "catalogue.yaml"

Source = Literal["police", "hotline", "disputes", "survey"]
SQL = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# The formula keys of each kind of denominator; an entry gives exactly these.
FORMULA_KEYS = {
    "per_residents": ("count",),
    "share": ("numerator", "of"),
    "median": ("median", "where"),
    "post_stratified_share": ("positive", "answered"),
}


class MethodologyError(ValueError):
    pass


def _keys(keys) -> str:
    return ", ".join(f"`{k}`" for k in keys)


class CatalogueEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    source: Source
    denominator: Literal[tuple(FORMULA_KEYS)]
    count: SQL | None = None
    numerator: SQL | None = None
    of: SQL | None = None
    median: SQL | None = None
    where: SQL | None = None
    positive: SQL | None = None
    answered: SQL | None = None

    @model_validator(mode="after")
    def formula_matches_denominator(self):
        wanted = FORMULA_KEYS[self.denominator]
        given = {key for keys in FORMULA_KEYS.values() for key in keys if getattr(self, key) is not None}
        if missing := [key for key in wanted if key not in given]:
            raise ValueError(f"{self.code}: a {self.denominator} indicator needs {_keys(missing)}")
        if extra := sorted(given - set(wanted)):
            raise ValueError(f"{self.code}: a {self.denominator} indicator takes no {_keys(extra)}")
        if (self.denominator == "post_stratified_share") != (self.source == "survey"):
            raise ValueError(f"{self.code}: survey indicators, and only they, are post_stratified_share")
        return self

    @property
    def formula(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in FORMULA_KEYS[self.denominator]}


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    rate_per: int = Field(gt=0)
    records: dict[Source, SQL]
    indicators: list[CatalogueEntry]

    @field_validator("indicators")
    @classmethod
    def unique_codes(cls, entries):
        codes = [e.code for e in entries]
        if twice := sorted({c for c in codes if codes.count(c) > 1}):
            raise ValueError(f"{', '.join(twice)} appear(s) more than once")
        return entries

    @model_validator(mode="after")
    def sources_have_records(self):
        for entry in self.indicators:
            if entry.source not in self.records:
                raise ValueError(f"indicators.{entry.code}: no record set for source {entry.source} under `records`")
        return self

    def entry(self, code: str) -> CatalogueEntry:
        return next(e for e in self.indicators if e.code == code)


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name_zh: str
    name_en: str
    definition: str
    definition_zh: str
    unit: str
    direction: Literal[1, -1]
    weight: float = Field(gt=0)
    goalposts: tuple[float, float]
    # Below this many cases in the denominator (shares: `of`; medians and survey shares: n) the value is
    # treated as missing and flagged; none: every value counts (v1).
    min_denominator: int | None = Field(default=None, ge=1)

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


class MonteCarlo(BaseModel):
    """The rank intervals: every draw jitters every weight, picks a normalisation and redraws the
    survey values within their sampling error."""
    model_config = ConfigDict(extra="forbid")
    draws: int = Field(ge=1)
    weight_jitter: float = Field(ge=0, lt=1)  # below 1, so that every weight stays positive
    normalisations: dict[Literal["goalposts", "minmax"], Annotated[float, Field(gt=0, le=1)]]
    percentiles: tuple[float, float, float]  # stored as rank_p05, rank_p50, rank_p95
    # What a draw redraws within its sampling distribution: `survey`, the survey indicators only (v1);
    # `all`, every indicator (counts Poisson, shares binomial, medians and survey shares normal on their
    # standard error), for this month and the months its changes compare with.
    sampling: Literal["survey", "all"] = "survey"

    @field_validator("normalisations")
    @classmethod
    def chances_sum_to_one(cls, value):
        if abs(sum(value.values()) - 1) > 1e-9:
            raise ValueError(f"chances sum to {sum(value.values()):.6f}, not 1")
        return value

    @field_validator("percentiles")
    @classmethod
    def increasing(cls, value):
        if not 0 <= value[0] < value[1] < value[2] <= 100:
            raise ValueError(f"percentiles must be [low, middle, high] within 0..100, got {list(value)}")
        return value


class EarlyWarning(BaseModel):
    """A value further than `threshold` robust SDs from the median of its own trailing months (v1)."""
    model_config = ConfigDict(extra="forbid")
    method: Literal["robust_z"] = "robust_z"
    threshold: float = Field(gt=0)
    trailing_months: int = Field(ge=1)
    min_history: int = Field(ge=1)
    mad_factor: float = Field(gt=0)
    spread_floor: float = Field(ge=0)  # share of |median| below which the robust SD is not taken

    @model_validator(mode="after")
    def history_fits_the_window(self):
        if self.min_history > self.trailing_months:
            raise ValueError(f"min_history {self.min_history} exceeds trailing_months {self.trailing_months}")
        return self


class CountTestWarning(BaseModel):
    """A value the district's own trailing months make improbable, tested on its counts: a rate's count
    against the trailing months' rate (Poisson), a share's numerator against their pooled share
    (binomial), a median or survey share against their mean on its standard error; with `overdispersion`,
    the variance is widened by what the trailing months vary beyond sampling (at least 1)."""
    model_config = ConfigDict(extra="forbid")
    method: Literal["count_test"]
    alpha: float = Field(gt=0, lt=1)  # two-sided chance of a warning for a district whose rate did not change
    trailing_months: int = Field(ge=1)
    min_history: int = Field(ge=1)
    min_expected: float = Field(gt=0)  # no warning when fewer cases than this are expected this month
    overdispersion: bool = True

    @model_validator(mode="after")
    def history_fits_the_window(self):
        if self.min_history > self.trailing_months:
            raise ValueError(f"min_history {self.min_history} exceeds trailing_months {self.trailing_months}")
        return self


class Narration(BaseModel):
    """What a briefing may say about a change, from the Monte-Carlo draws (index_uncertainty): a change
    within z(change_level) standard deviations of its draws reads 基本持平; an indicator is named as a
    driver only when its contribution is outside z(driver_level) standard deviations of its own draws."""
    model_config = ConfigDict(extra="forbid")
    change_level: float = Field(gt=0, lt=1)
    driver_level: float = Field(gt=0, lt=1)
    # Which draws a band is read from: `all`, every source of uncertainty (sampling, weights, normalisation);
    # `sampling`, the sampling of the counts and the survey alone under the declared weights and
    # normalisation (the `_noise` quantities of index_uncertainty): whether a change is more than chance.
    band: Literal["all", "sampling"] = "all"


class Smoothing(BaseModel):
    """Small counts shrunk towards the city by empirical Bayes (shares: beta-binomial; rates: Poisson-gamma),
    with the prior's strength estimated from the spread between districts; the value before is kept as
    value_raw."""
    model_config = ConfigDict(extra="forbid")
    method: Literal["empirical_bayes"]
    indicators: list[str] = Field(min_length=1)


class Change(BaseModel):
    """One change from the previous version and why (from the statistical audit)."""
    model_config = ConfigDict(extra="forbid")
    what: str
    why: str


class UnknownValues(BaseModel):
    """How many rows of a source's month may be rejected for values its vocabulary does not know
    before the month stops: past this, the vocabulary is out of date, not the rows wrong."""
    model_config = ConfigDict(extra="forbid")
    max_share: float = Field(ge=0, le=1)  # of the rows read


class Concern(BaseModel):
    """突出问题: which records of a source a briefing counts as safety problems, listed by one column.

    `counted_by` takes the records a rate indicator of the catalogue counts (its formula stays in the
    catalogue, stated once); `categories` keeps only these values of the column, each a value of the
    source's vocabulary. Either, both (both must hold) or neither (every record) may be given.
    """
    model_config = ConfigDict(extra="forbid")
    column: str
    counted_by: str | None = None
    categories: list[str] | None = Field(default=None, min_length=1)

    def check(self, source: str) -> None:
        from nsi import vocabulary  # the vocabulary of the source names its columns and their values

        words = vocabulary.load(source)
        if not words.has(self.column):
            raise ValueError(f"{source}: {self.column} is not a column of {words.name}")
        if self.counted_by is not None:
            entry = next((e for e in catalogue().indicators if e.code == self.counted_by), None)
            if entry is None or entry.source != source or entry.denominator != "per_residents":
                raise ValueError(f"{source}: counted_by {self.counted_by} is not a per_residents indicator of {source} "
                                 f"in {CATALOGUE_FILE.name}")
        if self.categories is not None:
            known = words.canonical_values(self.column)
            if unknown := [c for c in self.categories if c not in known]:
                raise ValueError(f"{source}: {', '.join(unknown)} not among the values of {self.column} in {words.name}")

    @property
    def condition(self) -> str:
        """SQL over the source's record set (catalogue `records`): the records counted."""
        parts = []
        if self.counted_by is not None:
            parts.append(f"({catalogue().entry(self.counted_by).count})")
        if self.categories is not None:
            quoted = ", ".join("'" + c.replace("'", "''") + "'" for c in self.categories)
            parts.append(f'"{self.column}" IN ({quoted})')
        return " AND ".join(parts) or "TRUE"


class Methodology(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    valid_from: str
    title: str
    aggregation: Literal["arithmetic", "geometric"]
    normalisation: Literal["goalposts"]
    population_basis: str
    missing: MissingRule
    survey_min_completes: int = Field(ge=1)
    geometric_range: tuple[float, float]
    monte_carlo: MonteCarlo
    early_warning: Annotated[EarlyWarning | CountTestWarning, Field(discriminator="method")]
    unknown_values: UnknownValues
    goalpost_basis: str
    sub_indices: list[SubIndex]
    concerns: dict[Source, Concern]
    notes: list[str] = []
    # Absent in v1, whose briefings narrate every change and contribution above 0.05 points.
    narration: Narration | None = None
    smoothing: Smoothing | None = None
    # No indicator may score exactly 0 or 100 (at a goalpost) in more than this share of the baseline's
    # district-months; the audit flags one that does.
    max_share_at_bounds: float | None = Field(default=None, gt=0, lt=1)
    changes: list[Change] = []  # from the previous version, each with its reason

    @model_validator(mode="before")
    @classmethod
    def warning_method_defaults_to_v1(cls, data):
        # v1 was written before warnings had a method: its early_warning is the robust-z rule.
        if isinstance(data, dict) and isinstance(data.get("early_warning"), dict):
            data["early_warning"] = {"method": "robust_z", **data["early_warning"]}
        return data

    @field_validator("concerns")
    @classmethod
    def concerns_name_known_records(cls, value):
        for source, concern in value.items():
            concern.check(source)
        return value

    @field_validator("geometric_range")
    @classmethod
    def positive_range(cls, value):
        if not 0 < value[0] < value[1]:
            raise ValueError(f"geometric_range must be [low, high] with 0 < low < high, got {list(value)}")
        return value

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
                known = [e.code for e in catalogue().indicators]
                entry = next((e for e in catalogue().indicators if e.code == indicator.code), None)
                if indicator.min_denominator is not None and entry is not None and entry.denominator == "per_residents":
                    raise ValueError(f"sub_indices.{sub.code}.{indicator.code}: min_denominator applies to shares, "
                                     "medians and survey shares; a rate's denominator is the population")
                if indicator.code not in known:
                    raise ValueError(f"sub_indices.{sub.code}.{indicator.code}: not in {CATALOGUE_FILE.name} "
                                     f"(catalogued: {', '.join(known)})")
        if self.smoothing is not None:
            for code in self.smoothing.indicators:
                entry = next((e for e in catalogue().indicators if e.code == code), None)
                if code not in seen or entry is None or entry.denominator not in ("share", "per_residents"):
                    raise ValueError(f"smoothing.indicators: {code} is not a share or rate indicator of this version")
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


# pydantic names the chosen member of a tagged union in an error's location; the file has no such key.
UNION_TAGS = {"robust_z", "count_test"}


def _describe(error: ValidationError, path: Path) -> str:
    lines = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"] if p not in UNION_TAGS) or "(top level)"
        lines.append(f"{path.name}: {location}: {item['msg']}")
    return "\n".join(lines)


def _load(path: Path, model: type[BaseModel]):
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MethodologyError(f"{Path(path).name}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MethodologyError(_describe(exc, Path(path))) from exc


def load_file(path: Path) -> Methodology:
    return _load(path, Methodology)


def load_catalogue(path: Path) -> Catalogue:
    return _load(path, Catalogue)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    return load_catalogue(CATALOGUE_FILE)


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
