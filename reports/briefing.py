"""What a briefing says, read from the warehouse: numbers only, no row-level records.

A district's briefing holds its own indicator detail and, for every other district, only the index
value and rank. Counts of categories and streets are aggregates; no free text from exports is used.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import duckdb
import polars as pl

from indicators.index import missing_text
from indicators.methodology import Methodology, catalogue
from indicators.narration import band_quantity, change_reading, named_drivers, warning_rows
from indicators.values import PER
from nsi.month import Month, months_between
from nsi.reference import CITY_CODE, Reference
from reports import charts

SOURCE_NAMES = {"police": "110接处警", "hotline": "12345热线", "disputes": "矛盾纠纷", "survey": "安全感调查"}
STREET_SOURCES = ("hotline", "disputes")  # the streets table counts these sources' safety-relevant records
# Chart sizes in CSS px, fitted to the A4 text width (680 px) and to page 1: the district's trend spans
# the width, the city's shares it with the radar; the ranking and the map share a row.
TREND_SIZE = {False: (680, 150), True: (375, 290)}  # by whether the briefing is the city's
RADAR_SIZE = {False: 240, True: 290}
RANKING_SIZE = (335, 256)
TILE_SIZE = (38, 4)  # tile and gap: a 330 × 256 px map
RATE_BASIS = {10_000: "每万", 100_000: "每十万"}[PER]  # how the briefing says the rates' denominator


@dataclass
class Briefing:
    code: str
    name: str
    month: Month
    methodology: Methodology
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MonthTables:
    """What the month's briefings are made from, read from the warehouse once for all of them."""
    month: Month
    index: pl.DataFrame  # safety_index rows of the month, by code
    trend: pl.DataFrame  # (month, code, composite) of the 13 months up to the month
    indicators: dict[tuple[str, str], dict]  # indicator_values rows by (code, indicator)
    concerns: dict[str, pl.DataFrame]  # top_concerns by source
    streets: pl.DataFrame  # top_streets
    quality: pl.DataFrame  # data_quality rows
    unplaced: dict[str, int]
    present: set[str]  # the sources of the month
    city_earlier: tuple[Month, dict] | None  # comparison_month and the city's index row in it
    # index_uncertainty rows of the month by (code, quantity, indicator): the Monte-Carlo intervals
    uncertainty: dict[tuple[str, str, str | None], dict]
    input_sha256: str
    data_version: str


def provenance(con: duckdb.DuckDBPyConnection, key: str, index: pl.DataFrame) -> tuple[str, str]:
    """(input sha256, data version) a briefing carries in its metadata: the hash of the month's input
    hashes, and of its index rows (`index`, the month's safety_index rows by code)."""
    inputs = con.execute("SELECT source || ':' || file_sha256 FROM ingest_log WHERE month = ? ORDER BY source", [key]).fetchall()
    input_sha = hashlib.sha256("\n".join(r[0] for r in inputs).encode()).hexdigest()
    return input_sha, hashlib.sha256(index.write_csv().encode()).hexdigest()


def _df(con, sql: str, params: list) -> pl.DataFrame:
    return con.execute(sql, params).pl()


def _fmt_change(value: float | None) -> str:
    return "—" if value is None else signed(value)


def signed(value: float) -> str:
    """One decimal with its sign, the minus typographic (−1.2, +2.5); a value that rounds to zero is 0.0."""
    rounded = round(value, 1)
    if rounded == 0:
        return "0.0"
    return f"{'+' if rounded > 0 else '−'}{abs(rounded):.1f}"


def band_name(methodology: Methodology) -> str:
    """What the Monte-Carlo interval is called: its coverage, from the methodology's percentiles (5, 95 → 90%区间)."""
    low, _, high = methodology.monte_carlo.percentiles
    return f"{high - low:g}%区间"


def interval_text(interval: dict | None, methodology: Methodology) -> str | None:
    if interval is None or interval.get("low") is None or interval.get("high") is None:
        return None
    return f"{band_name(methodology)}{signed(interval['low'])}～{signed(interval['high'])}"


