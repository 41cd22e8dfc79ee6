"""Revisions: a month's outputs appear all at once, and a published revision is never overwritten.

A run builds the month's files in work/<month>/. Publishing copies them into
published/<month>/rev-<N>/ (written under a temporary name, then renamed) and points the link
out/<month> at that revision with one atomic rename. A reader of out/<month> therefore sees the
previous revision or the new one, whole; a run killed at any moment leaves the previous revision
as it was. Results identical to the current revision publish nothing new; different results need
a reason and become revision N+1, the earlier ones kept.

A revision after the first is a correction and says so: its manifest carries `correction` (its
number, the revision it replaces, the date and the reason), and the caller's `mark` puts the same on
the briefings (every page says 更正版). The link between revisions points back: each manifest names
its `previous_revision` and the sha256 of that revision's manifest.json as it stood when it was
replaced (a superseded revision's manifest no longer changes: deliveries go to the current one), so
the chain from the current revision back to the first can be checked without trusting any of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from nsi.messages import _
from nsi.publication.manifest import sha256_of
from nsi.publication.work import work_dir

SHANGHAI = ZoneInfo("Asia/Shanghai")

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
    """path → sha256 of each output as the run built it: a correction's marked briefings by their unmarked bytes,
    so a rerun of a corrected month with the same results is recognised as unchanged."""
    return {o["path"]: o.get("unmarked_sha256", o["sha256"]) for o in manifest["outputs"]}


# What a correction mark gets: the manifest's `correction`; what it gives: path → bytes of each marked output.
Mark = Callable[[dict], dict[str, bytes]]


def correction_of(revision: int, previous: int, reason: str, on: datetime) -> dict:
    return {"revision": revision, "previous_revision": previous, "date": on.astimezone(SHANGHAI).date().isoformat(),
            "reason": reason}


def publish(root: Path, month: str, reason: str | None, mark: Mark | None = None,
            now: Callable[[], datetime] = lambda: datetime.now(SHANGHAI)) -> Publication:
    """Publish work/<month> (which holds a manifest.json) as the month's current revision.

    mark: makes the briefings of a correction (a revision after the first) carry its mark; their
    manifest entries keep the unmarked sha256 beside the published one."""
    built = work_dir(root, month)
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    current = current_revision(root, month)
    previous_manifest = None
    if current is not None:
        previous_manifest = revisions_dir(root, month) / f"rev-{current}" / "manifest.json"
        published = json.loads(previous_manifest.read_text(encoding="utf-8"))
        if _outputs(published) == _outputs(manifest):
            return Publication(month, current, "unchanged", None)
        if not reason:
            raise PublicationRefused(
                _("{month} is published as revision {current} and this run's results differ; nothing was changed. "
                  "To publish them as revision {next}, run again with --reason \"…\" (the new files are in {built})")
                .format(month=month, current=current, next=current + 1, built=built))
    revision = (current or 0) + 1
    at = now()
    manifest.update(revision=revision, reason=reason or "first publication", previous_revision=current,
                    previous_manifest_sha256=sha256_of(previous_manifest) if previous_manifest else None,
                    published_at=at.isoformat(timespec="seconds"))
    target = revisions_dir(root, month) / f"rev-{revision}"
    if target.exists():  # left by a run killed between the rename and the switch: not yet published
        shutil.rmtree(target)
    partial = target.with_name(f".rev-{revision}.part")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(built, partial)
    if current is not None:
        manifest["correction"] = correction_of(revision, current, reason, at)
        marked = mark(manifest["correction"]) if mark else {}
        for entry in manifest["outputs"]:
            if entry["path"] in marked:
                data = marked[entry["path"]]
                (partial / entry["path"]).write_bytes(data)
                entry.update(unmarked_sha256=entry["sha256"], sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    (partial / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    partial.rename(target)
    link = root / "out" / month
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists() and not link.is_symlink():
        raise PublicationRefused(_("{link} is a folder, not a link to a published revision; move it aside").format(link=link))
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
