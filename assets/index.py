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
from indicators import bridging
from indicators.index import INDEX_SCHEMA, INDICATOR_SCHEMA, compute_month
from indicators.uncertainty import DRAWS_SCHEMA, UNCERTAINTY_SCHEMA
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


def _city_composites(con, months: list[str]) -> dict[str, float | None]:
    marks = ", ".join("?" for _ in months)
    rows = con.execute(f"SELECT month, composite FROM safety_index WHERE code = ? AND month IN ({marks})",
                       [CITY_CODE, *months]).fetchall()
    return {month: composite for month, composite in rows}


def declared_weights(methodology, present: set[str]) -> dict[str, float]:
    """Each indicator's weight in the composite when only `present` have a value: the declared weights
    renormalised among the present siblings at every level (the `reweight` rule), an aggregate with less
    than min_weight_present of its weight present left out under `withhold`."""
    rule = methodology.missing
    subs = {}
    for sub in methodology.sub_indices:
        here = [i for i in sub.indicators if i.code in present]
        share = sum(i.weight for i in here) / sum(i.weight for i in sub.indicators)
        if here and not (rule.rule == "withhold" and share < rule.min_weight_present):
            subs[sub.code] = (sub.weight, {i.code: i.weight / sum(j.weight for j in here) for i in here})
    total = sum(weight for weight, _ in subs.values())
    if subs and rule.rule == "withhold" and total / sum(s.weight for s in methodology.sub_indices) < rule.min_weight_present:
        return {}
    return {code: weight / total * inner for weight, local in subs.values() for code, inner in local.items()}


def check_month(index: pl.DataFrame, indicators: pl.DataFrame, methodology) -> dict[str, list[str]]:
    """Problems per check; empty lists mean the month passes."""
    problems = {IN_RANGE: [], RANKS: [], WEIGHTS: [], CONTRIBUTIONS: []}
    for column in ["composite", *[s.code for s in methodology.sub_indices]]:
        bad = index.filter(pl.col(column).is_not_null() & ~pl.col(column).is_between(0, 100))
        problems[IN_RANGE] += [f"{r['code']} {column}={r[column]}" for r in bad.iter_rows(named=True)]
    districts = index.filter(pl.col("code") != CITY_CODE)
    # Ranked: the districts with every sub-index; they rank among themselves, the others have no rank.
    subs = [s.code for s in methodology.sub_indices]
    complete = districts.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in ["composite", *subs]))
    ranks = sorted(complete["rank"].drop_nulls().to_list())
    if ranks != [1 + sum(1 for r in ranks if r < x) for x in ranks] or len(ranks) != complete.height:
        problems[RANKS].append(f"ranks {ranks}")
    if districts.height != 11:
        problems[RANKS].append(f"{districts.height} districts")
    stray = districts.join(complete.select("code"), on="code", how="anti").filter(pl.col("rank").is_not_null())
    problems[RANKS] += [f"{r['code']}: ranked with a whole sub-index missing" for r in stray.iter_rows(named=True)]
    for code, group in indicators.group_by("code"):
        weights = {r["indicator"]: r["effective_weight"] or 0.0 for r in group.iter_rows(named=True)}
        present = {r["indicator"] for r in group.iter_rows(named=True) if r["score"] is not None}
        expected = declared_weights(methodology, present)
        total = sum(weights.values())
        if expected and abs(total - 1) > TOLERANCE:
            problems[WEIGHTS].append(f"{code[0]}: effective weights sum to {total:.6f}")
        off = sorted(k for k, w in weights.items() if abs(w - expected.get(k, 0.0)) > TOLERANCE)
        if off:
            problems[WEIGHTS].append(f"{code[0]}: {off} differ from the declared weights renormalised among "
                                     f"the indicators present")
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
                         "with its 5–95% interval, change on last month and last year (last month and last year "
                         "recomputed under this month's methodology when computed under another); also the month's "
                         "Monte Carlo in index_uncertainty and monte_carlo_draws, and "
                         "index.csv and index.xlsx (published with the briefings). Each month's materialization "
                         "shows the index as a table and the city's last 13 months as a chart; the Plots tab draws "
                         "city_composite and the city's sub-indices across the months."), kinds={"duckdb"}),
    ],
    check_specs=[
        monthly_check(IN_RANGE, "safety_index", blocking=True, description="composite and sub-indices in [0, 100]"),
        monthly_check(RANKS, "safety_index", blocking=True,
                      description="ranks of the districts with every sub-index are 1…n (ties share); the others have none"),
        monthly_check(WEIGHTS, "safety_index", blocking=True,
                      description="effective weights sum to 1 and equal the declared ones renormalised among the indicators present"),
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
            recompute = bridging.Recomputation(con, method, reference, lambda m: pins.population_scale(warehouse.raw, m))
            compared = bridging.comparison(con, month, method, recompute)
            result = compute_month(month, values, method, reference, compared.index, compared.indicators,
                                   compared.history, compared.recomputed)
            for table, schema in [("indicator_values", INDICATOR_SCHEMA), ("safety_index", INDEX_SCHEMA(method)),
                                  ("index_uncertainty", UNCERTAINTY_SCHEMA), ("monte_carlo_draws", DRAWS_SCHEMA),
                                  (bridging.RECOMPUTED, bridging.RECOMPUTED_SCHEMA)]:
                tables.ensure_table_for(con, table, schema)
            tables.replace_months(con, [tables.MonthWrite("indicator_values", result.indicators, {"month": key}),
                                        tables.MonthWrite("safety_index", result.index, {"month": key}),
                                        tables.MonthWrite("index_uncertainty", result.uncertainty, {"month": key}),
                                        tables.MonthWrite("monte_carlo_draws", result.draws, {"month": key}),
                                        *bridging.invalidations(month)])
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
