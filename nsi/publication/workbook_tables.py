"""What each sheet of the analysts' workbook holds, read from the warehouse for a range of months.

One frame per sheet, its columns named by the keys of nsi/publication/workbook.yaml; a column that
stands for one of several parts (a sub-index, a rejection rule) is named `<key>:<part>`, and columns
starting with `_` are not shown but steer the writer (`_unit`: the row's indicator unit, for its
number format). Values are as the warehouse stores them; names are in the workbook's language.

The methodology comes in as the objects `indicators.methodology` loads (read by attribute only, so this
package does not depend on it): `methodologies(version)` gives the version each month was computed with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from nsi import vocabulary as vocabularies
from nsi.exports import SOURCES
from nsi.messages import _
from nsi.month import Month, months_between
from nsi.publication.workbook_names import Language, WorkbookNames
from nsi.reference import Reference
from nsi.warehouse import sql_text

# What each part column of a sheet stands for: sub-indices, rules.
Parts = dict[str, dict[str, str]]


@dataclass
class SheetData:
    key: str
    frame: pl.DataFrame
    parts: Parts = field(default_factory=dict)  # `each` of a column → {part code: part name}, in column order


class NothingToExport(LookupError):
    """A month of the range has no index in the warehouse."""


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[0] > 0


def _columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                      "ORDER BY ordinal_position", [table]).fetchall()]


def _versions(con: duckdb.DuckDBPyConnection, first: Month, last: Month) -> list[str]:
    """The methodology versions of the range, in the order they were first used; missing months stop the export."""
    if not _table_exists(con, "safety_index"):
        raise NothingToExport(_("the warehouse has no index yet; months {first} to {last} are missing").format(
            first=first.key, last=last.key))
    rows = con.execute("SELECT month, min(methodology_version) FROM safety_index WHERE month BETWEEN ? AND ? "
                       "GROUP BY month ORDER BY month", [first.key, last.key]).fetchall()
    have = {m for m, _version in rows}
    missing = [m.key for m in months_between(first, last) if m.key not in have]
    if missing:
        raise NothingToExport(_("the warehouse has no index for {months}").format(months=", ".join(missing)))
    return list(dict.fromkeys(v for _month, v in rows))


def _indicator_rows(methodologies: Callable[[str], Any], versions: list[str], names: WorkbookNames,
                    lang: Language) -> pl.DataFrame:
    """The methodology of each version as rows: names, unit, direction, declared weight, goalposts."""
    rows = []
    for version in versions:
        method = methodologies(version)
        for sub in method.sub_indices:
            for indicator in sub.indicators:
                unit = names.unit(indicator.unit)
                rows.append({"version": version, "indicator": indicator.code, "position": len(rows),
                             "indicator_name": getattr(indicator, f"name_{lang}"),
                             "sub_index": getattr(sub, f"name_{lang}"), "unit": indicator.unit,
                             "unit_name": unit.of(lang), "direction": indicator.direction,
                             "weight": indicator.weight * sub.weight,
                             "goal_lo": float(indicator.goalposts[0]), "goal_hi": float(indicator.goalposts[1])})
    return pl.DataFrame(rows, schema={"version": pl.Utf8, "indicator": pl.Utf8, "position": pl.Int64,
                                      "indicator_name": pl.Utf8, "sub_index": pl.Utf8, "unit": pl.Utf8,
                                      "unit_name": pl.Utf8, "direction": pl.Int64, "weight": pl.Float64,
                                      "goal_lo": pl.Float64, "goal_hi": pl.Float64})


def _sub_indices(methodologies: Callable[[str], Any], versions: list[str], lang: Language) -> dict[str, str]:
    found: dict[str, str] = {}
    for version in versions:
        for sub in methodologies(version).sub_indices:
            found.setdefault(sub.code, getattr(sub, f"name_{lang}"))
    return found


def _places(reference: Reference, lang: Language) -> pl.DataFrame:
    """District and city names in the workbook's language, and the order rows are listed in (the city last)."""
    codes = [*reference.district_codes, reference.city_code]
    if lang == "zh":
        names = [reference.name(c) for c in codes]
    else:
        names = [reference.districts[c].name_en for c in reference.district_codes] + [reference.city_name_en]
    return pl.DataFrame({"code": codes, "name": names, "place_order": list(range(len(codes)))})


