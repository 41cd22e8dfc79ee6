"""Reference data: districts, populations, streets and every name or code exports still carry.

One question answered here: "which district (and street) is this?". Names are matched after
normalisation (full-width → half-width, traditional → simplified characters, spaces dropped), so
"白下 区", "白下区" and "白下區" agree. A 江北新区 name or code resolves only through its street (or
its police station); without one it is unresolvable by design. A district cell that names only the
city (南京市, 320100: calls taken by the city's 110 centre) is placed by the row's police branch,
station or mediation committee (units.csv).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import opencc
import polars as pl
import yaml

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
CITY_CODE = "320100"
BY_STREET = "by_street"
UNIT_KINDS = ("police_branch", "police_station", "mediation_committee")
_TO_SIMPLIFIED = opencc.OpenCC("t2s")


class ReferenceDataError(ValueError):
    """A reference file is malformed; the message names the file, row and key."""


@lru_cache(maxsize=65536)
def normalise_text(value: str | None) -> str:
    """Full-width to half-width (NFKC), traditional to simplified characters, no whitespace of any kind."""
    if value is None:
        return ""
    text = "".join(unicodedata.normalize("NFKC", str(value)).split())
    return _TO_SIMPLIFIED.convert(text) if not text.isascii() else text


def _street_key(name: str) -> str:
    """Street names appear with and without their 街道/镇 suffix."""
    key = normalise_text(name)
    for suffix in ("街道办事处", "街道", "镇"):
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            return key[: -len(suffix)]
    return key


@dataclass(frozen=True)
class District:
    code: str
    name_zh: str
    name_en: str
    short_zh: str
    area_km2: float
    kind: str


@dataclass(frozen=True)
class Street:
    district_code: str
    street_code: str
    name: str
    kind: str
    jiangbei: bool


@dataclass(frozen=True)
class VolumeBand:
    """How many rows a month's export of a source should hold, and how far it may be off."""

    source: str
    rows_per_month: int  # for the whole city at full scale
    low: float
    high: float
    scales_with_population: bool  # a synthetic export at --scale 0.01 holds 1% of the rows
    year_on_year_low: float
    year_on_year_high: float
    min_days_share: float  # of the month's days that have at least one record


@dataclass(frozen=True)
class Resolution:
    """Where a row belongs. `how` says which rule placed it (name, old_name, jiangbei_street, …)."""

    district_code: str | None
    street_code: str | None
    how: str


