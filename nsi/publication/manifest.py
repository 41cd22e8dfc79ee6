"""manifest.json of a month: what went in, what came out, and with which versions of everything.

Every computed month has one in its work folder (work/<month>/manifest.json), written by the stages
that make the month's outputs: the index stage (index.csv, index.xlsx) and the report stage (the
briefings). Publishing a month writes the manifest of all its outputs and publishes it with them
(revisions.py adds the revision and its link to the previous one). `nsi verify` rebuilds a month from
either: its inputs by sha256 in archive/, the versions it was computed with, the twelve months before
it, the sha256 of each output and the month's index values.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from nsi.month import Month
from nsi.reference import load_reference

REPO = Path(__file__).resolve().parent.parent.parent


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_version() -> dict:
    commit = "unknown"
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        if result.returncode == 0:
            commit = result.stdout.strip()
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                   capture_output=True, text=True, timeout=10).stdout.strip()
            if dirty:
                commit += "+uncommitted"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"git_commit": commit, "lock_file_sha256": sha256_of(REPO / "requirements.lock"),
            "reference_data_version": load_reference().version}


def population_scale(con: duckdb.DuckDBPyConnection, month: str) -> float:
    """The share of the population the month's exports stand for, as its index used it (1.0 for real exports)."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'indicator_values'").fetchone()[0]
    scale = con.execute("SELECT max(population_scale) FROM indicator_values WHERE month = ?",
                        [month]).fetchone()[0] if exists else None
    return 1.0 if scale is None else float(scale)


def history(con: duckdb.DuckDBPyConnection, month: str) -> list[dict]:
    """The twelve months before: their results feed this month's changes, warnings and repeat counts,
    so verify rebuilds them from exactly these archived inputs and methodology versions."""
    first = Month.parse(month).year_before().key
    rows = con.execute(
        "SELECT e.month, e.source, e.file_name, e.file_sha256, "
        "(SELECT any_value(methodology_version) FROM safety_index s WHERE s.month = e.month), "
        "coalesce(e.vocabulary, e.source || '/v1'), e.vocabulary_sha256 "
        "FROM extract_log e WHERE e.month >= ? AND e.month < ? ORDER BY e.month, e.source", [first, month]).fetchall()
    by_month: dict[str, dict] = {}
    for m, source, name, sha, version, vocabulary, vocabulary_sha in rows:
        entry = by_month.setdefault(m, {"month": m, "methodology_version": version, "population_scale": population_scale(con, m),
                                        "inputs": []})
        entry["inputs"].append({"source": source, "file_name": name, "sha256": sha, "vocabulary": vocabulary,
                                "vocabulary_sha256": vocabulary_sha})
    return list(by_month.values())


def _plain(value):
    """A warehouse value as JSON keeps it: floats exactly (repr round-trips), NaN and infinities as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def index_values(con: duckdb.DuckDBPyConnection, month: str) -> list[dict]:
    """The month's rows of `safety_index`, every column but the month, ordered by code: what verify
    compares a rebuild with, and what the delivery message says about a district."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'safety_index'").fetchone()[0]
    if not exists:
        return []
    rows = con.execute("SELECT * EXCLUDE (month) FROM safety_index WHERE month = ? ORDER BY code", [month])
    names = [d[0] for d in rows.description]
    return [{name: _plain(value) for name, value in zip(names, row)} for row in rows.fetchall()]


def early_warnings(con: duckdb.DuckDBPyConnection, month: str, indicator_names: dict[str, str]) -> list[dict]:
    """The month's early warnings (code, indicator, its Chinese name, text), as the briefings print them."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'indicator_values'").fetchone()[0]
    if not exists:
        return []
    rows = con.execute("SELECT code, indicator, warning FROM indicator_values WHERE month = ? AND warning IS NOT NULL "
                       "ORDER BY code, indicator", [month]).fetchall()
    return [{"code": code, "indicator": indicator, "name_zh": indicator_names.get(indicator), "warning": warning}
            for code, indicator, warning in rows]


def incomplete_inputs(con: duckdb.DuckDBPyConnection, month: str) -> list[tuple[str, str, str]]:
    """(source, check, detail) of every completeness check the month's exports failed."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'completeness'").fetchone()[0]
    if not exists:
        return []
    return con.execute('SELECT source, "check", detail FROM completeness WHERE month = ? AND NOT passed '
                       'ORDER BY source, "check"', [month]).fetchall()


