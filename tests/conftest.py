"""Shared fixtures: an isolated deployment (landing, warehouse, snapshots, Dagster home)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Deployment:
    root: Path
    landing: Path
    warehouse: Path
    snapshots: Path
    run: Callable[[dt.date, dt.date | None], object]


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """A fresh deployment under tmp_path; `run(first, last)` runs the Dagster job in-process."""
    from dagster import DagsterInstance

    monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KPI_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("KPI_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("KPI_SNAPSHOT_DIR", str(tmp_path / "snapshots"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("KPI_PII_KEY", "test-key-not-a-secret")

    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.runner import run_days
    from kpi_pipeline.settings import Settings

    settings = Settings.from_env()
    defs = build_definitions(settings)

    def run(first: dt.date, last: dt.date | None = None):
        with DagsterInstance.ephemeral() as instance:
            return run_days(defs, first, last or first, instance=instance)

    return Deployment(
        root=tmp_path,
        landing=settings.landing_dir,
        warehouse=settings.warehouse_path,
        snapshots=settings.snapshot_dir,
        run=run,
    )


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