class Reference:
    def __init__(self, directory: Path = REFERENCE_DIR):
        self.directory = Path(directory)
        manifest_path = self.directory / "reference.yaml"
        try:
            manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ReferenceDataError(f"{manifest_path}: reference manifest is missing") from exc
        for key in ("version", "city", "files"):
            if key not in manifest:
                raise ReferenceDataError(f"{manifest_path}: key '{key}' is missing")
        self.version: str = str(manifest["version"])
        self.city_code: str = str(manifest["city"]["code"])
        self.city_name_zh: str = manifest["city"]["name_zh"]
        self.city_name_en: str = manifest["city"]["name_en"]
        files = manifest["files"]
        self._load_districts(self._read(files, "districts"))
        self._load_populations(self._read(files, "populations"))
        self._load_streets(self._read(files, "streets"))
        self._load_district_aliases(self._read(files, "district_aliases"))
        self._load_street_aliases(self._read(files, "street_aliases"))
        self._load_structure(self._read(files, "population_structure"))
        self.address_prefixes = tuple(sorted((normalise_text(p) for p in manifest.get("address_prefixes", [])),
                                             key=len, reverse=True))
        self._load_units(self._read(files, "units"))
        self._load_volumes(self._read(files, "volumes"))

    # ---- loading and validation -------------------------------------------------------------
    def _read(self, files: dict, key: str) -> tuple[Path, list[dict]]:
        if key not in files:
            raise ReferenceDataError(f"{self.directory / 'reference.yaml'}: files.{key} is missing")
        path = self.directory / files[key]
        if not path.exists():
            raise ReferenceDataError(f"{path}: file named in reference.yaml does not exist")
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
        return path, frame.to_dicts()

    @staticmethod
    def _need(path: Path, rows: list[dict], columns: tuple[str, ...]) -> None:
        if rows and (missing := [c for c in columns if c not in rows[0]]):
            raise ReferenceDataError(f"{path}: missing column(s) {', '.join(missing)}")

    def _load_districts(self, loaded) -> None:
        path, rows = loaded
        self._need(path, rows, ("code", "name_zh", "name_en", "short_zh", "area_km2", "kind"))
        self.districts: dict[str, District] = {}
        for line, row in enumerate(rows, start=2):
            code = (row["code"] or "").strip()
            if not (len(code) == 6 and code.isdigit() and code.startswith("3201")):
                raise ReferenceDataError(f"{path}, row {line}, column code: '{code}' is not a Nanjing GB/T 2260 code")
            if code in self.districts:
                raise ReferenceDataError(f"{path}, row {line}, column code: duplicate code {code}")
            try:
                area = float(row["area_km2"])
            except (TypeError, ValueError) as exc:
                raise ReferenceDataError(f"{path}, row {line}, column area_km2: not a number") from exc
            self.districts[code] = District(code, row["name_zh"], row["name_en"], row["short_zh"], area, row["kind"])
        if len(self.districts) != 11:
            raise ReferenceDataError(f"{path}: expected the 11 districts of Nanjing, found {len(self.districts)}")

    def _load_populations(self, loaded) -> None:
        path, rows = loaded
        self._need(path, rows, ("code", "year", "population"))
        self._populations: dict[str, dict[int, int]] = {}
        for line, row in enumerate(rows, start=2):
            code = row["code"]
            if code not in self.districts:
                raise ReferenceDataError(f"{path}, row {line}, column code: unknown district {code}")
            try:
                year, population = int(row["year"]), int(row["population"])
            except (TypeError, ValueError) as exc:
                raise ReferenceDataError(f"{path}, row {line}: year and population must be integers") from exc
            if population <= 0:
                raise ReferenceDataError(f"{path}, row {line}, column population: must be positive")
            self._populations.setdefault(code, {})[year] = population
        if missing := sorted(set(self.districts) - set(self._populations)):
            raise ReferenceDataError(f"{path}: no population for district(s) {', '.join(missing)}")

    def _load_streets(self, loaded) -> None:
        path, rows = loaded
        self._need(path, rows, ("district_code", "street_code", "name", "kind", "jiangbei"))
        self.streets: dict[str, Street] = {}
        self._street_by_key: dict[str, list[Street]] = {}
        for line, row in enumerate(rows, start=2):
            if row["district_code"] not in self.districts:
                raise ReferenceDataError(f"{path}, row {line}, column district_code: unknown district {row['district_code']}")
            code = row["street_code"]
            if not (len(code) == 12 and code.isdigit()):
                raise ReferenceDataError(f"{path}, row {line}, column street_code: '{code}' is not a 12-digit code")
            if code in self.streets:
                raise ReferenceDataError(f"{path}, row {line}, column street_code: duplicate {code}")
            if row["jiangbei"] not in ("true", "false"):
                raise ReferenceDataError(f"{path}, row {line}, column jiangbei: must be true or false")
            street = Street(row["district_code"], code, row["name"], row["kind"], row["jiangbei"] == "true")
            self.streets[code] = street
            self._street_by_key.setdefault(_street_key(street.name), []).append(street)
        if missing := sorted(set(self.districts) - {s.district_code for s in self.streets.values()}):
            raise ReferenceDataError(f"{path}: no streets for district(s) {', '.join(missing)}")

    def _load_district_aliases(self, loaded) -> None:
        path, rows = loaded
        self._need(path, rows, ("alias", "resolves_to", "kind"))
        self.district_aliases: dict[str, tuple[str, str]] = {}
        for line, row in enumerate(rows, start=2):
            key = normalise_text(row["alias"])
            target = row["resolves_to"]
            if target != BY_STREET and target not in self.districts:
                raise ReferenceDataError(f"{path}, row {line}, column resolves_to: unknown district {target}")
            if key in self.district_aliases and self.district_aliases[key][0] != target:
                raise ReferenceDataError(f"{path}, row {line}, column alias: '{row['alias']}' already maps elsewhere")
            self.district_aliases[key] = (target, row["kind"])
        for code, district in self.districts.items():
            self.district_aliases.setdefault(code, (code, "code"))
            self.district_aliases.setdefault(normalise_text(district.name_zh), (code, "name"))

    def _load_street_aliases(self, loaded) -> None:
        path, rows = loaded
        self._need(path, rows, ("alias", "street_code"))
        self.street_aliases: dict[str, str] = {}
        for line, row in enumerate(rows, start=2):
            target = row["street_code"]
            ok = target in self.streets or (target.startswith("district:") and target[9:] in self.districts)
            if not ok:
                raise ReferenceDataError(f"{path}, row {line}, column street_code: unknown target {target}")
            self.street_aliases[_street_key(row["alias"])] = target

    def _load_structure(self, loaded) -> None:
        path, rows = loaded
        self._need(path, rows, ("code", "sex", "age_group", "share"))
        self._structure: dict[str, dict[tuple[str, str], float]] = {}
        for line, row in enumerate(rows, start=2):
            if row["code"] != "ALL" and row["code"] not in self.districts:
                raise ReferenceDataError(f"{path}, row {line}, column code: unknown district {row['code']}")
            try:
                share = float(row["share"])
            except (TypeError, ValueError) as exc:
                raise ReferenceDataError(f"{path}, row {line}, column share: not a number") from exc
            self._structure.setdefault(row["code"], {})[(row["sex"], row["age_group"])] = share
        for code, cells in self._structure.items():
            if abs(sum(cells.values()) - 1) > 1e-6:
                raise ReferenceDataError(f"{path}: shares of {code} sum to {sum(cells.values()):.4f}, not 1")
        if "ALL" not in self._structure and set(self.districts) - set(self._structure):
            raise ReferenceDataError(f"{path}: no structure for some districts and no ALL row to fall back on")

    def _load_volumes(self, loaded) -> None:
        path, rows = loaded
        columns = ("source", "rows_per_month", "low", "high", "scales_with_population", "year_on_year_low",
                   "year_on_year_high", "min_days_share")
        self._need(path, rows, columns)
        self.volumes: dict[str, VolumeBand] = {}
        for line, row in enumerate(rows, start=2):
            try:
                numbers = [float(row[c]) for c in ("low", "high", "year_on_year_low", "year_on_year_high", "min_days_share")]
                rows_per_month = int(row["rows_per_month"])
            except (TypeError, ValueError) as exc:
                raise ReferenceDataError(f"{path}, row {line}: rows_per_month, the bands and min_days_share must be numbers") from exc
            if not (0 < numbers[0] <= 1 <= numbers[1] and 0 < numbers[2] <= 1 <= numbers[3] and 0 < numbers[4] <= 1):
                raise ReferenceDataError(f"{path}, row {line}: a band must hold 1 (low ≤ 1 ≤ high) and min_days_share lie in (0, 1]")
            if row["scales_with_population"] not in ("true", "false"):
                raise ReferenceDataError(f"{path}, row {line}, column scales_with_population: must be true or false")
            self.volumes[row["source"]] = VolumeBand(row["source"], rows_per_month, numbers[0], numbers[1],
                                                     row["scales_with_population"] == "true", *numbers[2:])

    def _load_units(self, loaded) -> None:
        path, rows = loaded
        self._need(path, rows, ("name", "kind", "district_code", "street_code"))
        self.units: dict[str, tuple[str, str | None, str]] = {}  # key → (district or by_street, street, kind)
        for line, row in enumerate(rows, start=2):
            kind, district, street = row["kind"], row["district_code"], row["street_code"] or None
            if kind not in UNIT_KINDS:
                raise ReferenceDataError(f"{path}, row {line}, column kind: '{kind}' is not one of {', '.join(UNIT_KINDS)}")
            if district != BY_STREET and district not in self.districts:
                raise ReferenceDataError(f"{path}, row {line}, column district_code: unknown district {district}")
            if street and (street not in self.streets or (district != BY_STREET and self.streets[street].district_code != district)):
                raise ReferenceDataError(f"{path}, row {line}, column street_code: {street} is not a street of {district}")
            if district == BY_STREET and kind != "police_branch":
                raise ReferenceDataError(f"{path}, row {line}: only a police branch can leave the district to its stations")
            key = self._unit_key(row["name"])
            if key in self.units and self.units[key][:2] != (district, street):
                raise ReferenceDataError(f"{path}, row {line}, column name: '{row['name']}' already names another unit")
            self.units[key] = (district, street, kind)

    def _unit_key(self, name: str | None) -> str:
        """A unit's name without the city or province in front (南京市公安局鼓楼分局 → 公安局鼓楼分局 → 鼓楼分局)."""
        key = self.strip_prefixes(normalise_text(name))
        return key[3:] if key.startswith("公安局") and len(key) > 3 else key

    def strip_prefixes(self, key: str) -> str:
        for prefix in self.address_prefixes:
            if key.startswith(prefix) and len(key) > len(prefix):
                key = key[len(prefix):]
        return key

    def resolve_unit(self, name: str | None) -> Resolution | None:
        """A police branch, station or mediation committee → its district (and street); a station named
        with its branch in front (鼓楼分局宁海路派出所) is found by the part after the branch."""
        key = self._unit_key(name)
        if not key:
            return None
        found = self.units.get(key)
        if found is None and "分局" in key:
            found = self.units.get(key.split("分局", 1)[1])
        if found is None:
            return None
        district, street, kind = found
        if district == BY_STREET:
            return Resolution(None, None, "jiangbei_branch")
        return Resolution(district, street, kind)

    def age_sex_structure(self, code: str) -> dict[tuple[str, str], float]:
        """Population shares of the 16+ residents by (sex, age group), for post-stratifying the survey."""
        return self._structure.get(code, self._structure.get("ALL", {}))

    # ---- questions --------------------------------------------------------------------------
    @property
    def district_codes(self) -> list[str]:
        return sorted(self.districts)

    def name(self, code: str) -> str:
        if code == self.city_code:
            return self.city_name_zh
        return self.districts[code].name_zh

    def population(self, code: str, year: int) -> tuple[int, int]:
        """(population, year of the figure): the latest figure not after `year`, else the earliest."""
        by_year = self._populations[code]
        eligible = [y for y in by_year if y <= year]
        chosen = max(eligible) if eligible else min(by_year)
        return by_year[chosen], chosen

    def city_population(self, year: int) -> int:
        return sum(self.population(code, year)[0] for code in self.districts)

    def streets_of(self, district_code: str) -> list[Street]:
        return [s for s in self.streets.values() if s.district_code == district_code]

    def resolve_street(self, street: str | None, district_code: str | None = None) -> Street | None:
        """A street by name (with or without 街道/镇) or 12-digit code, within a district when known."""
        key = _street_key(street or "")
        if not key:
            return None
        if key in self.streets:
            return self.streets[key]
        alias = self.street_aliases.get(key)
        if alias and not alias.startswith("district:"):
            return self.streets[alias]
        candidates = self._street_by_key.get(key, [])
        if district_code:
            candidates = [s for s in candidates if s.district_code == district_code] or candidates
        return candidates[0] if len(candidates) == 1 else None

    def is_city(self, key: str) -> bool:
        return key in (self.city_code, normalise_text(self.city_name_zh), normalise_text(self.city_name_zh)[:-1])

    def resolve_place(self, district: str | None, street: str | None = None, branch: str | None = None,
                      unit: str | None = None) -> Resolution:
        """Which district a row belongs to: its district column, else (when that is empty or only the
        city) its police branch, then its station or mediation committee; the street from the street
        column, else from the station or committee."""
        key = self.strip_prefixes(normalise_text(district))
        if key and not self.is_city(key):
            return self.resolve(district, street)
        by_branch = self.resolve_unit(branch)
        by_unit = self.resolve_unit(unit)
        if by_branch is not None and by_branch.district_code:
            street_code = by_unit.street_code if by_unit and by_unit.district_code == by_branch.district_code else None
            found = self.resolve_street(street, by_branch.district_code)
            if found is not None and found.district_code == by_branch.district_code:
                street_code = found.street_code
            return Resolution(by_branch.district_code, street_code, "police_branch")
        if by_unit is not None and by_unit.district_code:
            found = self.resolve_street(street, by_unit.district_code)
            street_code = found.street_code if found is not None and found.district_code == by_unit.district_code else by_unit.street_code
            return Resolution(by_unit.district_code, street_code, by_unit.how)
        resolved = self.resolve(None, street)
        if resolved.district_code is None and by_branch is not None:  # 江北新区分局 and no station or street
            return Resolution(None, None, "jiangbei_without_street")
        if resolved.district_code is None and key:
            return Resolution(None, None, "city_only")
        return resolved

    def resolve(self, district: str | None, street: str | None = None) -> Resolution:
        """Which district a row belongs to, from its district column (name, old name, code, typo) and street."""
        key = normalise_text(district)
        if key and key not in self.district_aliases and (bare := self.strip_prefixes(key)) != key:
            key = bare  # 江苏省南京市栖霞区, 南京市江宁区
        target, how = self.district_aliases.get(key, (None, "unknown"))
        if target == BY_STREET or (target is None and not key):
            found = self.resolve_street(street)
            if found is not None:
                return Resolution(found.district_code, found.street_code, "jiangbei_street" if target else "street_only")
            alias = self.street_aliases.get(_street_key(street or ""), "")
            if alias.startswith("district:") and target is None:
                return Resolution(alias[9:], None, "street_only")
            return Resolution(None, None, "jiangbei_without_street" if target else "blank")
        if target is None:
            return Resolution(None, None, "unknown")
        found = self.resolve_street(street, target)
        street_code = found.street_code if found is not None and found.district_code == target else None
        return Resolution(target, street_code, how)


@lru_cache(maxsize=4)
def load_reference(directory: str | None = None) -> Reference:
    return Reference(Path(directory) if directory else REFERENCE_DIR)
