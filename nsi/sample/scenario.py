"""What a sample plants beyond the city's ordinary life, so an evaluation can tell what the index should see.

`--steady` holds every district's underlying rates, shares and survey probabilities fixed month to
month: no monthly multipliers, trends, Spring Festival or one-off shocks, and the same expected volume
in a month of 28 days as in one of 31. Counts keep their sampling noise (Poisson volumes, categorical
mixes, Bernoulli outcomes), so whatever the index reads as a change in a steady city is noise.

`--shift WHAT:DISTRICT:FROM:FACTOR` multiplies one underlying rate of one district from a month on:
the rate of a category of records (a 110 category or subcategory, a dispute type, a 12345 matter), or
the quantity behind an indicator. A count's factor multiplies the expected number of those records
(the district's other records stay as they were); a median's multiplies the minutes; a share's
multiplies the probability of the outcome it counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nsi.messages import _
from nsi.month import Month, MonthError
from nsi.sample import world

COUNT_KNOBS = {"police": ("category", "subcategory"), "disputes": ("dispute_type",), "hotline": ("matter",)}
# Probabilities and medians of the generator, per district (the base value of each comes from world.py).
SCALAR_KNOBS = {
    "arrival_minutes": "police", "mediation_success": "disputes", "on_time": "hotline", "satisfied": "hotline",
    "top_box": "survey", "survey_satisfied": "survey",
}

# The records or quantity of the generator that each catalogued indicator reads, so a shift can name the
# indicator it means; tests/test_sample.py checks the counted cells against the catalogue's formulas.
INDICATOR_TARGETS = {
    "A1": ("police", "category", ("刑事",)),
    "A2": ("police", "category", ("治安",)),
    "A3": ("police", "subcategory", ("电信诈骗",)),
    "A4": ("police", "category", ("交通事故", "火灾")),
    "A5": ("police", "arrival_minutes", ()),
    "B1": ("disputes", "dispute_type", tuple(world.DISPUTE_TYPES)),
    "B2": ("disputes", "mediation_success", ()),
    "C1": ("hotline", "matter", tuple(dict.fromkeys(m[2] for m in world.HOTLINE_MATTERS if m[4]))),
    "C2": ("hotline", "on_time", ()),
    "C3": ("hotline", "satisfied", ()),
    "D2": ("survey", "top_box", ()),
    "D3": ("survey", "survey_satisfied", ()),
}


def _category_names() -> dict[tuple[str, str], tuple[str, ...]]:
    """(source, knob) → the category names a shift may name."""
    return {
        ("police", "category"): tuple(world.POLICE_CATEGORIES),
        ("police", "subcategory"): tuple(dict.fromkeys(s for t in world.POLICE_SUBCATEGORIES.values() for s in t)),
        ("disputes", "dispute_type"): tuple(world.DISPUTE_TYPES),
        ("hotline", "matter"): tuple(dict.fromkeys(m[2] for m in world.HOTLINE_MATTERS)),
    }


def police_cells(knob: str, names: tuple[str, ...]) -> set[tuple[str, str]]:
    """The (category, subcategory) pairs of 110 records a police target covers."""
    return {(c, s) for c, subs in world.POLICE_SUBCATEGORIES.items() for s in subs
            if (c if knob == "category" else s) in names}


def _cells(source: str, knob: str, names: tuple[str, ...]) -> set:
    return police_cells(knob, names) if source == "police" else set(names)


@dataclass(frozen=True)
class Shift:
    what: str            # as written: an indicator code, a category, or source/category, source/knob/category
    source: str
    knob: str
    names: tuple[str, ...]  # the categories a count shift multiplies; empty for a probability or median
    district: str
    first: Month
    factor: float

    @property
    def indicator(self) -> str | None:
        """The catalogued indicator this shift plants a change in: the one reading exactly its records or
        quantity, else the narrowest count that holds its records (盗窃 → A1); None if no indicator reads them."""
        if self.knob in SCALAR_KNOBS:
            return next((c for c, (_source, k, _names) in INDICATOR_TARGETS.items() if k == self.knob), None)
        mine = _cells(self.source, self.knob, self.names)
        holding = [(len(_cells(s, k, n)), code) for code, (s, k, n) in INDICATOR_TARGETS.items()
                   if s == self.source and k in COUNT_KNOBS[s] and mine <= _cells(s, k, n)]
        return min(holding)[1] if holding else None

    def active(self, district: str, month: Month) -> bool:
        return district == self.district and month >= self.first

    def record(self) -> dict:
        """As raw/sample.json states it."""
        return {"what": self.what, "source": self.source, "target": self.knob, "categories": list(self.names),
                "district": self.district, "from": self.first.key, "factor": self.factor, "indicator": self.indicator}


@dataclass(frozen=True)
class Scenario:
    """The sample's conditions; the default is the ordinary city, generated exactly as without a scenario."""

    steady: bool = False
    shifts: tuple[Shift, ...] = field(default=())

    def record(self, month: Month) -> dict:
        """What raw/sample.json adds to a month's entry: nothing for the ordinary city."""
        out: dict = {}
        if self.steady:
            out["steady"] = True
        active = [s.record() for s in self.shifts if month >= s.first]
        if active:
            out["shifts"] = active
        return out

    def shifted_districts(self, source: str, month: Month) -> list[str]:
        return sorted({s.district for s in self.shifts if s.source == source and month >= s.first})

    def cell_factors(self, source: str, district: str, month: Month) -> dict:
        """Count cell → factor (1.0 where no shift applies); cells are (category, subcategory) for 110."""
        factors: dict = {}
        for s in self.shifts:
            if s.source == source and s.knob in COUNT_KNOBS[source] and s.active(district, month):
                for cell in _cells(source, s.knob, s.names):
                    factors[cell] = factors.get(cell, 1.0) * s.factor
        return factors

    def scalar_factor(self, knob: str, district: str, month: Month) -> float:
        factor = 1.0
        for s in self.shifts:
            if s.knob == knob and s.active(district, month):
                factor *= s.factor
        return factor

    def scalar_factors(self, knob: str, districts: np.ndarray, month: Month) -> np.ndarray | None:
        """Per record, the factor of its district; None when no shift of this knob applies (the default path)."""
        codes = {s.district for s in self.shifts if s.knob == knob and month >= s.first}
        if not codes:
            return None
        lookup = {c: self.scalar_factor(knob, c, month) for c in codes}
        return np.array([lookup.get(c, 1.0) for c in districts.tolist()], dtype=float)