def _sources(lang: Language) -> pl.DataFrame:
    labels = [getattr(vocabularies.load(s), f"label_{lang}") for s in SOURCES]
    return pl.DataFrame({"source": list(SOURCES), "source_name": labels, "source_order": list(range(len(SOURCES)))})


def _index_sheet(con, first: Month, last: Month, subs: dict[str, str]) -> SheetData:
    present = set(_columns_of(con, "safety_index"))
    sub_columns = ", ".join(f's."{c}" AS "sub_index:{c}"' if c in present else f'NULL::DOUBLE AS "sub_index:{c}"'
                            for c in subs)
    frame = con.execute(f"""
        SELECT s.month, s.code, coalesce(p.name, s.name) AS name, s.composite, {sub_columns}, s.rank,
               s.rank_p05, s.rank_p50, s.rank_p95, s.change_mom, s.change_yoy, s.reweighting_mom,
               s.methodology_version, s.flags
        FROM safety_index s LEFT JOIN wb_places p USING (code)
        WHERE s.month BETWEEN ? AND ? ORDER BY s.month, p.place_order, s.code""", [first.key, last.key]).pl()
    return SheetData("index", frame, {"sub_index": subs})


def _history_sheet(con, first: Month, last: Month, subs: dict[str, str]) -> SheetData:
    present = set(_columns_of(con, "safety_index"))
    sub_columns = ", ".join(f's."{c}" AS "sub_index:{c}"' if c in present else f'NULL::DOUBLE AS "sub_index:{c}"'
                            for c in subs)
    frame = con.execute(f"""
        SELECT s.month, s.code, coalesce(p.name, s.name) AS name, s.composite, {sub_columns}, s.rank
        FROM safety_index s LEFT JOIN wb_places p USING (code)
        WHERE s.month BETWEEN ? AND ? ORDER BY s.month, p.place_order, s.code""",
                        [first.year_before().key, last.key]).pl()
    return SheetData("history", frame, {"sub_index": subs})


INDICATOR_ROWS = """
    FROM indicator_values v LEFT JOIN wb_places p USING (code)
    LEFT JOIN wb_indicators d ON d.version = v.methodology_version AND d.indicator = v.indicator
    WHERE v.month BETWEEN ? AND ? {extra}
    ORDER BY v.month, p.place_order, v.code, d.position, v.indicator"""


def _indicator_sheet(con, first: Month, last: Month) -> SheetData:
    frame = con.execute(f"""
        SELECT v.month, v.code, coalesce(p.name, v.name) AS name, v.indicator, d.indicator_name, d.sub_index,
               d.unit_name AS unit, v.numerator, v.denominator, v.value, v.n, v.ci_low, v.ci_high, v.population,
               v.population_year, v.population_scale, v.flag, d.unit AS _unit
        {INDICATOR_ROWS.format(extra="")}""", [first.key, last.key]).pl()
    return SheetData("indicators", frame)


def _score_sheet(con, first: Month, last: Month) -> SheetData:
    frame = con.execute(f"""
        SELECT v.month, v.code, coalesce(p.name, v.name) AS name, v.indicator, d.indicator_name, d.sub_index,
               d.direction, d.goal_lo, d.goal_hi, d.weight, v.effective_weight, v.score, v.contribution_mom,
               d.unit AS _unit
        {INDICATOR_ROWS.format(extra="")}""", [first.key, last.key]).pl()
    return SheetData("scores", frame)


def _warning_sheet(con, first: Month, last: Month) -> SheetData:
    frame = con.execute(f"""
        SELECT v.month, v.code, coalesce(p.name, v.name) AS name, v.indicator, d.indicator_name, v.value, v.score,
               v.warning, d.unit AS _unit
        {INDICATOR_ROWS.format(extra="AND v.warning IS NOT NULL")}""", [first.key, last.key]).pl()
    return SheetData("warnings", frame)


