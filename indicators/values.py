"""Indicator values of a month from the staged tables: one row per (district or city, indicator).

Counts and rates are DuckDB SQL over valid_<source>; the city (320100) is computed from all records,
not as a mean of districts. The survey indicators are post-stratified to each district's age × sex
structure with a 95% confidence interval; the city survey figure is the population-weighted mean.
"""

from __future__ import annotations

import math

import duckdb
import polars as pl

from indicators.methodology import Methodology
from nsi.month import Month
from nsi.reference import CITY_CODE, Reference

PER = 10_000
Z95 = 1.959964

POLICE_SQL = """
WITH incidents AS (
    SELECT district_code, coalesce(feedback_category, category) AS final_category, subcategory,
           date_diff('second', receive_time, arrival_time) / 60.0 AS arrival_minutes
    FROM valid_police WHERE month = $month AND is_valid = '是'
), both_levels AS (
    SELECT district_code AS code, * EXCLUDE (district_code) FROM incidents
    UNION ALL SELECT '320100' AS code, * EXCLUDE (district_code) FROM incidents
)
SELECT code,
    count(*) FILTER (WHERE final_category = '刑事') AS A1,
    count(*) FILTER (WHERE final_category = '治安') AS A2,
    count(*) FILTER (WHERE subcategory = '电信诈骗') AS A3,
    count(*) FILTER (WHERE final_category IN ('交通事故', '火灾')) AS A4,
    median(arrival_minutes) FILTER (WHERE final_category IN ('刑事', '治安') AND arrival_minutes IS NOT NULL) AS A5,
    count(*) FILTER (WHERE final_category IN ('刑事', '治安') AND arrival_minutes IS NOT NULL) AS A5_n
FROM both_levels GROUP BY code
"""

DISPUTES_SQL = """
WITH cases AS (
    SELECT district_code, result, risk_level, registered_date, closed_date FROM valid_disputes WHERE month = $month
), both_levels AS (
    SELECT district_code AS code, * EXCLUDE (district_code) FROM cases
    UNION ALL SELECT '320100' AS code, * EXCLUDE (district_code) FROM cases
)
SELECT code,
    count(*) AS B1,
    count(*) FILTER (WHERE result = '调解成功') AS B2_num,
    count(*) FILTER (WHERE result <> '在调') AS B2_den,
    count(*) FILTER (WHERE closed_date IS NOT NULL AND date_diff('day', registered_date, closed_date) <= 30) AS B3_num,
    count(*) FILTER (WHERE closed_date IS NOT NULL
                     OR registered_date <= CAST($month_end AS TIMESTAMP) - INTERVAL 30 DAY) AS B3_den,
    count(*) FILTER (WHERE risk_level IN ('红', '橙', '重大', '较大')) AS B4_num
FROM both_levels GROUP BY code
"""

HOTLINE_SQL = """
WITH requests AS (
    SELECT month, district_code, category_l1, category_l2, category_l3, on_time, satisfaction,
           caller_phone_hash, accepted_time
    FROM valid_hotline WHERE month IN ($month, $previous)
), repeats AS (
    SELECT *, lag(accepted_time) OVER (PARTITION BY caller_phone_hash, category_l3 ORDER BY accepted_time) AS earlier
    FROM requests
), this_month AS (
    SELECT * FROM repeats WHERE month = $month
), both_levels AS (
    SELECT district_code AS code, * EXCLUDE (district_code) FROM this_month
    UNION ALL SELECT '320100' AS code, * EXCLUDE (district_code) FROM this_month
)
SELECT code,
    count(*) FILTER (WHERE category_l1 = '公共安全' OR category_l2 = '噪音扰民') AS C1,
    count(*) FILTER (WHERE on_time = '是') AS C2_num,
    count(*) FILTER (WHERE on_time IS NOT NULL) AS C2_den,
    count(*) FILTER (WHERE satisfaction IN ('满意', '基本满意')) AS C3_num,
    count(*) FILTER (WHERE satisfaction IS NOT NULL) AS C3_den,
    count(*) FILTER (WHERE caller_phone_hash IS NOT NULL AND earlier >= accepted_time - INTERVAL 30 DAY) AS C4_num,
    count(*) FILTER (WHERE caller_phone_hash IS NOT NULL) AS C4_den
FROM both_levels GROUP BY code
"""

SURVEY_SQL = """
SELECT district_code AS code, sex, age_group,
    count(*) FILTER (WHERE q_safety IS NOT NULL) AS n_safety,
    count(*) FILTER (WHERE q_safety IN ('很安全', '安全', '基本安全', '比较安全')) AS safe,
    count(*) FILTER (WHERE q_safety IN ('很安全', '安全') AND q_safety = top_box) AS top,
    count(*) FILTER (WHERE q_satisfaction IS NOT NULL) AS n_satisfaction,
    count(*) FILTER (WHERE q_satisfaction IN ('满意', '比较满意', '基本满意')) AS satisfied
FROM (
    SELECT *, CASE WHEN bool_or(q_safety IN ('很安全', '基本安全')) OVER (PARTITION BY month) THEN '很安全' ELSE '安全' END AS top_box
    FROM valid_survey WHERE month = $month AND outcome = '完成'
)
GROUP BY ALL
ORDER BY code, sex, age_group
"""
# On the 4-point scale (安全/比较安全/不太安全/不安全) the top box is 安全; a wave on the 5-point scale
# (很安全/安全/基本安全/…) has 很安全 as its top box, and its 安全 is the second box.

