"""Canonical records → the columns of one dialect (the tables are in `dialects.py`).

A translation keeps the records and their order; it changes headers, codes and values only, so a
month written in two dialects holds the same records. Its random choices (which calls the city centre
took, which rows leave a field blank, …) come from a generator seeded by the records' month, so the
rows of a month re-exported in the next month's file read as they did in their own month's file.
Timestamps stay typed here; the export's time format is applied later, with the other cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import polars as pl

from nsi.month import Month
from nsi.reference import Reference
from nsi.sample import dialects as d
from nsi.sample import people

DISTRICT_NAME = re.compile(r".+[区县]$")  # a district name, old or new, as opposed to a code or a label


def translate(dialect: d.Dialect, frame: pl.DataFrame, ref: Reference, rng: np.random.Generator,
              export_month: Month) -> pl.DataFrame:
    """The records as the dialect's columns (keyed by `Column.key`) and its carried helper values."""
    if dialect.name == d.NATIVE:
        return frame
    return TRANSLATIONS[dialect.name](frame, ref, rng, export_month)


def finish(dialect: d.Dialect, cells: dict[str, np.ndarray]) -> None:
    """What a dialect does to its cells after the defects are planted (they may have changed the cells)."""
    if dialect.name == "jiesu":
        _prefix_district_names(cells)


# ----------------------------------------------------------------------------------------- helpers
def _mapped(column: str, table: dict, otherwise: str | None = None) -> pl.Expr:
    """A recorded value through a dialect's table; blank stays blank. Without `otherwise`, a value the
    table lacks is an error, so a change to the simulated world cannot slip through untranslated."""
    table = {**table, "": ""}
    if otherwise is None:
        return pl.col(column).replace_strict(table)
    return pl.col(column).replace_strict(table, default=pl.lit(otherwise))


def _share(rng: np.random.Generator, n: int, share: float) -> pl.Series:
    return pl.Series(rng.random(n) < share)


def _street_base(name: str) -> str:
    """宁海路街道 → 宁海路, 竹镇镇 → 竹镇: the name without its suffix, as police stations are named."""
    for suffix in d.STREET_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _by_street(ref: Reference, label: Callable) -> pl.Expr:
    """A label of each row's true street, looked up by its code."""
    return pl.col("_street_code").replace_strict({code: label(s) for code, s in ref.streets.items()})


def _branch(ref: Reference, street) -> str:
    if street.jiangbei:
        return d.JIANGBEI_BRANCH
    return d.POLICE_BRANCH.format(short=ref.districts[street.district_code].short_zh)


def _station(street) -> str:
    return d.POLICE_STATION.format(street=_street_base(street.name))


def _as_datetime(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Datetime("ms"))


def _numbered(names: tuple[str, ...]) -> dict[str, str]:
    return {name: f"{i}.{name}" for i, name in enumerate(names, start=1)}


# ------------------------------------------------------------------------------------------ police
def _jcj(frame: pl.DataFrame, ref: Reference, rng: np.random.Generator, export_month: Month) -> pl.DataFrame:
    del rng, export_month  # every value follows from the record
    group = _mapped("subcategory", d.JCJ_GROUP)
    detail = pl.col("subcategory").replace(d.JCJ_SUBCATEGORY_RENAMED)
    return frame.select(
        "case_id", "report_time", "receive_time", "report_channel", "caller_name", "caller_phone",
        _by_street(ref, lambda s: _branch(ref, s)).alias("所属分局"),
        _by_street(ref, _station).alias("handling_unit"),
        "incident_address", "summary", "outcome",
        _mapped("category", d.JCJ_CATEGORY).alias("category"),
        group.alias("接警报警类型"),
        detail.alias("subcategory"),
        pl.lit("").alias("接警报警子类"),
        _mapped("feedback_category", d.JCJ_CATEGORY).alias("feedback_category"),
        group.alias("反馈报警类型"),
        detail.alias("反馈报警细类"),
        pl.lit("").alias("反馈报警子类"),
        "dispatch_time", "arrival_time",
        _mapped("is_valid", d.JCJ_INVALID_FLAG).alias("is_valid"),
        "longitude", "latitude",
    )


