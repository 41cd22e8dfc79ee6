"""Is the month's export whole? Checks that need no history of the project's own.

A cut or partial export loads without a single bad row, so row rules cannot see it. Four checks can:
the file's last line is complete; the rows read lie within the band the reference data declares for
the source (data/reference/volumes.csv, times the population scale of a synthetic export); against the
same month last year, when it was loaded; and the records cover most days of the month (a file cut
at 60% and sorted by time stops on the 18th). A month that fails one is computed, but not published
without a reason (`nsi run --reason`).

What a check found (its `detail`) is stored in English, in the `completeness` table and the manifest,
which are the same in every language; `said` says a stored detail in the language in use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from nsi.messages import N_, _
from nsi.month import Month
from nsi.reference import VolumeBand

CHECKS = ("last_line_complete", "volume_within_expected_band", "volume_against_last_year", "days_of_month_covered")
COMPLETENESS_COLUMNS = {"source": pl.Utf8, "month": pl.Utf8, "check": pl.Utf8, "passed": pl.Boolean,
                        "measured": pl.Float64, "expected": pl.Utf8, "detail": pl.Utf8}

# The details a check writes, filled with values already formatted as text, so that `said` can read the
# values back out of a stored detail and put them into its translation.
DETAILS = {
    "cut": N_("the file ends inside row {row}: the export was cut off"),
    "complete": N_("complete"),
    "volume": N_("{rows} rows, {ratio}× the {expected} expected (allowed {low}–{high}×)"),
    "last_year": N_("{rows} rows, {ratio}× the {last_year} of {month} (allowed {low}–{high}×)"),
    "no_last_year": N_("{month} was not loaded: nothing to compare"),
    "days": N_("records on {days} of the month's {month_days} days ({share}; at least {minimum} expected)"),
}


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
                        _detail("cut", row=str(cut_row)) if cut_row else _detail("complete"))]
    expected = band.rows_per_month * (population_scale if band.scales_with_population else 1.0)
    ratio = rows_read / expected if expected else 0.0
    findings.append(finding(
        "volume_within_expected_band", band.low <= ratio <= band.high, round(ratio, 3),
        f"{band.low:g}–{band.high:g}× of {expected:,.0f} rows",
        _detail("volume", rows=f"{rows_read:,}", ratio=f"{ratio:.2f}", expected=f"{expected:,.0f}", low=f"{band.low:g}",
                high=f"{band.high:g}")))
    if last_year_rows:
        ratio = rows_read / last_year_rows
        findings.append(finding(
            "volume_against_last_year", band.year_on_year_low <= ratio <= band.year_on_year_high, round(ratio, 3),
            f"{band.year_on_year_low:g}–{band.year_on_year_high:g}× of {last_year_rows:,} rows",
            _detail("last_year", rows=f"{rows_read:,}", ratio=f"{ratio:.2f}", last_year=f"{last_year_rows:,}",
                    month=month.year_before().key, low=f"{band.year_on_year_low:g}", high=f"{band.year_on_year_high:g}")))
    else:
        findings.append(finding("volume_against_last_year", True, None, "-",
                                _detail("no_last_year", month=month.year_before().key)))
    days = month_days(month)
    share = days_covered / days
    findings.append(finding(
        "days_of_month_covered", share >= band.min_days_share, round(share, 3), f"≥ {band.min_days_share:.0%} of {days} days",
        _detail("days", days=str(days_covered), month_days=str(days), share=f"{share:.0%}",
                minimum=f"{band.min_days_share:.0%}")))
    return findings


def month_days(month: Month) -> int:
    return (month.next().start - month.start).days


def frame(findings: list[Finding]) -> pl.DataFrame:
    return pl.DataFrame([f.__dict__ for f in findings], schema=COMPLETENESS_COLUMNS)


def _detail(key: str, **values: str) -> str:
    """A detail as stored: in English."""
    return DETAILS[key].format(**values)


@lru_cache(maxsize=None)
def _stored_pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", template)  # text, name, text, name, …, text
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*?)" for i, p in enumerate(parts)))


def said(detail: str) -> str:
    """A stored detail in the language in use (as stored when it is not one of DETAILS)."""
    for template in DETAILS.values():
        match = _stored_pattern(template).fullmatch(detail)
        if match:
            return _(template).format(**match.groupdict())
    return detail


def failed_text(rows: list[tuple]) -> str:
    """(source, check, detail) rows as one sentence per failed check, in the language in use."""
    return "; ".join(f"{source} {check}: {said(detail)}" for source, check, detail in rows)