def change_clause(label: str, change: float | None, reading: str | None, interval: dict | None,
                  methodology: Methodology) -> str:
    """One change of the composite as the data supports it: inside its noise band (`reading` flat, from
    indicators.narration.change_reading) it is 在正常波动范围内, never a rise or a fall; the interval of the
    change's draws follows. Without a narration rule (v1) a change is flat only within ±0.05 points."""
    if change is None:
        return f"{label}无可比数据"
    band = interval_text(interval, methodology)
    banded = f"（{band}）" if band else ""
    moved = f"{'上升' if change > 0 else '下降'}{abs(change):.1f}分"
    if methodology.narration is None:
        return f"{label}基本持平" if reading == "flat" else f"{label}{moved}{banded}"
    if reading == "flat":
        return f"{label}{signed(change)}分，在正常波动范围内{banded}"
    return f"{label}{moved}，超出正常波动范围{banded}"


def drivers_clause(drivers: list[dict], names: dict[str, str], methodology: Methodology) -> str:
    """The indicators named as drivers of the change on last month (indicators.narration.named_drivers), and
    none when none is: then no single indicator moved beyond its own noise band."""
    said = lambda side: "、".join(f"{names[d['indicator']]}（{signed(d['contribution_mom'])}分）"
                                  for d in drivers if d["side"] == side)
    parts = []
    if ups := said("up"):
        parts.append("拉动上升的主要是" + ups)
    if downs := said("down"):
        parts.append("拖累的主要是" + downs)
    if parts:
        return "；".join(parts)
    if methodology.narration is None:
        return "各项指标变化均不足0.1分"
    return "没有哪一项指标的变化超出其自身的正常波动范围"


def change_paragraph(name: str, mom: str, yoy: str | None, drivers: str | None, bridging: str | None) -> str:
    """What a briefing says of its composite's changes: on last month, on the same month last year when there
    is one, what drove the first (None: no month to compare with) and how the months were made comparable."""
    if drivers is None:
        text = f"{name}本月无上月可比数据，暂不分析变化原因。"
        if yoy is not None:
            text += f"{name}平安指数{yoy}。"
    else:
        text = f"{name}平安指数{mom}" + (f"；{yoy}" if yoy is not None else "") + f"。{drivers}。"
    return text + (bridging or "")


def bridging_sentence(month: Month, recomputed: str | None, version: str) -> str | None:
    """`comparison_recomputed` in words: which of the months the changes compare with were recomputed under
    this month's methodology version (a new version's first months), or None when none was."""
    if not recomputed:
        return None
    words = {month.previous().key: "上月", month.year_before().key: "上年同月"}
    months = [m.strip() for m in recomputed.split(",") if m.strip()]
    named = "及".join(f"{words.get(m, '')}（{month_label(Month.parse(m))}）" for m in months)
    return f"为使前后可比，{named}已按本月的{version}方法重新计算后再作比较。"


def rank_label(rank: int | None, low: int | None, high: int | None) -> str:
    """A district's rank with its interval (第3位（2–6）); 未排名 when it was not ranked (a sub-index missing)."""
    if rank is None:
        return "未排名"
    return f"第{rank}位" + (f"（{low}–{high}）" if low is not None and high is not None else "")


MIN_DENOMINATOR = re.compile(r"below_min_denominator:([\d.]+)<([\d.]+)")


def small_number_notes(rows: list[dict]) -> list[str]:
    """What the methodology's small-number rules did to the briefing's indicators (flag of indicator_values):
    values left out for too small a denominator, and values smoothed towards the city."""
    notes = []
    for r in rows:
        if found := MIN_DENOMINATOR.search(r["flag"] or ""):
            notes.append(f"{r['indicator']} {r['name_zh']}：本月基数{found.group(1)}，少于方法规定的最低{found.group(2)}，"
                         "不计入指数。")
    smoothed = [f"{r['indicator']} {r['name_zh']}" for r in rows if "smoothed" in (r["flag"] or "")]
    if smoothed:
        notes.append(f"{'、'.join(smoothed)}的件数较少，按方法规定向全市水平平滑后计算。")
    return notes



def uncertainty_rows(con: duckdb.DuckDBPyConnection, key: str) -> pl.DataFrame:
    """The month's rows of index_uncertainty (the Monte-Carlo summaries the index stage wrote)."""
    return con.execute("SELECT month, code, quantity, indicator, low, middle, high, sd, methodology_version "
                       "FROM index_uncertainty WHERE month = ? ORDER BY code, quantity, indicator", [key]).pl()
