"""`kpi pace`: where every KPI is heading in its period: to date, target to date, the
projection with its interval, and the projected status."""

from __future__ import annotations

import json
import sys

import typer
from rich.box import SIMPLE_HEAVY
from rich.table import Table

from kpi_pipeline.cli.common import (
    BUSY_HINT,
    console,
    fail,
    parse_day,
    read_settings,
    say_waiting,
    styled_status,
)
from kpi_pipeline.exit_codes import ExitCode


def pace(
    date: str = typer.Option(None, help="The day to see the periods from (default: latest)."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
    backtest: bool = typer.Option(
        False, "--backtest", help="Score the history's month projections at days 10 and 20."
    ),
) -> None:
    """Every KPI's period to date (the week, month or quarter of its review cadence), the
    target to date, the projected end-of-period value with its 80 % interval, and the
    projected status against the period's target (docs/kpis.md, "Where a KPI is heading").

    With --backtest: over the history the warehouse holds, the projection made at days 10
    and 20 of each month against the month's final value, next to naive linear pacing, and
    how often the 80 % interval held it.

    Examples:
      kpi pace
      kpi pace --date 2025-03-10 --format csv
      kpi pace --backtest
    """
    from kpi_pipeline.kpis.catalogue import CatalogueError, load_catalogue
    from kpi_pipeline.kpis.maturity import lagged
    from kpi_pipeline.kpis.pace import latest_pace_day, read_pace
    from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
    from kpi_pipeline.warehouse.lock import WarehouseBusyError

    if fmt not in ("table", "csv", "json"):
        raise fail(f"--format '{fmt}' is not known", "use --format table, csv or json")
    settings = read_settings()
    try:
        catalogue = load_catalogue(settings.kpi_catalogue_path)
    except CatalogueError as err:
        raise fail(str(err), "fix kpis.yml; kpi validate checks it") from err
    day = parse_day(date, "--date") if date else None
    if backtest:
        return _backtest(settings, catalogue, fmt)
    try:
        with read_only_connection(settings.warehouse_location, on_wait=say_waiting) as con:
            day = day or latest_pace_day(con)
            if day is None:
                raise fail("no KPI facts yet", "build some with kpi run / kpi backfill")
            frame = read_pace(con, day, lagged(catalogue))
    except QueryError as err:
        raise fail(str(err), err.hint) from err
    except WarehouseBusyError as err:
        raise fail(str(err), BUSY_HINT, ExitCode.BUSY) from err
    if frame.is_empty():
        raise fail(f"no KPI facts on {day}", "kpi status shows the days published")
    order = {kpi_id: i for i, kpi_id in enumerate(catalogue)}
    frame = frame.sort(frame["kpi_id"].replace_strict(order, default=len(order)))
    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
        return
    if fmt == "json":
        sys.stdout.write(frame.write_json() + "\n")
        return
    console.print(pace_table(frame, catalogue, settings.reporting_currency, day))


def period_words(row: dict) -> str:
    """ "2025-03, day 3 of 31" / "week of 2025-03-03, day 2 of 7" / "2025-Q1, day 10 of 90";
    a KPI whose data matures late: "week of 2025-03-03, day 2 of 7 (complete through
    2025-03-04; 1 newer day(s) provisional)"."""
    start = row["period_start"]
    if row["period_grain"] == "month":
        name = f"{start:%Y-%m}"
    elif row["period_grain"] == "quarter":
        name = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    else:
        name = f"week of {start}"
    text = f"{name}, day {row['days_elapsed']} of {row['days_in_period']}"
    if row.get("provisional_days"):  # data that matures late: to date counts mature days
        text += (
            f" (complete through {row['mature_through']}; "
            f"{row['provisional_days']} newer day(s) provisional)"
        )
    return text


def pace_table(frame, catalogue, currency: str, day) -> Table:
    from kpi_pipeline.publish.report import format_value

    table = Table(title=f"Where the KPIs are heading, seen from {day}", box=SIMPLE_HEAVY)
    for column in ("KPI", "period", "to date", "target to date", "projected", "period target"):
        table.add_column(column, justify="left" if column in ("KPI", "period") else "right")
    table.add_column("projected status")
    for row in frame.iter_rows(named=True):
        kpi = catalogue.get(row["kpi_id"])
        unit = kpi.unit if kpi else ""

        def value(number, unit=unit) -> str:
            return format_value(number, unit, currency)

        projected = value(row["projected_value"])
        low, high = row["projected_low"], row["projected_high"]
        if low is not None and high is not None and low != high:  # the last day: no span
            projected += f" ({value(row['projected_low'])} to {value(row['projected_high'])})"
        table.add_row(
            kpi.name if kpi else row["kpi_id"],
            period_words(row),
            value(row["period_to_date_value"]),
            value(row["target_to_date"]),
            projected,
            value(row["period_target"]),
            styled_status(row["projected_status"]),
        )
    return table


def _backtest(settings, catalogue, fmt: str) -> None:
    from kpi_pipeline.kpis.backtest import READ, score
    from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
    from kpi_pipeline.warehouse import query_polars
    from kpi_pipeline.warehouse.lock import WarehouseBusyError

    try:
        with read_only_connection(settings.warehouse_location, on_wait=say_waiting) as con:
            rows = query_polars(con, READ).to_dicts()
    except QueryError as err:
        raise fail(str(err), err.hint) from err
    except WarehouseBusyError as err:
        raise fail(str(err), BUSY_HINT, ExitCode.BUSY) from err
    sums = {kpi_id for kpi_id, kpi in catalogue.items() if not kpi.formula.is_ratio}
    scores = score(rows, sums)
    if not scores:
        raise fail(
            "no complete month with a projection at day 10 or 20 in the warehouse",
            "backfill at least a month of a KPI reviewed monthly (or daily)",
        )
    records = [
        {
            "kpi_id": s.kpi_id,
            "day": s.day,
            "months": s.months,
            "projection_error": s.projection_error,
            "naive_error": s.naive_error,
            "beats_naive": s.beats_naive,
            "with_interval": s.with_interval,
            "coverage": s.coverage,
        }
        for s in scores
    ]
    if fmt == "json":
        sys.stdout.write(json.dumps(records) + "\n")
        return
    if fmt == "csv":
        sys.stdout.write(",".join(records[0]) + "\n")
        for record in records:
            cells = ("" if v is None else str(v) for v in record.values())
            sys.stdout.write(",".join(cells) + "\n")
        return
    table = Table(title="Month projections against the final value", box=SIMPLE_HEAVY)
    for column in ("KPI", "day", "months", "projection error", "naive error", "80 % interval"):
        table.add_column(column, justify="left" if column == "KPI" else "right")
    for s in scores:
        coverage = (
            f"{s.covered} of {s.with_interval} ({s.coverage:.0%})" if s.with_interval else "-"
        )
        table.add_row(
            "all KPIs" if s.kpi_id == "all" else s.kpi_id,
            str(s.day),
            str(s.months),
            f"{s.projection_error:.1%}",
            f"{s.naive_error:.1%}",
            coverage,
        )
    console.print(table)
