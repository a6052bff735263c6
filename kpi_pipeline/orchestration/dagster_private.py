"""Every use this project makes of Dagster's and dagster-dbt's private (or not public) API.

Nothing else in `kpi_pipeline` imports `dagster._...` or overrides a method whose name starts
with `_`: what Dagster offers publicly is used everywhere else. What is here has no public
equivalent at the pinned versions (uv.lock: dagster 1.13, dagster-dbt 0.29), and each use
says why it is needed. `tests/orchestration/test_dagster_private.py` checks every symbol
below (that it exists, its signature, the members used) and fails naming the symbol and the
installed version when an upgrade removes or changes one: then re-check the reason here,
and whether a public API has arrived.

1. `SqliteEventLogStorage` (`dagster._core.storage.event_log`), `SQLITE_BUSY_TIMEOUT_SECONDS`,
   and the storage's private `_connect`, `_db_lock`, `_initialized_dbs` and `_initdb`:
   Dagster's SQLite event log opens an engine and a connection for every write and closes
   them after it (10.9 ms an event against 3.4 ms kept open, docs/benchmarks.md), and offers
   no setting or hook for its connections. `EngineSqliteEventLogStorage` overrides `_connect`
   to take the engine from `shard_engine(shard)`, which `orchestration/event_log.py` (the
   class the deployment's dagster.yaml names) implements with public SQLAlchemy only.
2. `DbtCliResource._cli_version` and `DbtCliResource._initialize_dbt_core_adapter`:
   on every `cli()` dagster-dbt runs `dbt --version` (a subprocess importing dbt, 1.5-3 s of
   CPU) and builds an in-process dbt adapter (about 1 s) that only its opt-in
   `fetch_row_counts()` / `fetch_column_metadata()` use; neither can be switched off
   publicly. `DbtCliResourceWithoutStartupWork` answers the version from the installed
   dbt-core package (the executable is this environment's, `transform/project.py`) and
   builds no adapter (`transform/resource.py` subclasses it). Call `fetch_row_counts()` one
   day and it adds nothing until the adapter comes back. Imported lazily (module
   `__getattr__`): dagster-dbt takes about 1.4 s to import, and this module is also loaded
   wherever a Dagster instance opens its event log (`kpi status`, the webserver).
3. `AssetCheckEvaluationTargetMaterializationData`: the documented type of
   `AssetCheckEvaluation.target_materialization_data`, which `quality/checks.py` fills in
   when it records a check's result per partition of a multi-day run; `dagster` does not
   export it.
4. `DagsterInstance.from_config(home)`: the instance of a Dagster home given explicitly, so
   the CLI needs no `DAGSTER_HOME` in its environment. Public by name, but not marked
   `@public` in 1.13 (`DagsterInstance.get()` reads `DAGSTER_HOME`; `local_temp(tempdir)`,
   the `@public` one doing the same, is meant for temporary folders).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import DagsterInstance
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from threading import Lock

    from sqlalchemy.engine import Connection, Engine

__all__ = [
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "AssetCheckEvaluationTargetMaterializationData",
    "DbtCliResourceWithoutStartupWork",  # noqa: F822 (defined on first use: __getattr__)
    "EngineSqliteEventLogStorage",
    "SqliteEventLogStorage",
    "open_instance_at",
]


# 1. The SQLite event log's connections


class EngineSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log storage taking each shard's engine from `shard_engine`
    (subclasses implement it) instead of creating and disposing of one per connection."""

    def shard_engine(self, shard: str) -> Engine:
        """The engine of `shard`'s database; called holding `storage_lock`."""
        raise NotImplementedError

    @property
    def storage_lock(self) -> Lock:
        """The lock Dagster's storage holds around every connection (threads such as the
        event log watcher share the storage)."""
        return self._db_lock

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's `_connect`, with `shard_engine(shard)` for its create_engine/dispose
        with self._db_lock:
            engine = self.shard_engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn


# 2. dagster-dbt's per-invocation start-up work


def _dbt_cli_resource_without_startup_work() -> type:
    from dagster_dbt import DbtCliResource
    from packaging import version

    class DbtCliResourceWithoutStartupWork(DbtCliResource):
        """dagster-dbt's `DbtCliResource` without its per-invocation `dbt --version`
        subprocess and in-process dbt adapter (see the module)."""

        @cached_property
        def _cli_version(self) -> version.Version:
            return version.parse(package_version("dbt-core"))

        def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
            return None

    DbtCliResourceWithoutStartupWork.__module__ = __name__
    DbtCliResourceWithoutStartupWork.__qualname__ = "DbtCliResourceWithoutStartupWork"
    return DbtCliResourceWithoutStartupWork


def __getattr__(name: str) -> Any:
    """`DbtCliResourceWithoutStartupWork`, defined on first use (dagster-dbt is slow to
    import, and the event log storage above is loaded without it)."""
    if name == "DbtCliResourceWithoutStartupWork":
        cls = _dbt_cli_resource_without_startup_work()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# 4. A Dagster instance from its home, not from the environment


def open_instance_at(home: Path | str) -> DagsterInstance:
    """The Dagster instance whose `dagster.yaml` and storage are in `home` (what
    `DagsterInstance.get()` opens for `DAGSTER_HOME=home`)."""
    return DagsterInstance.from_config(str(home))
