"""Index assets: indicator_values and safety_index of a month, in the warehouse; index.csv and index.xlsx
in the month's work folder (published with the briefings).

Thin: the SQL is in indicators.values, the arithmetic in indicators.engine and indicators.index.
"""

import dagster as dg
import polars as pl

from assets import stages
from assets.metadata_values import city_numbers, history_chart, history_months
from assets.metadata_values import index_table as index_metadata
from assets.partitions import monthly_partitions
from assets.per_month import MonthChecks, add_month_metadata, monthly_check
from assets.resources import NsiWarehouse, RunPins
from indicators.index import INDEX_SCHEMA, INDICATOR_SCHEMA, compute_month
from indicators.values import indicator_values
from nsi import warehouse as tables
from nsi.exports import SOURCES
from nsi.ingest import storage
from nsi.month import Month
from nsi.publication import index_table, manifest, work, workbook
from nsi.reference import CITY_CODE, load_reference

IN_RANGE = "scores_within_0_100"
RANKS = "ranks_are_a_permutation"
WEIGHTS = "weights_as_declared"
CONTRIBUTIONS = "contributions_sum_to_change"
TOLERANCE = 1e-6


def _previous(con, table: str, months: list[str], schema: dict) -> pl.DataFrame:
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[0]
    if not exists:
        return pl.DataFrame(schema=schema)
    marks = ", ".join("?" for _ in months)
    return con.execute(f"SELECT * FROM {table} WHERE month IN ({marks})", months).pl()


def _history(con, month: Month) -> pl.DataFrame:
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'indicator_values'").fetchone()[0]
    if not exists:
        return pl.DataFrame(schema={"month": pl.Utf8, "code": pl.Utf8, "indicator": pl.Utf8, "value": pl.Float64})
    return con.execute("SELECT month, code, indicator, value FROM indicator_values WHERE month < ? AND month >= ?",
                       [month.key, month.year_before().key]).pl()


def _city_composites(con, months: list[str]) -> dict[str, float | None]:
    marks = ", ".join("?" for _ in months)
    rows = con.execute(f"SELECT month, composite FROM safety_index WHERE code = ? AND month IN ({marks})",
                       [CITY_CODE, *months]).fetchall()
    return {month: composite for month, composite in rows}


def check_month(index: pl.DataFrame, indicators: pl.DataFrame, methodology) -> dict[str, list[str]]:
    """Problems per check; empty lists mean the month passes."""
    problems = {IN_RANGE: [], RANKS: [], WEIGHTS: [], CONTRIBUTIONS: []}
    for column in ["composite", *[s.code for s in methodology.sub_indices]]:
        bad = index.filter(pl.col(column).is_not_null() & ~pl.col(column).is_between(0, 100))
        problems[IN_RANGE] += [f"{r['code']} {column}={r[column]}" for r in bad.iter_rows(named=True)]
    ranks = sorted(index.filter(pl.col("code") != CITY_CODE)["rank"].drop_nulls().to_list())
    if ranks != [1 + sum(1 for r in ranks if r < x) for x in ranks] or len(ranks) != 11:
        problems[RANKS].append(f"ranks {ranks}")
    declared = {i.code: i.weight * methodology.sub_index_of(i.code).weight for i in methodology.indicators}
    for code, group in indicators.group_by("code"):
        weights = {r["indicator"]: r["effective_weight"] for r in group.iter_rows(named=True)}
        total = sum(w for w in weights.values() if w is not None)
        if abs(total - 1) > TOLERANCE:
            problems[WEIGHTS].append(f"{code[0]}: effective weights sum to {total:.6f}")
        if all(w is not None for w in weights.values()):
            off = [k for k, w in weights.items() if abs(w - declared[k]) > TOLERANCE]
            if off:
                problems[WEIGHTS].append(f"{code[0]}: {off} differ from the declared weights")
    contributions = indicators.group_by("code").agg(pl.col("contribution_mom").sum().alias("explained"))
    joined = index.join(contributions, on="code").filter(pl.col("change_mom").is_not_null())
    for r in joined.iter_rows(named=True):
        if abs(r["explained"] + r["reweighting_mom"] - r["change_mom"]) > TOLERANCE:
            problems[CONTRIBUTIONS].append(f"{r['code']}: {r['explained']:.6f} + {r['reweighting_mom']:.6f} ≠ {r['change_mom']:.6f}")
    return problems


