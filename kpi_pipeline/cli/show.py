"""`kpi show`: one KPI's values against its targets, by day, week, month, quarter or year."""

from __future__ import annotations

import datetime as dt
import sys

import typer
from rich.box import SIMPLE_HEAVY
from rich.table import Table

from kpi_pipeline.cli.common import (
    BUSY_HINT,
    console,
    fail,
    named_kpi,
    parse_day,
    read_settings,
    say_waiting,
    styled_status,
)
from kpi_pipeline.exit_codes import ExitCode


def show(
    kpi_id: str = typer.Argument(..., help="The KPI's id (kpi list shows them)."),
    grain: str = typer.Option("day", help="day, week, month, quarter or year."),
    from_: str = typer.Option(
        None, "--from", help="First day, YYYY-MM-DD (default: 14 days, 12 weeks/months back)."
    ),
    to: str = typer.Option(None, "--to", help="Last day, YYYY-MM-DD (default: latest facts)."),
    by: str = typer.Option(None, help="A breakdown of the KPI, e.g. channel or campaign."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """One KPI's values against its targets: a row per period (and per value of --by).

    Targets and status apply to the KPI's overall value; a breakdown shows values only.
    Reads the warehouse read-only (KPI_WAREHOUSE).

    Examples:
      kpi show net_revenue
      kpi show session_conversion_rate --grain month --from 2025-01-01 --to 2025-06-30
      kpi show session_conversion_rate --grain week --by channel --format csv
      kpi show nps --grain quarter --format json
    """
    from kpi_pipeline.kpis.pace import pace_of
    from kpi_pipeline.kpis.show import (
        GRAINS,
        default_first,
        facts_range,
        read_days,
        read_periods,
        targets_in_range,
        with_provisional,
    )
    from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
    from kpi_pipeline.warehouse.lock import WarehouseBusyError

    if grain not in GRAINS:
        raise fail(f"--grain '{grain}' is not known", f"use one of: {', '.join(GRAINS)}")
    if fmt not in {"table", "csv", "json"}:
        raise fail(f"--format '{fmt}' is not known", "use --format table, csv or json")
    settings = read_settings()
    kpi = named_kpi(settings, kpi_id)
    if by is not None and by not in kpi.dimensions:
        has = ", ".join(kpi.dimensions) or "none"
        raise fail(f"{kpi.id} has no breakdown by '{by}'", f"its breakdowns: {has}")
    first = parse_day(from_, "--from") if from_ else None
    last = parse_day(to, "--to") if to else None
    try:
        with read_only_connection(settings.warehouse_location, on_wait=say_waiting) as con:
            has_from, has_to = facts_range(con, kpi.id)
            if has_to is None:
                raise fail(f"no facts for {kpi.id} yet", "build some with kpi run / kpi backfill")
            last = last or has_to
            first = first or default_first(last, grain)
            if last < first:
                raise fail("--to is before --from", "swap the two dates")
            if grain == "day":
                frame = read_days(con, kpi, first, last, by)
            else:
                frame = read_periods(con, kpi, grain, first, last, by)
            # a KPI whose data matures late is heading where its mature days say
            mature = last - dt.timedelta(days=kpi.maturity_lag_days)
            heading = pace_of(con, kpi.id, grain, mature) if grain != "day" else None
            frame = with_provisional(frame, kpi, has_to)
    except QueryError as err:
        raise fail(str(err), err.hint) from err
    except WarehouseBusyError as err:
        raise fail(str(err), BUSY_HINT, ExitCode.BUSY) from err

    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
        return
    if fmt == "json":
        sys.stdout.write(frame.write_json() + "\n")
        return
    console.print(rich_table(frame, kpi, grain, settings.reporting_currency, first, last, by))
    if heading and heading["days_elapsed"] < heading["days_in_period"]:
        from kpi_pipeline.publish.report_words import period_sentence

        said = period_sentence(
            heading, kpi.unit, settings.reporting_currency, not kpi.formula.is_ratio
        )
        if said:  # the period not over yet: where it is heading (kpi pace)
            console.print(f"{said} (seen from {heading['kpi_date']})")
    changes = targets_in_range(kpi, first, last)
    if changes:  # which target applied to which days
        console.print("targets in this range: " + "; ".join(changes))
    if frame.is_empty():
        console.print(f"no facts in this range; {kpi.id} has facts from {has_from} to {has_to}")


def period_label(grain: str, start: dt.date) -> str:
    """2025-03-03 (a day, or the Monday of a week), 2025-03, 2025-Q1, 2025."""
    if grain == "month":
        return f"{start:%Y-%m}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if grain == "year":
        return str(start.year)
    return str(start)


def rich_table(frame, kpi, grain: str, currency: str, first, last, by: str | None) -> Table:
    from kpi_pipeline.publish.report import format_value

    # no side borders and periods named briefly (2025-03, 2025-Q1, week of 2025-03-03):
    # the table stays whole in an 80-column terminal
    table = Table(title=f"{kpi.name} ({kpi.id}) by {grain}, {first} .. {last}", box=SIMPLE_HEAVY)
    table.add_column({"day": "day", "week": "week of"}.get(grain, grain), no_wrap=True)
    if by:
        table.add_column(by)
    for column in ("value", "target", "status", "last year"):
        table.add_column(column, justify="left" if column == "status" else "right")
    for row in frame.iter_rows(named=True):
        period = period_label(grain, row["period_start"])
        overall = row["dimension"] == "all"
        cells = [period] + ([row["dimension_value"] if not overall else "(all)"] if by else [])
        cells += [
            format_value(row["value"], kpi.unit, currency),
            format_value(row["target"], kpi.unit, currency) if overall else "",
            styled_status(row["status"]) + (" provisional" if row.get("provisional") else ""),
            format_value(row["previous_year_value"], kpi.unit, currency) if overall else "",
        ]
        table.add_row(*cells)
    return table
