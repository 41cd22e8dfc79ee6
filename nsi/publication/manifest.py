"""manifest.json of a month: what went in, what came out, and with which versions of everything."""

from __future__ import annotations

import hashlib
import json
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


def build(con: duckdb.DuckDBPyConnection, month: str, out_dir: Path, run_id: str) -> dict:
    """The manifest of the month's outputs in out_dir, from what the warehouse recorded when they were made."""
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
    outputs = sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != "manifest.json" and not p.name.startswith("."))
    return {
        "month": month,
        "methodology_version": methodology_version,
        "population_scale": population_scale(con, month),
        "inputs": [dict(zip(keys, row)) for row in inputs],
        "personal_data_key": personal_data_key([row[-1] for row in inputs]),
        "outputs": [{"path": p.relative_to(out_dir).as_posix(), "sha256": sha256_of(p), "bytes": p.stat().st_size}
                    for p in outputs],
        "incomplete_inputs": [{"source": s, "check": c, "detail": d} for s, c, d in incomplete_inputs(con, month)],
        "history": history(con, month),
        "code": code_version(),
        "dagster_run_id": run_id,
        "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write(manifest: dict, out_dir: Path) -> Path:
    target = out_dir / "manifest.json"
    partial = out_dir / ".manifest.json.part"
    partial.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    partial.replace(target)
    return target
