"""`kpi explain`: why a KPI moved between two periods, split over one of its breakdowns."""

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
    load_settings,
    named_kpi,
    parse_day,
    say_waiting,
)
from kpi_pipeline.exit_codes import ExitCode

GRAINS = ("day", "week", "month", "quarter")
SHOWN = 10  # contributions in the table, largest first


def explain(
    kpi_id: str = typer.Argument(..., help="The KPI's id or name (kpi list shows them)."),
    date: str = typer.Option(None, help="A day of the period explained (default: latest facts)."),
    vs: str = typer.Option("previous", help="previous (the period before) or last_year."),
    grain: str = typer.Option("day", help="day, week, month or quarter."),
    by: str = typer.Option(None, help="The breakdown to split over (default: the KPI's first)."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """Why a KPI moved: its change between two periods split exactly over the values of one
    breakdown. A plain sum: each value's own change. A ratio: per value, a mix effect (its
    share of the denominator moved) and a rate effect (its own ratio moved). The parts add
    up to the change; what overlapping values (distinct users) leave is "(not attributable)".

    Examples:
      kpi explain session_conversion_rate
      kpi explain net_revenue --date 2025-03-03 --vs last_year --by channel
      kpi explain "Session conversion rate" --grain month --format json
    """
    from kpi_pipeline.explain.decompose import explain as decompose
    from kpi_pipeline.explain.explanation import NoValue
    from kpi_pipeline.explain.periods import COMPARISONS, compared_periods, vs_label
    from kpi_pipeline.explain.read import read_breakdowns
    from kpi_pipeline.explain.wording import format_change, sentence
    from kpi_pipeline.kpis.show import facts_range
    from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
    from kpi_pipeline.publish.report import format_value
    from kpi_pipeline.warehouse.lock import WarehouseBusyError

    if grain not in GRAINS:
        raise fail(f"--grain '{grain}' is not known", f"use one of {', '.join(GRAINS)}")
    if vs not in COMPARISONS:
        raise fail(f"--vs '{vs}' is not known", f"use one of {', '.join(COMPARISONS)}")
    if fmt not in ("table", "csv", "json"):
        raise fail(f"--format '{fmt}' is not known", "use --format table, csv or json")
    settings = load_settings()
    kpi = named_kpi(settings, kpi_id)
    if not kpi.dimensions:
        raise fail(
            f"{kpi.id} has no breakdown to split its change over",
            "declare dimensions for it in kpis.yml (docs/kpis.md), or use kpi show",
        )
    dimension = by or kpi.dimensions[0]
    if dimension not in kpi.dimensions:
        raise fail(
            f"{kpi.id} has no breakdown by '{dimension}'",
            f"its breakdowns: {', '.join(kpi.dimensions)}",
        )
    day = parse_day(date, "--date") if date else None
    try:
        with read_only_connection(settings.warehouse_location, on_wait=say_waiting) as con:
            first, last = facts_range(con, kpi.id)
            if last is None:
                raise fail(f"no facts for {kpi.id} yet", "build some with kpi run / kpi backfill")
            day = day or last
            before, after = compared_periods(day, grain, vs)
            periods = read_breakdowns(con, kpi.id, dimension, grain, before, after)
    except QueryError as err:
        raise fail(str(err), err.hint) from err
    except WarehouseBusyError as err:
        raise fail(str(err), BUSY_HINT, ExitCode.BUSY) from err
    try:
        found = decompose(kpi, dimension, *periods)
    except NoValue as err:
        missing = before if err.period == "from" else after
        raise fail(
            f"{kpi.id} has no value for the {grain} of {missing} ({err.reason}): nothing to "
            "explain",
            f"{kpi.id} has facts from {first} to {last}; pick --date and --vs within them",
        ) from err

    if fmt == "json":
        sys.stdout.write(json.dumps(found.to_json_dict(before, after)) + "\n")
        return
    if fmt == "csv":
        sys.stdout.write("dimension_value,effect,value\n")
        for part in found.largest():
            name = part.dimension_value.replace('"', '""')
            sys.stdout.write(f'"{name}",{part.effect},{part.value!r}\n')
        return
    console.print(_table(found, kpi, dimension, grain, before, after))
    currency = settings.reporting_currency
    console.print(
        f"{format_value(found.value_from, kpi.unit, currency)} -> "
        f"{format_value(found.value_to, kpi.unit, currency)} "
        f"({format_change(found.change, kpi.unit)}); the parts add up to the change"
    )
    label = vs_label(grain, vs)
    subject = "traffic" if kpi.unit == "ratio" else "the mix"
    console.print(sentence(found, kpi.name, kpi.unit, label, mix_subject=subject))


def _table(found, kpi, dimension: str, grain: str, before, after) -> Table:
    from kpi_pipeline.explain.wording import format_change

    title = f"{kpi.name} by {dimension}, {grain} of {after} vs {before}"
    table = Table(title=title, box=SIMPLE_HEAVY)
    table.add_column(dimension)
    table.add_column("effect")
    table.add_column("contribution", justify="right")
    parts = found.largest()
    for part in parts[:SHOWN]:
        table.add_row(part.dimension_value, part.effect, format_change(part.value, kpi.unit))
    if len(parts) > SHOWN:
        rest = sum(p.value for p in parts[SHOWN:])
        table.add_row(f"{len(parts) - SHOWN} more", "", format_change(rest, kpi.unit))
    return table
