"""A machine's faults in one plain line: a full disk, a read-only or forbidden folder, a missing system
library. The same text is found in a live exception and in the message of a failed Dagster step, so
both the CLI and the run summary say what happened and what to do, not a traceback."""

from __future__ import annotations

import errno
import re
import tempfile
import traceback
from pathlib import Path

from nsi.messages import N_, _

_PATH = re.compile(r"""['"](/[^'"]+)['"]""")
# (pattern in the error text, what happened, what to do); {where} is the file or folder named, if any.
_KINDS = (
    (re.compile(r"No space left on device|database or disk is full|disk I/O error|Disk quota exceeded|"
                rf"\[Errno {errno.ENOSPC}\]|\[Errno {errno.EDQUOT}\]|could not write|Out of disk", re.I),
     N_("no space left on the disk{where}"), N_("free some space (or move $NSI_DATA_DIR to a larger disk) and run "
                                                "again: what was published before is intact, and the rerun gives the "
                                                "same results")),
    (re.compile(rf"Read-only file system|\[Errno {errno.EROFS}\]|read-only|readonly database", re.I),
     N_("the folder is read-only{where}"), N_("give the data folder ($NSI_DATA_DIR) write access, or point NSI_DATA_DIR "
                                              "at a writable one, and run again")),
    (re.compile(rf"Permission denied|\[Errno {errno.EACCES}\]|\[Errno {errno.EPERM}\]", re.I),
     N_("permission denied{where}"), N_("let the user running nsi write there (or set NSI_DATA_DIR to a folder it "
                                        "owns) and run again")),
    (re.compile(r"cannot load library '([^']+)'|lib\S+\.so[.\d]*: cannot open shared object file", re.I),
     N_("a system library is missing{where}"), N_("install the system packages with `bash scripts/setup.sh` and run "
                                                  "again")),
)


def environment_problem(error: BaseException | str) -> str | None:
    """One line for a fault of the machine, or None when the error is something else."""
    texts = _texts(error)
    for pattern, what, action in _KINDS:
        for text in texts:
            match = pattern.search(text)
            if match:
                library = match.group(1) if match.groups() and match.group(1) else None
                return _("{what}. What to do: {action}").format(what=_(what).format(where=_where(texts, library)),
                                                                 action=_(action))
    return None


def _texts(error: BaseException | str) -> list[str]:
    if isinstance(error, str):
        return [error]
    texts, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        texts.append(f"{type(error).__name__}: {error}")
        filename = getattr(error, "filename", None)
        if filename:
            texts.append(f"'{filename}'")
        error = error.__cause__ or error.__context__
    return texts


def _where(texts: list[str], library: str | None) -> str:
    if library:
        return f" ({library})"
    for text in texts:
        if found := _PATH.search(text):
            return f" ({found.group(1)})"
    return ""


def keep_traceback(error: BaseException) -> Path | None:
    """The full traceback, for whoever looks further, in the temporary folder (the data folder may be the
    full one); None when even that cannot be written."""
    try:
        handle = tempfile.NamedTemporaryFile("w", prefix="nsi-error-", suffix=".txt", delete=False, encoding="utf-8")
        with handle:
            handle.write("".join(traceback.format_exception(error)))
        return Path(handle.name)
    except OSError:
        return None