@dg.multi_asset(
    specs=[
        dg.AssetSpec("indicator_values", group_name=stages.GROUP, tags=stages.tags("index"), deps=[f"valid_{s}" for s in SOURCES],
                     description=stages.description(
                         "index", "指标值：每区每项指标的数值、得分、权重、贡献",
                         "One row per (month, district or city, indicator): numerator, denominator, value, "
                         "population used, survey CI and sample size, normalised score, effective weight, "
                         "contribution to the change on last month, early warning."), kinds={"duckdb"}),
        dg.AssetSpec("safety_index", group_name=stages.GROUP, tags=stages.tags("index"), deps=["indicator_values"],
                     description=stages.description(
                         "index", "平安指数：综合指数、分指数、排名、环比同比",
                         "Composite 0–100 and the four sub-indices per district and the city, rank among the 11 "
                         "with its 5–95% interval, change on last month and last year; also "
                         "index.csv and index.xlsx (published with the briefings). Each month's materialization "
                         "shows the index as a table and the city's last 13 months as a chart; the Plots tab draws "
                         "city_composite and the city's sub-indices across the months."), kinds={"duckdb"}),
    ],
    check_specs=[
        monthly_check(IN_RANGE, "safety_index", blocking=True, description="composite and sub-indices in [0, 100]"),
        monthly_check(RANKS, "safety_index", blocking=True, description="ranks of the 11 districts are 1–11 (ties share)"),
        monthly_check(WEIGHTS, "safety_index", blocking=True, description="effective weights sum to 1 and equal the declared ones"),
        monthly_check(CONTRIBUTIONS, "safety_index", blocking=True, description="indicator contributions + re-weighting = change on last month"),
    ],
    partitions_def=monthly_partitions, backfill_policy=dg.BackfillPolicy.single_run(), can_subset=False,
)
def safety_index(context: dg.AssetExecutionContext, warehouse: NsiWarehouse, pins: RunPins):
    reference = load_reference()
    checks = MonthChecks(context)
    for key in context.partition_keys:  # in order: each month reads the one before
        month = Month.parse(key)
        method = pins.methodology(key)
        scale = pins.population_scale(warehouse.raw, month)
        if scale != 1.0:
            context.log.info(f"{key}: synthetic sample at scale {scale}; per-10k rates use {scale} × population")
        with warehouse.connect() as con:
            storage.ensure_tables(con)
            values = indicator_values(con, month, method, reference, scale)
            previous_months = [month.previous().key, month.year_before().key]
            result = compute_month(month, values, method, reference, _previous(con, "safety_index", previous_months, INDEX_SCHEMA(method)),
                                   _previous(con, "indicator_values", previous_months, INDICATOR_SCHEMA),
                                   _history(con, month))
            tables.ensure_table_for(con, "indicator_values", INDICATOR_SCHEMA)
            tables.ensure_table_for(con, "safety_index", INDEX_SCHEMA(method))
            tables.replace_months(con, [tables.MonthWrite("indicator_values", result.indicators, {"month": key}),
                                        tables.MonthWrite("safety_index", result.index, {"month": key})])
            analysts_workbook = workbook.build(con, month, month, {method.version: method}.__getitem__,
                                               extract_dir=warehouse.extract_dir, reference=reference)
        table = index_table.index_table(result.index, {s.code: s.name_zh for s in method.sub_indices})
        work.write_output(warehouse.root, key, "index.csv", index_table.csv_bytes(table))
        work.write_output(warehouse.root, key, "index.xlsx", analysts_workbook)
        with warehouse.connect() as con:  # every computed month has a manifest, published or not (nsi verify)
            manifest.record_computed(con, key, work.work_dir(warehouse.root, key), context.run.run_id,
                                     ["index.csv", "index.xlsx"], keep_earlier=False,
                                     indicator_names={i.code: i.name_zh for i in method.indicators})
        for check, found in check_month(result.index, result.indicators, method).items():
            checks.add(key, check, not found, asset_key="safety_index",
                       description=f"{key}: " + "; ".join(found[:10]) if found else None,
                       metadata={"problems": dg.MetadataValue.json(found[:50])})
        sub_index_names = {s.code: s.name_zh for s in method.sub_indices}
        months = history_months(month)
        with warehouse.connect() as con:
            composites = _city_composites(con, months)
        add_month_metadata(context, key, {
            "methodology_version": method.version, "rows": result.indicators.height,
            "early_warnings": result.indicators["warning"].is_not_null().sum()}, asset_key="indicator_values")
        add_month_metadata(context, key, {
            "methodology_version": method.version, **city_numbers(result.index, sub_index_names),
            "index": index_metadata(result.index, sub_index_names),
            "history": history_chart(months, composites)}, asset_key="safety_index")
    yield dg.MaterializeResult(asset_key="indicator_values")
    yield dg.MaterializeResult(asset_key="safety_index")
    yield from checks.results()
