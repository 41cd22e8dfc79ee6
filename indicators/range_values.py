"""A range of months' indicator values under one methodology, as that methodology would compute them.

Months the warehouse computed under the same version are read from `indicator_values`; the others are
computed again from the loaded records (valid_<source>, at the population scale the month was computed
with) by the index's own `indicator_values`, with the methodology's indicators, minimum denominators and
smoothing. The audit of a draft, the calibration of its goalposts and the comparison of two versions
thus all read the values the draft would publish, not those of the version in force.
"""

from __future__ import annotations

import duckdb
import polars as pl

from indicators.bridging import stored_scale, versions_of
from indicators.methodology import Methodology
from indicators.values import indicator_values
from nsi.month import Month
from nsi.reference import Reference

COLUMNS = ["month", "code", "indicator", "value", "value_raw", "numerator", "denominator", "n"]


def computed_months(con: duckdb.DuckDBPyConnection, first: str, last: str) -> list[str]:
    """The months of first..last the index has computed."""
    return [m for (m,) in con.execute("SELECT DISTINCT month FROM safety_index WHERE month BETWEEN ? AND ? "
                                      "ORDER BY month", [first, last]).fetchall()]


def values_over(con: duckdb.DuckDBPyConnection, first: str, last: str, methodology: Methodology,
                reference: Reference, districts_only: bool = True) -> pl.DataFrame:
    """COLUMNS of every computed month of first..last under `methodology`, with its version in
    `methodology_version`; districts only unless `districts_only` is false."""
    months = computed_months(con, first, last)
    versions = versions_of(con, months)
    frames = []
    for key in months:
        if versions.get(key) == methodology.version:
            frame = con.execute(f"SELECT {', '.join(COLUMNS)} FROM indicator_values WHERE month = ? "
                                "ORDER BY code, indicator", [key]).pl()
        else:
            frame = indicator_values(con, Month.parse(key), methodology, reference,
                                     stored_scale(con, key) or 1.0).select(COLUMNS)
        frames.append(frame.cast({"numerator": pl.Float64, "denominator": pl.Float64, "n": pl.Int64}))
    if not frames:
        return pl.DataFrame(schema={**{c: pl.Utf8 for c in COLUMNS[:3]}, "value": pl.Float64, "value_raw": pl.Float64,
                                    "numerator": pl.Float64, "denominator": pl.Float64, "n": pl.Int64,
                                    "methodology_version": pl.Utf8})
    values = pl.concat(frames).with_columns(pl.lit(methodology.version).alias("methodology_version"))
    if districts_only:
        values = values.filter(pl.col("code").is_in(reference.district_codes))
    return values.sort("month", "code", "indicator")
