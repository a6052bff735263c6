"""`kpi snapshots list|show`: what a data engineer reads after a run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.publish.snapshot import publish_snapshot, snapshot_frame
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.facts import overall_fact
from tests.status_oracle import day_attainment

DAY = dt.date(2025, 3, 3)


@pytest.fixture
def env(cli_env: Path) -> Path:
    return cli_env


def publish(root: Path, revenue: float, run: str, warnings: list[dict]) -> None:
    facts = overall_fact(DAY, "net_revenue", revenue)
    manifest = {"run_id": run, "published_at": f"{run}-time", "warnings": warnings}
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    frame = snapshot_frame(facts, catalogue, day_attainment(facts, catalogue))
    publish_snapshot(root, DAY, frame, manifest)


def test_list_and_show_versions(env: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["snapshots", "list"])
    assert empty.exit_code == 1 and "no snapshot" in empty.output and "hint:" in empty.output

    publish(env / "snapshots", 100.0, "r1", [])
    publish(env / "snapshots", 9000.0, "r2", [{"asset": "raw/x", "check": "c", "description": "d"}])
    listed = runner.invoke(app, ["snapshots", "list"], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert "2025-03-03 │ 2        │ v2" in listed.output

    latest = runner.invoke(app, ["snapshots", "show", "2025-03-03"], terminal_width=200)
    assert latest.exit_code == 0, latest.output
    assert "version 2 of 2025-03-03" in latest.output and "on_track" in latest.output
    assert "warning: raw/x:c (d)" in latest.output
    assert "v2/report.html" in latest.output

    first = runner.invoke(app, ["snapshots", "show", "2025-03-03", "--version", "1"])
    assert first.exit_code == 0 and "off_track" in first.output and "r1" in first.output

    missing = runner.invoke(app, ["snapshots", "show", "2025-03-04"])
    assert missing.exit_code == 1 and "no snapshot of 2025-03-04" in missing.output
    bad = runner.invoke(app, ["snapshots", "show", "03/03/2025"])
    assert bad.exit_code == 2 and "is not a date" in bad.output
