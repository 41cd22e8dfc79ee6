"""Validate one month of one source: drop re-exports and duplicates by rule, reject what breaks a rule.

Rules, in order:
1. A row dated in the previous month is a re-export (exports overlap); it belongs to that month's
   partition and is dropped here, counted as `reexport`.
2. A row whose record ID appeared on an earlier row of the file is a duplicate; the first one is
   kept, later ones are dropped, counted as `duplicate`.
3. Every remaining row is checked against the source's pandera schema (types, categories of the
   source's vocabulary, ranges, cross-field rules, month inside the partition, known district). A row
   failing any check goes to rejects, with one line per failed check: file row, column, rule and the
   value. A category value the vocabulary does not know is `unknown_value`, with the value as read.
Then rows_read = rows_loaded + rows_rejected + duplicates_dropped (re-exports included), for the
file and for each district (`by_district`: the district the row was placed in while it was read, or
none when it could not be placed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl

from nsi.ingest.extract import Extracted
from nsi.messages import N_, _
from nsi.month import Month
from nsi.vocabulary import Vocabulary

# Nanjing's bounding box, with a margin.
LONGITUDE = (118.2, 119.4)
LATITUDE = (31.1, 32.8)


# Rule → what it means, for people reading rejects: English message ids, shown in the language in use
# by `rule_message`. The warehouse keeps the rule (its `rejects.rule`), never the words. pandera
# reports a custom check by its `error` text, so the rule name itself is used as that text.
RULE_MESSAGES = {
    "missing_value": N_("a required value is empty"),
    "unparseable_time": N_("the date/time is in no known format or does not exist"),
    "not_an_allowed_value": N_("the value is not one of the categories the source system uses"),
    "unknown_value": N_("the value is not in the source's vocabulary (data/vocabularies/<source>/v<N>.yaml): add it there"),
    "city_only": N_("the row names only the city (南京市 / 320100) and no street, police branch, station or committee"),
    "undecodable_row": N_("the row has bytes that are not text in the file's encoding (stray bytes, another encoding): fix or re-enter that row"),
    "incomplete_last_line": N_("the file ends inside this row: the export was cut off; re-export the month"),
    "scientific_notation": N_("the record ID was turned into a number in scientific notation by a spreadsheet: re-export it as text"),
    "out_of_range": N_("the number is outside its plausible range"),
    "unknown_district": N_("the district is neither a Nanjing district nor a known old name or code"),
    "district_missing": N_("no district and no street to place the row"),
    "jiangbei_without_street": N_("江北新区 row without a street: it belongs to 浦口 or 六合 by street"),
    "out_of_month": N_("the record is dated outside the month of the export"),
    "arrival_before_dispatch": N_("到达现场时间 is before 派警时间"),
    "dispatch_before_receipt": N_("派警时间 is before 接警时间"),
    "closed_before_intake": N_("办结时间 is before 受理时间"),
    "closed_before_registered": N_("办结日期 is before 登记日期"),
    "complete_without_answer": N_("a completed interview has no answer to 安全感评价"),
}


def rule_message(rule: str) -> str:
    """What a rejection rule means, in the language in use (the rule itself when it has no meaning recorded)."""
    return _(RULE_MESSAGES[rule]) if rule in RULE_MESSAGES else rule


def _after(later: str, earlier: str, name: str) -> pa.Check:
    return pa.Check(
        lambda data: data.lazyframe.select(
            pl.col(later).is_null() | pl.col(earlier).is_null() | (pl.col(later) >= pl.col(earlier))
        ),
        name=name, error=name,
    )


def _completes_answer() -> pa.Check:
    return pa.Check(
        # An answer the vocabulary does not know is an answer: that row is an unknown_value, not this.
        lambda data: data.lazyframe.select((pl.col("outcome") != "完成") | pl.col("q_safety").is_not_null()
                                           | pl.col("q_safety_text").is_not_null()),
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


def schema_for(vocabulary: Vocabulary) -> pa.DataFrameSchema:
    """The source's rules; the categories each column may take are the vocabulary's canonical values."""
    def allowed(column: str, nullable: bool = True) -> pa.Column:
        return _in(vocabulary.canonical_values(column), nullable=nullable)

    schemas = {
        "police": lambda: pa.DataFrameSchema(
            {
                "case_id": pa.Column(pl.Utf8, nullable=False),
                "receive_time": _timestamp(),
                "report_time": _timestamp(nullable=True),
                "dispatch_time": _timestamp(nullable=True),
                "arrival_time": _timestamp(nullable=True),
                "category": allowed("category", nullable=False),
                "feedback_category": allowed("feedback_category"),
                "is_valid": allowed("is_valid", nullable=False),
                "longitude": pa.Column(pl.Float64, pa.Check.in_range(*LONGITUDE), nullable=True),
                "latitude": pa.Column(pl.Float64, pa.Check.in_range(*LATITUDE), nullable=True),
                **COMMON,
            },
            checks=[
                _after("arrival_time", "dispatch_time", "arrival_before_dispatch"),
                _after("dispatch_time", "receive_time", "dispatch_before_receipt"),
            ],
        ),
        "hotline": lambda: pa.DataFrameSchema(
            {
                "order_id": pa.Column(pl.Utf8, nullable=False),
                "accepted_time": _timestamp(),
                "closed_time": _timestamp(nullable=True),
                "dispatch_time": _timestamp(nullable=True),
                "request_type": allowed("request_type", nullable=False),
                "status": allowed("status", nullable=False),
                "category_l1": pa.Column(pl.Utf8, nullable=False),
                "satisfaction": allowed("satisfaction"),
                "on_time": allowed("on_time"),
                **COMMON,
            },
            checks=[_after("closed_time", "accepted_time", "closed_before_intake")],
        ),
        "disputes": lambda: pa.DataFrameSchema(
            {
                "dispute_id": pa.Column(pl.Utf8, nullable=False),
                "registered_date": _timestamp(),
                "closed_date": _timestamp(nullable=True),
                "dispute_type": allowed("dispute_type", nullable=False),
                "risk_level": allowed("risk_level", nullable=False),
                "result": allowed("result", nullable=False),
                "people_involved": pa.Column(pl.Float64, pa.Check.in_range(1, 10_000), nullable=True),
                "amount_yuan": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
                **COMMON,
            },
            checks=[_after("closed_date", "registered_date", "closed_before_registered")],
        ),
        "survey": lambda: pa.DataFrameSchema(
            {
                "sample_id": pa.Column(pl.Utf8, nullable=False),
                "interview_date": _timestamp(),
                "outcome": allowed("outcome", nullable=False),
                "q_safety": allowed("q_safety"),
                "q_safety_text": pa.Column(pl.Utf8, nullable=True),
                "q_satisfaction": allowed("q_satisfaction"),
                **COMMON,
            },
            checks=[_completes_answer()],
        ),
    }
    return schemas[vocabulary.source]()


# Which column a frame-level check is about, for the rejects table.
CHECK_COLUMN = {
    "arrival_before_dispatch": "arrival_time", "dispatch_before_receipt": "dispatch_time",
    "closed_before_intake": "closed_time", "closed_before_registered": "closed_date",
    "complete_without_answer": "q_safety",
}
FILE_COLUMN = "(file)"  # the column of a reject that is about the row's bytes, not one of its cells
# The counts of a month per district of the rows (district_code null: the row could not be placed).
DISTRICT_COUNTS = ("rows_read", "rows_loaded", "rows_rejected", "duplicates_dropped", "reexports_dropped")
DISTRICT_COUNT_COLUMNS = {"district_code": pl.Utf8, **{c: pl.Int64 for c in DISTRICT_COUNTS}}
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
    by_district: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DISTRICT_COUNT_COLUMNS))

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


def _rule_name(check: str, column: str | None, row: dict, moments: set[str]) -> str:
    if check == "not_nullable":
        if column == "district_code":
            how = row.get("district_how")
            return {"jiangbei_without_street": "jiangbei_without_street", "blank": "district_missing",
                    "city_only": "city_only"}.get(how, "unknown_district")
        if not row.get(f"{column}_text"):
            return "missing_value"
        return "unparseable_time" if column in moments else "unknown_value"
    if check.startswith("isin"):
        return "not_an_allowed_value"
    if check.startswith("in_range") or check.startswith("greater_than"):
        return "out_of_range"
    return check


def _value(row: dict, column: str | None) -> str | None:
    if column is None:
        return None
    if column == FILE_COLUMN:
        return str(row.get("_file_problem") or "").split("|", 1)[-1] or None
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
            _("{file}: {count} of {rows} rows are dated {found}, not {month}. This looks like the {found} export; put "
              "the {month} export in its place (or move this file to {found})").format(
                file=file_name, count=count, rows=months.height, found=top, month=month.key))


def _unknown_values(vocabulary: Vocabulary, frame: pl.DataFrame) -> pl.DataFrame:
    """Rows whose value in a mapped column the vocabulary does not know (and does not keep as read)."""
    parts = []
    for column in vocabulary.columns:
        if not (column.mapped and column.unknown == "reject" and f"{column.name}_text" in frame.columns):
            continue
        unknown = pl.col(column.name).is_null() & pl.col(f"{column.name}_text").is_not_null()
        index = frame.select(pl.int_range(pl.len(), dtype=pl.Int64).filter(unknown).alias("index"))
        parts.append(index.with_columns(column=pl.lit(column.name), check=pl.lit("unknown_value")))
    return pl.concat(parts) if parts else pl.DataFrame(schema={"index": pl.Int64, "column": pl.Utf8, "check": pl.Utf8})


def _unreadable_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows the reader could not take as written (their bytes, or a cut at the end of the file)."""
    if "_file_problem" not in frame.columns:
        return pl.DataFrame(schema={"index": pl.Int64, "column": pl.Utf8, "check": pl.Utf8})
    return frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("index"), pl.lit(FILE_COLUMN).alias("column"),
        pl.col("_file_problem").str.split_exact("|", 1).struct.field("field_0").alias("check"),
    ).filter(pl.col("check").is_not_null())


