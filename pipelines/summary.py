"""The one-screen summary after a run, in words an analyst understands."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from nsi import warehouse
from nsi.ingest.validate import rule_message
from nsi.messages import N_, _
from nsi.month import Month, months_between
from nsi.warehouse import database_path
from pipelines.run import RunOutcome


def print_summary(console: Console, outcome: RunOutcome, first: Month, last: Month, root: Path) -> None:
    months = [m.key for m in months_between(first, last)]
    database = database_path(root)
    if database.exists():
        try:
            # Another run may already be writing (this one has let go of the warehouse).
            con = warehouse.connect(database, read_only=True)
        except warehouse.WarehouseBusy:
            console.print(_("rows per source: not shown, another run is writing the warehouse (see `ingest_log`)"))
            return
        try:
            rows = con.execute(
                "SELECT month, source, rows_read, rows_loaded, rows_rejected, duplicates_dropped + reexports_dropped, "
                "districts_covered FROM ingest_log WHERE month BETWEEN ? AND ? ORDER BY month, source",
                [months[0], months[-1]]).fetchall()
            rules = con.execute(
                "SELECT rule, count(DISTINCT (source, month, \"row\")) FROM rejects WHERE month BETWEEN ? AND ? "
                "GROUP BY rule ORDER BY 2 DESC, rule", [months[0], months[-1]]).fetchall()
            unknown = con.execute(
                "SELECT month, source, \"column\", header, value, \"rows\", action, vocabulary FROM unknown_values "
                "WHERE month BETWEEN ? AND ? ORDER BY month, source, \"rows\" DESC, value",
                [months[0], months[-1]]).fetchall() if _has_table(con, "unknown_values") else []
            development = development_key_extracts(con, outcome.run_id)
        finally:
            con.close()
        table = Table(title=_("rows per source"), title_justify="left")
        for number, header in enumerate(ROWS_COLUMNS):
            table.add_column(_(header), justify="right" if number >= 2 else "left")
        for row in rows:
            table.add_row(*[str(v) for v in row])
        console.print(table)
        if rules:
            console.print(_("rejected rows by reason (details: table `rejects`, with file, row and column):"))
            for rule, count in rules:
                console.print(f"  {count:>7}  {rule}: {rule_message(rule)}", highlight=False, soft_wrap=True)
        print_unknown_values(console, unknown)
        print_development_key(console, development)
    for failure in outcome.failures:
        console.print(_("FAILED {failure}").format(failure=failure), style="red", highlight=False, markup=False,
                      soft_wrap=True)
    print_delivery_rows(console, delivery_rows(root, outcome.run_id))
    for check in outcome.failed_checks:
        console.print(_("check not passed: {check}").format(check=check), style="yellow", highlight=False, soft_wrap=True)
    verdict = (_("run succeeded; Dagster run id {run_id}") if outcome.success else
               _("run FAILED (see above; the Dagster UI has the full log); Dagster run id {run_id}"))
    console.print(verdict.format(run_id=outcome.run_id), highlight=False, soft_wrap=True)


ROWS_COLUMNS = (N_("month"), N_("source"), N_("read"), N_("loaded"), N_("rejected"), N_("dropped (dup/re-export)"),
                N_("districts"))
DELIVERY_COLUMNS = (N_("month"), N_("rev"), N_("code"), N_("office"), N_("addresses"), N_("status"), N_("attempts"))
# An unknown value's rows, by what the vocabulary says to do with them (extract_log's `action`).
UNKNOWN_VALUE_LINES = {
    "rejected": N_("{month} {source} {column} ({header}) '{value}' ×{count}: rows rejected; {vocabulary}.yaml"),
    "kept": N_("{month} {source} {column} ({header}) '{value}' ×{count}: rows kept as read; {vocabulary}.yaml"),
}


UNKNOWN_VALUES_SHOWN = 20


def development_key_extracts(con, run_id: str) -> list[tuple[str, str]]:
    """(month, source) of every export this run hashed with the development key."""
    has_column = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'extract_log' "
                             "AND column_name = 'personal_data_key'").fetchone()[0]
    if not has_column:
        return []
    return con.execute("SELECT month, source FROM extract_log WHERE run_id = ? AND personal_data_key = 'development' "
                       "ORDER BY month, source", [run_id]).fetchall()


def print_development_key(console: Console, extracts: list[tuple[str, str]]) -> None:
    if not extracts:
        return
    months: dict[str, list[str]] = {}
    for month, source in extracts:
        months.setdefault(month, []).append(source)
    which = "; ".join(f"{month} ({', '.join(sources)})" for month, sources in months.items())
    console.print(_("DEVELOPMENT KEY: personal data of {which} was hashed with the development key, because NSI_PII_KEY "
                    "is not set. Its hashes are not secret; set NSI_PII_KEY before loading real exports and re-run.")
                  .format(which=which), style="yellow", highlight=False, markup=False, soft_wrap=True)


def _has_table(con, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0] > 0


def print_unknown_values(console: Console, rows: list[tuple]) -> None:
    """Values the vocabularies do not know, by value and count: what to add, and to which file."""
    if not rows:
        return
    console.print(_("values not in the vocabulary (add them to data/vocabularies/<source>/v<N>.yaml; `nsi inspect FILE` "
                    "lists them per file):"), highlight=False, soft_wrap=True)
    for month, source, column, header, value, count, action, vocabulary in rows[:UNKNOWN_VALUES_SHOWN]:
        line = _(UNKNOWN_VALUE_LINES[action]).format(month=month, source=source, column=column, header=header,
                                                     value=value, count=count, vocabulary=vocabulary)
        console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if len(rows) > UNKNOWN_VALUES_SHOWN:
        console.print("  " + _("… and {count} more (table `unknown_values`)").format(count=len(rows) - UNKNOWN_VALUES_SHOWN),
                      highlight=False)


def print_delivery_plan(console: Console, root: Path, month: str, revision: int, planned: list, smtp) -> None:
    """`nsi deliver --dry-run`: who would receive which file; nothing is sent or recorded."""
    console.print(_("{month} revision {revision}: dry run, nothing is sent or recorded").format(
        month=month, revision=revision), highlight=False)
    for item in planned:
        line = (_("would send {code} {office} <{addresses}>: {file} sha256 {sha256} ({why})") if item.send else
                _("would skip {code} {office} <{addresses}>: {file} sha256 {sha256} ({why})"))
        console.print(line.format(code=item.office.code, office=item.office.name, addresses=", ".join(item.office.addresses),
                                  file=item.attachment.relative_to(root).as_posix(), sha256=item.sha256, why=item.why),
                      highlight=False, markup=False, soft_wrap=True)
    sending = sum(1 for item in planned if item.send)
    transport = (_("would deliver to {sending} of {offices} offices through SMTP {server}") if smtp else
                 _("would deliver to {sending} of {offices} offices through the outbox only (NSI_SMTP_HOST is not set)"))
    console.print(transport.format(sending=sending, offices=len(planned), server=smtp.describe() if smtp else ""),
                  highlight=False, soft_wrap=True)


def print_deliveries(console: Console, root: Path, outcome: RunOutcome, month: str | None = None) -> None:
    """The offices served by this run, and in plain words the ones that did not receive their briefing."""
    rows = delivery_rows(root, outcome.run_id)
    print_delivery_rows(console, rows)
    if not rows and month is not None and outcome.success:
        console.print(_("{month}: every office had already received the current revision; nothing sent "
                        "(--resend sends it again)").format(month=month), highlight=False, soft_wrap=True)
    if not any(row[5] == "failed" for row in rows):
        for failure in outcome.failures:
            console.print(_("FAILED {failure}").format(failure=failure), style="red", highlight=False, markup=False,
                          soft_wrap=True)
    verdict = (_("delivery succeeded; Dagster run id {run_id}") if outcome.success else
               _("delivery INCOMPLETE (see above); Dagster run id {run_id}"))
    console.print(verdict.format(run_id=outcome.run_id), highlight=False, soft_wrap=True)


def delivery_rows(root: Path, run_id: str) -> list[tuple]:
    database = database_path(root)
    if not database.exists():
        return []
    con = warehouse.connect(database, read_only=True)
    try:
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'deliveries'").fetchone()[0]
        if not exists:
            return []
        return con.execute(
            "SELECT month, revision, code, office, addresses, status, attempts, coalesce(error, '') "
            "FROM deliveries WHERE run_id = ? ORDER BY month, code", [run_id]).fetchall()
    finally:
        con.close()


def print_delivery_rows(console: Console, rows: list[tuple]) -> None:
    if not rows:
        return
    table = Table(title=_("deliveries of this run"), title_justify="left")
    for header in DELIVERY_COLUMNS:
        table.add_column(_(header), overflow="fold")
    for month, revision, code, office, addresses, status, attempts, _error in rows:
        table.add_row(month, str(revision), code, office, addresses, status, str(attempts))
    console.print(table)
    for month, _revision, code, office, _addresses, status, _attempts, error in rows:
        if status == "failed":
            console.print(_("NOT DELIVERED {month} {office} ({code}): {error}").format(
                month=month, office=office, code=code, error=error), style="red", highlight=False, markup=False,
                soft_wrap=True)
