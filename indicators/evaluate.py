"""Does the index stay quiet in a steady city and name a real change? The evaluation of the narration.

    python -m indicators.evaluate --months 24 --scale 0.1 [--shift 电信诈骗:320105:2024-09:1.3] [--out DIR]

Writes a steady sample (`nsi sample --steady`: every district's underlying rates fixed, counts with their
sampling noise) and the same city with the planted shifts, runs `nsi run` over the range in a fresh data
directory of each, as a new user would, and reads the warehouse: for every district-month, the drivers
the briefing would name (`indicators.narration.named_drivers`), how it would read the change
(`change_reading`) and the early warnings (`indicator_values.warning`). In the steady city a named
driver or a warning is a false alarm; in the shifted city the planted indicator should be named as a
driver of its district in the month of the shift. The report is a markdown table, printed and written
to DIR/evaluation.md (default $NSI_DATA_DIR/out/evaluation/).

The same functions decide here and in the briefing, so a sentence and a count never disagree; only the
run of the pipeline is slow, and the tests check the reading on a small hand-built warehouse.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from indicators.methodology import Methodology, all_versions
from indicators.narration import band_quantity, change_reading, named_drivers, z_of
from nsi.month import Month, months_between

REPO = Path(__file__).resolve().parent.parent
FIRST_MONTH = "2024-03"  # methodology v2 is valid from this month: the whole range is computed under one version
DEFAULT_SHIFT = "电信诈骗:320105:2024-09:1.3"
CITY = "320100"
STEADY_TARGET = 0.95  # issue 15: no driver and no warning in at least 95% of a steady city's district-months

Drivers = Callable[[list[dict], Methodology], list[dict]]
Reading = Callable[[float | None, float | None, Methodology], str | None]


@dataclass
class DistrictMonth:
    """What the warehouse holds for one district-month, as the narration reads it."""

    month: str
    code: str
    methodology_version: str
    change_mom: float | None
    change_sd: float | None
    contributions: list[dict] = field(default_factory=list)  # indicator, contribution_mom, sd
    warnings: list[str] = field(default_factory=list)  # indicators with a warning


@dataclass
class Verdict:
    month: str
    code: str
    methodology_version: str
    reading: str | None
    drivers: list[dict]
    warnings: list[str]
    # Each indicator's contribution in standard deviations of the draws its band reads (None without one).
    z: dict[str, float | None] = field(default_factory=dict)

    @property
    def has_change(self) -> bool:
        return self.reading is not None


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0] > 0


def read_district_months(con: duckdb.DuckDBPyConnection,
                         band: Callable[[str, str], str] = lambda quantity, version: quantity) -> list[DistrictMonth]:
    """Every district-month of the warehouse (the city row left out), with its indicators' contributions
    and the standard deviations of the draws its bands read (`band(quantity, methodology_version)`: the
    index_uncertainty quantity; NULL where the table has none), and its warnings."""
    uncertainty = _has_table(con, "index_uncertainty")
    months = con.execute("SELECT s.month, s.code, s.methodology_version, s.change_mom FROM safety_index s "
                         "WHERE s.code <> ? ORDER BY s.month, s.code", [CITY]).fetchall()
    sds = {}
    if uncertainty:
        sds = {(m, c, q, i): sd for m, c, q, i, sd in con.execute(
            "SELECT month, code, quantity, indicator, sd FROM index_uncertainty WHERE code <> ?", [CITY]).fetchall()}
    rows = con.execute("""
        SELECT v.month, v.code, v.indicator, v.contribution_mom, v.warning, v.methodology_version
        FROM indicator_values v WHERE v.code <> ? ORDER BY v.month, v.code, v.indicator""", [CITY]).fetchall()
    out = {(m, c): DistrictMonth(m, c, version, change, sds.get((m, c, band("change_mom", version), None)))
           for m, c, version, change in months}
    for month, code, indicator, contribution, warning, version in rows:
        dm = out.get((month, code))
        if dm is None:
            continue
        sd = sds.get((month, code, band("contribution_mom", version), indicator))
        dm.contributions.append({"indicator": indicator, "contribution_mom": contribution, "sd": sd, "warning": warning})
        if warning is not None:
            dm.warnings.append(indicator)
    return list(out.values())


def judge(district_months: Iterable[DistrictMonth], methodology_of: Callable[[str], Methodology],
          named_drivers: Drivers, change_reading: Reading) -> list[Verdict]:
    """What the briefing would say of each district-month: the change's reading, the drivers, the warnings.
    A month without a change on last month (the first of a range) has no reading and names no driver."""
    verdicts = []
    for dm in district_months:
        methodology = methodology_of(dm.methodology_version)
        reading = change_reading(dm.change_mom, dm.change_sd, methodology)
        present = [r for r in dm.contributions if r["contribution_mom"] is not None]
        drivers = named_drivers(present, methodology) if reading is not None else []
        z = {r["indicator"]: r["contribution_mom"] / r["sd"] if r["sd"] else None for r in present}
        verdicts.append(Verdict(dm.month, dm.code, dm.methodology_version, reading, drivers, sorted(dm.warnings), z))
    return verdicts


@dataclass(frozen=True)
class Share:
    what: str
    count: int
    of: int

    @property
    def share(self) -> float | None:
        return self.count / self.of if self.of else None


def steady_shares(verdicts: list[Verdict], min_history: int) -> list[Share]:
    """The steady city's quiet district-months. Drivers are counted over the months with a change on last
    month; warnings over the months with `min_history` earlier months in the range (before that no
    warning can be raised, and counting them would flatter the test)."""
    months = sorted({v.month for v in verdicts})
    with_change = [v for v in verdicts if v.has_change]
    with_history = [v for v in verdicts if months.index(v.month) >= min_history]
    return [
        Share("no driver named", sum(not v.drivers for v in with_change), len(with_change)),
        Share("no warning", sum(not v.warnings for v in with_history), len(with_history)),
        Share("no driver and no warning", sum(not v.drivers and not v.warnings for v in with_history
                                              if v.has_change), sum(v.has_change for v in with_history)),
        Share("change read as flat", sum(v.reading == "flat" for v in with_change), len(with_change)),
    ]


@dataclass(frozen=True)
class PlantedShift:
    what: str
    district: str
    first: str
    factor: float
    indicator: str


@dataclass(frozen=True)
class ShiftFinding:
    shift: PlantedShift
    reading: str | None
    drivers: list[dict]
    warned: bool  # the planted indicator carries a warning that month
    z: float | None = None  # its contribution in SDs of its band's draws

    @property
    def rank(self) -> int | None:
        """1 for the largest named driver; None when the planted indicator is not named."""
        names = [d["indicator"] for d in self.drivers]
        return names.index(self.shift.indicator) + 1 if self.shift.indicator in names else None

    @property
    def named(self) -> bool:
        return self.rank is not None


def find_shift(verdicts: list[Verdict], shift: PlantedShift) -> ShiftFinding | None:
    """What was said of the shifted district in the month the shift began; None if that month is not in range."""
    verdict = next((v for v in verdicts if v.month == shift.first and v.code == shift.district), None)
    if verdict is None:
        return None
    return ShiftFinding(shift, verdict.reading, verdict.drivers, shift.indicator in verdict.warnings,
                        verdict.z.get(shift.indicator))


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.1f}%"


def _drivers_text(drivers: list[dict]) -> str:
    return ", ".join(f"{d['indicator']} {'+' if d['side'] == 'up' else '−'}" for d in drivers) or "none"


def scores_at_bounds(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, int]]:
    """Per methodology version and indicator: the district-months scored, and those scored exactly 0 or 100."""
    return con.execute("""
        SELECT methodology_version, indicator, count(score) AS scored,
               count(*) FILTER (WHERE score = 0 OR score = 100) AS at_bound
        FROM indicator_values WHERE code <> ? GROUP BY ALL ORDER BY methodology_version, indicator""", [CITY]).fetchall()


def bounds_markdown(rows: list[tuple[str, str, int, int]], allowed: dict[str, float | None]) -> list[str]:
    lines = ["", "## Scores at a bound (steady city)", "",
             "| version | indicator | district-months scored | at 0 or 100 | share | declared at most |",
             "|---|---|---:|---:|---:|---|"]
    for version, indicator, scored, at_bound in rows:
        limit = allowed.get(version)
        lines.append(f"| {version} | {indicator} | {scored} | {at_bound} | {_percent(at_bound / scored if scored else None)} | "
                     f"{_percent(limit) if limit is not None else ''} |")
    return lines


def markdown(title: str, shares: list[Share], findings: list[ShiftFinding], context: list[str],
             bounds: list[str] | None = None) -> str:
    lines = [f"# {title}", "", *context, "", "## Steady city", "",
             "| district-months with | count | of | share | target |", "|---|---:|---:|---:|---|"]
    for s in shares:
        target = f"≥ {100 * STEADY_TARGET:.0f}%" if s.what != "change read as flat" else ""
        lines.append(f"| {s.what} | {s.count} | {s.of} | {_percent(s.share)} | {target} |")
    if findings:
        lines += ["", "## Planted shifts", "",
                  "| shift | district | month | indicator | its contribution in SDs | named as a driver | "
                  "rank among drivers | drivers named | change read as | warning on it |",
                  "|---|---|---|---|---:|---|---:|---|---|---|"]
        for f in findings:
            s = f.shift
            z = "–" if f.z is None else f"{f.z:+.1f}"
            lines.append(f"| {s.what} ×{s.factor:g} | {s.district} | {s.first} | {s.indicator} | {z} | "
                         f"{'yes' if f.named else 'no'} | {f.rank or '–'} | {_drivers_text(f.drivers)} | "
                         f"{f.reading or '–'} | {'yes' if f.warned else 'no'} |")
    return "\n".join(lines + (bounds or [])) + "\n"


# ------------------------------------------------------------------------------------------ the runs
def _nsi(args: list[str], data_dir: Path) -> float:
    """One `nsi` command on a data directory, as a user types it; returns its seconds."""
    env = dict(os.environ, NSI_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"nsi {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return time.monotonic() - started


def _run(data_dir: Path, first: str, last: str) -> float:
    return _nsi(["run", first, "--to", last, "--stage", "ingest", "--stage", "index"], data_dir)


def reuse_steady(steady_dir: Path, shifted_dir: Path, first: str, last: str, scale: float, seed: int,
                 shifts: list[str]) -> dict[str, float]:
    """A steady city kept by an earlier evaluation (`--keep`), its index computed again under today's
    methodology files, and the shifted city built on it: the samples are the same bytes for the same
    range, scale and seed, so only the index stage and the shift month run again."""
    declared = json.loads((steady_dir / "raw" / "sample.json").read_text(encoding="utf-8"))
    months = [m.key for m in months_between(Month.parse(first), Month.parse(last))]
    if sorted(declared) != months or any(declared[m].get("scale") != scale or declared[m].get("seed") != seed
                                         or not declared[m].get("steady") for m in months):
        raise SystemExit(f"{steady_dir}: not the steady sample of {first} … {last} at scale {scale:g}, seed {seed}")
    seconds = {"steady index": _nsi(["run", first, "--to", last, "--stage", "index"], steady_dir)}
    start = Month.parse(max(first, min(s.split(":")[2] for s in shifts)))
    if shifted_dir.exists():
        shutil.rmtree(shifted_dir)
    # The later months the copy carries are not read: a month's index reads only earlier months.
    shutil.copytree(steady_dir, shifted_dir)
    shift_args = [a for s in shifts for a in ("--shift", s)]
    seconds["shifted sample"] = _nsi(["sample", "--from", start.key, "--to", start.key, "--scale", str(scale),
                                      "--seed", str(seed), "--steady", *shift_args], shifted_dir)
    seconds["shifted run"] = _run(shifted_dir, start.key, start.key)
    return seconds


def steady_and_shifted(steady_dir: Path, shifted_dir: Path, first: str, last: str, scale: float, seed: int,
                       shifts: list[str]) -> dict[str, float]:
    """Both cities, the shifted one built on the steady one: the generator draws every month from its own
    seed, so up to the month before the first shift the two cities' records are the same bytes (tested in
    tests/test_sample.py). The shifted city is therefore the steady city's data directory as it stood then,
    with the shift month written with the shifts and run on that history: the month judged gets the same
    history as a whole shifted run would give it, at the cost of one month instead of the range."""
    start = Month.parse(max(first, min(s.split(":")[2] for s in shifts)))
    seconds = {"steady sample": _nsi(["sample", "--from", first, "--to", last, "--scale", str(scale),
                                      "--seed", str(seed), "--steady"], steady_dir)}
    seconds["steady run"] = 0.0
    if start.key > first:
        seconds["steady run"] += _run(steady_dir, first, start.previous().key)
    shutil.copytree(steady_dir, shifted_dir)
    seconds["steady run"] += _run(steady_dir, start.key, last)
    shift_args = [a for s in shifts for a in ("--shift", s)]
    seconds["shifted sample"] = _nsi(["sample", "--from", start.key, "--to", start.key, "--scale", str(scale),
                                      "--seed", str(seed), "--steady", *shift_args], shifted_dir)
    seconds["shifted run"] = _run(shifted_dir, start.key, start.key)
    return seconds


def verdicts_of(data_dir: Path, named_drivers: Drivers, change_reading: Reading) -> list[Verdict]:
    versions = {m.version: m for m in all_versions()}
    con = duckdb.connect(str(data_dir / "warehouse" / "nsi.duckdb"), read_only=True)
    try:
        band = lambda quantity, version: band_quantity(quantity, versions[version])
        return judge(read_district_months(con, band), versions.__getitem__, named_drivers, change_reading)
    finally:
        con.close()


def bounds_of(data_dir: Path) -> list[tuple[str, str, int, int]]:
    con = duckdb.connect(str(data_dir / "warehouse" / "nsi.duckdb"), read_only=True)
    try:
        return scores_at_bounds(con)
    finally:
        con.close()


def planted(data_dir: Path, shifts: list[str]) -> list[PlantedShift]:
    """The shifts as the sample declared them (raw/sample.json), each with the indicator it plants."""
    record = json.loads((data_dir / "raw" / "sample.json").read_text(encoding="utf-8"))
    found: dict[tuple, PlantedShift] = {}
    for entry in record.values():
        for s in entry.get("shifts", []):
            if s["indicator"] is not None:
                found[(s["what"], s["district"], s["from"])] = PlantedShift(s["what"], s["district"], s["from"],
                                                                            s["factor"], s["indicator"])
    return sorted(found.values(), key=lambda s: (s.first, s.district, s.what))


def _last_month(first: str, months: int) -> str:
    year, month = map(int, first.split("-"))
    index = year * 12 + month - 1 + months - 1
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indicators.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--months", type=int, default=24, help="months in the range (default 24)")
    parser.add_argument("--first", default=FIRST_MONTH, help=f"first month, YYYY-MM (default {FIRST_MONTH})")
    parser.add_argument("--scale", type=float, default=0.1, help="volume of the sample (default 0.1)")
    parser.add_argument("--seed", type=int, default=20240101, help="seed of both samples")
    parser.add_argument("--shift", action="append", help=f"a planted shift as `nsi sample --shift` takes it "
                        f"(repeatable; default {DEFAULT_SHIFT})")
    parser.add_argument("--out", type=Path, help="where evaluation.md goes (default $NSI_DATA_DIR/out/evaluation)")
    parser.add_argument("--keep", type=Path, help="keep the two data directories under this folder "
                        "(default: temporary, removed afterwards)")
    parser.add_argument("--reuse", action="store_true", help="with --keep: the steady city already kept there "
                        "(same range, scale and seed) has its index computed again under today's methodology files, "
                        "and only the shift month is sampled and run")
    args = parser.parse_args(argv)
    if args.months < 2:
        parser.error("--months must be at least 2: a change needs last month")
    if args.reuse and not (args.keep and (args.keep / "steady" / "raw" / "sample.json").is_file()):
        parser.error("--reuse needs --keep DIR holding a steady city an earlier evaluation kept")
    shifts = args.shift or [DEFAULT_SHIFT]
    first, last = args.first, _last_month(args.first, args.months)
    with tempfile.TemporaryDirectory(prefix="nsi-evaluation-") as temporary:
        work = args.keep or Path(temporary)
        steady_dir, shifted_dir = work / "steady", work / "shifted"
        build = reuse_steady if args.reuse else steady_and_shifted
        seconds = build(steady_dir, shifted_dir, first, last, args.scale, args.seed, shifts)
        steady = verdicts_of(steady_dir, named_drivers, change_reading)
        bounds = bounds_of(steady_dir)
        shifted = verdicts_of(shifted_dir, named_drivers, change_reading)
        declared = planted(shifted_dir, shifts)
    versions = {m.version: m for m in all_versions()}
    used = sorted({v.methodology_version for v in steady})
    min_history = max(versions[v].early_warning.min_history for v in used)
    findings = [f for s in declared if (f := find_shift(shifted, s)) is not None]
    context = [f"Range {first} … {last} ({args.months} months), `--scale {args.scale:g}`, seed {args.seed}, "
               f"methodology {', '.join(used)}; {len({v.code for v in steady})} districts.",
               f"Command: `python -m indicators.evaluate --months {args.months} --first {first} --scale {args.scale:g}"
               + "".join(f" --shift {s}" for s in shifts) + "`.",
               "Seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()) + ".",
               *[f"Bands of {v}: a change is flat within z({n.change_level:g}) = {z_of(n.change_level):.2f} SDs of its "
                 f"draws ({n.band}); a contribution is named as a driver beyond z({n.driver_level:g}) = "
                 f"{z_of(n.driver_level):.2f} SDs of its own"
                 + (f", or beyond z({n.warned_driver_level:g}) = {z_of(n.warned_driver_level):.2f} SDs when its "
                    "indicator carries an early warning" if n.warned_driver_level is not None else "") + "."
                 for v in used if (n := versions[v].narration)]]
    report = markdown("Evaluation of the narration: steady city and planted shifts",
                      steady_shares(steady, min_history), findings, context,
                      bounds_markdown(bounds, {v: versions[v].max_share_at_bounds for v in used}))
    out = args.out or _default_out()
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


def _default_out() -> Path:
    from nsi.settings import load

    return load().root / "out" / "evaluation"


if __name__ == "__main__":
    raise SystemExit(main())
