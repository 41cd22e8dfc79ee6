"""Indicator values of a month from the loaded tables (valid_<source>): one row per (district or city, indicator).

The SQL is generated from the indicator catalogue (indicators/catalogue.yaml): one query per source
over its record set. Rates and shares of the city are computed from all records, not as a mean of
districts. The survey indicators are post-stratified to each district's age × sex structure with a
95% confidence interval; the city survey figure is the population-weighted mean.
"""

from __future__ import annotations

import math
import re

import duckdb
import polars as pl

from indicators import small_numbers
from indicators.methodology import CatalogueEntry, Methodology, catalogue
from nsi.month import Month
from nsi.reference import CITY_CODE, Reference

CATALOGUE = catalogue()
PER = CATALOGUE.rate_per
Z95 = 1.959964


# What each kind of denominator aggregates over the records, as <code>_<name> columns.
AGGREGATES = {
    "per_residents": {"num": "count(*) FILTER (WHERE {count})"},
    "share": {"num": "count(*) FILTER (WHERE {numerator})", "den": "count(*) FILTER (WHERE {of})"},
    "median": {"value": "median({median}) FILTER (WHERE {where})", "n": "count(*) FILTER (WHERE {where})",
               "q1": "quantile_cont({median}, 0.25) FILTER (WHERE {where})",
               "q3": "quantile_cont({median}, 0.75) FILTER (WHERE {where})"},
    "post_stratified_share": {"n": "count(*) FILTER (WHERE {answered})", "num": "count(*) FILTER (WHERE {positive})"},
}


def _columns(entry: CatalogueEntry) -> list[str]:
    return [f'{template.format(**entry.formula)} AS "{entry.code}_{name}"'
            for name, template in AGGREGATES[entry.denominator].items()]


def source_sql(source: str) -> str:
    columns = ",\n    ".join(c for e in CATALOGUE.indicators if e.source == source for c in _columns(e))
    records = f"WITH records AS (\n{CATALOGUE.records[source]}\n)\n"
    if source == "survey":  # cells, post-stratified in Python; the city is a mean of districts
        return (f"{records}SELECT district_code AS code, sex, age_group,\n    {columns}\n"
                "FROM records GROUP BY ALL ORDER BY code, sex, age_group")
    return (f"{records}SELECT code,\n    {columns}\nFROM (\n"
            "    SELECT district_code AS code, * EXCLUDE (district_code) FROM records\n"
            "    UNION ALL SELECT $city AS code, * EXCLUDE (district_code) FROM records\n"
            ") GROUP BY code")


COLUMNS = {"month": pl.Utf8, "code": pl.Utf8, "indicator": pl.Utf8, "numerator": pl.Float64, "denominator": pl.Float64,
           "value": pl.Float64, "value_raw": pl.Float64, "n": pl.Int64, "ci_low": pl.Float64, "ci_high": pl.Float64,
           "population": pl.Int64, "population_year": pl.Int64, "population_scale": pl.Float64, "flag": pl.Utf8}


# Asymptotic standard error of a sample median: √(π/2)·σ/√n, σ estimated robustly as IQR/1.349.
MEDIAN_SE_FACTOR = 1.2533
IQR_PER_SD = 1.349


def median_interval(median: float | None, q1: float | None, q3: float | None, n: int | None) -> tuple:
    """95% interval of a median from the quartiles beside it: median ± 1.96·1.2533·(IQR/1.349)/√n.
    A description of the data; no score reads it."""
    if median is None or q1 is None or q3 is None or not n:
        return None, None
    se = MEDIAN_SE_FACTOR * (q3 - q1) / IQR_PER_SD / math.sqrt(n)
    return median - Z95 * se, median + Z95 * se


def _rows(con, sql: str, params: dict) -> list[dict]:
    used = set(re.findall(r"\$(\w+)", sql))  # DuckDB refuses parameters a statement does not use
    return con.execute(sql, {k: v for k, v in params.items() if k in used}).pl().to_dicts()


def wilson(estimate: float, se: float, n: int) -> tuple[float, float]:
    """95% Wilson interval around a (post-stratified) proportion, with the effective sample size
    p(1-p)/se² of the weighted design. Unlike p ± 1.96·se it does not collapse to a point when every
    respondent in a cell answered alike, which is common at a 99% sense-of-security rate."""
    p = min(max(estimate, 0.0), 1.0)
    n_eff = p * (1 - p) / se ** 2 if se > 0 and 0 < p < 1 else float(n)
    n_eff = max(min(n_eff, float(n)), 1.0) if n else 1.0
    z2 = Z95 ** 2
    centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
    half = Z95 * math.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff ** 2)) / (1 + z2 / n_eff)
    return max(0.0, centre - half), min(1.0, centre + half)


