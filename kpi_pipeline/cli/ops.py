"""`kpi status` and `kpi query`: what the pipeline did, and read-only SQL on the warehouse."""

from __future__ import annotations

import datetime as dt
import sys

import typer
from rich.padding import Padding
from rich.table import Table

from kpi_pipeline.cli.common import (
    BUSY_HINT,
    console,
    existing_instance,
    fail,
    parse_day,
    read_settings,
    say_waiting,
)

STATE_STYLE = {"published": "green", "failed": "red", "running": "cyan", "queued": "cyan"}
MAX_TABLE_ROWS = 200


def status(
    days: int = typer.Option(14, min=1, help="How many days to check, ending at --end."),
    end: str = typer.Option(None, help="Last day to check, YYYY-MM-DD (default: yesterday)."),
    runs: int = typer.Option(10, min=1, help="How many recent runs to list."),
) -> None:
    """Recent runs, days missing or failed, the last published snapshot and failing checks.

    Reads the Dagster instance (DAGSTER_HOME) and the snapshot folder; changes nothing.

    Examples:
      kpi status
      kpi status --days 30 --runs 5
      kpi status --end 2025-03-31 --days 31
    """
    from kpi_pipeline.orchestration.status import collect_status
    from kpi_pipeline.partitions import partition_range

    settings = read_settings()
    start, last_complete = partition_range(settings)
    yesterday = parse_day(end, "--end") if end else last_complete
    first = max(yesterday - dt.timedelta(days=days - 1), start)
    with existing_instance(settings.dagster_home) as instance:
        report = collect_status(instance, settings.snapshot_dir, first, yesterday)

    table = Table(title="Last runs of daily_kpis")
    for column in ("run", "status", "days", "started (UTC)", "took"):
        table.add_column(column)
    for run in report.runs[:runs]:
        took = (
            f"{(run.ended - run.started).total_seconds():.0f} s"
            if run.ended and run.started
            else ""
        )
        started = run.started.strftime("%Y-%m-%d %H:%M") if run.started else ""
        table.add_row(run.run_id[:8], run.status, run.days_text, started, took)
    console.print(table if report.runs else "no runs yet (kpi run --date D, or make dev)")

    problems = [d for d in report.days if d.state != "published"]
    console.print(
        f"days {first} .. {yesterday}: {len(report.days) - len(problems)} published, "
        f"{len(problems)} not"
    )
    if problems:
        days_table = Table(title="Days not published")
        for column in ("day", "state", "run"):
            days_table.add_column(column)
        for row in problems:
            style = STATE_STYLE.get(row.state, "yellow")
            days_table.add_row(str(row.day), f"[{style}]{row.state}[/]", (row.run_id or "")[:8])
        console.print(days_table)

    if report.last_snapshot:
        day, folder = report.last_snapshot
        console.print(f"last published snapshot: {day} ({folder})")
    else:
        console.print(f"no snapshot published yet in {settings.snapshot_dir}")

    if report.failing_checks:
        # a list, not a table: long check names and reasons wrap at words in any terminal
        console.print("Failing checks (latest run of each day above):")
        for row in report.failing_checks:
            style = "red" if row.severity == "ERROR" else "yellow"
            console.print(f"  [{style}]{row.severity}[/] {row.check} (run {row.run_id[:8]})")
            console.print(Padding(row.description[:300], (0, 0, 0, 4)))
    else:
        console.print("no failing checks in those runs")


def query(
    sql: str = typer.Argument(..., help="One SELECT (or WITH, DESCRIBE, SHOW, EXPLAIN)."),
    fmt: str = typer.Option("table", "--format", help="table or csv."),
    timeout: float = typer.Option(
        60.0, "--timeout", help="Seconds before the query is stopped (exit code 2)."
    ),
    memory_limit: str = typer.Option(
        "1GB", "--memory-limit", help="Memory for the query and its result, e.g. 500MB, 2GB."
    ),
) -> None:
    """Read-only SQL against the warehouse (KPI_WAREHOUSE); writes are refused.

    One statement, reading only the warehouse's tables (no files, extensions or settings),
    stopped after --timeout seconds or beyond --memory-limit. Unqualified names resolve in
    the marts, then publish. A refused, stopped or failed query exits with code 2.

    Examples:
      kpi query "select * from fct_kpi_daily order by kpi_date desc limit 10"
      kpi query "select kpi_id, sum(numerator) from marts.fct_kpi_daily group by 1" --format csv
      kpi query "show all tables"
      kpi query "select count(*) from fct_kpi_daily" --timeout 300 --memory-limit 4GB
    """
    from kpi_pipeline.exit_codes import ExitCode
    from kpi_pipeline.orchestration.readonly_query import QueryError, QueryLimits, read_only_query
    from kpi_pipeline.warehouse.lock import WarehouseBusyError

    if fmt not in {"table", "csv"}:
        raise fail(f"--format '{fmt}' is not known", "use --format table or --format csv")
    settings = read_settings()
    try:
        limits = QueryLimits(timeout_seconds=timeout, memory_limit=memory_limit)
        frame = read_only_query(settings.warehouse_location, sql, limits, on_wait=say_waiting)
    except QueryError as err:
        raise fail(str(err), err.hint, ExitCode.ERROR) from err
    except WarehouseBusyError as err:
        raise fail(str(err), BUSY_HINT, ExitCode.BUSY) from err
    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
        return
    table = Table()
    for column in frame.columns:
        table.add_column(column, overflow="fold")
    for row in frame.head(MAX_TABLE_ROWS).iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    shown = min(frame.height, MAX_TABLE_ROWS)
    more = f" (first {shown} shown; --format csv gives all)" if frame.height > shown else ""
    console.print(f"{frame.height} row(s){more}")