def _extract_places_sql(extract_dir: Path | None, first: Month, last: Month) -> str:
    """Where each row read lies, from the extract files kept beside the warehouse (rejected rows included).

    A query over the files rather than a frame: a month's extracts hold a row for every row read, and
    DuckDB reads them as the joins need them instead of holding them all (1.4 GB at three times Nanjing)."""
    parts = []
    for source in SOURCES:
        for month in months_between(first, last):
            path = extract_dir / source / f"{month.key}.parquet" if extract_dir else None
            if path is not None and path.is_file():
                parts.append(f"SELECT {sql_text(source)} AS source, month, file_sha256, CAST(_row AS BIGINT) AS _row, "
                             f"district_code FROM read_parquet({sql_text(path.as_posix())})")
    return " UNION ALL ".join(parts) or ("SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS month, NULL::VARCHAR AS "
                                          "file_sha256, NULL::BIGINT AS _row, NULL::VARCHAR AS district_code WHERE false")


# The rows of the month's files, and where each lies: only an extract of the very file that was loaded
# places its rows; a rejected row with no place (district unresolved, or extract gone) has code NULL.
QUALITY_ROWS = """
    WITH log AS (
        SELECT source, month, file_sha256, rows_read, rows_loaded, rows_rejected,
               duplicates_dropped + reexports_dropped AS rows_dropped
        FROM ingest_log WHERE month BETWEEN $first AND $last
    ), places AS (
        SELECT e.source, e.month, e._row, e.district_code AS code
        FROM wb_extract e JOIN log l ON l.source = e.source AND l.month = e.month AND l.file_sha256 = e.file_sha256
    ), rejected AS (
        SELECT r.source, r.month, r."row", r.rule, p.code
        FROM rejects r SEMI JOIN log l ON l.source = r.source AND l.month = r.month
        LEFT JOIN places p ON p.source = r.source AND p.month = r.month AND p._row = r."row"
    )"""


