"""A command that only reads, run where there is no deployment, says what is missing (or
that there is nothing yet) and leaves the folder as it found it: no `data/`, no Dagster
home, no lock file. A command that writes still creates the deployment it needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app, common
from kpi_pipeline.exit_codes import ExitCode
from tests.kpi_process import kpi_env, run_kpi

DEPLOYMENT_VARIABLES = ("KPI_LANDING_DIR", "KPI_WAREHOUSE", "KPI_SNAPSHOT_DIR", "DAGSTER_HOME")
NO_DEPLOYMENT = {*DEPLOYMENT_VARIABLES, "KPI_DATA_DIR"}  # what a process runs without
DAY = "2025-03-03"
# each read-only command: its arguments, exit code and what it says (`{data}`: the data folder)
READERS = {
    "query": (["query", "select 1"], ExitCode.ERROR, "no warehouse at {data}/warehouse.duckdb"),
    "show": (["show", "net_revenue"], ExitCode.ERROR, "no warehouse at {data}/warehouse.duckdb"),
    "explain": (
        ["explain", "net_revenue"],
        ExitCode.ERROR,
        "no warehouse at {data}/warehouse.duckdb",
    ),
    "pace": (["pace"], ExitCode.ERROR, "no warehouse at {data}/warehouse.duckdb"),
    "pace --backtest": (
        ["pace", "--backtest"],
        ExitCode.ERROR,
        "no warehouse at {data}/warehouse.duckdb",
    ),
    "quarantine": (["quarantine"], ExitCode.ERROR, "no warehouse at {data}/warehouse.duckdb"),
    "status": (["status"], ExitCode.OK, "no runs yet"),
    "runs": (["runs"], ExitCode.OK, "no runs yet"),
    "snapshots list": (["snapshots", "list"], ExitCode.BLOCKED, "no snapshot in {data}/snapshots"),
    "snapshots show": (["snapshots", "show", DAY], ExitCode.BLOCKED, f"no snapshot of {DAY} in"),
    "snapshots diff": (["snapshots", "diff", DAY], ExitCode.BLOCKED, f"no snapshot of {DAY} in"),
    "snapshots --diff": (["snapshots", "--diff", DAY], ExitCode.BLOCKED, f"no snapshot of {DAY}"),
    "inspect": (
        ["inspect"],
        ExitCode.ERROR,
        "no dt=YYYY-MM-DD folder in the landing zone {data}/landing",
    ),
    "list": (["list"], ExitCode.OK, "KPI catalogue"),
    "validate": (["validate"], ExitCode.OK, "all valid"),
}


def tree(folder: Path) -> list[str]:
    """Every file and folder under `folder`, relative to it, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(params=["default data folder", "KPI_DATA_DIR"])
def empty(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder to run in, with no deployment: the default `./data` of the working
    directory, or KPI_DATA_DIR naming a `data` folder inside it that does not exist yet.
    Consoles wide enough that a message stays on one line."""
    monkeypatch.chdir(tmp_path)
    for name in DEPLOYMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if request.param == "KPI_DATA_DIR":
        monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path / "data"))
    else:
        monkeypatch.delenv("KPI_DATA_DIR", raising=False)
    monkeypatch.setenv("KPI_PII_KEY", "test-key-not-a-secret")
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "width", 400)
    return tmp_path


@pytest.mark.parametrize("name", READERS)
def test_a_reader_without_a_deployment_says_so_and_creates_nothing(empty: Path, name: str) -> None:
    args, code, words = READERS[name]
    before = tree(empty)

    result = CliRunner().invoke(app, args)

    assert result.exit_code == code, result.output
    assert words.format(data=empty / "data") in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert tree(empty) == before == []


def test_status_says_nothing_is_published_yet(empty: Path) -> None:
    result = CliRunner().invoke(app, ["status", "--days", "3"])

    assert result.exit_code == ExitCode.OK, result.output
    assert "0 published, 3 not" in result.output
    assert f"no snapshot published yet in {empty / 'data' / 'snapshots'}" in result.output
    assert tree(empty) == []


def test_the_reported_query_in_a_process_of_its_own_leaves_nothing(tmp_path: Path) -> None:
    """The report's reproduction as a user runs it: `kpi query` in an empty folder."""
    env = {k: v for k, v in kpi_env(COLUMNS="400").items() if k not in NO_DEPLOYMENT}

    done = run_kpi("query", "select 1", env=env, cwd=tmp_path)

    assert done.returncode == ExitCode.ERROR, done.stderr
    assert f"error: no warehouse at {tmp_path / 'data' / 'warehouse.duckdb'}" in done.stderr
    assert "hint: build one with kpi run / kpi backfill" in done.stderr
    assert "Traceback" not in done.stderr
    assert tree(tmp_path) == []


def test_a_writer_still_creates_the_deployment_it_needs(empty: Path) -> None:
    result = CliRunner().invoke(app, ["sample", "--start", DAY, "--end", DAY, "--scale", "0.02"])

    assert result.exit_code == ExitCode.OK, result.output
    made = tree(empty)
    for folder in ("data/dagster_home/dagster.yaml", "data/snapshots", "data/landing"):
        assert folder in made
    assert any(p.startswith("data/landing/") and f"dt={DAY}" in p for p in made)
