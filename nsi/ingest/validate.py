"""Validate one month of one source: drop re-exports and duplicates by rule, reject what breaks a rule.

Rules, in order:
1. A row dated in the previous month is a re-export (exports overlap); it belongs to that month's
   partition and is dropped here, counted as `reexport`.
2. A row whose record ID appeared on an earlier row of the file is a duplicate; the first one is
   kept, later ones are dropped, counted as `duplicate`.
3. Every remaining row is checked against the source's pandera schema (types, allowed categories,
   ranges, cross-field rules, month inside the partition, known district). A row failing any check
   goes to rejects, with one line per failed check: file row, column, rule and the value.
Then rows_read = rows_loaded + rows_rejected + duplicates_dropped (re-exports included).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl

from nsi.exports import SPECS
from nsi.ingest.extract import Extracted
from nsi.month import Month

POLICE_CATEGORIES = ["刑事", "治安", "交通事故", "火灾", "治安灾害事故", "群众求助", "纠纷", "举报投诉", "其他", "无效警情"]
HOTLINE_TYPES = ["咨询", "求助", "投诉", "举报", "建议", "表扬", "其他"]
HOTLINE_STATUS = ["待派", "办理中", "已办结", "已回访", "退单", "延期", "重办"]
DISPUTE_TYPES = ["邻里纠纷", "婚姻家庭纠纷", "物业纠纷", "劳动争议", "损害赔偿纠纷", "合同纠纷", "消费纠纷",
                 "房屋宅基地纠纷", "交通事故纠纷", "医疗纠纷", "征地拆迁纠纷", "其他纠纷"]
DISPUTE_RISK = ["红", "橙", "黄", "重大", "较大", "一般"]
DISPUTE_RESULTS = ["调解成功", "调解不成功", "终止调解", "转诉讼", "转仲裁", "转信访", "在调"]
SURVEY_OUTCOMES = ["完成", "拒访", "空号", "停机", "关机", "无人接听", "接通后挂断", "限制呼入", "信息有误"]
# 4-point (安全/比较安全/不太安全/不安全) and the 5-point scale of older waves (很安全/安全/基本安全/…).
SURVEY_SAFETY = ["很安全", "安全", "基本安全", "比较安全", "不太安全", "不安全"]
SURVEY_SATISFACTION = ["满意", "比较满意", "基本满意", "不太满意", "不满意"]
# Nanjing's bounding box, with a margin.
LONGITUDE = (118.2, 119.4)
LATITUDE = (31.1, 32.8)


# Rule → what it means, for people reading rejects. pandera reports a custom check by its `error`
# text, so the rule name itself is used as that text.
RULE_MESSAGES = {
    "missing_value": "a required value is empty",
    "unparseable_time": "the date/time is in no known format or does not exist",
    "not_an_allowed_value": "the value is not one of the categories the source system uses",
    "out_of_range": "the number is outside its plausible range",
    "unknown_district": "the district is neither a Nanjing district nor a known old name or code",
    "district_missing": "no district and no street to place the row",
    "jiangbei_without_street": "江北新区 row without a street: it belongs to 浦口 or 六合 by street",
    "out_of_month": "the record is dated outside the month of the export",
    "arrival_before_dispatch": "到达现场时间 is before 派警时间",
    "dispatch_before_receipt": "派警时间 is before 接警时间",
    "closed_before_intake": "办结时间 is before 受理时间",
    "closed_before_registered": "办结日期 is before 登记日期",
    "complete_without_answer": "a completed interview has no answer to 安全感评价",
}


def _after(later: str, earlier: str, name: str) -> pa.Check:
    return pa.Check(
        lambda data: data.lazyframe.select(
            pl.col(later).is_null() | pl.col(earlier).is_null() | (pl.col(later) >= pl.col(earlier))
        ),
        name=name, error=name,
    )


def _completes_answer() -> pa.Check:
    return pa.Check(
        lambda data: data.lazyframe.select((pl.col("outcome") != "完成") | pl.col("q_safety").is_not_null()),
        name="complete_without_answer", error="complete_without_answer",
    )


def _in(values: list[str], nullable: bool = True) -> pa.Column:
    return pa.Column(pl.Utf8, pa.Check.isin(values), nullable=nullable)


def _timestamp(nullable: bool = False) -> pa.Column:
    return pa.Column(pl.Datetime("us"), nullable=nullable)


COMMON = {
    "district_code": pa.Column(pl.Utf8, nullable=False),
    "record_month": pa.Column(pl.Utf8, nullable=True),
}

SCHEMAS = {
    "police": pa.DataFrameSchema(
        {
            "case_id": pa.Column(pl.Utf8, nullable=False),
            "receive_time": _timestamp(),
            "report_time": _timestamp(nullable=True),
            "dispatch_time": _timestamp(nullable=True),
            "arrival_time": _timestamp(nullable=True),
            "category": _in(POLICE_CATEGORIES, nullable=False),
            "is_valid": _in(["是", "否"], nullable=False),
            "longitude": pa.Column(pl.Float64, pa.Check.in_range(*LONGITUDE), nullable=True),
            "latitude": pa.Column(pl.Float64, pa.Check.in_range(*LATITUDE), nullable=True),
            **COMMON,
        },
        checks=[
            _after("arrival_time", "dispatch_time", "arrival_before_dispatch"),
            _after("dispatch_time", "receive_time", "dispatch_before_receipt"),
        ],
    ),
    "hotline": pa.DataFrameSchema(
        {
            "order_id": pa.Column(pl.Utf8, nullable=False),
            "accepted_time": _timestamp(),
            "closed_time": _timestamp(nullable=True),
            "dispatch_time": _timestamp(nullable=True),
            "request_type": _in(HOTLINE_TYPES, nullable=False),
            "status": _in(HOTLINE_STATUS, nullable=False),
            "category_l1": pa.Column(pl.Utf8, nullable=False),
            "satisfaction": _in(["满意", "基本满意", "不满意"]),
            "on_time": _in(["是", "否"]),
            **COMMON,
        },
        checks=[_after("closed_time", "accepted_time", "closed_before_intake")],
    ),
    "disputes": pa.DataFrameSchema(
        {
            "dispute_id": pa.Column(pl.Utf8, nullable=False),
            "registered_date": _timestamp(),
            "closed_date": _timestamp(nullable=True),
            "dispute_type": _in(DISPUTE_TYPES, nullable=False),
            "risk_level": _in(DISPUTE_RISK, nullable=False),
            "result": _in(DISPUTE_RESULTS, nullable=False),
            "people_involved": pa.Column(pl.Float64, pa.Check.in_range(1, 10_000), nullable=True),
            "amount_yuan": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
            **COMMON,
        },
        checks=[_after("closed_date", "registered_date", "closed_before_registered")],
    ),
    "survey": pa.DataFrameSchema(
        {
            "sample_id": pa.Column(pl.Utf8, nullable=False),
            "interview_date": _timestamp(),
            "outcome": _in(SURVEY_OUTCOMES, nullable=False),
            "q_safety": _in(SURVEY_SAFETY),
            "q_satisfaction": _in(SURVEY_SATISFACTION),
            **COMMON,
        },
        checks=[_completes_answer()],
    ),
}
# Which column a frame-level check is about, for the rejects table.
CHECK_COLUMN = {
    "arrival_before_dispatch": "arrival_time", "dispatch_before_receipt": "dispatch_time",
    "closed_before_intake": "closed_time", "closed_before_registered": "closed_date",
    "complete_without_answer": "q_safety",
}
REJECT_COLUMNS = {"source": pl.Utf8, "month": pl.Utf8, "file_name": pl.Utf8, "file_sha256": pl.Utf8,
                  "row": pl.Int64, "column": pl.Utf8, "rule": pl.Utf8, "value": pl.Utf8}


@dataclass
class Validated:
    loaded: pl.DataFrame
    rejects: pl.DataFrame
    rows_read: int
    rows_rejected: int
    duplicates_dropped: int
    reexports_dropped: int
    rejected_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> int:
        return self.loaded.height

    @property
    def reconciles(self) -> bool:
        dropped = self.duplicates_dropped + self.reexports_dropped
        return self.rows_read == self.rows_loaded + self.rows_rejected + dropped

    def counts(self) -> ValidationCounts:
        """The figures without the rows: what a range run keeps of each month (a month of 110 rows is GBs)."""
        return ValidationCounts(self.rows_read, self.rows_loaded, self.rows_rejected, self.duplicates_dropped,
                                self.reexports_dropped, dict(self.rejected_by_rule), self.reconciles)


@dataclass(frozen=True)
class ValidationCounts:
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    duplicates_dropped: int
    reexports_dropped: int
    rejected_by_rule: dict[str, int]
    reconciles: bool


def _rule_name(check: str, column: str | None, row: dict, time_column: str) -> str:
    if check == "not_nullable":
        if column == "district_code":
            how = row.get("district_how")
            return {"jiangbei_without_street": "jiangbei_without_street", "blank": "district_missing"}.get(how, "unknown_district")
        text = row.get(f"{column}_text")
        return "unparseable_time" if text else "missing_value"
    if check.startswith("isin"):
        return "not_an_allowed_value"
    if check.startswith("in_range") or check.startswith("greater_than"):
        return "out_of_range"
    return check


def _value(row: dict, column: str | None) -> str | None:
    if column is None:
        return None
    for key in (f"{column}_text", column, "district_text" if column == "district_code" else None):
        if key and row.get(key) is not None:
            return str(row[key])[:120]
    return None


class WrongMonthError(ValueError):
    """Most rows of the file belong to another month: the wrong file was put in this month's place."""


