"""Version bridging: what a month compares with, under the month's own methodology.

A month's change on last month and on the same month last year, their contributions and its early-warning
history must compare like with like. When one of those months was computed under another methodology
version, its indicator values are computed again under this month's version from the loaded records
(valid_<source>, with that month's population scale) and scored under it; the months recomputed are
named in safety_index.comparison_recomputed. Recomputed values are kept in `indicator_values_recomputed`
(month, methodology_version), so a range run recomputes a month once, not once per month reading it; the
index stage drops a month's kept values whenever it computes that month (or the month before, whose
records the hotline's repeat requests read) again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from indicators.index import INDEX_SCHEMA, INDICATOR_SCHEMA, scored_month
from indicators.methodology import Methodology
from indicators.values import COLUMNS, indicator_values
from nsi import warehouse as tables
from nsi.month import Month
from nsi.reference import Reference

RECOMPUTED = "indicator_values_recomputed"
RECOMPUTED_SCHEMA = {"methodology_version": pl.Utf8, **COLUMNS}
# What the early warnings read of a trailing month (the contract of indicators.warnings).
HISTORY_COLUMNS = ["month", "code", "indicator", "numerator", "denominator", "value", "n", "ci_low", "ci_high", "flag"]


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[0] > 0


def _rows(con, table: str, months: list[str], schema: dict) -> pl.DataFrame:
    if not months or not _exists(con, table):
        return pl.DataFrame(schema=schema)
    marks = ", ".join("?" for _ in months)
    return con.execute(f'SELECT * FROM "{table}" WHERE month IN ({marks}) ORDER BY month, code', months).pl()


def versions_of(con, months: list[str]) -> dict[str, str]:
    """The methodology version each month of the warehouse was computed with (months not computed are absent)."""
    if not months or not _exists(con, "safety_index"):
        return {}
    marks = ", ".join("?" for _ in months)
    return dict(con.execute(f"SELECT month, any_value(methodology_version) FROM safety_index WHERE month IN ({marks}) "
                            "GROUP BY month", months).fetchall())


def stored_scale(con, month: str) -> float | None:
    """The population scale a month's rates were computed with."""
    if not _exists(con, "indicator_values"):
        return None
    return con.execute("SELECT max(population_scale) FROM indicator_values WHERE month = ?", [month]).fetchone()[0]


class Recomputation:
    """A month's indicator values under `methodology`, computed once and kept in the warehouse."""

    def __init__(self, con, methodology: Methodology, reference: Reference, scale_of: Callable[[Month], float]):
        self.con, self.methodology, self.reference, self.scale_of = con, methodology, reference, scale_of

    def values(self, month: Month) -> pl.DataFrame:
        version = self.methodology.version
        if _exists(self.con, RECOMPUTED):
            kept = self.con.execute(f"SELECT * EXCLUDE (methodology_version) FROM {RECOMPUTED} "
                                    "WHERE month = ? AND methodology_version = ? ORDER BY code, indicator",
                                    [month.key, version]).pl()
            if kept.height:
                return kept
        scale = stored_scale(self.con, month.key) or self.scale_of(month)
        values = indicator_values(self.con, month, self.methodology, self.reference, scale)
        tables.ensure_table_for(self.con, RECOMPUTED, RECOMPUTED_SCHEMA)
        tables.replace_months(self.con, [tables.MonthWrite(
            RECOMPUTED, values.with_columns(pl.lit(version).alias("methodology_version")),
            {"month": month.key, "methodology_version": version})])
        return values


def invalidations(month: Month) -> list[tables.MonthWrite]:
    """Writes that drop the kept recomputations a new computation of `month` makes stale."""
    return [tables.MonthWrite(RECOMPUTED, pl.DataFrame(schema=RECOMPUTED_SCHEMA), {"month": m.key})
            for m in (month, month.next())]


@dataclass
class Comparison:
    index: pl.DataFrame  # safety_index rows of last month and the same month last year, under this methodology
    indicators: pl.DataFrame  # their indicator_values rows (value, counts, intervals, score)
    history: pl.DataFrame  # indicator rows of the trailing months (HISTORY_COLUMNS)
    recomputed: list[str] = field(default_factory=list)  # comparison months computed again under this version


def comparison(con, month: Month, methodology: Methodology, recompute: Recomputation) -> Comparison:
    last, last_year = month.previous().key, month.year_before().key
    window = [month]
    for _ in range(methodology.early_warning.trailing_months):
        window.append(window[-1].previous())
    trailing = sorted(m.key for m in window[1:])
    versions = versions_of(con, sorted({last, last_year, *trailing}))
    other = {key for key, version in versions.items() if version != methodology.version}

    index = _rows(con, "safety_index", [k for k in (last, last_year) if k in versions and k not in other],
                  INDEX_SCHEMA(methodology))
    indicators = _rows(con, "indicator_values", [k for k in (last, last_year) if k in versions and k not in other],
                       INDICATOR_SCHEMA)
    recomputed = [k for k in (last, last_year) if k in other]
    for key in recomputed:
        month_index, month_indicators = scored_month(recompute.values(Month.parse(key)), methodology,
                                                     recompute.reference)
        index = pl.concat([index, month_index], how="diagonal_relaxed")
        indicators = pl.concat([indicators, month_indicators], how="diagonal_relaxed")

    same = [k for k in trailing if k in versions and k not in other]
    history = [_rows(con, "indicator_values", same, INDICATOR_SCHEMA).select(HISTORY_COLUMNS)]
    history += [recompute.values(Month.parse(k)).select(HISTORY_COLUMNS) for k in trailing if k in other]
    return Comparison(index, indicators, pl.concat(history).sort("month", "code", "indicator"), recomputed)