def _records_query(con, month: Month, records_sql: str, select: str) -> pl.DataFrame:
    """`select` over a source's record set of the catalogue (`records` in its FROM), for the month."""
    sql = f"WITH records AS (\n{records_sql}\n)\n{select}"
    bound = {"month": month.key, "previous": month.previous().key, "month_end": month.end.isoformat()}
    used = set(re.findall(r"\$(\w+)", sql))  # DuckDB refuses parameters a statement does not use
    return con.execute(sql, {k: v for k, v in bound.items() if k in used}).pl()


# Every count of records is made once for the month, per district and for the city in one pass (the city's
# grouping set has no district), and then read per briefing: a scan per briefing cost a second a month.
UNIT = f"CASE WHEN grouping(district_code) = 1 THEN '{CITY_CODE}' ELSE district_code END AS unit"


def top_concerns(con, month: Month, methodology: Methodology, source: str, limit: int = 5) -> pl.DataFrame:
    """(unit, label, n): per district and for the city, the categories with the most safety-relevant records
    (methodology `concerns`), most first."""
    concern = methodology.concerns[source]
    return _records_query(con, month, catalogue().records[source], f"""
        SELECT {UNIT}, "{concern.column}" AS label, count(*) AS n FROM records
        WHERE ({concern.condition}) AND "{concern.column}" IS NOT NULL
        GROUP BY GROUPING SETS ((district_code, label), (label))
        QUALIFY row_number() OVER (PARTITION BY unit ORDER BY n DESC, label) <= {int(limit)}
        ORDER BY unit, n DESC, label""")


def top_streets(con, month: Month, methodology: Methodology, limit: int = 5) -> pl.DataFrame:
    """(unit, street_code, hotline, disputes, n): per district and for the city, the streets with the most
    safety-related hotline requests and disputes (the same records as the concerns), most first."""
    parts = []
    for source in STREET_SOURCES:
        select = (f"SELECT {UNIT}, street_code, count(*) AS n FROM records WHERE ({methodology.concerns[source].condition}) "
                  f"AND street_code IS NOT NULL GROUP BY GROUPING SETS ((district_code, street_code), (street_code))")
        parts.append(_records_query(con, month, catalogue().records[source], select).with_columns(source=pl.lit(source)))
    counts = pl.concat(parts).pivot(on="source", index=["unit", "street_code"], values="n").fill_null(0)
    for source in STREET_SOURCES:
        if source not in counts.columns:
            counts = counts.with_columns(pl.lit(0, pl.UInt32).alias(source))
    return (counts.with_columns(n=sum(pl.col(s) for s in STREET_SOURCES))
            .sort(["unit", "n", "street_code"], descending=[False, True, False])
            .group_by("unit", maintain_order=True).head(limit))


def data_quality(con, key: str, district_codes: list[str]) -> tuple[pl.DataFrame, dict[str, int]]:
    """(unit, source, rows_read, rows_loaded, rows_rejected, dropped) per source: each district's own rows (placed
    in it while read) and the city's totals; and, per source, the rows that could not be placed in any district."""
    # A source without rows of a district this month still has its line, with zeros.
    rows = con.execute(f"""
        SELECT '{CITY_CODE}' AS unit, source, rows_read, rows_loaded, rows_rejected,
               duplicates_dropped + reexports_dropped AS dropped
        FROM ingest_log WHERE month = $key
        UNION ALL
        SELECT u.code, l.source, coalesce(d.rows_read, 0), coalesce(d.rows_loaded, 0), coalesce(d.rows_rejected, 0),
               coalesce(d.duplicates_dropped + d.reexports_dropped, 0)
        FROM ingest_log l CROSS JOIN (SELECT unnest($codes) AS code) u
        LEFT JOIN ingest_districts d ON d.source = l.source AND d.month = l.month AND d.district_code = u.code
        WHERE l.month = $key
        ORDER BY 1, 2""", {"key": key, "codes": district_codes}).pl()
    unplaced = dict(con.execute("SELECT source, sum(rows_read) FROM ingest_districts WHERE month = ? "
                                "AND district_code IS NULL GROUP BY 1 ORDER BY 1", [key]).fetchall())
    return rows, {SOURCE_NAMES[s]: int(n) for s, n in unplaced.items() if n}