def _quality_sheet(con, first: Month, last: Month, names: WorkbookNames, lang: Language, city: str) -> SheetData:
    """Rows read, loaded, rejected (by rule) and dropped per source and district, and the file's totals.

    A rejected row is placed by the district its extract row resolved to; a row whose district could not
    be resolved counts under 区划不明. Without the extract of a source-month, its districts' rows read and
    rejected are unknown (empty) and every rejected row of it counts under 区划不明.
    """
    if not _table_exists(con, "ingest_log") or not _table_exists(con, "rejects"):
        raise NothingToExport(_("the warehouse has no ingest records (tables ingest_log and rejects)"))
    loaded = " UNION ALL ".join(
        f"SELECT '{s}' AS source, month, district_code AS code, count(*) AS rows FROM valid_{s} "
        f"WHERE month BETWEEN $first AND $last GROUP BY ALL" for s in SOURCES if _table_exists(con, f"valid_{s}"))
    loaded = loaded or "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS month, NULL::VARCHAR AS code, 0 AS rows WHERE false"
    params = {"first": first.key, "last": last.key, "city": city}
    counts = con.execute(f"""{QUALITY_ROWS},
        placed AS (SELECT DISTINCT source, month FROM places),
        read AS (SELECT source, month, code, count(*) AS n FROM places GROUP BY ALL),
        loaded AS ({loaded}),
        rejected_rows AS (SELECT source, month, code, count(DISTINCT "row") AS n FROM rejected GROUP BY ALL),
        grid AS (
            SELECT l.source, l.month, g.code, pl.source IS NOT NULL AS placed
            FROM log l CROSS JOIN (SELECT code FROM wb_places WHERE code <> $city UNION ALL SELECT NULL) g
            LEFT JOIN placed pl ON pl.source = l.source AND pl.month = l.month
        ), districts AS (
            SELECT g.source, g.month, g.code, g.placed,
                   CASE WHEN g.placed THEN coalesce(rd.n, 0) END AS rows_read,
                   coalesce(ld.rows, 0)::BIGINT AS rows_loaded,
                   CASE WHEN g.placed OR g.code IS NULL THEN coalesce(rj.n, 0) END AS rows_rejected
            FROM grid g
            LEFT JOIN read rd ON rd.source = g.source AND rd.month = g.month AND rd.code IS NOT DISTINCT FROM g.code
            LEFT JOIN loaded ld ON ld.source = g.source AND ld.month = g.month AND ld.code IS NOT DISTINCT FROM g.code
            LEFT JOIN rejected_rows rj ON rj.source = g.source AND rj.month = g.month
                                      AND rj.code IS NOT DISTINCT FROM g.code
        ), rows AS (
            SELECT source, month, code, placed, rows_read, rows_loaded, rows_rejected,
                   rows_read - rows_loaded - rows_rejected AS rows_dropped
            FROM districts WHERE code IS NOT NULL OR rows_read > 0 OR rows_rejected > 0
            UNION ALL
            SELECT source, month, $city, true, rows_read, rows_loaded, rows_rejected, rows_dropped FROM log
        )
        SELECT q.month, s.source_name AS source, q.code, coalesce(p.name, $unknown) AS name, q.rows_read,
               q.rows_loaded, q.rows_rejected, q.rows_dropped,
               CASE WHEN q.rows_read > 0 THEN q.rows_rejected / q.rows_read END AS rejected_share,
               q.source AS _source, q.placed AS _placed
        FROM rows q LEFT JOIN wb_sources s USING (source) LEFT JOIN wb_places p USING (code)
        ORDER BY q.month, s.source_order, CASE WHEN q.code = $city THEN 2 WHEN q.code IS NULL THEN 1 ELSE 0 END,
                 q.code""", {**params, "unknown": names.unknown_district.of(lang)}).pl()
    by_rule = con.execute(f"""{QUALITY_ROWS}
        SELECT source, month, code, rule, count(DISTINCT "row") AS rows FROM rejected GROUP BY ALL
        UNION ALL
        SELECT source, month, $city, rule, count(DISTINCT "row") FROM rejected GROUP BY ALL""", params).pl()
    order = {rule: i for i, rule in enumerate(names.rules)}
    rules = sorted(set(by_rule["rule"].to_list()), key=lambda r: (order.get(r, len(order)), r))
    frame = counts
    if rules:
        wide = by_rule.pivot(on="rule", index=["source", "month", "code"], values="rows")
        wide = wide.select("source", "month", "code", *[pl.col(r).alias(f"rule:{r}") for r in rules])
        frame = frame.join(wide, left_on=["_source", "month", "code"], right_on=["source", "month", "code"],
                           how="left", nulls_equal=True, maintain_order="left")
        # No row of the place broke the rule: 0 where its rows are placed, unknown where the extract is gone.
        frame = frame.with_columns([pl.when(pl.col("_placed") | pl.col("code").is_null())
                                    .then(pl.col(f"rule:{r}").fill_null(0)).alias(f"rule:{r}") for r in rules])
    return SheetData("quality", frame.drop("_source", "_placed"), {"rule": {r: names.rule(r, lang) for r in rules}})


def sheets(con: duckdb.DuckDBPyConnection, first: Month, last: Month, methodologies: Callable[[str], Any],
           names: WorkbookNames, lang: Language, reference: Reference, extract_dir: Path | None) -> list[SheetData]:
    """Every sheet of the workbook of months first..last, in the order of the names file."""
    versions = _versions(con, first, last)
    con.register("wb_indicators", _indicator_rows(methodologies, versions, names, lang))
    con.register("wb_places", _places(reference, lang))
    con.register("wb_sources", _sources(lang))
    con.execute(f"CREATE OR REPLACE TEMP VIEW wb_extract AS {_extract_places_sql(extract_dir, first, last)}")
    try:
        subs = _sub_indices(methodologies, versions, lang)
        built = {
            "index": _index_sheet(con, first, last, subs),
            "indicators": _indicator_sheet(con, first, last),
            "scores": _score_sheet(con, first, last),
            "warnings": _warning_sheet(con, first, last),
            "quality": _quality_sheet(con, first, last, names, lang, reference.city_code),
            "history": _history_sheet(con, first, last, subs),
        }
    finally:
        for view in ("wb_indicators", "wb_places", "wb_sources"):
            con.unregister(view)
        con.execute("DROP VIEW IF EXISTS wb_extract")
    return [built[s.key] for s in names.sheets]
