"""Dagster's SQLite event log, with each database file opened once per process instead of once per event.

Dagster's own SqliteEventLogStorage (1.13) makes a new SQLAlchemy engine, opens the SQLite file, checks
its schema and closes it again for every read and every write: a monthly run stores about 150 events,
several of them mirrored into the index database, and this opening and closing was about 1.5 s of a
run. Here each file keeps one connection, used under the storage's own lock (which already serialises
every access), so the data, the files and the schema are exactly Dagster's: the UI, `dagster` commands
and an instance without this class read the same history.

dagster.yaml selects it (`event_log_storage`); the directory defaults to Dagster's own,
$DAGSTER_HOME/history/runs.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

# A long-lived process (the UI) reads many runs; the files it read longest ago are closed.
OPEN_FILES = 8


class SqliteEventLogStorageKeptOpen(SqliteEventLogStorage):
    def __init__(self, base_dir: str | None = None, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir or default_base_dir(), inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        # One connection shared by the threads of this process (the run and its progress display); the
        # storage's lock, held around every use, keeps them from using it at the same time.
        engine = create_engine(self.conn_string_for_shard(shard), poolclass=StaticPool,
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_FILES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            with self._engine(shard).connect() as conn:
                with conn.begin():
                    yield conn

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # the files are deleted; a connection kept open would keep writing to the old one
        super().wipe()

    def upgrade(self) -> None:
        self._close_all()
        super().upgrade()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()


def default_base_dir() -> str:
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        # Dagster's own entry points (the UI, `dagster` commands, DagsterInstance.get) need it too; nsi sets it.
        raise RuntimeError("DAGSTER_HOME is not set: the event log lives in $DAGSTER_HOME/history/runs "
                           "(set it to the instance folder, e.g. $NSI_DATA_DIR/dagster_home)")
    return os.path.join(home, "history", "runs")
