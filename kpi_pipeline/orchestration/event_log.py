"""Dagster's SQLite event log, keeping its database connections open between writes.

Dagster's `SqliteEventLogStorage` creates a SQLAlchemy engine and opens a SQLite connection
for every write, and closes both after it (`NullPool`); closing the last connection to a
WAL database checkpoints it. A run writes an event for every step start, output and end,
and one materialization per asset and day, so this was most of Dagster's own cost in a
run: 10.9 ms an event against 3.4 ms with the connections kept open (docs/benchmarks.md).
This storage keeps one engine, with its connection, per database file (the index and the
latest run shards); everything else is Dagster's. The deployment's `dagster.yaml` selects
it (`settings.DAGSTER_YAML`).

Dagster's storage class is private and offers no hook for its connections: the override
of its private `_connect` is in `orchestration/dagster_private.py` (checked on upgrade by
`tests/orchestration/test_dagster_private.py`); this module only says which engine a shard
uses. `tests/orchestration/test_event_log.py` checks the storage against Dagster's own
public API.
"""

import os
from collections import OrderedDict

from dagster import Field, StringSource
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from kpi_pipeline.orchestration.dagster_private import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    EngineSqliteEventLogStorage,
)

# run shards whose engines stay open besides the index: a run writes to its own shard, the
# webserver reads the few runs on screen
OPEN_SHARDS = 8


def default_base_dir() -> str:
    """Where Dagster keeps the event log of the deployment's Dagster home by default: the
    home of `$DAGSTER_HOME`, else the deployment's (`$KPI_DATA_DIR/dagster_home`, as the
    `kpi` CLI opens it without `DAGSTER_HOME`)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        from kpi_pipeline.settings import dagster_home_of

        home = str(dagster_home_of(os.environ))
    return os.path.join(home, "history", "runs", "")


class PooledSqliteEventLogStorage(EngineSqliteEventLogStorage):
    """`SqliteEventLogStorage` with one open engine per database file (see the module)."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(config_value.get("base_dir") or default_base_dir(), inst_data=inst_data)

    def shard_engine(self, shard: str) -> Engine:
        """The shard's engine; callers hold `storage_lock`, so one connection each is enough."""
        if self._engines_pid != os.getpid():
            # a forked process: its parent's connections are not its to use or close
            self._engines, self._engines_pid = OrderedDict(), os.getpid()
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=QueuePool,
                pool_size=1,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            self._engines[shard] = engine
            while len(self._engines) > OPEN_SHARDS + 1:  # + the index
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
        self._engines.move_to_end(shard)
        return engine

    def _dispose_engines(self) -> None:
        with self.storage_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._dispose_engines()  # the shard files are deleted
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
