"""Where things live. Everything hangs off one data directory, `NSI_DATA_DIR` (default ./data)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("NSI_DATA_DIR", "data")).resolve()


def warehouse_path(root: Path | None = None) -> Path:
    return (root or data_dir()) / "warehouse" / "nsi.duckdb"


# Settings for a connection that may create the warehouse. DuckDB 1.5's storage format writes a
# month of 110 rows in about three quarters of the time of the 1.0 format it uses by default; readers need
# DuckDB 1.5 or newer, which the lock file pins. A warehouse made earlier keeps its format.
WAREHOUSE_CONFIG = {"storage_compatibility_version": "v1.5.0"}
