"""The resources the assets use. They are configured in one place, `pipelines/definitions.py`, from the
settings (nsi.settings); a rebuild by `nsi verify` configures its own (a scratch data directory, pins).

The settings themselves are a resource too (`settings`, the validated `nsi.settings.Settings` of the
command): the assets take the key of the keyed hash and the mail server from it, so secrets never
appear as configuration in the UI.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from indicators import methodology as methodologies
from nsi import vocabulary as vocabularies
from nsi import warehouse as warehouse_connection
from nsi.messages import _
from nsi.month import Month
from nsi.scale import declared_scale
from nsi.settings import Settings
from nsi.warehouse import WAREHOUSE_CONFIG, database_path


class NsiWarehouse(dg.ConfigurableResource):
    """The data directory ($NSI_DATA_DIR): raw/, archive/, warehouse/nsi.duckdb, out/."""

    data_dir: str
    # How long a run waits for another run that holds the warehouse before it gives up.
    lock_wait_seconds: float = 1800.0
    _lock: object = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """One writer at a time, whoever starts the run (CLI, UI, schedule, sensor).

        DuckDB allows one writing process per file; a second run waits here for the whole of the
        first, so their writes never interleave, and gives up with a plain message if it waits too long.
        """
        lock_path = warehouse_connection.writer_lock_path(self.root)
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")
        started = time.monotonic()
        warned = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another run"
                if time.monotonic() - started > self.lock_wait_seconds:
                    handle.close()
                    raise dg.Failure(description=_(
                        "the warehouse {path} is in use by {holder}; waited {seconds:.0f} s. "
                        "Run again when that run has finished (see the Dagster UI)").format(
                            path=self.database, holder=holder, seconds=self.lock_wait_seconds))
                if not warned and context.log:
                    context.log.info(f"waiting for {holder} to finish writing the warehouse")
                    warned = True
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        run_id = context.run.run_id if getattr(context, "run", None) else "a run"
        handle.write(f"Dagster run {run_id} (pid {os.getpid()})")
        handle.flush()
        self._lock = handle

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.seek(0)
            self._lock.truncate()
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

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
        return database_path(self.root)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writing connection. A reader outside the writer lock (the summary `nsi run` prints once a
        run has let go of the lock, `nsi deliver --dry-run`) holds the file for a moment; wait for it.
        """
        self.database.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = warehouse_connection.connect(self.database, config=WAREHOUSE_CONFIG)
        except warehouse_connection.WarehouseBusy as exc:
            raise dg.Failure(description=_("{problem}. Close it and run again").format(problem=exc)) from exc
        try:
            yield con
        finally:
            con.close()


class BriefingRenderer(dg.ConfigurableResource):
    """The processes that render the PDF briefings, started when a run that renders briefings starts.

    Their start (importing WeasyPrint, loading the fonts: about 1.5 s each) then overlaps with
    ingestion and the index instead of delaying the briefings; a range run keeps them for every month.
    """

    workers: int = min(2, os.cpu_count() or 1)
    _pool: object = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        from reports.pdf import PdfPool

        self._pool = PdfPool(self.workers)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @property
    def pool(self):
        if self._pool is None:
            from reports.pdf import PdfPool

            self._pool = PdfPool(self.workers)
        return self._pool


class RunPins(dg.ConfigurableResource):
    """What a month is computed with when it must not be today's choice: `nsi verify` pins the methodology
    version, population scale and source vocabularies each month was published with (from its manifest).
    Unpinned months use the methodology version valid for the month, the scale the exports declare
    (nsi.scale) and the newest vocabularies."""

    methodology_versions: dict[str, str] = {}  # month → version
    population_scales: dict[str, float] = {}  # month → share of the population the exports stand for
    vocabulary_versions: dict[str, int] = {}  # "<month>:<source>" → version of the source's vocabulary
    # The months whose briefings are rendered; None: every month of the run. A rebuild's history months
    # only feed the comparisons of the months it checks, so verify renders only the months it compares.
    briefing_months: list[str] | None = None

    def renders_briefings(self, month: str) -> bool:
        return self.briefing_months is None or month in self.briefing_months

    def methodology(self, month: str) -> methodologies.Methodology:
        pinned = self.methodology_versions.get(month)
        return methodologies.by_version(pinned) if pinned else methodologies.for_month(month)

    def vocabulary(self, source: str, month: str, directory: Path | None) -> vocabularies.Vocabulary:
        return vocabularies.load(source, self.vocabulary_versions.get(f"{month}:{source}"), directory)

    def population_scale(self, raw: Path, month: Month) -> float:
        return self.population_scales[month.key] if month.key in self.population_scales else declared_scale(raw, month)


SettingsResource = dg.ResourceParam[Settings]
