"""The one-screen summary after a run, in words an analyst understands."""

from __future__ import annotations

from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from nsi.ingest.validate import RULE_MESSAGES
from nsi.sample.generate import months_between
from nsi.sample.sources import Month
from nsi.settings import warehouse_path
from pipelines.run import RunOutcome


def print_summary(console: Console, outcome: RunOutcome, first: Month, last: Month, root: Path) -> None:
    months = [m.key for m in months_between(first, last)]
    database = warehouse_path(root)
    if database.exists():
        con = duckdb.connect(str(database), read_only=True)
        try:
            rows = con.execute(
                "SELECT month, source, rows_read, rows_loaded, rows_rejected, duplicates_dropped + reexports_dropped, "
                "districts_covered FROM ingest_log WHERE month BETWEEN ? AND ? ORDER BY month, source",
                [months[0], months[-1]]).fetchall()
            rules = con.execute(
                "SELECT rule, count(DISTINCT (source, month, \"row\")) FROM rejects WHERE month BETWEEN ? AND ? "
                "GROUP BY rule ORDER BY 2 DESC", [months[0], months[-1]]).fetchall()
        finally:
            con.close()
        table = Table(title="rows per source", title_justify="left")
        for header in ("month", "source", "read", "loaded", "rejected", "dropped (dup/re-export)", "districts"):
            table.add_column(header, justify="right" if header not in ("month", "source") else "left")
        for row in rows:
            table.add_row(*[str(v) for v in row])
        console.print(table)
        if rules:
            console.print("rejected rows by reason (details: table `rejects`, with file, row and column):")
            for rule, count in rules:
                console.print(f"  {count:>7}  {rule}: {RULE_MESSAGES.get(rule, rule)}", highlight=False, soft_wrap=True)
    for failure in outcome.failures:
        console.print(f"FAILED {failure}", style="red", highlight=False, markup=False, soft_wrap=True)
    for check in outcome.failed_checks:
        console.print(f"check not passed: {check}", style="yellow", highlight=False, soft_wrap=True)
    verdict = "run succeeded" if outcome.success else "run FAILED (see above; the Dagster UI has the full log)"
    console.print(f"{verdict}; Dagster run id {outcome.run_id}", highlight=False, soft_wrap=True)