def concern_note(methodology: Methodology) -> str:
    """Which records the 突出问题 count, in the words of the methodology's `concerns`."""
    parts = []
    for source, concern in methodology.concerns.items():
        said = []
        if concern.counted_by is not None:
            said.append(f"指标{concern.counted_by}（{methodology.indicator(concern.counted_by).name_zh}）所计的记录")
        if concern.categories is not None:
            said.append(f"以下类别：{'、'.join(concern.categories)}")
        parts.append(f"{SOURCE_NAMES[source]}为{'中'.join(said) if said else '全部记录'}")
    return "突出问题只计方法规定的涉安全记录：" + "；".join(parts) + "。"


def clipped(value: float | None, indicator) -> str | None:
    """'floor' when the value is at or beyond the worse goalpost (score 0), 'ceiling' at or beyond the
    better one (score 100): the score then no longer follows the value."""
    if value is None:
        return None
    low, high = indicator.goalposts
    worse, better = (value <= low, value >= high) if indicator.direction == 1 else (value >= high, value <= low)
    return "floor" if worse else "ceiling" if better else None


def comparison_month(con, month: Month) -> Month | None:
    """What the city's sub-indices are set against: the same month a year before (the same season), or,
    while the index is younger than a year, last month; None when neither was computed."""
    for candidate in (month.year_before(), month.previous()):
        if con.execute("SELECT count(*) FROM safety_index WHERE month = ? AND code = ?",
                       [candidate.key, CITY_CODE]).fetchone()[0]:
            return candidate
    return None


def month_label(month: Month) -> str:
    return f"{month.year}年{month.month}月"


def month_tables(con: duckdb.DuckDBPyConnection, month: Month, reference: Reference,
                 methodology: Methodology) -> MonthTables:
    key = month.key
    window = [m.key for m in months_between(month.year_before(), month)]
    index = _df(con, "SELECT * FROM safety_index WHERE month = ? ORDER BY code", [key])
    indicators = _df(con, "SELECT * FROM indicator_values WHERE month = ?", [key])
    earlier = comparison_month(con, month)
    city_earlier = None if earlier is None else (earlier, _df(
        con, "SELECT * FROM safety_index WHERE month = ? AND code = ?", [earlier.key, CITY_CODE]).row(0, named=True))
    quality, unplaced = data_quality(con, key, reference.district_codes)
    input_sha256, data_version = provenance(con, key, index)
    return MonthTables(
        month=month, index=index,
        trend=_df(con, f"SELECT month, code, composite FROM safety_index WHERE month IN ({','.join('?' * len(window))})",
                  window),
        indicators={(r["code"], r["indicator"]): r for r in indicators.iter_rows(named=True)},
        concerns={source: top_concerns(con, month, methodology, source) for source in ("police", "hotline", "disputes")},
        streets=top_streets(con, month, methodology), quality=quality, unplaced=unplaced,
        present=set(con.execute("SELECT source FROM ingest_log WHERE month = ?", [key]).pl()["source"].to_list()),
        city_earlier=city_earlier, input_sha256=input_sha256, data_version=data_version,
        uncertainty={(r["code"], r["quantity"], r["indicator"]): r
                     for r in uncertainty_rows(con, key).iter_rows(named=True)})


def _bounds(interval: dict | None) -> tuple[float | None, float | None]:
    return (None, None) if interval is None else (interval["low"], interval["high"])


def _of(frame: pl.DataFrame, code: str, columns: list[str]) -> list[dict]:
    return frame.filter(pl.col("unit") == code).select(columns).to_dicts()


