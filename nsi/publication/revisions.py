"""Revisions: a month's outputs appear all at once, and a published revision is never overwritten.

A run builds the month's files in work/<month>/. Publishing copies them into
published/<month>/rev-<N>/ (written under a temporary name, then renamed) and points the link
out/<month> at that revision with one atomic rename. A reader of out/<month> therefore sees the
previous revision or the new one, whole; a run killed at any moment leaves the previous revision
as it was. Results identical to the current revision publish nothing new; different results need
a reason and become revision N+1, the earlier ones kept.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from nsi.publication.work import work_dir

PUBLICATIONS_DDL = ("CREATE TABLE IF NOT EXISTS publications (month VARCHAR, revision INTEGER, status VARCHAR, "
                    "reason VARCHAR, run_id VARCHAR, recorded_at TIMESTAMP)")


class PublicationRefused(Exception):
    pass


@dataclass
class Publication:
    month: str
    revision: int
    status: str  # published | unchanged
    reason: str | None


def revisions_dir(root: Path, month: str) -> Path:
    return root / "published" / month


def current_revision(root: Path, month: str) -> int | None:
    link = root / "out" / month
    if not link.is_symlink():
        return None
    return int(Path(os.readlink(link)).name.removeprefix("rev-"))


def _outputs(manifest: dict) -> dict[str, str]:
    return {o["path"]: o["sha256"] for o in manifest["outputs"]}


def publish(root: Path, month: str, reason: str | None) -> Publication:
    """Publish work/<month> (which holds a manifest.json) as the month's current revision."""
    built = work_dir(root, month)
    manifest_path = built / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    current = current_revision(root, month)
    if current is not None:
        published = json.loads((revisions_dir(root, month) / f"rev-{current}" / "manifest.json").read_text(encoding="utf-8"))
        if _outputs(published) == _outputs(manifest):
            return Publication(month, current, "unchanged", None)
        if not reason:
            raise PublicationRefused(
                f"{month} is published as revision {current} and this run's results differ; nothing was changed. "
                f"To publish them as revision {current + 1}, run again with --reason \"…\" (the new files are in {built})")
    revision = (current or 0) + 1
    manifest.update(revision=revision, reason=reason or "first publication", previous_revision=current)
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    target = revisions_dir(root, month) / f"rev-{revision}"
    if target.exists():  # left by a run killed between the rename and the switch: not yet published
        shutil.rmtree(target)
    partial = target.with_name(f".rev-{revision}.part")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(built, partial)
    partial.rename(target)
    link = root / "out" / month
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists() and not link.is_symlink():
        raise PublicationRefused(f"{link} is a folder, not a link to a published revision; move it aside")
    temporary = link.with_name(f".{month}.link")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(Path("..") / "published" / month / f"rev-{revision}")
    os.replace(temporary, link)  # the switch: one rename
    return Publication(month, revision, "published", manifest["reason"])


def record(con: duckdb.DuckDBPyConnection, publication: Publication, run_id: str) -> None:
    """The outcome as a row of the warehouse table `publications`."""
    con.execute(PUBLICATIONS_DDL)
    con.execute("INSERT INTO publications VALUES (?, ?, ?, ?, ?, current_timestamp)",
                [publication.month, publication.revision, publication.status, publication.reason, run_id])
