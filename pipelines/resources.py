"""Resources, configured in one place: everything hangs off the data directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb


class NsiWarehouse(dg.ConfigurableResource):
    """The data directory ($NSI_DATA_DIR): raw/, archive/, warehouse/nsi.duckdb, out/."""

    data_dir: str

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def extract_dir(self) -> Path:
        return self.root / "warehouse" / "extract"

    @property
    def database(self) -> Path:
        return self.root / "warehouse" / "nsi.duckdb"

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.database.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.database))
        try:
            yield con
        finally:
            con.close()


def default_data_dir() -> str:
    # Reading the environment is not I/O; the directory is only touched when an asset runs.
    return os.environ.get("NSI_DATA_DIR", "data")
