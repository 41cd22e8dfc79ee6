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

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl

from nsi.ingest import storage
from nsi.ingest.extract import Extracted
from nsi.messages import N_, _
from nsi.month import Month
from nsi.vocabulary import Vocabulary
from nsi.warehouse import sql_text

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
    rejects: pl.DataFrame
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    duplicates_dropped: int
    reexports_dropped: int
    rejected_by_rule: dict[str, int] = field(default_factory=dict)
    by_district: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DISTRICT_COUNT_COLUMNS))
    excluded: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=EXCLUDED_COLUMNS))  # rows not loaded
    districts_covered: list[str] = field(default_factory=list)
    days_covered: int = 0  # calendar days with at least one loaded record
    loaded: pl.DataFrame | None = None  # the loaded rows, from `validate` only (the load reads them from the extract)

    @property
    def reconciles(self) -> bool:
        dropped = self.duplicates_dropped + self.reexports_dropped
        return self.rows_read == self.rows_loaded + self.rows_rejected + dropped

    def counts(self) -> ValidationCounts:
        """The figures without the rows: what a range run keeps of each month."""
        return ValidationCounts(self.rows_read, self.rows_loaded, self.rows_rejected, self.duplicates_dropped,
                                self.reexports_dropped, dict(self.rejected_by_rule), self.reconciles)


EXCLUDED_COLUMNS = {"_row": pl.Int64, "fate": pl.Utf8}


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


def _month_error(file_name: str, month: Month, top: str, count: int, rows: int) -> WrongMonthError:
    return WrongMonthError(
        _("{file}: {count} of {rows} rows are dated {found}, not {month}. This looks like the {found} export; put "
          "the {month} export in its place (or move this file to {found})").format(
            file=file_name, count=count, rows=rows, found=top, month=month.key))


def check_file_month(con: duckdb.DuckDBPyConnection, extract: str, time_column: str, month: Month, file_name: str) -> None:
    """Raises WrongMonthError when most dated rows belong to another month."""
    found = con.execute(f"""
        SELECT strftime("{time_column}", '%Y-%m') AS m, count(*) AS n, sum(count(*)) OVER () AS rows
        FROM read_parquet({extract}) WHERE "{time_column}" IS NOT NULL GROUP BY m ORDER BY n DESC LIMIT 1""").fetchone()
    if found is None:
        return
    top, count, rows = found
    if top != month.key and count > rows / 2:
        raise _month_error(file_name, month, top, count, int(rows))


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


def _dropped(con: duckdb.DuckDBPyConnection, extract: str, vocabulary: Vocabulary, month: Month) -> pl.DataFrame:
    """Rows dropped before the rules: re-exports of the previous month, then later rows of a record ID
    (the first one, in the file's order, is kept). Over the whole file, so in DuckDB."""
    time, record = f'"{vocabulary.time_column}"', f'"{vocabulary.id_column}"'
    previous = sql_text(month.previous().key)
    return con.execute(f"""
        WITH rows AS (SELECT _row, {record} AS record, strftime({time}, '%Y-%m') AS record_month FROM {extract})
        SELECT _row, 'reexports_dropped' AS fate FROM rows WHERE record_month = {previous}
        UNION ALL
        SELECT _row, 'duplicates_dropped' FROM rows
        WHERE record IS NOT NULL AND record_month IS DISTINCT FROM {previous}
        QUALIFY row_number() OVER (PARTITION BY record ORDER BY _row) > 1
        ORDER BY _row""").pl().cast(EXCLUDED_COLUMNS)


def _reject_lines(frame: pl.DataFrame, vocabulary: Vocabulary, month: Month, file_name: str, file_sha256: str) -> pl.DataFrame:
    """The rows of one batch that break a rule: one line per failed rule."""
    time_column = vocabulary.time_column
    schema = schema_for(vocabulary)
    month_check = pa.Check(lambda data: data.lazyframe.select(
        pl.col("record_month").is_null() | (pl.col("record_month") == month.key)),
        name="out_of_month", error="out_of_month")
    failures = pl.concat([_failures(schema, month_check, frame), _unknown_values(vocabulary, frame),
                          _scientific_ids(vocabulary, frame), _unreadable_rows(frame)])
    moments = {c.name for c in vocabulary.columns if c.kind in ("datetime", "date")}
    reject_lines = []
    if failures.height:
        rows = frame.with_row_index("_index")
        failing = rows.join(failures.select("index").unique(), left_on="_index", right_on="index", how="semi")
        by_index = {r["_index"]: r for r in failing.iter_rows(named=True)}
        for failure in failures.iter_rows(named=True):
            row = by_index[failure["index"]]
            column = failure["column"] or CHECK_COLUMN.get(failure["check"], time_column if failure["check"] == "out_of_month" else None)
            rule = _rule_name(failure["check"], failure["column"], row, moments)
            reject_lines.append({
                "source": vocabulary.source, "month": month.key, "file_name": file_name,
                "file_sha256": file_sha256, "row": row["_row"], "column": column, "rule": rule,
                "value": _value(row, column),
            })
    return pl.DataFrame(reject_lines, schema=REJECT_COLUMNS).unique(["row", "column", "rule"], maintain_order=True)


