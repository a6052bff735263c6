"""`kpi backfill` progress and days table, `kpi status` and `kpi query` (read-only)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.cli.pipeline import days_table
from kpi_pipeline.orchestration.progress import stage_of
from kpi_pipeline.orchestration.status import RunRow, day_states
from tests.landing_files import write_csv
from tests.lock_holder import writer_lock_held

DAY = dt.date(2025, 6, 2)
NEXT = dt.date(2025, 6, 3)


@pytest.fixture
def env(cli_env: Path) -> Path:
    return cli_env


@pytest.fixture
def warehouse(env: Path) -> Path:
    path = env / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_kpi_daily as select * from (values "
            "(date '2025-06-02', 'nps', 12.0, 20.0), (date '2025-06-02', 'net_revenue', 99.5, "
            "null), (date '2025-06-03', 'nps', 3.0, 4.0)) t(kpi_date, kpi_id, numerator, "
            "denominator)"
        )
    return path


def rows_in(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select count(*) from marts.fct_kpi_daily").fetchone()[0]


def test_query_prints_a_table_and_csv(warehouse: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["query", "select kpi_id, numerator from marts.fct_kpi_daily"])
    assert shown.exit_code == 0, shown.output
    assert "net_revenue" in shown.output and "99.5" in shown.output
    assert "3 row(s)" in shown.output
    csv = runner.invoke(
        app,
        [
            "query",
            "select kpi_date, kpi_id, denominator from marts.fct_kpi_daily order by 1, 2",
            "--format",
            "csv",
        ],
    )
    assert csv.exit_code == 0, csv.output
    assert csv.output.splitlines() == [
        "kpi_date,kpi_id,denominator",
        "2025-06-02,net_revenue,",
        "2025-06-02,nps,20.0",
        "2025-06-03,nps,4.0",
    ]


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("delete from marts.fct_kpi_daily", "DELETE"),
        ("insert into marts.fct_kpi_daily values (date '2025-01-01', 'x', 1, 1)", "INSERT"),
        ("create table marts.t as select 1", "CREATE"),
        ("copy marts.fct_kpi_daily to 'out.csv'", "COPY"),
        ("attach 'other.duckdb'", "ATTACH"),
    ],
)
def test_query_refuses_writes_in_one_line_with_a_hint(warehouse: Path, sql: str, kind: str):
    result = CliRunner().invoke(app, ["query", sql])
    assert result.exit_code == 2
    assert f"error: refused: {kind} is not a read" in result.output
    assert "hint: use SELECT" in result.output
    assert "Traceback" not in result.output
    assert rows_in(warehouse) == 3
    assert not (warehouse.parent / "out.csv").exists()


def test_query_errors_are_one_line_with_a_hint(env: Path, warehouse: Path) -> None:
    runner = CliRunner()
    cases = {
        ("select * from nope",): ("the query failed: Catalog Error", "hint: list the tables"),
        ("select 1; select 2",): ("2 statements given", "hint: run one SELECT"),
        ("selec 1",): ("the SQL does not parse", "hint: check the SQL"),
        ("select 1", "--format", "xml"): ("--format 'xml' is not known", "hint: use --format"),
    }
    for args, (message, hint) in cases.items():
        result = runner.invoke(app, ["query", *args])
        assert result.exit_code == 2, args
        assert message in result.output and hint in result.output, result.output
        assert "Traceback" not in result.output


def test_query_without_a_warehouse_says_how_to_build_one(env: Path) -> None:
    result = CliRunner().invoke(app, ["query", "select 1"])
    assert result.exit_code == 2
    assert f"no warehouse at {env / 'warehouse.duckdb'}" in result.output
    assert "hint: build one with kpi run / kpi backfill" in result.output


def test_query_while_a_run_writes_says_the_warehouse_is_busy(warehouse: Path) -> None:
    """Another process holds the write lock (as a run does) until we close its stdin."""
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
            "print('locked', flush=True); sys.stdin.read()",
            str(warehouse),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        result = CliRunner().invoke(app, ["query", "select 1"])
    finally:
        writer.communicate("", timeout=30)
    assert result.exit_code == 3  # busy (README: exit codes)
    assert "is busy: " in result.output and "is writing it" in result.output
    assert "hint: try again when the run has finished" in result.output
    assert "Could not set lock" not in result.output


def test_every_new_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    for command in ("status", "query", "backfill", "run", "show"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert f"kpi {command} " in result.output, command


def test_day_states_prefer_snapshots_then_the_latest_run() -> None:
    d1, d2, d3, d4 = (dt.date(2025, 6, d) for d in (1, 2, 3, 4))
    runs = [  # newest first
        RunRow("r3", "FAILURE", d2, d3, None, None),
        RunRow("r2", "SUCCESS", d1, d3, None, None),
        RunRow("r1", "STARTED", d4, d4, None, None),
    ]
    states = day_states([d1, d2, d3, d4, dt.date(2025, 6, 5)], {d1, d2}, runs)
    assert [(s.day.day, s.state, s.run_id) for s in states] == [
        (1, "published", "r2"),
        (2, "published", "r3"),
        (3, "failed", "r3"),
        (4, "running", "r1"),
        (5, "missing", None),
    ]


def test_steps_fall_into_the_four_stages() -> None:
    assert stage_of("raw__orders") == "ingest"
    assert stage_of("raw__orders_gx_raw_orders") == "quality"
    assert stage_of("raw__orders_extract_arrived") == "quality"
    assert stage_of("marts__fct_kpi_daily_gx_fct_kpi_daily") == "quality"
    assert stage_of("dbt_models") == "transform"
    assert stage_of("kpi_snapshot") == "publish"


def test_days_table_groups_consecutive_days_with_the_same_result(tmp_path: Path) -> None:
    days = [dt.date(2025, 6, d) for d in range(1, 6)]
    results = list(zip(days, ["published"] * 3 + ["blocked"] * 2, strict=True))
    table = days_table(results, tmp_path)
    assert list(table.columns[0].cells) == ["2025-06-01 .. 2025-06-03", "2025-06-04 .. 2025-06-05"]
    assert list(table.columns[1].cells) == ["3", "2"]


@pytest.mark.e2e
def test_backfill_then_a_blocked_day_then_status_and_query(env: Path) -> None:
    runner = CliRunner()
    sampled = runner.invoke(
        app, ["sample", "--start", str(DAY), "--end", str(NEXT), "--scale", "0.02"]
    )
    assert sampled.exit_code == 0, sampled.output

    backfill = runner.invoke(app, ["backfill", "--start", str(DAY), "--end", str(DAY)])
    assert backfill.exit_code == 0, backfill.output
    for stage in ("ingest", "transform", "quality", "publish"):
        assert stage in backfill.output
    assert "Days published / blocked" in backfill.output
    assert f"{DAY} " in backfill.output and "published" in backfill.output

    write_csv(
        env / "landing", "nps", "responses.csv", NEXT, [["r1", 1, f"{NEXT}T09:00:00Z", 11, ""]]
    )
    blocked = runner.invoke(app, ["run", "--date", str(NEXT)])
    assert blocked.exit_code == 1
    [row] = [line for line in blocked.output.splitlines() if line.startswith(f"│ {NEXT}")]
    assert "blocked" in row

    status = runner.invoke(app, ["status", "--end", str(NEXT), "--days", "2"])
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert any("SUCCESS" in line and str(DAY) in line for line in lines)
    assert any("FAILURE" in line and str(NEXT) in line for line in lines)
    assert "days 2025-06-02 .. 2025-06-03: 1 published, 1 not" in status.output
    assert any(str(NEXT) in line and "failed" in line for line in lines)
    assert f"last published snapshot: {DAY}" in status.output
    assert any(
        "raw/nps_responses:gx_raw_nps_responses" in line and "ERROR" in line for line in lines
    )
    from kpi_pipeline.cli import common

    with pytest.MonkeyPatch.context() as narrow:  # the same status in an 80-column terminal
        narrow.setattr(common.console, "width", 80)
        status_80 = runner.invoke(app, ["status", "--end", str(NEXT), "--days", "2"])
    assert max(len(line) for line in status_80.output.splitlines()) <= 80
    assert "…" not in status_80.output
    for word in (
        str(DAY),
        str(NEXT),
        "SUCCESS",
        "FAILURE",
        "raw/nps_responses:gx_raw_nps_responses",
    ):
        assert word in status_80.output.split(), word  # whole, on one line

    query = runner.invoke(
        app,
        [
            "query",
            f"select kpi_id, value from marts.fct_kpi_daily where kpi_date = '{DAY}' "
            "and dimension = 'all' order by kpi_id",
            "--format",
            "csv",
        ],
    )
    assert query.exit_code == 0, query.output
    published = (
        pl.read_parquet(env / "snapshots" / str(DAY) / "latest" / "kpis.parquet")
        .filter(pl.col("dimension") == "all")
        .sort("kpi_id")
    )
    assert query.output.splitlines()[1:] == [
        f"{k},{'' if v is None else v}" for k, v in published.select("kpi_id", "value").iter_rows()
    ]

    # kpi show states each KPI of the day as the published snapshot does
    for kpi_id, value, target, state in published.select(
        "kpi_id", "value", "target", "status"
    ).iter_rows():
        shown = runner.invoke(
            app, ["show", kpi_id, "--from", str(DAY), "--to", str(DAY), "--format", "json"]
        )
        assert shown.exit_code == 0, shown.output
        [row] = json.loads(shown.output)
        assert (row["value"], row["target"], row["status"]) == (value, target, state), kpi_id


def test_run_waits_for_the_writer_lock_then_says_busy(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run launched by the daemon holds the writer lock: `kpi run` (in-process, outside
    the queue) does not open the warehouse beside it; past KPI_LOCK_TIMEOUT it exits 3."""
    monkeypatch.setenv("KPI_LOCK_TIMEOUT", "0")
    with writer_lock_held(env / "warehouse.lock", "run a1b2c3d4 of daily_kpis"):
        result = CliRunner().invoke(app, ["run", "--date", str(DAY)])
    assert result.exit_code == 3
    assert "the warehouse is busy" in result.output
    assert "run a1b2c3d4 of daily_kpis" in result.output
    assert "hint: try again later, or raise KPI_LOCK_TIMEOUT" in result.output
    assert not (env / "warehouse.duckdb").exists()
