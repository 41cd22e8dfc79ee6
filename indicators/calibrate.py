"""Goalposts from a baseline period: P5 and P95 of the district-months, widened by 10% each side.

    python -m indicators.calibrate 2023-01 2023-12      (reads $NSI_DATA_DIR/warehouse/nsi.duckdb)

Prints the goalposts as YAML flow lists for a new methodology file; it never edits a version.
Shares are clipped to [0, 1], counts and minutes to ≥ 0.
"""

from __future__ import annotations

import sys

import duckdb
import numpy as np

from indicators.methodology import catalogue
from nsi import settings
from nsi.reference import CITY_CODE
from nsi.warehouse import database_path

WIDEN = 0.10


def goalposts(values: np.ndarray, share: bool) -> tuple[float, float]:
    lo, hi = np.percentile(values, [5, 95])
    pad = (hi - lo) * WIDEN
    lo, hi = lo - pad, hi + pad
    lo = max(lo, 0.0)
    if share:
        hi = min(hi, 1.0)
    digits = 3 if share else (2 if hi < 10 else 1)
    return round(lo, digits), round(hi, digits)


def main(first: str, last: str) -> None:
    con = duckdb.connect(str(database_path(settings.load().root)), read_only=True)
    rows = con.execute("SELECT indicator, value FROM indicator_values "
                       "WHERE month BETWEEN ? AND ? AND code <> ? AND value IS NOT NULL ORDER BY indicator",
                       [first, last, CITY_CODE]).fetchall()
    con.close()
    by_indicator: dict[str, list[float]] = {}
    for indicator, value in rows:
        by_indicator.setdefault(indicator, []).append(value)
    for indicator, values in sorted(by_indicator.items()):
        share = catalogue().entry(indicator).denominator in ("share", "post_stratified_share")
        lo, hi = goalposts(np.array(values), share)
        print(f"{indicator}: goalposts: [{lo}, {hi}]   # n={len(values)}, P5–P95 {np.percentile(values, 5):.4g}–{np.percentile(values, 95):.4g}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
