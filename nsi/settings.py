"""Where things live. Everything hangs off one data directory, `NSI_DATA_DIR` (default ./data)."""

from __future__ import annotations

import os
from pathlib import Path

from nsi.sample.sources import Month


def data_dir() -> Path:
    return Path(os.environ.get("NSI_DATA_DIR", "data")).resolve()


def warehouse_path(root: Path | None = None) -> Path:
    return (root or data_dir()) / "warehouse" / "nsi.duckdb"


# Settings for a connection that may create the warehouse. DuckDB 1.5's storage format writes a
# month of 110 rows in about three quarters of the time of the 1.0 format it uses by default; readers need
# DuckDB 1.5 or newer, which the lock file pins. A warehouse made earlier keeps its format.
WAREHOUSE_CONFIG = {"storage_compatibility_version": "v1.5.0"}


class MonthError(ValueError):
    pass


def parse_month(text: str) -> Month:
    """'YYYY-MM' → Month, with a plain message for anything else."""
    parts = text.strip().split("-")
    if len(parts) != 2 or len(parts[0]) != 4 or len(parts[1]) != 2 or not (parts[0] + parts[1]).isdigit():
        raise MonthError(f"'{text}' is not a month; write it as YYYY-MM, e.g. 2024-03")
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        raise MonthError(f"'{text}': month {month} does not exist (01–12)")
    if not 2000 <= year <= 2100:
        raise MonthError(f"'{text}': year {year} is outside 2000–2100")
    return Month(year, month)