def check_file_month(frame: pl.DataFrame, time_column: str, month: Month, file_name: str) -> None:
    months = frame.select(pl.col(time_column).dt.strftime("%Y-%m").alias("m")).drop_nulls()
    if months.height == 0:
        return
    top, count = months.group_by("m").len().sort("len", descending=True).row(0)
    if top != month.key and count > months.height / 2:
        raise WrongMonthError(
            f"{file_name}: {count} of {months.height} rows are dated {top}, not {month.key}. "
            f"This looks like the {top} export; put the {month.key} export in its place (or move this file to {top})"
        )


def validate(extracted: Extracted, month: Month, file_sha256: str) -> Validated:
    spec = SPECS[extracted.source]
    frame = extracted.frame
    time_column = spec.time_column
    check_file_month(frame, time_column, month, extracted.file_name)
    previous = month.previous().key
    frame = frame.with_columns(record_month=pl.col(time_column).dt.strftime("%Y-%m"))
    is_reexport = pl.col("record_month") == previous
    reexports = frame.filter(is_reexport.fill_null(False)).height
    frame = frame.filter(~is_reexport.fill_null(False))
    before = frame.height
    has_id = pl.col(spec.id_column).is_not_null()
    frame = frame.filter(~has_id | pl.col(spec.id_column).is_first_distinct())
    duplicates = before - frame.height

    schema = SCHEMAS[extracted.source]
    month_check = pa.Check(lambda data: data.lazyframe.select(
        pl.col("record_month").is_null() | (pl.col("record_month") == month.key)),
        name="out_of_month", error="out_of_month")
    failures = _failures(schema, month_check, frame)

    rows = frame.with_row_index("_index")
    reject_lines = []
    if failures.height:
        failing = rows.join(failures.select("index").unique(), left_on="_index", right_on="index", how="semi")
        by_index = {r["_index"]: r for r in failing.iter_rows(named=True)}
        for failure in failures.iter_rows(named=True):
            row = by_index[failure["index"]]
            column = failure["column"] or CHECK_COLUMN.get(failure["check"], time_column if failure["check"] == "out_of_month" else None)
            reject_lines.append({
                "source": extracted.source, "month": month.key, "file_name": extracted.file_name,
                "file_sha256": file_sha256, "row": row["_row"], "column": column,
                "rule": _rule_name(failure["check"], failure["column"], row, time_column),
                "value": _value(row, column),
            })
    rejects = pl.DataFrame(reject_lines, schema=REJECT_COLUMNS).unique(["row", "column", "rule"], maintain_order=True)
    rejected_rows = set(rejects["row"].to_list())
    loaded = frame.filter(~pl.col("_row").is_in(list(rejected_rows)))
    by_rule = dict(rejects.group_by("rule").agg(pl.col("row").n_unique()).sort("rule").iter_rows())
    return Validated(loaded, rejects.sort("row", "column"), extracted.rows_read, len(rejected_rows),
                     duplicates, reexports, by_rule)


def _failures(schema: pa.DataFrameSchema, month_check: pa.Check, frame: pl.DataFrame) -> pl.DataFrame:
    """pandera's failure cases as (index, column, check), or an empty frame."""
    # Every column a check reads is declared in the schema, so the schema's columns are enough.
    full = pa.DataFrameSchema(schema.columns, checks=[*schema.checks, month_check])
    try:
        full.validate(frame.select(list(schema.columns)), lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        return cases.select(pl.col("index").cast(pl.Int64), pl.col("column"), pl.col("check")).drop_nulls("index")
    return pl.DataFrame(schema={"index": pl.Int64, "column": pl.Utf8, "check": pl.Utf8})