def _stratified(cells: list[dict], structure: dict, count: str, positive: str) -> tuple[float | None, float | None, int]:
    """Post-stratified proportion, its standard error, and the sample size."""
    # A fixed order of cells: float sums must not depend on the order DuckDB returns groups in.
    used = sorted((c for c in cells if c[count] > 0 and (c["sex"], c["age_group"]) in structure),
                  key=lambda c: (c["sex"], c["age_group"]))
    n = sum(c[count] for c in used)
    if n == 0:
        return None, None, 0
    total_share = sum(structure[(c["sex"], c["age_group"])] for c in used)
    estimate, variance = 0.0, 0.0
    for c in used:
        w = structure[(c["sex"], c["age_group"])] / total_share
        p = c[positive] / c[count]
        estimate += w * p
        variance += w * w * p * (1 - p) / c[count]
    return min(max(estimate, 0.0), 1.0), math.sqrt(variance), n  # the weighted sum can exceed 1 by rounding


def indicator_values(con: duckdb.DuckDBPyConnection, month: Month, methodology: Methodology, reference: Reference,
                     population_scale: float = 1.0) -> pl.DataFrame:
    params = {"month": month.key, "previous": month.previous().key, "month_end": month.end.isoformat(),
              "city": CITY_CODE}
    codes = [*reference.district_codes, CITY_CODE]
    pop = {c: reference.population(c, month.year) for c in reference.district_codes}
    city_pop = sum(p for p, _ in pop.values())
    pop[CITY_CODE] = (city_pop, max(y for _, y in pop.values()))

    def per_residents(code: str, count: float | None) -> float | None:
        return None if count is None else count / (pop[code][0] * population_scale) * PER

    by_source = {source: _rows(con, source_sql(source), params) for source in CATALOGUE.records}
    totals = {source: {r["code"]: r for r in rows} for source, rows in by_source.items() if source != "survey"}

    out: list[dict] = []

    def add(code, indicator, numerator, denominator, value, n=None, ci=(None, None), flag=None, rate=False):
        out.append({"month": month.key, "code": code, "indicator": indicator, "numerator": numerator,
                    "denominator": denominator, "value": value, "value_raw": value, "n": n, "ci_low": ci[0], "ci_high": ci[1],
                    "population": pop[code][0], "population_year": pop[code][1],
                    "population_scale": population_scale if rate else None, "flag": flag})

    def ratio(num, den):
        return None if not den else num / den

    surveyed = [e for e in CATALOGUE.indicators if e.denominator == "post_stratified_share"]
    for entry in CATALOGUE.indicators:
        if entry.denominator == "post_stratified_share":
            continue
        ind = entry.code
        for code in codes:
            r = totals[entry.source].get(code, {})
            num, den = r.get(f"{ind}_num", 0), r.get(f"{ind}_den", 0)
            if entry.denominator == "per_residents":
                add(code, ind, num, pop[code][0] * population_scale / PER, per_residents(code, num), rate=True)
            elif entry.denominator == "share":
                add(code, ind, num, den, ratio(num, den))
            else:
                median, n = r.get(f"{ind}_value"), r.get(f"{ind}_n", 0)
                add(code, ind, None, None, median, n=n, ci=median_interval(median, r.get(f"{ind}_q1"), r.get(f"{ind}_q3"), n))

    # Survey: post-stratified per district, population-weighted for the city.
    minimum = methodology.survey_min_completes
    survey: dict[str, dict[str, tuple]] = {}
    for code in reference.district_codes:
        cells = [c for c in by_source["survey"] if c["code"] == code]
        structure = reference.age_sex_structure(code)
        survey[code] = {e.code: _stratified(cells, structure, f"{e.code}_n", f"{e.code}_num") for e in surveyed}
        for ind, (estimate, se, n) in survey[code].items():
            flag = f"below_min_sample:{n}<{minimum}" if n < minimum else None
            value = estimate if n >= minimum else None
            ci = wilson(estimate, se, n) if estimate is not None else (None, None)
            add(code, ind, None, None, value, n=n, ci=ci, flag=flag)
    for ind in (e.code for e in surveyed):
        parts = [(pop[c][0], survey[c][ind]) for c in reference.district_codes
                 if survey[c][ind][0] is not None and survey[c][ind][2] >= minimum]
        if parts:
            weight = sum(w for w, _ in parts)
            estimate = sum(w * e for w, (e, _, _) in parts) / weight
            se = math.sqrt(sum((w / weight) ** 2 * s ** 2 for w, (_, s, _) in parts))
            n = sum(n for _, (_, _, n) in parts)
            flag = None if len(parts) == len(reference.district_codes) else f"districts_used:{len(parts)}"
            add(CITY_CODE, ind, None, None, estimate, n=n,
                ci=wilson(estimate, se, n), flag=flag)
        else:
            add(CITY_CODE, ind, None, None, None, n=0, flag="no_survey")
    frame = pl.DataFrame(out, schema=COLUMNS)
    wanted = [i.code for i in methodology.indicators]
    return small_numbers.apply(frame.filter(pl.col("indicator").is_in(wanted)).sort("code", "indicator"),
                               methodology, reference)
