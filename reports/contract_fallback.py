"""What the briefing reads of the index stage's uncertainty, in the one place that copes with its absence.

The index stage writes `index_uncertainty` and `safety_index.comparison_recomputed`, and
`indicators.narration` holds the decisions a briefing's sentences follow. A warehouse computed before
they existed has neither: its briefings then print no intervals and narrate by the v1 rule (a change
above 0.05 points, the two largest contributions each way), which is what v1 did. Everything that
tolerates the absence lives here, so that it can be removed in one edit once every warehouse has them.
"""

from __future__ import annotations

import duckdb
import polars as pl

try:
    from indicators.narration import change_reading, named_drivers, warning_rows
except ImportError:  # an index stage without narration: the same decisions, stated as the index's contract states them
    from scipy.stats import norm

    def _band(level: float) -> float:
        return float(norm.ppf(0.5 + level / 2))  # two-sided normal quantile

    def change_reading(change, sd, methodology):
        if change is None:
            return None
        rule = methodology.narration
        limit = 0.05 if rule is None else _band(rule.change_level) * (sd or 0.0)
        return "flat" if abs(change) <= limit else "up" if change > 0 else "down"

    def named_drivers(rows, methodology):
        rule = methodology.narration
        given = [r for r in rows if r.get("contribution_mom") is not None]
        if rule is None:
            ups = sorted((r for r in given if r["contribution_mom"] > 0.05), key=lambda r: -r["contribution_mom"])[:2]
            downs = sorted((r for r in given if r["contribution_mom"] < -0.05), key=lambda r: r["contribution_mom"])[:2]
            named = ups + downs
        else:
            z = _band(rule.driver_level)
            named = [r for r in given if (r.get("sd") or 0) > 0 and abs(r["contribution_mom"]) > z * r["sd"]]
        return [{**r, "side": "up" if r["contribution_mom"] > 0 else "down"}
                for r in sorted(named, key=lambda r: -abs(r["contribution_mom"]))]

    def warning_rows(indicator_rows):
        return [r for r in indicator_rows if r.get("warning")]

__all__ = ["change_reading", "named_drivers", "warning_rows", "uncertainty_rows", "UNCERTAINTY_COLUMNS"]

UNCERTAINTY_COLUMNS = {"month": pl.Utf8, "code": pl.Utf8, "quantity": pl.Utf8, "indicator": pl.Utf8, "low": pl.Float64,
                       "middle": pl.Float64, "high": pl.Float64, "sd": pl.Float64, "methodology_version": pl.Utf8}


def uncertainty_rows(con: duckdb.DuckDBPyConnection, key: str) -> pl.DataFrame:
    """The month's rows of index_uncertainty; none from a warehouse without the table."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'index_uncertainty'").fetchone()[0]
    if not exists:
        return pl.DataFrame(schema=UNCERTAINTY_COLUMNS)
    columns = ", ".join(UNCERTAINTY_COLUMNS)
    return con.execute(f"SELECT {columns} FROM index_uncertainty WHERE month = ? ORDER BY code, quantity, indicator",
                       [key]).pl()
