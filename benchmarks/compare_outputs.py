"""Do two data directories hold the same outputs? For showing that a change of code keeps them byte-identical.

Usage: python benchmarks/compare_outputs.py DATA_DIR_A DATA_DIR_B

Both directories ran `nsi run` on the same raw/ (e.g. a copy of one `nsi sample`). Compared:
every file under work/ and out/ by sha256 (PDFs, index.csv, workbooks), a manifest.json without what
names the run (its id, time and the code's commit); every table of warehouse/nsi.duckdb both ways with
EXCEPT ALL (the run's id and time left out), and its rows in stored order, by a hash over the rows in
rowid order. Exit status 1 when anything differs.

The stored order of the loaded rows (valid_<source>) is shown but not held against either side: DuckDB
loads a month of more than one batch with both threads, a row group of the extract each, and which
thread's rows go first varies from run to run of the same code (it did before batching too). Nothing
reads those tables in stored order (every indicator is a count, a share or a median), and keeping the
file's order would add a sort to every load (the 110 file's insert: 2.6 s instead of 1.1 s at full scale).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import duckdb

RUN_COLUMNS = {"run_id", "recorded_at"}  # differ by construction between two runs
RUN_KEYS = {"dagster_run_id", "computed_at", "git_commit", "run_id"}  # the same in a manifest


def _without_run(value):
    if isinstance(value, dict):
        return {k: _without_run(v) for k, v in value.items() if k not in RUN_KEYS}
    if isinstance(value, list):
        return [_without_run(v) for v in value]
    return value


def _digest(path: Path) -> str:
    data = path.read_bytes()
    if path.name == "manifest.json":
        data = json.dumps(_without_run(json.loads(data)), sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _digest(p)
            for folder in ("work", "out") for p in sorted((root / folder).rglob("*")) if p.is_file()}


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[str]]:
    rows = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ? "
                       "ORDER BY table_name, column_index", [schema]).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def main() -> int:
    a, b = Path(sys.argv[1]), Path(sys.argv[2])
    differences = 0
    files_a, files_b = _files(a), _files(b)
    for name in sorted(files_a.keys() | files_b.keys()):
        if files_a.get(name) != files_b.get(name):
            differences += 1
            print(f"file differs: {name}")
    print(f"files compared: {len(files_a.keys() | files_b.keys())}")
    con = duckdb.connect()
    con.execute(f"ATTACH '{a / 'warehouse/nsi.duckdb'}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b / 'warehouse/nsi.duckdb'}' AS b (READ_ONLY)")
    tables_a, tables_b = _tables(con, "a"), _tables(con, "b")
    for table in sorted(tables_a.keys() | tables_b.keys()):
        if tables_a.get(table) != tables_b.get(table):
            differences += 1
            print(f"table layout differs: {table}")
            continue
        listed = ", ".join(f'"{c}"' for c in tables_a[table] if c not in RUN_COLUMNS)
        only = [con.execute(f'SELECT count(*) FROM (SELECT {listed} FROM {x}."{table}" EXCEPT ALL '
                            f'SELECT {listed} FROM {y}."{table}")').fetchone()[0] for x, y in (("a", "b"), ("b", "a"))]
        order = [con.execute(f'SELECT md5(coalesce(string_agg(CAST(row({listed}) AS VARCHAR), chr(10) ORDER BY rowid), \'\')) '
                             f'FROM {x}."{table}"').fetchone()[0] for x in ("a", "b")]
        rows = con.execute(f'SELECT count(*) FROM a."{table}"').fetchone()[0]
        same = only == [0, 0]
        unordered = table.startswith("valid_")
        said = "same" if order[0] == order[1] else "differs (parallel insert, not counted)" if unordered else "differs"
        print(f"{table:24} {rows:>9} rows  only in A {only[0]:>6}  only in B {only[1]:>6}  stored order {said}")
        differences += (not same) + (order[0] != order[1] and not unordered)
    print("identical" if not differences else f"{differences} difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