def _scientific_ids(vocabulary: Vocabulary, frame: pl.DataFrame) -> pl.DataFrame:
    """IDs such as 2.02403E+15: a spreadsheet made a number of a long ID and lost its last digits."""
    mangled = pl.col(vocabulary.id_column).str.contains(r"^\d(?:\.\d+)?[eE]\+?\d+$").fill_null(False)
    index = frame.select(pl.int_range(pl.len(), dtype=pl.Int64).filter(mangled).alias("index"))
    return index.with_columns(column=pl.lit(vocabulary.id_column), check=pl.lit("scientific_notation"))


def validate(extracted: Extracted, vocabulary: Vocabulary, month: Month, file_sha256: str) -> Validated:
    frame = extracted.frame
    spec = vocabulary
    time_column = spec.time_column
    check_file_month(frame, time_column, month, extracted.file_name)
    previous = month.previous().key
    frame = frame.with_columns(record_month=pl.col(time_column).dt.strftime("%Y-%m"))
    read = frame
    is_reexport = pl.col("record_month") == previous
    reexports = frame.filter(is_reexport.fill_null(False)).height
    frame = frame.filter(~is_reexport.fill_null(False))
    before = frame.height
    has_id = pl.col(spec.id_column).is_not_null()
    frame = frame.filter(~has_id | pl.col(spec.id_column).is_first_distinct())
    duplicates = before - frame.height

    schema = schema_for(vocabulary)
    month_check = pa.Check(lambda data: data.lazyframe.select(
        pl.col("record_month").is_null() | (pl.col("record_month") == month.key)),
        name="out_of_month", error="out_of_month")
    failures = pl.concat([_failures(schema, month_check, frame), _unknown_values(vocabulary, frame),
                          _scientific_ids(vocabulary, frame), _unreadable_rows(frame)])

    moments = {c.name for c in vocabulary.columns if c.kind in ("datetime", "date")}
    rows = frame.with_row_index("_index")
    reject_lines = []
    if failures.height:
        failing = rows.join(failures.select("index").unique(), left_on="_index", right_on="index", how="semi")
        by_index = {r["_index"]: r for r in failing.iter_rows(named=True)}
        for failure in failures.iter_rows(named=True):
            row = by_index[failure["index"]]
            column = failure["column"] or CHECK_COLUMN.get(failure["check"], time_column if failure["check"] == "out_of_month" else None)
            rule = _rule_name(failure["check"], failure["column"], row, moments)
            reject_lines.append({
                "source": extracted.source, "month": month.key, "file_name": extracted.file_name,
                "file_sha256": file_sha256, "row": row["_row"], "column": column, "rule": rule,
                "value": _value(row, column),
            })
    rejects = pl.DataFrame(reject_lines, schema=REJECT_COLUMNS).unique(["row", "column", "rule"], maintain_order=True)
    rejected_rows = set(rejects["row"].to_list())
    loaded = frame.filter(~pl.col("_row").is_in(list(rejected_rows)))
    by_rule = dict(rejects.group_by("rule").agg(pl.col("row").n_unique()).sort("rule").iter_rows())
    by_district = _district_counts(read, is_reexport, frame["_row"], rejects["row"])
    return Validated(loaded, rejects.sort("row", "column"), extracted.rows_read, len(rejected_rows),
                     duplicates, reexports, by_rule, by_district)


def _district_counts(read: pl.DataFrame, is_reexport: pl.Expr, kept: pl.Series, rejected: pl.Series) -> pl.DataFrame:
    """What became of the rows read, per district: loaded, rejected, dropped as duplicate or as re-export."""
    fate = (pl.when(is_reexport.fill_null(False)).then(pl.lit("reexports_dropped"))
            .when(~pl.col("_row").is_in(kept.implode())).then(pl.lit("duplicates_dropped"))
            .when(pl.col("_row").is_in(rejected.implode())).then(pl.lit("rows_rejected"))
            .otherwise(pl.lit("rows_loaded")))
    counts = read.select("district_code", fate.alias("fate")).group_by("district_code", "fate").len()
    rows = []
    for (district,), group in counts.group_by(["district_code"]):
        by_fate = dict(group.select("fate", "len").iter_rows())
        row = {"district_code": district, **{c: int(by_fate.get(c, 0)) for c in DISTRICT_COUNTS[1:]}}
        rows.append({**row, "rows_read": sum(row[c] for c in DISTRICT_COUNTS[1:])})
    return pl.DataFrame(rows, schema=DISTRICT_COUNT_COLUMNS).sort("district_code", nulls_last=True)


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