def _dump(frame: pl.DataFrame, ref: Reference, rng: np.random.Generator, export_month: Month) -> pl.DataFrame:
    del export_month
    n = frame.height
    city_centre = _share(rng, n, d.DUMP_CITY_CODE_SHARE)
    with_contact = _share(rng, n, d.DUMP_CONTACT_PHONE_SHARE)
    category = _mapped("feedback_category", d.DUMP_CATEGORY_CODE)  # the dump keeps the final classification only
    return frame.select(
        (pl.lit(d.DUMP_ID_PREFIX) + pl.col("case_id").str.slice(1)).alias("case_id"),
        "report_time", "receive_time",
        _mapped("report_channel", d.DUMP_CHANNEL_CODE).alias("report_channel"),
        "caller_phone",
        pl.when(pl.col("caller_name") == "").then(pl.lit(d.DUMP_ANONYMOUS)).otherwise("caller_name")
        .alias("caller_name"),
        pl.when(with_contact).then("caller_phone").otherwise(pl.lit("")).alias("LXDH"),
        "incident_address", "summary",
        pl.when(city_centre).then(pl.lit(d.DUMP_CITY_CODE)).otherwise("_district").alias("district"),
        pl.col("_street_code").alias("street"),
        _by_street(ref, lambda s: _branch(ref, s) + _station(s)).alias("handling_unit"),
        category.alias("category"),
        category.alias("JQLXDM"),  # level 2 is not modelled: the system repeats the category code
        _mapped("subcategory", d.DUMP_SUBCATEGORY_CODE).alias("subcategory"),
        pl.lit("").alias("JQZLDM"),
        _mapped("is_valid", d.DUMP_INVALID_FLAG).alias("is_valid"),
        "dispatch_time", "arrival_time",
        _mapped("outcome", d.DUMP_OUTCOME_CODE).alias("outcome"),
        "longitude", "latitude",
    )


# ----------------------------------------------------------------------------------------- hotline
def _jiesu(frame: pl.DataFrame, ref: Reference, rng: np.random.Generator, export_month: Month) -> pl.DataFrame:
    del ref, export_month
    shares = np.cumsum([share for share, _ in d.JIESU_DISTRICT_PREFIXES])
    pick = np.searchsorted(shares, rng.random(frame.height) * shares[-1])
    prefixes = np.array([prefix for _, prefix in d.JIESU_DISTRICT_PREFIXES], dtype=object)[pick]
    order = pl.col("order_id")
    return frame.select(
        (order.str.slice(0, 8) + order.str.slice(8).str.zfill(d.JIESU_ORDER_SEQUENCE_DIGITS)).alias("order_id"),
        "accepted_time", "channel",
        _mapped("request_type", d.JIESU_REQUEST_TYPE).alias("request_type"),
        "title", "content", "requester_name", "caller_phone", "id_number", "incident_address", "district", "street",
        _mapped("category_l1", _numbered(d.JIESU_CATEGORY_L1)).alias("category_l1"),
        _mapped("category_l2", _numbered(d.JIESU_CATEGORY_L2)).alias("category_l2"),
        _mapped("category_l3", _numbered(d.JIESU_CATEGORY_L3)).alias("category_l3"),
        "handling_unit", "dispatch_time", "due_time", "closed_time",
        _mapped("status", d.JIESU_STATUS).alias("status"),
        _mapped("on_time", d.JIESU_OVERDUE).alias("on_time"),
        "satisfaction",
        pl.col("is_repeat").replace_strict(d.JIESU_REPEATS).alias("is_repeat"),
        pl.Series("_district_prefix", prefixes.tolist(), dtype=pl.Utf8),
    )


def _prefix_district_names(cells: dict[str, np.ndarray]) -> None:
    """所属区域 reads 江苏省南京市玄武区, 南京市玄武区 or 玄武区; codes, short names and labels stay bare."""
    district, prefix = cells["district"], cells["_district_prefix"]
    for i, value in enumerate(district):
        if DISTRICT_NAME.match(str(value)):
            district[i] = f"{prefix[i]}{value}"


# ---------------------------------------------------------------------------------------- disputes
def _justice(frame: pl.DataFrame, ref: Reference, rng: np.random.Generator, export_month: Month) -> pl.DataFrame:
    del export_month
    n = frame.height
    named = _share(rng, n, d.JUSTICE_DISTRICT_SHARE)
    # Case numbers count within the district in the order the records were registered.
    seq = frame.select(pl.int_range(1, pl.len() + 1).over("_district"))[:, 0].to_list()
    years = frame["registered_date"].dt.year().to_list()
    shorts = [ref.districts[c].short_zh for c in frame["_district"].to_list()]
    case_numbers = [d.JUSTICE_CASE_NUMBER.format(year=y, short=s, seq=q) for y, s, q in zip(years, shorts, seq)]
    names = {c: d.JUSTICE_DISTRICT.format(name=ref.name(c)) for c in ref.district_codes}
    return frame.select(
        "dispute_id",
        pl.Series("案号", case_numbers, dtype=pl.Utf8),
        _by_street(ref, lambda s: d.JUSTICE_COMMITTEE.format(street=s.name)).alias("mediation_org"),
        pl.when(named).then(pl.col("_district").replace_strict(names)).otherwise(pl.lit("")).alias("district"),
        "mediator", "registered_date",
        _mapped("origin", d.JUSTICE_ORIGIN).alias("origin"),
        _mapped("dispute_type", d.JUSTICE_TYPE).alias("dispute_type"),
        _mapped("risk_level", d.JUSTICE_DIFFICULTY).alias("risk_level"),
        "summary", "people_involved", "amount_yuan", "closed_date",
        _mapped("result", d.JUSTICE_RESULT, d.JUSTICE_RESULT_OTHERWISE).alias("result"),
        _mapped("agreement_form", d.JUSTICE_AGREEMENT).alias("agreement_form"),
        "fulfilment",
        _mapped("satisfaction", d.JUSTICE_SATISFIED).alias("satisfaction"),
        "party_name", "party_id_number", "party_phone",
    )


