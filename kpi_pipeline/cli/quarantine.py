"""`kpi quarantine`: the rows ingest set aside, with file, line, column and reason."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kpi_pipeline.cli.common import console, fail, load_settings, parse_day


def quarantine(
    source: str = typer.Option(None, help="Only this source (hubspot, ga4, ads, orders, ...)."),
    start: str = typer.Option(None, help="First extract day, YYYY-MM-DD."),
    end: str = typer.Option(None, help="Last extract day (inclusive), YYYY-MM-DD."),
    limit: int = typer.Option(50, min=1, help="Show at most this many rows."),
) -> None:
    """List the rows that ingest set aside (raw._quarantine), newest extract day first.

    Example: kpi quarantine --source orders --start 2025-03-01 --end 2025-03-31
    """
    from kpi_pipeline.ingest.quarantine_view import quarantined_rows
    from kpi_pipeline.warehouse import connect
    from kpi_pipeline.warehouse.spark_support import not_yet_on_spark

    first = parse_day(start, "--start") if start else None
    last = parse_day(end, "--end") if end else None
    settings = load_settings()
    if problem := not_yet_on_spark(settings.warehouse_location, "kpi quarantine"):
        raise fail(problem, "read raw._quarantine with Spark SQL on the deployment's server")
    if not settings.warehouse_url and not settings.warehouse_path.exists():
        raise fail(
            f"no warehouse at {settings.warehouse_path}",
            "run `kpi run --date YYYY-MM-DD` first, or set KPI_WAREHOUSE / KPI_DATA_DIR",
        )
    with connect(settings.warehouse_location, read_only=True) as con:
        rows, total = quarantined_rows(con, source, first, last, limit)
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