def validate_extract(con: duckdb.DuckDBPyConnection, path: Path, vocabulary: Vocabulary, month: Month, file_name: str,
                     file_sha256: str, rows_read: int) -> Validated:
    """Validate the month's extract file: the rules a row group at a time, what spans rows in DuckDB.

    Raises WrongMonthError when most rows belong to another month."""
    extract = f"read_parquet({sql_text(path.as_posix())})"
    check_file_month(con, sql_text(path.as_posix()), vocabulary.time_column, month, file_name)
    dropped = _dropped(con, extract, vocabulary, month)
    parts = []
    for batch in storage.extract_row_groups(path):
        batch = batch.drop("month", "file_sha256").filter(~pl.col("_row").is_in(dropped["_row"].implode()))
        batch = batch.with_columns(record_month=pl.col(vocabulary.time_column).dt.strftime("%Y-%m"))
        parts.append(_reject_lines(batch, vocabulary, month, file_name, file_sha256))
    rejects = pl.concat(parts) if parts else pl.DataFrame(schema=REJECT_COLUMNS)
    rejected = rejects.select(pl.col("row").unique().sort().alias("_row"), fate=pl.lit("rows_rejected"))
    excluded = pl.concat([dropped, rejected]).sort("_row")
    by_rule = dict(rejects.group_by("rule").agg(pl.col("row").n_unique()).sort("rule").iter_rows())
    reexports = dropped.filter(pl.col("fate") == "reexports_dropped").height
    duplicates = dropped.height - reexports
    con.register("excluded_rows", excluded)
    try:
        by_district = _district_counts(con, extract)
        days, covered = con.execute(f"""
            SELECT count(DISTINCT CAST("{vocabulary.time_column}" AS DATE)), list(DISTINCT district_code ORDER BY district_code)
            FILTER (WHERE district_code IS NOT NULL) FROM {extract} ANTI JOIN excluded_rows USING (_row)""").fetchone()
    finally:
        con.unregister("excluded_rows")
    return Validated(rejects.sort("row", "column"), rows_read, rows_read - excluded.height, rejected.height, duplicates,
                     reexports, by_rule, by_district, excluded, list(covered or []), int(days))


def loaded_rows_sql(path: Path, columns: list[str]) -> str:
    """The extract's rows that load (all but `excluded_rows`, registered by the caller). DuckDB reads the
    row groups in parallel: the rows are not stored in the file's order (docs/ingest.md)."""
    listed = ", ".join(f'"{c}"' for c in columns)
    return f"SELECT {listed} FROM read_parquet({sql_text(path.as_posix())}) ANTI JOIN excluded_rows USING (_row)"


def validate(extracted: Extracted, vocabulary: Vocabulary, month: Month, file_sha256: str) -> Validated:
    """Validate an extract held in memory (`extract`), by the same steps as the month's extract file: for
    looking at a file. `loaded` holds the rows that load."""
    with tempfile.TemporaryDirectory(prefix="nsi-validate-") as scratch:
        path = storage.write_extract(Path(scratch), vocabulary, month.key,
                                     storage.with_keys(extracted.frame, month.key, file_sha256))
        con = duckdb.connect()
        try:
            validated = validate_extract(con, path, vocabulary, month, extracted.file_name, file_sha256,
                                         extracted.rows_read)
        finally:
            con.close()
    validated.loaded = extracted.frame.filter(~pl.col("_row").is_in(validated.excluded["_row"].implode()))
    return validated


def _district_counts(con: duckdb.DuckDBPyConnection, extract: str) -> pl.DataFrame:
    """What became of the rows read, per district: loaded, rejected, dropped as duplicate or as re-export."""
    counts = con.execute(f"""
        SELECT district_code, coalesce(x.fate, 'rows_loaded') AS fate, count(*) AS n
        FROM {extract} LEFT JOIN excluded_rows x USING (_row) GROUP BY ALL""").pl()
    rows = []
    for (district,), group in counts.group_by(["district_code"]):
        by_fate = dict(group.select("fate", "n").iter_rows())
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