def _grid(frame: pl.DataFrame, ref: Reference, rng: np.random.Generator, export_month: Month) -> pl.DataFrame:
    del ref, export_month
    n = frame.height
    blue = _share(rng, n, d.GRID_BLUE_SHARE)
    reporter = pl.Series(people.names(rng, n).tolist(), dtype=pl.Utf8)
    by_app = _share(rng, n, d.GRID_REPORTED_BY_APP_SHARE)
    handovers = pl.Series(rng.integers(0, 3, n))
    deadline = _as_datetime("registered_date") + pl.duration(days=d.GRID_DEADLINE_DAYS)
    late = (pl.col("closed_date") - pl.col("registered_date")).dt.total_days() > d.GRID_DEADLINE_DAYS
    risk = _mapped("risk_level", d.GRID_RISK)

    def flag(condition: pl.Expr) -> pl.Expr:
        return pl.when(condition).then(pl.lit("是")).otherwise(pl.lit("否"))

    return frame.select(
        "dispute_id",
        _as_datetime("registered_date").alias("registered_date"),
        "origin", "dispute_type",
        pl.when((pl.col("risk_level") == "黄") & blue).then(pl.lit(d.GRID_BLUE)).otherwise(risk).alias("risk_level"),
        "people_involved", "amount_yuan", "district", "street", "community", "grid", "mediation_org", "mediator",
        "party_name", "party_id_number", "party_phone", "party_address",
        _as_datetime("accepted_date").alias("accepted_date"),
        _as_datetime("closed_date").alias("closed_date"),
        _mapped("result", d.GRID_RESULT, d.GRID_RESULT_OTHERWISE).alias("result"),
        "summary",
        pl.when(pl.col("closed_date").is_null()).then(pl.lit("办理中")).otherwise(pl.lit("已办结")).alias("事件状态"),
        (pl.col("community") + pl.col("dispute_type")).alias("事件标题"),
        pl.lit("矛盾纠纷").alias("事件分类"),
        pl.lit("社区级").alias("事件层级"),
        reporter.alias("上报人"),
        pl.when(by_app).then(pl.lit("网格员APP")).otherwise(pl.lit("PC端")).alias("上报方式"),
        flag(pl.col("risk_level").is_in(["红", "橙"])).alias("是否重点"),
        flag(pl.col("people_involved") >= 8).alias("是否群体性事件"),
        pl.lit("否").alias("是否涉稳"),
        pl.lit("调解").alias("化解方式"),
        deadline.alias("办理时限"),
        flag(late.fill_null(False)).alias("是否超期"),
        pl.lit("无").alias("督办级别"),
        handovers.alias("流转次数"),
        pl.lit("").alias("备注"),
    )


# ------------------------------------------------------------------------------------------ survey
def _cati(frame: pl.DataFrame, ref: Reference, rng: np.random.Generator, export_month: Month) -> pl.DataFrame:
    del ref
    n = frame.height
    first, last = d.CATI_CALL_HOURS
    seconds = pl.Series(rng.integers(first * 3600, last * 3600, n) * 1000).cast(pl.Duration("ms"))
    second_call = _share(rng, n, d.CATI_SECOND_CALL_SHARE)
    bare = _share(rng, n, d.CATI_BARE_LANDLINE_SHARE)
    # The questionnaire of the export's month: odd months keep the 4-point scale.
    safety = pl.col("q_safety") if export_month.month % 2 else _mapped("q_safety", d.CATI_SAFETY_FIVE_POINT)
    phone = pl.col("phone")
    return frame.select(
        "sample_id",
        pl.when((pl.col("outcome") != "完成") & second_call).then(pl.col("wave") + pl.lit(d.CATI_SECOND_CALL))
        .otherwise("wave").alias("wave"),
        (_as_datetime("interview_date") + seconds).alias("interview_date"),
        pl.when(phone.str.starts_with("025-") & bare).then(phone.str.slice(4)).otherwise(phone).alias("phone"),
        _mapped("outcome", d.CATI_OUTCOME).alias("outcome"),
        "district", "street",
        _mapped("resident_1y", d.CATI_RESIDENT).alias("resident_1y"),
        _mapped("urban_rural", d.CATI_URBAN_RURAL).alias("urban_rural"),
        _mapped("age_group", d.CATI_AGE).alias("age_group"),
        "sex",
        safety.alias("q_safety"),
        _mapped("q_trend", d.CATI_TREND).alias("q_trend"),
        "q_problems", "q_satisfaction", "interviewer", "duration_s",
    )


TRANSLATIONS = {"jcj": _jcj, "dump": _dump, "jiesu": _jiesu, "justice": _justice, "grid": _grid, "cati": _cati}
