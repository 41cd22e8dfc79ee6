"""Is the month's export whole? Checks that need no history of the project's own.

A cut or partial export loads without a single bad row, so row rules cannot see it. Four checks can:
the file's last line is complete; the rows read lie within the band the reference data declares for
the source (data/reference/volumes.csv, times the population scale of a synthetic export); against the
same month last year, when it was loaded; and the records cover most days of the month (a file cut
at 60% and sorted by time stops on the 18th). A month that fails one is computed, but not published
without a reason (`nsi run --reason`).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from nsi.month import Month
from nsi.reference import VolumeBand

CHECKS = ("last_line_complete", "volume_within_expected_band", "volume_against_last_year", "days_of_month_covered")
COMPLETENESS_COLUMNS = {"source": pl.Utf8, "month": pl.Utf8, "check": pl.Utf8, "passed": pl.Boolean,
                        "measured": pl.Float64, "expected": pl.Utf8, "detail": pl.Utf8}


@dataclass(frozen=True)
class Finding:
    source: str
    month: str
    check: str
    passed: bool
    measured: float | None
    expected: str
    detail: str


def assess(source: str, month: Month, rows_read: int, days_covered: int, cut_row: int | None,
           last_year_rows: int | None, band: VolumeBand, population_scale: float) -> list[Finding]:
    """The four checks of one source's month; a check without the data it needs (no last year) passes."""
    def finding(check, passed, measured, expected, detail):
        return Finding(source, month.key, check, passed, measured, expected, detail)

    findings = [finding("last_line_complete", cut_row is None, None, "a complete last line",
                        f"the file ends inside row {cut_row}: the export was cut off" if cut_row else "complete")]
    expected = band.rows_per_month * (population_scale if band.scales_with_population else 1.0)
    ratio = rows_read / expected if expected else 0.0
    findings.append(finding(
        "volume_within_expected_band", band.low <= ratio <= band.high, round(ratio, 3),
        f"{band.low:g}–{band.high:g}× of {expected:,.0f} rows",
        f"{rows_read:,} rows, {ratio:.2f}× the {expected:,.0f} expected (allowed {band.low:g}–{band.high:g}×)"))
    if last_year_rows:
        ratio = rows_read / last_year_rows
        findings.append(finding(
            "volume_against_last_year", band.year_on_year_low <= ratio <= band.year_on_year_high, round(ratio, 3),
            f"{band.year_on_year_low:g}–{band.year_on_year_high:g}× of {last_year_rows:,} rows",
            f"{rows_read:,} rows, {ratio:.2f}× the {last_year_rows:,} of {month.year_before().key} "
            f"(allowed {band.year_on_year_low:g}–{band.year_on_year_high:g}×)"))
    else:
        findings.append(finding("volume_against_last_year", True, None, "-",
                                f"{month.year_before().key} was not loaded: nothing to compare"))
    days = month_days(month)
    share = days_covered / days
    findings.append(finding(
        "days_of_month_covered", share >= band.min_days_share, round(share, 3), f"≥ {band.min_days_share:.0%} of {days} days",
        f"records on {days_covered} of the month's {days} days ({share:.0%}; at least {band.min_days_share:.0%} expected)"))
    return findings


def month_days(month: Month) -> int:
    return (month.next().start - month.start).days


def frame(findings: list[Finding]) -> pl.DataFrame:
    return pl.DataFrame([f.__dict__ for f in findings], schema=COMPLETENESS_COLUMNS)


def failed_text(rows: list[tuple]) -> str:
    """(source, check, detail) rows as one sentence per failed check."""
    return "; ".join(f"{source} {check}: {detail}" for source, check, detail in rows)