ORDINARY = Scenario()


def volume_multiplier(weights: dict, factors: dict) -> float:
    """How much a district's expected volume grows when some of its cells (share `weights`) are multiplied;
    exactly 1.0 without factors, so the ordinary city's draws stay as they were."""
    if not factors:
        return 1.0
    total = sum(weights.values())
    return 1.0 + sum(w * (factors.get(cell, 1.0) - 1.0) for cell, w in weights.items()) / total


def police_cell_weights() -> dict[tuple[str, str], float]:
    """The share of each (category, subcategory) among valid 110 incidents."""
    cats = world.POLICE_CATEGORIES
    total = sum(cats.values())
    return {(c, s): cats[c] / total * w / sum(subs.values())
            for c, subs in world.POLICE_SUBCATEGORIES.items() for s, w in subs.items()}


# Bounds a shifted probability must stay within: the generator's own thresholds above it.
PROBABILITY_LIMITS = {"mediation_success": 1.0, "on_time": 1.0, "satisfied": 1.0,
                      "top_box": 1 - 0.008, "survey_satisfied": 0.99}


def _base_probabilities(knob: str, district: str) -> float:
    return {
        "mediation_success": world.DISPUTE_SUCCESS_BY_DISTRICT.get(district, 0.92),
        "on_time": world.rate(world.HOTLINE_ON_TIME, district),
        "satisfied": world.rate(world.HOTLINE_SATISFIED, district),
        "top_box": world.SURVEY_SAFETY_TOPBOX_BY_DISTRICT.get(district, 0.72),
        "survey_satisfied": world.SURVEY_SATISFIED_SHARE,
    }[knob]


def _resolve_target(what: str) -> tuple[str, str, tuple[str, ...]]:
    if what in INDICATOR_TARGETS:
        return INDICATOR_TARGETS[what]
    parts = what.split("/")
    name = parts[-1]
    matches = [(source, knob) for (source, knob), names in _category_names().items() if name in names
               and (len(parts) < 2 or source == parts[0]) and (len(parts) < 3 or knob == parts[1])]
    if len(parts) > 3 or not matches:
        raise ValueError(_("--shift: {what} is neither an indicator a shift can move ({indicators}) nor a category "
                           "the generator draws (a 110 category or subcategory, a dispute type, a 12345 matter; "
                           "source/category where a name is in several)").format(
                               what=what, indicators=", ".join(INDICATOR_TARGETS)))
    if len(matches) > 1:
        raise ValueError(_("--shift: {what} names several categories; write one of {options}").format(
            what=what, options=", ".join(f"{s}/{k}/{name}" for s, k in matches)))
    source, knob = matches[0]
    return source, knob, (name,)


def parse_shift(text: str, district_codes: list[str]) -> Shift:
    """WHAT:DISTRICT:FROM_MONTH:FACTOR, e.g. 电信诈骗:320105:2024-09:1.3. Raises ValueError with a plain reason."""
    parts = text.split(":")
    if len(parts) != 4:
        raise ValueError(_("--shift {text}: write WHAT:DISTRICT:FROM_MONTH:FACTOR, e.g. 电信诈骗:320105:2024-09:1.3")
                         .format(text=text))
    what, district, first, factor_text = (p.strip() for p in parts)
    source, knob, names = _resolve_target(what)
    if district not in district_codes:
        raise ValueError(_("--shift {text}: {district} is not a district code ({codes})").format(
            text=text, district=district, codes=", ".join(district_codes)))
    try:
        month = Month.parse(first)
    except MonthError as exc:
        raise ValueError(f"--shift {text}: {exc}") from exc
    try:
        factor = float(factor_text)
    except ValueError:
        factor = float("nan")
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(_("--shift {text}: the factor must be a positive number, not {factor}").format(
            text=text, factor=factor_text))
    base = _base_probabilities(knob, district) if knob in PROBABILITY_LIMITS else None
    if base is not None and base * factor > PROBABILITY_LIMITS[knob]:
        raise ValueError(_("--shift {text}: the probability is {base:.3f} in {district}; times {factor} it would "
                           "exceed {limit}").format(text=text, base=base, district=district, factor=factor,
                                                    limit=PROBABILITY_LIMITS[knob]))
    return Shift(what, source, knob, names, district, month, factor)


def scenario_of(steady: bool, shifts: list[str], district_codes: list[str]) -> Scenario:
    return Scenario(steady, tuple(parse_shift(s, district_codes) for s in shifts))
