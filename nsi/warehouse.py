"""Opening the warehouse file. DuckDB lets one process write it or several read it, never both at once,
so an open that meets the other kind waits a while before it gives up."""

from __future__ import annotations

from pathlib import Path

import duckdb
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

WAIT_SECONDS = 30


class WarehouseBusy(RuntimeError):
    pass


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
        raise WarehouseBusy(f"the warehouse {path} is held by another program for over {wait_seconds:.0f} s "
                            f"({exc})") from exc