def personal_data_key(keys: list[str]) -> str:
    """The month's key, from its inputs': "development" if any was hashed with the development key,
    "configured" if all were hashed with NSI_PII_KEY, "unknown" for inputs extracted before it was recorded."""
    if "development" in keys:
        return "development"
    return "configured" if keys and all(k == "configured" for k in keys) else "unknown"


def output_entry(folder: Path, relative: str) -> dict:
    path = folder / relative
    return {"path": relative, "sha256": sha256_of(path), "bytes": path.stat().st_size}


def build(con: duckdb.DuckDBPyConnection, month: str, out_dir: Path, run_id: str,
          outputs: list[str] | None = None, indicator_names: dict[str, str] | None = None) -> dict:
    """The manifest of the month's outputs in out_dir, from what the warehouse recorded when they were made.

    outputs: the files (relative to out_dir) the manifest covers; default every file in out_dir.
    indicator_names: indicator code → Chinese name (from the month's methodology), for the early warnings."""
    methodology_version = con.execute("SELECT any_value(methodology_version) FROM safety_index WHERE month = ?",
                                      [month]).fetchone()[0]
    inputs = con.execute(
        "SELECT e.source, e.file_name, e.file_sha256, e.file_bytes, e.encoding, i.rows_read, i.rows_loaded, "
        "i.rows_rejected, i.duplicates_dropped, i.reexports_dropped, coalesce(e.vocabulary, e.source || '/v1'), "
        "e.vocabulary_sha256, (SELECT coalesce(sum(u.rows), 0) FROM unknown_values u WHERE u.source = e.source "
        "AND u.month = e.month), coalesce(e.personal_data_key, 'unknown') FROM extract_log e "
        "JOIN ingest_log i USING (source, month) WHERE e.month = ? ORDER BY e.source", [month]).fetchall()
    keys = ["source", "file_name", "sha256", "bytes", "encoding", "rows_read", "rows_loaded", "rows_rejected",
            "duplicates_dropped", "reexports_dropped", "vocabulary", "vocabulary_sha256", "rows_with_unknown_values",
            "personal_data_key"]
    if outputs is None:
        outputs = [p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*")
                   if p.is_file() and p.name != "manifest.json" and not p.name.startswith(".")]
    return {
        "month": month,
        "methodology_version": methodology_version,
        "population_scale": population_scale(con, month),
        "inputs": [{**dict(zip(keys, row)), "archived_as": f"archive/{row[2]}"} for row in inputs],
        "personal_data_key": personal_data_key([row[-1] for row in inputs]),
        "outputs": [output_entry(out_dir, relative) for relative in sorted(outputs)],
        "index": index_values(con, month),
        "early_warnings": early_warnings(con, month, indicator_names or {}),
        "incomplete_inputs": [{"source": s, "check": c, "detail": d} for s, c, d in incomplete_inputs(con, month)],
        "history": history(con, month),
        "code": code_version(),
        "dagster_run_id": run_id,
        "computed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def record_computed(con: duckdb.DuckDBPyConnection, month: str, folder: Path, run_id: str, produced: list[str],
                    keep_earlier: bool, indicator_names: dict[str, str]) -> Path:
    """The work folder's manifest after a stage wrote `produced` into it.

    keep_earlier: keep the outputs the folder's manifest already lists (the briefings join the index
    files of the same computation); otherwise the manifest covers `produced` only, so files left by an
    earlier computation of the month are not taken for this one's."""
    earlier = []
    if keep_earlier and (folder / "manifest.json").exists():
        listed = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("outputs", [])
        earlier = [o["path"] for o in listed if o["path"] not in produced and (folder / o["path"]).exists()]
    return write(build(con, month, folder, run_id, outputs=[*earlier, *produced], indicator_names=indicator_names),
                 folder)


def write(manifest: dict, out_dir: Path) -> Path:
    target = out_dir / "manifest.json"
    partial = out_dir / ".manifest.json.part"
    partial.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    partial.replace(target)
    return target
