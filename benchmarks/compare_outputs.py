"""Whether two data directories hold the same outputs: the month's files byte for byte, the warehouse row for row.

Usage: python benchmarks/compare_outputs.py OLD_DATA_DIR NEW_DATA_DIR

Meant for the same raw exports run by two versions of the code (see BENCHMARKS.md, "Same outputs"): every
file under work/ (PDFs, CSVs, workbooks, manifests) is compared by sha256, and every warehouse table both
have by DuckDB EXCEPT ALL in both directions. What necessarily differs between two runs is left out and
listed: the Dagster run ids and the clock times a run records, the manifests' code version, run id and
time of computing. Exit 0 only if nothing else
differs.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import duckdb

# Columns that hold a run's identity or the clock, in any table.
RUN_COLUMNS = {"run_id", "loaded_at", "extracted_at", "started_at", "finished_at", "computed_at", "created_at",
               "recorded_at", "logged_at", "at", "timestamp", "duration_s", "seconds", "elapsed_s"}
# Top-level keys of a manifest written by the run rather than computed from the data (the code version
# is the commit, which differs by construction between two versions of the code).
MANIFEST_RUN_KEYS = {"code", "dagster_run_id", "computed_at"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def without_run(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k not in MANIFEST_RUN_KEYS}


def compare_files(old: Path, new: Path) -> list[str]:
    problems = []
    old_files = {p.relative_to(old).as_posix() for p in (old / "work").rglob("*") if p.is_file()}
    new_files = {p.relative_to(new).as_posix() for p in (new / "work").rglob("*") if p.is_file()}
    for name in sorted(old_files ^ new_files):
        problems.append(f"only in {'old' if name in old_files else 'new'}: {name}")
    same = 0
    for name in sorted(old_files & new_files):
        a, b = old / name, new / name
        if name.endswith("manifest.json"):
            equal = without_run(json.loads(a.read_text("utf-8"))) == without_run(json.loads(b.read_text("utf-8")))
        else:
            equal = sha256(a) == sha256(b)
        if equal:
            same += 1
        else:
            problems.append(f"differs: {name}")
    print(f"files: {same} identical of {len(old_files & new_files)} in both")
    return problems


def compare_tables(old: Path, new: Path) -> list[str]:
    problems = []
    con = duckdb.connect()
    con.execute(f"ATTACH '{old / 'warehouse/nsi.duckdb'}' AS old (READ_ONLY)")
    con.execute(f"ATTACH '{new / 'warehouse/nsi.duckdb'}' AS new (READ_ONLY)")

    def columns(db: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for table, column in con.execute(
                "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ? "
                "ORDER BY table_name, column_index", [db]).fetchall():
            found.setdefault(table, []).append(column)
        return found

    a, b = columns("old"), columns("new")
    for table in sorted(set(a) ^ set(b)):
        problems.append(f"table only in {'old' if table in a else 'new'}: {table}")
    for table in sorted(set(a) & set(b)):
        if a[table] != b[table]:
            problems.append(f"{table}: columns differ: {a[table]} vs {b[table]}")
            continue
        kept = ", ".join(f'"{c}"' for c in a[table] if c not in RUN_COLUMNS)
        rows = con.execute(f'SELECT count(*) FROM old."{table}"').fetchone()[0]
        extra = [con.execute(f'SELECT count(*) FROM (SELECT {kept} FROM {x}."{table}" EXCEPT ALL '
                             f'SELECT {kept} FROM {y}."{table}")').fetchone()[0] for x, y in (("old", "new"), ("new", "old"))]
        left_out = [c for c in a[table] if c in RUN_COLUMNS]
        print(f"table {table}: {rows} rows, {extra[0]} only in old, {extra[1]} only in new"
              + (f" (not compared: {', '.join(left_out)})" if left_out else ""))
        if any(extra):
            problems.append(f"{table}: {extra[0]} rows only in old, {extra[1]} only in new")
    return problems


def main(old: str, new: str) -> int:
    problems = compare_files(Path(old), Path(new)) + compare_tables(Path(old), Path(new))
    for problem in problems:
        print(f"DIFFERENT {problem}")
    print("verdict: identical" if not problems else f"verdict: {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