COLUMNS = {"month": pl.Utf8, "code": pl.Utf8, "indicator": pl.Utf8, "numerator": pl.Float64, "denominator": pl.Float64,
           "value": pl.Float64, "n": pl.Int64, "ci_low": pl.Float64, "ci_high": pl.Float64,
           "population": pl.Int64, "population_year": pl.Int64, "population_scale": pl.Float64, "flag": pl.Utf8}


def _rows(con, sql: str, params: dict) -> list[dict]:
    return con.execute(sql, params).pl().to_dicts()


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
    params = {"month": month.key}
    codes = [*reference.district_codes, CITY_CODE]
    pop = {c: reference.population(c, month.year) for c in reference.district_codes}
    city_pop = sum(p for p, _ in pop.values())
    pop[CITY_CODE] = (city_pop, max(y for _, y in pop.values()))

    def per_10k(code: str, count: float | None) -> float | None:
        return None if count is None else count / (pop[code][0] * population_scale) * PER

    police = {r["code"]: r for r in _rows(con, POLICE_SQL, params)}
    disputes = {r["code"]: r for r in _rows(con, DISPUTES_SQL, {**params, "month_end": month.end.isoformat()})}
    hotline = {r["code"]: r for r in _rows(con, HOTLINE_SQL, {**params, "previous": month.previous().key})}
    survey_cells = _rows(con, SURVEY_SQL, params)

    out: list[dict] = []

    def add(code, indicator, numerator, denominator, value, n=None, ci=(None, None), flag=None, rate=False):
        out.append({"month": month.key, "code": code, "indicator": indicator, "numerator": numerator,
                    "denominator": denominator, "value": value, "n": n, "ci_low": ci[0], "ci_high": ci[1],
                    "population": pop[code][0], "population_year": pop[code][1],
                    "population_scale": population_scale if rate else None, "flag": flag})

    def ratio(num, den):
        return None if not den else num / den

    for code in codes:
        p, d, h = police.get(code, {}), disputes.get(code, {}), hotline.get(code, {})
        for ind in ("A1", "A2", "A3", "A4"):
            count = p.get(ind, 0)
            add(code, ind, count, pop[code][0] * population_scale / PER, per_10k(code, count), rate=True)
        add(code, "A5", None, None, p.get("A5"), n=p.get("A5_n", 0))
        add(code, "B1", d.get("B1", 0), pop[code][0] * population_scale / PER, per_10k(code, d.get("B1", 0)), rate=True)
        add(code, "B2", d.get("B2_num", 0), d.get("B2_den", 0), ratio(d.get("B2_num", 0), d.get("B2_den", 0)))
        add(code, "B3", d.get("B3_num", 0), d.get("B3_den", 0), ratio(d.get("B3_num", 0), d.get("B3_den", 0)))
        add(code, "B4", d.get("B4_num", 0), d.get("B1", 0), ratio(d.get("B4_num", 0), d.get("B1", 0)))
        add(code, "C1", h.get("C1", 0), pop[code][0] * population_scale / PER, per_10k(code, h.get("C1", 0)), rate=True)
        for ind in ("C2", "C3", "C4"):
            add(code, ind, h.get(f"{ind}_num", 0), h.get(f"{ind}_den", 0), ratio(h.get(f"{ind}_num", 0), h.get(f"{ind}_den", 0)))

    # Survey: post-stratified per district, population-weighted for the city.
    minimum = methodology.survey_min_completes
    survey: dict[str, dict[str, tuple]] = {}
    for code in reference.district_codes:
        cells = [c for c in survey_cells if c["code"] == code]
        structure = reference.age_sex_structure(code)
        survey[code] = {
            "D1": _stratified(cells, structure, "n_safety", "safe"),
            "D2": _stratified(cells, structure, "n_safety", "top"),
            "D3": _stratified(cells, structure, "n_satisfaction", "satisfied"),
        }
        for ind, (estimate, se, n) in survey[code].items():
            flag = f"below_min_sample:{n}<{minimum}" if n < minimum else None
            value = estimate if n >= minimum else None
            ci = wilson(estimate, se, n) if estimate is not None else (None, None)
            add(code, ind, None, None, value, n=n, ci=ci, flag=flag)
    for ind in ("D1", "D2", "D3"):
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
    return frame.filter(pl.col("indicator").is_in(wanted)).sort("code", "indicator")
