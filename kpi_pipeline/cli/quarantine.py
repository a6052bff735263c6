"""`kpi quarantine`: the rows ingest set aside, with file, line, column and reason."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kpi_pipeline.cli.common import BUSY_HINT, console, fail, parse_day, read_settings, say_waiting
from kpi_pipeline.exit_codes import ExitCode


def quarantine(
    source: str = typer.Option(None, help="Only this source (hubspot, ga4, ads, orders, ...)."),
    start: str = typer.Option(None, help="First extract day, YYYY-MM-DD."),
    end: str = typer.Option(None, help="Last extract day (inclusive), YYYY-MM-DD."),
    limit: int = typer.Option(50, min=1, help="Show at most this many rows."),
) -> None:
    """List the rows that ingest set aside (raw._quarantine), newest extract day first.
    Reads the warehouse read-only (KPI_WAREHOUSE).

    Example: kpi quarantine --source orders --start 2025-03-01 --end 2025-03-31
    """
    from kpi_pipeline.ingest.quarantine_view import quarantined_rows
    from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
    from kpi_pipeline.warehouse.lock import WarehouseBusyError

    first = parse_day(start, "--start") if start else None
    last = parse_day(end, "--end") if end else None
    settings = read_settings()
    if not settings.warehouse_url and not settings.spark and not settings.warehouse_path.exists():
        raise fail(
            f"no warehouse at {settings.warehouse_path}",
            "run `kpi run --date YYYY-MM-DD` first, or set KPI_WAREHOUSE / KPI_DATA_DIR",
        )
    try:
        with read_only_connection(settings.warehouse_location, on_wait=say_waiting) as con:
            rows, total = quarantined_rows(con, source, first, last, limit)
    except QueryError as err:
        raise fail(str(err), err.hint) from err
    except WarehouseBusyError as err:
        raise fail(str(err), BUSY_HINT, ExitCode.BUSY) from err
    if not total:
        console.print("nothing quarantined" + (f" for source '{source}'" if source else ""))
        return
    table = Table(title=f"quarantined rows: {min(limit, total)} of {total}")
    for name in ("day", "source", "file", "line", "column", "reason"):
        table.add_column(name, overflow="fold")
    for row in rows.iter_rows(named=True):
        table.add_row(
            str(row["day"]),
            row["source"],
            Path(row["file"]).name,
            "" if row["line"] is None else str(row["line"]),
            row["column"] or "",
            row["reason"],
        )
    console.print(table)
    if total > limit:
        console.print(f"[dim]{total - limit} more; use --limit or narrow with --source/--start[/]")
