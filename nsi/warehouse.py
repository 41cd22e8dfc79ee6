"""The warehouse file: opening it, and replacing one month of a table.

DuckDB lets one process write the file or several read it, never both at once, so an open that meets
the other kind waits a while before it gives up. A month is replaced inside one transaction, after
checking that the table still has the layout this version writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from nsi.messages import _

WAIT_SECONDS = 30
# Settings for a connection that may create the warehouse. DuckDB 1.5's storage format writes a
# month of 110 rows in about three quarters of the time of the 1.0 format it uses by default; readers need
# DuckDB 1.5 or newer, which the lock file pins. A warehouse made earlier keeps its format.
WAREHOUSE_CONFIG = {"storage_compatibility_version": "v1.5.0"}


def sql_text(value: str) -> str:
    """A string as an SQL literal (for what DuckDB takes no parameter for, such as a file in read_parquet)."""
    return "'" + value.replace("'", "''") + "'"


def database_path(root: Path) -> Path:
    """The warehouse file of a data directory."""
    return root / "warehouse" / "nsi.duckdb"


class WarehouseBusy(RuntimeError):
    pass


def writer_lock_path(root: Path) -> Path:
    """The file a run holds while it writes the warehouse; it names the run (assets.resources.NsiWarehouse)."""
    return Path(root).resolve() / "warehouse" / ".writer.lock"


def is_lock_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def connect(path: Path, *, read_only: bool = False, config: dict | None = None,
            wait_seconds: float = WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    try:
        return Retrying(retry=retry_if_exception(is_lock_conflict), wait=wait_fixed(0.5),
                        stop=stop_after_delay(wait_seconds), reraise=True,
                        )(duckdb.connect, str(path), read_only=read_only, config=config or {})
    except duckdb.IOException as exc:
        if not is_lock_conflict(exc):
            raise
        raise WarehouseBusy(_("the warehouse {path} is held by another program for over {seconds:.0f} s ({problem})")
                            .format(path=path, seconds=wait_seconds, problem=exc)) from exc


class WarehouseLayoutError(RuntimeError):
    pass


def ensure_table(con: duckdb.DuckDBPyConnection, table: str, layout: list[tuple[str, str]]) -> None:
    existing = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    if not existing:
        body = ", ".join(f'"{n}" {t}' for n, t in layout)
        con.execute(f'CREATE TABLE "{table}" ({body})')
        return
    if [n for n, _kind in existing] != [n for n, _kind in layout]:
        raise WarehouseLayoutError(
            f"table {table} in the warehouse has columns {[n for n, _kind in existing]}, this version writes "
            f"{[n for n, _kind in layout]}; move the old warehouse aside (or migrate it) before loading"
        )


POLARS_SQL = {pl.Utf8: "VARCHAR", pl.Float64: "DOUBLE", pl.Int64: "BIGINT", pl.Boolean: "BOOLEAN"}


def ensure_table_for(con: duckdb.DuckDBPyConnection, table: str, schema: dict) -> None:
    """A table whose layout is a declared polars schema (same rule: refuse a changed layout)."""
    ensure_table(con, table, [(name, POLARS_SQL[dtype]) for name, dtype in schema.items()])


@dataclass
class MonthWrite:
    """One table's rows for one month (and source, for shared tables)."""

    table: str
    frame: pl.DataFrame | None
    where: dict[str, str]
    # Instead of a frame: a query whose rows are inserted, columns named as the table's (rows that DuckDB
    # reads from a file need not pass through Python).
    select: str | None = None


# DuckDB's row-group size. Each slice of the incoming rows becomes one Arrow batch, and DuckDB
# compresses and writes batches on all threads (still in order); one batch of a month is one thread.
INSERT_BATCH_ROWS = 122_880


def replace_months(con: duckdb.DuckDBPyConnection, writes: list[MonthWrite]) -> None:
    """Delete each slice and insert its rows, all in one transaction: all or nothing."""
    con.execute("BEGIN TRANSACTION")
    try:
        for write in writes:
            condition = " AND ".join(f'"{k}" = ?' for k in write.where)
            con.execute(f'DELETE FROM "{write.table}" WHERE {condition}', list(write.where.values()))
            if write.select is not None:
                columns = ", ".join(f'"{r[0]}"' for r in con.execute(f'DESCRIBE "{write.table}"').fetchall())
                con.execute(f'INSERT INTO "{write.table}" ({columns}) SELECT {columns} FROM ({write.select})')
            elif write.frame.height:
                columns = [r[0] for r in con.execute(f'DESCRIBE "{write.table}"').fetchall()]
                batches = pl.concat(write.frame.select(columns).iter_slices(INSERT_BATCH_ROWS), rechunk=False)
                con.register("incoming_rows", batches)
                con.execute(f'INSERT INTO "{write.table}" SELECT * FROM incoming_rows')
                con.unregister("incoming_rows")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
