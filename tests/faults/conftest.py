"""One published deployment, built once, copied for each fault."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.faults.site import Site

BASE_DAY = dt.date(2025, 6, 2)  # published before every fault
DAY = dt.date(2025, 6, 3)  # the day each fault interrupts


@pytest.fixture(scope="session")
def published_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """BASE_DAY published; DAY's extracts landed, not yet run."""
    site = Site(tmp_path_factory.mktemp("fault-base") / "data")
    sampled = site.kpi("sample", "--start", str(BASE_DAY), "--end", str(DAY), "--scale", "0.02")
    assert sampled.returncode == 0, sampled.stderr
    first = site.kpi("run", "--date", str(BASE_DAY))
    assert first.returncode == 0, first.stdout + first.stderr
    return site


@pytest.fixture(scope="session")
def clean_day_csv(published_site: Site, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """DAY's KPI rows as a run that nobody interrupted publishes them."""
    site = published_site.copy(tmp_path_factory.mktemp("fault-clean") / "data")
    done = site.kpi("run", "--date", str(DAY))
    assert done.returncode == 0, done.stdout + done.stderr
    return (site.snapshots / str(DAY) / "latest" / "kpis.csv").read_bytes()


@pytest.fixture
def site(published_site: Site, tmp_path: Path) -> Site:
    return published_site.copy(tmp_path / "data")
