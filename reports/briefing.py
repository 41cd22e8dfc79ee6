"""What a briefing says, read from the warehouse: numbers only, no row-level records.

A district's briefing holds its own indicator detail and, for every other district, only the index
value and rank. Counts of categories and streets are aggregates; no free text from exports is used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import duckdb
import polars as pl

from indicators.index import missing_text
from indicators.methodology import Methodology, catalogue
from indicators.values import PER
from nsi.month import Month, months_between
from nsi.reference import CITY_CODE, Reference
from reports import charts

SOURCE_NAMES = {"police": "110接处警", "hotline": "12345热线", "disputes": "矛盾纠纷", "survey": "安全感调查"}
RATE_BASIS = {10_000: "每万", 100_000: "每十万"}[PER]  # how the briefing says the rates' denominator


@dataclass
class Briefing:
    code: str
    name: str
    month: Month
    methodology: Methodology
    data: dict = field(default_factory=dict)


def provenance(con: duckdb.DuckDBPyConnection, key: str) -> tuple[str, str]:
    """(input sha256, data version) a briefing carries in its metadata: the hash of the month's input
    hashes, and of its index rows."""
    inputs = con.execute("SELECT source || ':' || file_sha256 FROM ingest_log WHERE month = ? ORDER BY source", [key]).fetchall()
    input_sha = hashlib.sha256("\n".join(r[0] for r in inputs).encode()).hexdigest()
    rows = con.execute("SELECT * FROM safety_index WHERE month = ? ORDER BY code", [key]).pl()
    return input_sha, hashlib.sha256(rows.write_csv().encode()).hexdigest()


def _df(con, sql: str, params: list) -> pl.DataFrame:
    return con.execute(sql, params).pl()


def _fmt_change(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.1f}"


def driver_sentence(name: str, change: float | None, contributions: list[dict], indicator_names: dict) -> str:
    """A plain-language paragraph from the largest contributions to the change, both directions."""
    if change is None:
        return f"{name}本月无上月可比数据，暂不分析变化原因。"
    direction = "上升" if change > 0.05 else "下降" if change < -0.05 else "基本持平"
    text = f"{name}平安指数较上月{direction}" + (f"{abs(change):.1f}分" if direction != "基本持平" else "")
    ups = sorted((c for c in contributions if (c["contribution_mom"] or 0) > 0.05), key=lambda c: -c["contribution_mom"])[:2]
    downs = sorted((c for c in contributions if (c["contribution_mom"] or 0) < -0.05), key=lambda c: c["contribution_mom"])[:2]
    parts = []
    if ups:
        parts.append("拉动上升的主要是" + "、".join(f"{indicator_names[c['indicator']]}（{c['contribution_mom']:+.1f}分）" for c in ups))
    if downs:
        parts.append("拖累的主要是" + "、".join(f"{indicator_names[c['indicator']]}（{c['contribution_mom']:+.1f}分）" for c in downs))
    if not parts:
        parts.append("各项指标变化均不足0.1分")
    return text + "。" + "；".join(parts) + "。"


def build(con: duckdb.DuckDBPyConnection, month: Month, code: str, reference: Reference, methodology: Methodology) -> Briefing:
    key = month.key
    # The briefing's safety-related requests are those the indicator C1 counts.
    safety_hotline = f"({catalogue().entry('C1').count})"
    window = [m.key for m in months_between(month.year_before(), month)]
    index = _df(con, "SELECT * FROM safety_index WHERE month = ?", [key])
    trend = _df(con, f"SELECT month, code, composite FROM safety_index WHERE month IN ({','.join('?' * len(window))})", window)
    name = reference.name(code)
    own = index.filter(pl.col("code") == code).row(0, named=True)
    city = index.filter(pl.col("code") == CITY_CODE).row(0, named=True)
    subs = methodology.sub_indices
    indicator_names = {i.code: i.name_zh for i in methodology.indicators}

    def series(unit: str) -> list[float | None]:
        lookup = {r["month"]: r["composite"] for r in trend.filter(pl.col("code") == unit).iter_rows(named=True)}
        return [lookup.get(m) for m in window]

    districts = index.filter(pl.col("code") != CITY_CODE).sort("composite", descending=True, nulls_last=True)
    ranking_rows = [(r["name"], r["composite"]) for r in districts.iter_rows(named=True) if r["composite"] is not None]
    names = {c: reference.name(c) for c in reference.district_codes}
    map_values = {r["code"]: r["composite"] for r in districts.iter_rows(named=True)}

    indicators = _df(con, "SELECT * FROM indicator_values WHERE month = ? AND code = ? ORDER BY indicator", [key, code])
    rows = []
    for i in methodology.indicators:
        r = indicators.filter(pl.col("indicator") == i.code).row(0, named=True)
        rows.append({**r, "name_zh": i.name_zh, "unit": i.unit, "direction": i.direction,
                     "sub": methodology.sub_index_of(i.code).name_zh})
    where = "" if code == CITY_CODE else "AND district_code = ?"
    params = [key] if code == CITY_CODE else [key, code]
    top_hotline = _df(con, f"SELECT category_l3 AS label, count(*) AS n FROM valid_hotline WHERE month = ? {where} "
                           f"AND {safety_hotline} GROUP BY 1 ORDER BY n DESC, label LIMIT 5", params)
    top_police = _df(con, f"SELECT subcategory AS label, count(*) AS n FROM valid_police WHERE month = ? {where} "
                          "AND is_valid = '是' AND subcategory IS NOT NULL GROUP BY 1 ORDER BY n DESC, label LIMIT 5", params)
    top_disputes = _df(con, f"SELECT dispute_type AS label, count(*) AS n FROM valid_disputes WHERE month = ? {where} "
                            "GROUP BY 1 ORDER BY n DESC, label LIMIT 5", params)
    streets = _df(con, f"""
        SELECT street_code, sum(n) AS n, sum(h) AS hotline, sum(d) AS disputes FROM (
            SELECT street_code, count(*) AS n, count(*) AS h, 0 AS d FROM valid_hotline
            WHERE month = ? {where} AND {safety_hotline} AND street_code IS NOT NULL GROUP BY 1
            UNION ALL
            SELECT street_code, count(*), 0, count(*) FROM valid_disputes
            WHERE month = ? {where} AND street_code IS NOT NULL GROUP BY 1)
        GROUP BY 1 ORDER BY n DESC, street_code LIMIT 5""", params + params)
    street_rows = [{"name": reference.streets[s].name, "district": reference.name(reference.streets[s].district_code),
                    "n": n, "hotline": h, "disputes": d} for s, n, h, d in streets.iter_rows()]
    quality = _df(con, "SELECT source, rows_read, rows_loaded, rows_rejected, duplicates_dropped + reexports_dropped AS dropped "
                       "FROM ingest_log WHERE month = ? ORDER BY source", [key])
    present = set(quality["source"].to_list())
    missing_sources = [SOURCE_NAMES[s] for s in SOURCE_NAMES if s not in present]
    survey_low = [r for r in rows if (r["flag"] or "").startswith("below_min_sample")]
    warnings = [r for r in rows if r["warning"]]
    missing_indicators = [r["indicator"] for r in rows if r["score"] is None]
    years = sorted({r["population_year"] for r in rows if r["population_year"] is not None})
    year = f"{'、'.join(map(str, years))}年，即" if years else ""
    population_note = f"常住人口（{year}不晚于当月的最新年份）；率类指标为{RATE_BASIS}常住人口每月件数"
    complete = not missing_sources and own["composite"] is not None

    data = {
        "title": "南京市平安指数月度简报" if code != CITY_CODE else "南京市平安指数月度综述",
        "name": name, "code": code, "month_label": f"{month.year}年{month.month}月", "month": key,
        "status": "正式版" if complete else "数据不完整（试算）",
        "composite": own["composite"], "rank": own["rank"], "rank_p05": own["rank_p05"], "rank_p95": own["rank_p95"],
        "change_mom": _fmt_change(own["change_mom"]), "change_yoy": _fmt_change(own["change_yoy"]),
        "city_composite": city["composite"],
        "subs": [{"code": s.code, "name": s.name_zh, "weight": s.weight, "value": own[s.code], "city": city[s.code]}
                 for s in subs],
        "indicators": rows,
        "drivers": driver_sentence(name, own["change_mom"], rows, indicator_names),
        "top_hotline": top_hotline.to_dicts(), "top_police": top_police.to_dicts(), "top_disputes": top_disputes.to_dicts(),
        "streets": street_rows, "warnings": warnings, "survey_low": survey_low, "missing_sources": missing_sources,
        "quality": [{**r, "source": SOURCE_NAMES[r["source"]]} for r in quality.iter_rows(named=True)],
        "population_note": population_note,
        "missing_note": missing_text(missing_indicators, methodology) if missing_indicators else None,
        "trend_svg": charts.trend(window, series(code), series(CITY_CODE), name),
        "ranking_svg": charts.ranking(ranking_rows, name if code != CITY_CODE else None),
        "radar_svg": charts.radar([s.name_zh for s in subs], [own[s.code] for s in subs], [city[s.code] for s in subs], name),
        "map_svg": charts.tile_map(map_values, names, code if code != CITY_CODE else None),
        "districts": [
            {"name": r["name"], "code": r["code"], "composite": r["composite"], "rank": r["rank"],
             "rank_p05": r["rank_p05"], "rank_p95": r["rank_p95"], "change_mom": _fmt_change(r["change_mom"]),
             # Other districts appear in a district's briefing only as index value and rank.
             **({s.code: r[s.code] for s in subs} if code == CITY_CODE else {})}
            for r in districts.iter_rows(named=True)
        ],
        "movers": sorted(({"name": r["name"], "change": r["change_mom"]} for r in districts.iter_rows(named=True)
                          if r["change_mom"] is not None), key=lambda m: -abs(m["change"]))[:3],
        "methodology": methodology,
        "correction": None,  # set by month_briefings for a revision after the first
    }
    return Briefing(code, name, month, methodology, data)


def correction_mark(briefing: Briefing, correction: dict) -> None:
    """A correction (a revision after the first, nsi.publication.revisions) says so on every page: 更正版
    with its date and reason, and the document's modification date is the correction's."""
    date = correction["date"]
    briefing.data["correction"] = {**correction, "date_zh": f"{int(date[:4])}年{int(date[5:7])}月{int(date[8:10])}日",
                                   "modified": f"{date}T00:00:00+08:00"}
    if briefing.data["status"] == "正式版":
        briefing.data["status"] = "更正版"


def month_briefings(con: duckdb.DuckDBPyConnection, month: Month, reference: Reference,
                    methodology: Methodology, correction: dict | None = None) -> list[tuple[Briefing, pl.DataFrame, str, str]]:
    """What `render.render_all` takes for the month: each district's briefing and then the city's, with the
    index rows its PDF carries as an attachment (the district's own, or all for the city) and its provenance.
    correction: the `correction` of a revision after the first, marked on every page."""
    input_sha, data_version = provenance(con, month.key)
    index = con.execute("SELECT * FROM safety_index WHERE month = ? ORDER BY code", [month.key]).pl()
    jobs = [(build(con, month, code, reference, methodology),
             index if code == CITY_CODE else index.filter(pl.col("code") == code), input_sha, data_version)
            for code in [*reference.district_codes, CITY_CODE]]
    if correction:
        for briefing, *_ in jobs:
            correction_mark(briefing, correction)
    return jobs
