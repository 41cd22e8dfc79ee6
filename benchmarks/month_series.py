"""A month's run at several scales, old code against new, each beside its floors measured in the same round.

Usage: python benchmarks/month_series.py OLD_CHECKOUT WORK_DIR [--scales 0.1 0.3 1.0] [--rounds 2]
       [--memory-scale 3.0]

OLD_CHECKOUT: a checkout of the code to compare with (e.g. `git worktree add OLD COMMIT`), run with this
checkout's interpreter. WORK_DIR: where the samples (`nsi sample --from 2024-02 --to 2024-03 --scale S`,
made once and kept) and the runs' data directories go.

Each round, per scale, in turn (the order of old and new alternates from round to round): `nsi run
2024-03` of each code on a fresh copy of the sample's raw/, then the two floors of `benchmarks/floor.py`
(DuckDB read-and-store, polars all-text read). Each command is a process of its own, timed from
outside: wall time, CPU time (user + system, its children included) and peak resident memory (the
largest process of its tree), as `/usr/bin/time -v` reports them. Then medians per scale, the fit of
each figure over the scales as fixed + per million rows read (least squares), and the ratios of a run to
its floors, taken round by round. The memory scale runs once per code, for peak memory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

REPO = Path(__file__).resolve().parent.parent
MONTH = "2024-03"


@dataclass(frozen=True)
class Measured:
    wall: float
    cpu: float
    peak_mib: float


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> Measured:
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {process.stderr.read().decode()[-2000:]}")
    # ru_maxrss of a waited child is the largest process of its tree, in KiB on Linux.
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def sample(work: Path, scale: float) -> Path:
    target = work / f"sample-{scale}"
    if not (target / "raw" / "sample.json").exists():
        shutil.rmtree(target, ignore_errors=True)
        env = dict(os.environ, NSI_DATA_DIR=str(target))
        subprocess.run([sys.executable, "-m", "pipelines.cli", "sample", "--from", "2024-02", "--to", MONTH,
                        "--scale", str(scale)], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return target


def run_month(checkout: Path, source: Path, target: Path) -> Measured:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copytree(source / "raw", target / "raw")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NSI_", "DAGSTER_", "_RJEM"))}
    env.update(NSI_DATA_DIR=str(target), PYTHONPATH=str(checkout))
    return measure([sys.executable, "-m", "pipelines.cli", "run", MONTH], checkout, env)


def rows_read(data_dir: Path) -> int:
    con = duckdb.connect(str(data_dir / "warehouse" / "nsi.duckdb"), read_only=True)
    try:
        return int(con.execute("SELECT sum(rows_read) FROM ingest_log WHERE month = ?", [MONTH]).fetchone()[0])
    finally:
        con.close()


def floor(source: Path, mode: str) -> Measured:
    return measure([sys.executable, str(REPO / "benchmarks" / "floor.py"), str(source), MONTH, mode], REPO,
                   dict(os.environ, PYTHONPATH=str(REPO)))


def fit(rows: list[int], values: list[float]) -> tuple[float, float]:
    """(fixed, per million rows) of values ≈ fixed + slope · rows."""
    slope, fixed = np.polyfit(np.array(rows) / 1e6, np.array(values), 1)
    return float(fixed), float(slope)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--memory-scale", type=float, default=3.0)
    args = parser.parse_args()
    codes = {"old": args.old.resolve(), "new": REPO}
    figures: dict[tuple[float, str], list[Measured]] = {}
    ratios: dict[tuple[float, str], list[float]] = {}
    rows: dict[float, int] = {}
    for scale in args.scales:
        source = sample(args.work, scale)
        for round_ in range(args.rounds):
            order = ["new", "old"] if round_ % 2 == 0 else ["old", "new"]
            measured = {code: run_month(codes[code], source, args.work / f"run-{code}-{scale}") for code in order}
            for mode in ("duckdb", "polars"):
                measured[mode] = floor(source, mode)
            rows[scale] = rows_read(args.work / f"run-new-{scale}")
            for name, m in measured.items():
                figures.setdefault((scale, name), []).append(m)
                print(f"scale {scale} round {round_ + 1} {name:6} wall {m.wall:6.2f} s  cpu {m.cpu:6.2f} s  "
                      f"peak {m.peak_mib:6.0f} MiB", flush=True)
            for what, value in [("new/old wall", measured["new"].wall / measured["old"].wall),
                                ("new/old cpu", measured["new"].cpu / measured["old"].cpu),
                                ("new/duckdb wall", measured["new"].wall / measured["duckdb"].wall),
                                ("new/duckdb cpu", measured["new"].cpu / measured["duckdb"].cpu),
                                ("old/duckdb wall", measured["old"].wall / measured["duckdb"].wall),
                                ("new/polars wall", measured["new"].wall / measured["polars"].wall)]:
                ratios.setdefault((scale, what), []).append(value)
    print("\nmedians")
    print(f"{'scale':>6} {'rows':>9} {'what':7} {'wall s':>7} {'cpu s':>7} {'peak MiB':>9}")
    for scale in args.scales:
        for name in ("new", "old", "duckdb", "polars"):
            runs = figures[(scale, name)]
            print(f"{scale:>6} {rows[scale]:>9} {name:7} {statistics.median(m.wall for m in runs):>7.2f} "
                  f"{statistics.median(m.cpu for m in runs):>7.2f} {statistics.median(m.peak_mib for m in runs):>9.0f}")
    print("\nratios (median over rounds, range)")
    for (scale, what), values in ratios.items():
        print(f"{scale:>6} {what:16} {statistics.median(values):5.2f} ({min(values):.2f}–{max(values):.2f})")
    if len(args.scales) >= 2:
        print("\nfit over the scales: fixed + per million rows")
        for name in ("new", "old"):
            x = [rows[s] for s in args.scales]
            for label, get in [("wall s", lambda m: m.wall), ("cpu s", lambda m: m.cpu), ("peak MiB", lambda m: m.peak_mib)]:
                fixed, slope = fit(x, [statistics.median(get(m) for m in figures[(s, name)]) for s in args.scales])
                print(f"{name:4} {label:9} fixed {fixed:8.1f}  per million rows {slope:8.1f}")
    if args.memory_scale:
        source = sample(args.work, args.memory_scale)
        print(f"\nscale {args.memory_scale}")
        for code in ("old", "new"):
            m = run_month(codes[code], source, args.work / f"run-{code}-{args.memory_scale}")
            print(f"{code:6} wall {m.wall:6.2f} s  cpu {m.cpu:6.2f} s  peak {m.peak_mib:6.0f} MiB  "
                  f"rows {rows_read(args.work / f'run-{code}-{args.memory_scale}')}", flush=True)
            shutil.rmtree(args.work / f"run-{code}-{args.memory_scale}")
        m = floor(source, "duckdb")
        print(f"duckdb wall {m.wall:6.2f} s  cpu {m.cpu:6.2f} s  peak {m.peak_mib:6.0f} MiB")


if __name__ == "__main__":
    main()
