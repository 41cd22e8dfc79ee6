"""The work folder of a month, work/<month>/: where the index and report stages put the month's outputs.

Nothing here is published; the publication stage takes the whole folder at once. Each file is written
under a temporary name and renamed, so a run killed mid-write never leaves half a file under its name.
"""

from __future__ import annotations

from pathlib import Path


def work_dir(root: Path, month: str) -> Path:
    return root / "work" / month


def write_output(root: Path, month: str, relative: str, data: bytes) -> Path:
    """work/<month>/<relative> with these bytes."""
    target = work_dir(root, month) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    partial.write_bytes(data)
    partial.replace(target)
    return target