def build(tables: MonthTables, code: str, reference: Reference, methodology: Methodology) -> Briefing:
    month, key = tables.month, tables.month.key
    window = [m.key for m in months_between(month.year_before(), month)]
    index, trend = tables.index, tables.trend
    name = reference.name(code)
    own = index.filter(pl.col("code") == code).row(0, named=True)
    city = index.filter(pl.col("code") == CITY_CODE).row(0, named=True)
    subs = methodology.sub_indices
    indicator_names = {i.code: i.name_zh for i in methodology.indicators}

    def series(unit: str) -> list[float | None]:
        lookup = {r["month"]: r["composite"] for r in trend.filter(pl.col("code") == unit).iter_rows(named=True)}
        return [lookup.get(m) for m in window]

    uncertainty = tables.uncertainty
    band = lambda unit, quantity, indicator=None: uncertainty.get((unit, quantity, indicator))
    # A change and a contribution are read, and their interval printed, from the draws the narration names.
    noise = lambda unit, quantity, indicator=None: band(unit, band_quantity(quantity, methodology), indicator)
    sd = lambda unit, quantity: (noise(unit, quantity) or {}).get("sd")
    reading = lambda row, quantity: change_reading(row[quantity], sd(row["code"], quantity), methodology)

    # The ranked districts in their order, then those not ranked (a sub-index missing) by composite.
    districts = index.filter(pl.col("code") != CITY_CODE).sort(
        [pl.col("rank").is_null(), "rank", "composite"], descending=[False, False, True], nulls_last=True)
    ranking_rows = [charts.RankedBar(r["name"], r["composite"], *_bounds(band(r["code"], "composite")),
                                     rank_label(r["rank"], r["rank_p05"], r["rank_p95"]))
                    for r in districts.iter_rows(named=True) if r["composite"] is not None]
    names = {c: reference.name(c) for c in reference.district_codes}
    map_values = {r["code"]: r["composite"] for r in districts.iter_rows(named=True)}

    rows = []
    for i in methodology.indicators:
        r = tables.indicators[code, i.code]
        rows.append({**r, "name_zh": i.name_zh, "unit": i.unit, "direction": i.direction,
                     "sub": methodology.sub_index_of(i.code).name_zh, "clipped": clipped(r["value"], i)})
    street_rows = [{"name": reference.streets[r["street_code"]].name, "n": r["n"], "hotline": r["hotline"],
                    "disputes": r["disputes"]} for r in _of(tables.streets, code, ["street_code", "n", "hotline", "disputes"])]
    quality = [{**r, "source": SOURCE_NAMES[r["source"]]}
               for r in _of(tables.quality, code, ["source", "rows_read", "rows_loaded", "rows_rejected", "dropped"])]
    unplaced = tables.unplaced
    missing_sources = [SOURCE_NAMES[s] for s in SOURCE_NAMES if s not in tables.present]
    survey_low = [r for r in rows if (r["flag"] or "").startswith("below_min_sample")]
    warnings = warning_rows(rows)
    # The city's overview lists every district's warnings, and its own, under the unit's name.
    all_warnings = [{**r, "unit": reference.name(unit), "name_zh": indicator_names[r["indicator"]]}
                    for unit in [*reference.district_codes, CITY_CODE]
                    for r in warning_rows([tables.indicators[unit, i.code] for i in methodology.indicators])]
    missing_indicators = [r["indicator"] for r in rows if r["score"] is None]
    years = sorted({r["population_year"] for r in rows if r["population_year"] is not None})
    year = f"{'、'.join(map(str, years))}年，即" if years else ""
    population_note = f"常住人口（{year}不晚于当月的最新年份）；率类指标为{RATE_BASIS}常住人口每月件数"
    # A district left unranked (a whole sub-index missing) is as provisional as a month missing a source.
    unranked = code != CITY_CODE and own["rank"] is None
    complete = (not missing_sources and own["composite"] is not None and not unranked
                and all(own[s.code] is not None for s in subs))
    mom_reading, yoy_reading = reading(own, "change_mom"), reading(own, "change_yoy")
    contributions = [{**r, "sd": (noise(code, "contribution_mom", r["indicator"]) or {}).get("sd")} for r in rows]
    drivers = named_drivers(contributions, methodology) if own["change_mom"] is not None else None
    bridging = bridging_sentence(month, own["comparison_recomputed"], methodology.version)
    change_text = change_paragraph(
        name, change_clause("较上月", own["change_mom"], mom_reading, noise(code, "change_mom"), methodology),
        change_clause("较上年同月", own["change_yoy"], yoy_reading, noise(code, "change_yoy"), methodology)
        if own["change_yoy"] is not None else None,
        None if drivers is None else drivers_clause(drivers, indicator_names, methodology), bridging)
    radar_caption = "本区与全市"
    if code != CITY_CODE:  # a district against the city, in the same month
        compared = ([city[s.code] for s in subs], "南京市")
    elif tables.city_earlier is not None:  # the city against itself earlier
        earlier, before = tables.city_earlier
        compared = ([before[s.code] for s in subs], month_label(earlier))
        radar_caption = "本月与上年同月" if earlier == month.year_before() else "本月与上月；上年同月未计算"
    else:
        compared = (None, None)
        radar_caption = "上年同月与上月均未计算，仅本月"

    data = {
        "title": "南京市平安指数月度简报" if code != CITY_CODE else "南京市平安指数月度综述",
        "name": name, "code": code, "month_label": month_label(month), "month": key,
        "status": "正式版" if complete else "数据不完整（试算）",
        "composite": own["composite"], "rank": own["rank"], "rank_p05": own["rank_p05"], "rank_p95": own["rank_p95"],
        "unranked": unranked, "missing_subs": [s.name_zh for s in subs if own[s.code] is None],
        "change_mom": _fmt_change(own["change_mom"]), "change_yoy": _fmt_change(own["change_yoy"]),
        "change_mom_flat": mom_reading == "flat", "change_yoy_flat": yoy_reading == "flat",
        "composite_band": interval_text(band(code, "composite"), methodology),
        "city_composite": city["composite"],
        "subs": [{"code": s.code, "name": s.name_zh, "weight": s.weight, "value": own[s.code], "city": city[s.code]}
                 for s in subs],
        "indicators": rows,
        "drivers": change_text, "bridging": bridging, "band_name": band_name(methodology),
        "top_police": _of(tables.concerns["police"], code, ["label", "n"]),
        "top_hotline": _of(tables.concerns["hotline"], code, ["label", "n"]),
        "top_disputes": _of(tables.concerns["disputes"], code, ["label", "n"]),
        "streets": street_rows, "warnings": warnings, "all_warnings": all_warnings, "survey_low": survey_low,
        "missing_sources": missing_sources, "small_numbers": small_number_notes(rows),
        "intervals": any(r["ci_low"] is not None and r["ci_high"] is not None for r in rows),
        "quality": quality, "unplaced": unplaced, "concern_note": concern_note(methodology),
        "clipped": sorted({r["clipped"] for r in rows if r["clipped"]}),
        "population_note": population_note,
        "missing_note": missing_text(missing_indicators, methodology) if missing_indicators else None,
        "trend_svg": charts.trend(window, series(code), series(CITY_CODE), name, *TREND_SIZE[code == CITY_CODE]),
        "ranking_svg": charts.ranking(ranking_rows, name if code != CITY_CODE else None, *RANKING_SIZE),
        "radar_svg": charts.radar([s.name_zh for s in subs], [own[s.code] for s in subs],
                                  name if code != CITY_CODE else month_label(month), *compared,
                                  size=RADAR_SIZE[code == CITY_CODE]),
        "map_svg": charts.tile_map(map_values, names, code if code != CITY_CODE else None, *TILE_SIZE),
        "radar_caption": radar_caption, "radar_size": RADAR_SIZE[code == CITY_CODE],
        "districts": [
            {"name": r["name"], "code": r["code"], "composite": r["composite"], "rank": r["rank"],
             "rank_p05": r["rank_p05"], "rank_p95": r["rank_p95"], "change_mom": _fmt_change(r["change_mom"]),
             "rank_text": rank_label(r["rank"], r["rank_p05"], r["rank_p95"]),
             "change_mom_flat": reading(r, "change_mom") == "flat",
             # Other districts appear in a district's briefing only as index value and rank.
             **({s.code: r[s.code] for s in subs} if code == CITY_CODE else {})}
            for r in districts.iter_rows(named=True)
        ],
        # The largest changes among those beyond their noise band: a change within it is no movement.
        "movers": [{"name": r["name"], "change": signed(r["change_mom"])} for r in sorted(
            (r for r in districts.iter_rows(named=True) if reading(r, "change_mom") in ("up", "down")),
            key=lambda r: -abs(r["change_mom"]))[:3]],
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
    tables = month_tables(con, month, reference, methodology)
    index = tables.index
    jobs = [(build(tables, code, reference, methodology),
             index if code == CITY_CODE else index.filter(pl.col("code") == code), tables.input_sha256, tables.data_version)
            for code in [*reference.district_codes, CITY_CODE]]
    if correction:
        for briefing, *_ in jobs:
            correction_mark(briefing, correction)
    return jobs
