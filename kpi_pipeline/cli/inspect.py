"""`kpi inspect`: a dry run of a landing zone, for a team connecting its data."""

from __future__ import annotations

import datetime as dt

import typer
from rich.markup import escape
from rich.table import Table

from kpi_pipeline.cli.common import console, fail, parse_range, read_settings
from kpi_pipeline.exit_codes import ExitCode


def inspect(
    start: str = typer.Option(None, help="First day, YYYY-MM-DD (default: 30 days back)."),
    end: str = typer.Option(None, help="Last day, YYYY-MM-DD (default: the latest dt= day)."),
) -> None:
    """What the landing zone would load, per source and day, without writing anything:
    files found, rows that would load and be quarantined (with the top reasons), sources
    that sent nothing, and the KPIs this deployment can compute.

    Exits 0 when every declared source would load every day, 1 otherwise.

    Examples:
      kpi inspect
      KPI_SOURCES=ga4,salesforce kpi inspect --start 2026-03-01 --end 2026-03-31
    """
    from kpi_pipeline.ingest.inspection import inspect_landing
    from kpi_pipeline.kpis.availability import deployment_availability
    from kpi_pipeline.quality.deliveries import missing_days, requirements
    from kpi_pipeline.settings import earliest_landing_day, latest_landing_day

    settings = read_settings()
    landing = settings.landing_url or str(settings.landing_dir)
    last_text = end or latest_landing_day(landing)
    if last_text is None:
        raise fail(
            f"no dt=YYYY-MM-DD folder in the landing zone {landing}",
            "deliver extracts as <landing>/<source>/dt=YYYY-MM-DD/<file> (docs/landing_zone.md)",
        )
    last_day = dt.date.fromisoformat(last_text)
    first_text = start or max(
        (last_day - dt.timedelta(days=29)).isoformat(), earliest_landing_day(landing) or ""
    )
    first, last = parse_range(first_text, last_day.isoformat())
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    seen = inspect_landing(landing, settings.deployment, days)

    table = Table(title=f"Landing zone {landing}, {first} .. {last} (nothing written)")
    for column in ("day", "source", "files", "read", "would load", "quarantined", "why"):
        table.add_column(column, overflow="fold")
    for row in seen:
        why = row.refused or "; ".join(f"{n} x {reason}" for reason, n in row.reasons)
        table.add_row(
            str(row.day),
            row.source,
            str(len(row.files)) if row.delivered else "[red]none[/]",
            str(row.rows_read),
            str(row.rows_loaded),
            f"[yellow]{row.rows_quarantined}[/]" if row.rows_quarantined else "0",
            escape(why),
        )
    console.print(table)
    got: dict[str, set[dt.date]] = {}
    for row in seen:
        if row.delivered:
            got.setdefault(row.source, set()).add(row.day)
    missing = missing_days(requirements(settings.deployment), got, days)
    refused = [r for r in seen if r.refused]
    for label in dict.fromkeys(need.label for _, need in missing):
        gone = [str(d) for d, need in missing if need.label == label]
        shown = ", ".join(gone[:10]) + (" ..." if len(gone) > 10 else "")
        console.print(f"[red]missing:[/] no {label} extract on {len(gone)} day(s): {shown}")
    computed = deployment_availability(settings.kpi_catalogue_path, settings.deployment)
    console.print(
        f"KPIs this deployment computes ({settings.deployment.origin}): "
        + ", ".join(computed.available)
    )
    for kpi_id in computed.missing:
        console.print(f"[dim]not computed: {kpi_id}: {computed.reason(kpi_id)}[/]")
    raise typer.Exit(ExitCode.BLOCKED if missing or refused else ExitCode.OK)
