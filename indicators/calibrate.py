"""Goalposts from a baseline period, printed for a new methodology file; it never edits a version.

    python -m indicators.calibrate 2023-01 2023-12 [--methodology FILE]     (reads $NSI_DATA_DIR/warehouse/nsi.duckdb)

Without `--methodology` (v1's rule): P5 and P95 of the stored district-months, widened by 10% of their
distance each side, shares clipped to [0, 1] and counts and minutes to ≥ 0.

With a methodology file that declares `max_share_at_bounds` (v2's rule): the values are those the file
would compute (its indicators and minimum denominators, recomputed from the loaded records,
indicators.range_values), taken before smoothing, and the goalposts are their quantiles at half the
declared share from each end, widened the same way and rounded outwards. Before smoothing, because
smoothing shrinks a value the more the fewer its cases: a baseline at a smaller volume than the real
exports would otherwise give goalposts too narrow for them. They are not clipped to a share's natural [0, 1]: a
goalpost is a scaling point, and a share's upper goalpost at 1 puts every district-month at 100% at the
bound. The share of the baseline's published (smoothed) values then at a goalpost is printed beside each.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import duckdb
import numpy as np

from indicators.methodology import catalogue, load_file
from indicators.range_values import values_over
from nsi import settings
from nsi.reference import CITY_CODE, load_reference
from nsi.warehouse import database_path

WIDEN = 0.10


def _digits(share: bool, high: float) -> int:
    return 3 if share else (2 if high < 10 else 1)


def goalposts(values: np.ndarray, share: bool) -> tuple[float, float]:
    """v1's rule: P5–P95 widened by 10% each side, clipped to the natural range."""
    lo, hi = np.percentile(values, [5, 95])
    pad = (hi - lo) * WIDEN
    lo, hi = lo - pad, hi + pad
    lo = max(lo, 0.0)
    if share:
        hi = min(hi, 1.0)
    digits = _digits(share, hi)
    return round(lo, digits), round(hi, digits)


def goalposts_by_share(values: np.ndarray, share: bool, max_share_at_bounds: float) -> tuple[float, float]:
    """The quantiles at max_share_at_bounds / 2 from each end, widened by 10% each side, rounded outwards."""
    tail = 100 * max_share_at_bounds / 2
    lo, hi = np.percentile(values, [tail, 100 - tail])
    pad = (hi - lo) * WIDEN
    lo, hi = lo - pad, hi + pad
    scale = 10 ** _digits(share, hi)
    return math.floor(lo * scale) / scale, math.ceil(hi * scale) / scale


def share_at_bounds(values: np.ndarray, bounds: tuple[float, float]) -> float:
    """Of the values, the share whose score is exactly 0 or 100: at or beyond a goalpost."""
    return float(np.mean((values <= bounds[0]) | (values >= bounds[1]))) if len(values) else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indicators.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("first", help="first month of the baseline, YYYY-MM")
    parser.add_argument("last", help="last month of the baseline, YYYY-MM")
    parser.add_argument("--methodology", type=Path, help="a methodology file: calibrate the values it would publish, "
                        "by its max_share_at_bounds")
    args = parser.parse_args(argv)
    con = duckdb.connect(str(database_path(settings.load().root)), read_only=True)
    try:
        if args.methodology is None:
            rows = con.execute("SELECT indicator, value FROM indicator_values WHERE month BETWEEN ? AND ? AND code <> ? "
                               "AND value IS NOT NULL ORDER BY indicator", [args.first, args.last, CITY_CODE]).fetchall()
            share_allowed, published = None, {}
        else:
            methodology = load_file(args.methodology)
            frame = values_over(con, args.first, args.last, methodology, load_reference()).drop_nulls("value")
            rows = frame.select("indicator", "value_raw").rows()
            published = {k: np.array(v) for k, v in frame.group_by("indicator").agg("value").rows()}
            share_allowed = methodology.max_share_at_bounds
    finally:
        con.close()
    by_indicator: dict[str, list[float]] = {}
    for indicator, value in rows:
        by_indicator.setdefault(indicator, []).append(value)
    for indicator, values in sorted(by_indicator.items()):
        array = np.array(values)
        share = catalogue().entry(indicator).denominator in ("share", "post_stratified_share")
        if share_allowed is None:
            lo, hi = goalposts(array, share)
        else:
            lo, hi = goalposts_by_share(array, share, share_allowed)
        print(f"{indicator}: goalposts: [{lo:g}, {hi:g}]   # n={len(values)}, "
              f"P5–P95 {np.percentile(array, 5):.4g}–{np.percentile(array, 95):.4g}, "
              f"at a bound {100 * share_at_bounds(published.get(indicator, array), (lo, hi)):.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
