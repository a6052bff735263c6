"""An isolated deployment whose Dagster definitions the orchestration tests run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

DAY = dt.date(2025, 6, 2)


@dataclass
class Pipeline:
    root: Path
    settings: object
    defs: object


@pytest.fixture
def pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    """Settings from a tmp environment (no retry backoff wait) and the project's definitions."""
    monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path))
    for name in ("KPI_LANDING_DIR", "KPI_WAREHOUSE", "KPI_SNAPSHOT_DIR", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KPI_PII_KEY", "test-key-not-a-secret")
    monkeypatch.setenv("KPI_INGEST_RETRY_DELAY", "0")

    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.settings import Settings

    settings = Settings.from_env()
    return Pipeline(tmp_path, settings, build_definitions(settings))
