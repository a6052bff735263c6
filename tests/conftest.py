"""Shared fixtures: an isolated deployment (landing, warehouse, snapshots, Dagster home)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.scheduling import SPARK_SERVER_MODULES, OneSparkServerAtATime


@dataclass
class Deployment:
    root: Path
    landing: Path
    warehouse: Path
    snapshots: Path
    run: Callable[[dt.date, dt.date | None], object]


# pytest-xdist (`make test`: -n 2 --dist loadfile --no-loadscope-reorder; without that flag
# xdist 3.8 hands out the modules with the most tests first, whatever the order here) hands
# units of work to its workers in collection order (tests/scheduling.py: a module each, the
# Spark server modules one unit together). The longest go first, so that the short ones even
# out the workers' ends: the Spark unit (about 20 minutes on a quiet machine, the local
# server's module half of it), then the longest other modules (CI of 08958a8, per module)
LONGEST_FIRST = (
    *SPARK_SERVER_MODULES,
    "tests/faults/test_kills.py",  # 315 s
    "tests/faults/test_concurrency.py",  # 127 s
    "tests/transform/test_incremental_change.py",  # 121 s
    "tests/test_bench.py",  # 110 s
    "tests/orchestration/test_dagster_dev.py",  # 107 s
    "tests/publish/test_restatement_ledger.py",  # 100 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: a module's tests keep their order


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadfile` with the Spark server modules run by one worker, one after another
    (tests/scheduling.py); any other `--dist` as xdist makes it."""
    if config.getoption("dist") != "loadfile":
        return None
    return OneSparkServerAtATime(config, log)


def deploy(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    warehouse: str | None = None,
    landing: Path | None = None,
    parallelism: int | None = None,
) -> Deployment:
    """A fresh deployment under `root` writing `warehouse` (default: a DuckDB file there),
    reading `landing` (default: `root/landing`); `run(first, last)` runs the Dagster job
    in-process, or with `parallelism` > 1 (`KPI_INGEST_PARALLELISM`) its steps in processes
    of their own, recorded in the deployment's Dagster home (`root/dagster_home`)."""
    from dagster import DagsterInstance

    monkeypatch.setenv("KPI_DATA_DIR", str(root))
    monkeypatch.setenv("KPI_LANDING_DIR", str(landing or root / "landing"))
    monkeypatch.setenv("KPI_WAREHOUSE", warehouse or str(root / "warehouse.duckdb"))
    monkeypatch.setenv("KPI_SNAPSHOT_DIR", str(root / "snapshots"))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    monkeypatch.setenv("KPI_PII_KEY", "test-key-not-a-secret")
    if parallelism is None:
        monkeypatch.delenv("KPI_INGEST_PARALLELISM", raising=False)
    else:
        monkeypatch.setenv("KPI_INGEST_PARALLELISM", str(parallelism))

    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.runner import run_days
    from kpi_pipeline.settings import Settings

    settings = Settings.from_env()
    defs = build_definitions(settings)

    def run(first: dt.date, last: dt.date | None = None):
        if settings.ingest_parallelism > 1:  # step processes open the instance again
            from kpi_pipeline.orchestration.dagster_private import open_instance_at

            instance = open_instance_at(settings.dagster_home)
        else:
            instance = DagsterInstance.ephemeral()
        with instance:
            return run_days(defs, first, last or first, instance=instance)

    return Deployment(
        root=root,
        landing=settings.landing_dir,
        warehouse=settings.warehouse_path,
        snapshots=settings.snapshot_dir,
        run=run,
    )


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """A fresh deployment under tmp_path; `run(first, last)` runs the Dagster job in-process."""
    return deploy(tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server for the session (tests/postgres_server.py). Skipped
    without Debian's server binaries, except in CI (`CI=true`), where .ci/run installs them."""
    from tests.postgres_server import postgres_server, server_binaries

    binaries = server_binaries()
    if binaries is None:
        message = "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: .ci/run installs Debian's postgresql package")
        pytest.skip(f"{message} (apt-get install postgresql)")
    with postgres_server(binaries) as url:
        yield url


@contextmanager
def fresh_database(postgres_url: str) -> Iterator[str]:
    """A new, empty database on the server of `postgres_url`; its URL. Dropped on exit."""
    import uuid

    import psycopg2

    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_url)
    admin.autocommit = True
    try:
        admin.cursor().execute(f"create database {name}")
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
        admin.cursor().execute(f"drop database {name} with (force)")
    finally:
        admin.close()


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server; its URL."""
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment for the `kpi` CLI: everything under tmp_path via KPI_DATA_DIR alone;
    consoles wide enough that table rows stay on one line."""
    monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path))
    for name in ("KPI_LANDING_DIR", "KPI_WAREHOUSE", "KPI_SNAPSHOT_DIR", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KPI_PII_KEY", "test-key-not-a-secret")
    from kpi_pipeline.cli import common

    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "width", 240)
    return tmp_path
