"""The `kpi` command line: exit codes and messages a data engineer relies on."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.settings import PROJECT_ROOT
from tests.landing_files import write_csv

DAY = dt.date(2025, 6, 2)
NEXT = dt.date(2025, 6, 3)


@pytest.fixture
def env(cli_env: Path) -> Path:
    return cli_env


@pytest.mark.e2e
def test_run_publishes_then_exits_1_when_the_gate_blocks(env: Path) -> None:
    runner = CliRunner()
    sampled = runner.invoke(
        app, ["sample", "--start", str(DAY), "--end", str(NEXT), "--scale", "0.02"]
    )
    assert sampled.exit_code == 0, sampled.output
    assert (env / "landing" / "orders" / f"dt={DAY}" / "orders.csv").exists()

    published = runner.invoke(app, ["run", "--date", str(DAY)])
    assert published.exit_code == 0, published.output
    assert "published" in published.output
    snapshot = env / "snapshots" / str(DAY) / "latest"
    assert {p.name for p in snapshot.iterdir()} == {
        "kpis.parquet",
        "kpis.csv",
        "manifest.json",
        "report.html",
    }

    write_csv(
        env / "landing", "nps", "responses.csv", NEXT, [["r1", 1, f"{NEXT}T09:00:00Z", 11, ""]]
    )
    blocked = runner.invoke(app, ["run", "--date", str(NEXT)])
    assert blocked.exit_code == 1
    assert "not published" in blocked.output
    assert "nps_responses" in blocked.output
    assert not (env / "snapshots" / str(NEXT)).exists()


def test_days_outside_the_history_are_refused_up_front(env: Path) -> None:
    write_csv(env / "landing", "nps", "responses.csv", DAY, [["r1", 1, f"{DAY}T09:00:00Z", 9, ""]])
    runner = CliRunner()
    before = runner.invoke(app, ["backfill", "--start", "2025-05-01", "--end", str(DAY)])
    today = dt.datetime.now(dt.UTC).date()
    after = runner.invoke(app, ["run", "--date", str(today + dt.timedelta(days=1))])

    assert before.exit_code == 2
    assert f"2025-05-01 is before the first day of this deployment's history, {DAY}" in (
        before.output
    )
    assert "KPI_PARTITIONS_START" in before.output
    assert after.exit_code == 2 and "has not ended yet in UTC" in after.output
    assert "Traceback" not in before.output + after.output
    assert not (env / "warehouse.duckdb").exists()  # nothing started


@pytest.mark.e2e
def test_a_day_without_files_is_blocked_in_plain_words_without_a_traceback(env: Path) -> None:
    write_csv(env / "landing", "nps", "responses.csv", DAY, [["r1", 1, f"{DAY}T09:00:00Z", 9, ""]])

    result = CliRunner().invoke(app, ["run", "--date", str(NEXT)])

    said = " ".join(result.output.split())  # as read, whatever the terminal's wrapping
    assert result.exit_code == 1, result.output
    assert f"no orders extract for {NEXT} (looked for orders/dt={NEXT}/" in said
    assert f"no ga4 extract for {NEXT}" in said
    assert "Traceback" not in said and "observed null" not in said and "expect_" not in said
    assert not (env / "snapshots" / str(NEXT)).exists()


@pytest.mark.e2e
def test_spend_in_another_currency_says_which_setting_to_change(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ad spend file in EUR while the reporting currency is USD blocks the day with the
    setting to change, not GX's `expect_column_values_to_be_in_set: observed null`."""
    monkeypatch.setenv("KPI_SOURCES", "ga4,ads")
    runner = CliRunner()
    sampled = runner.invoke(
        app, ["sample", "--start", str(DAY), "--end", str(DAY), "--scale", "0.02"]
    )
    assert sampled.exit_code == 0, sampled.output
    spend = env / "landing" / "ads" / f"dt={DAY}" / "spend.csv"
    header, *lines = spend.read_text().splitlines()
    at = header.split(",").index("currency")
    lines = [
        ",".join(v if i != at else "EUR" for i, v in enumerate(line.split(","))) for line in lines
    ]
    spend.write_text("\n".join([header, *lines]) + "\n")

    result = runner.invoke(app, ["run", "--date", str(DAY)])

    said = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert (
        "ads/spend.csv (raw.ads_spend) has currency EUR but the reporting currency is USD: "
        "set KPI_REPORTING_CURRENCY=EUR or convert the file"
    ) in said
    assert "Traceback" not in said and "observed null" not in said and "expect_" not in said
    assert not (env / "snapshots" / str(DAY)).exists()


def test_a_bad_date_is_one_line_with_a_hint(env: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--date", "2025-13-01"])
    assert result.exit_code == 2
    assert "'2025-13-01' is not a date" in result.output
    assert "hint: use YYYY-MM-DD" in result.output
    assert "Traceback" not in result.output


def test_backfill_refuses_an_inverted_range(env: Path) -> None:
    result = CliRunner().invoke(app, ["backfill", "--start", "2025-06-03", "--end", "2025-06-01"])
    assert result.exit_code == 2
    assert "--end is before --start" in result.output


def test_workspace_loads_in_dagster(env: Path) -> None:
    """What `dagster dev -w workspace.yaml` loads: assets, checks, job and schedule."""
    done = subprocess.run(
        [
            Path(sys.executable).parent / "dagster",
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "All code locations passed validation" in done.stderr + done.stdout

    from kpi_pipeline.definitions import defs

    repository = defs.get_repository_def()
    assert {s.name for s in repository.schedule_defs} == {"daily_kpis_schedule"}
    groups = {node.group_name for node in repository.asset_graph.asset_nodes}
    assert {"ingest", "transform", "publish"} <= groups
