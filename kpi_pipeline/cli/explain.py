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
    named_kpi,
    parse_day,
    read_settings,
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
    by: str = typer.Option(
        None,
        help="The breakdown to split over (default: the KPI's first), or `chain`: the factors "
        "of its product chain (kpis.yml; the default for a KPI with a chain and no breakdown).",
    ),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """Why a KPI moved: its change between two periods split exactly over the values of one
    breakdown. A plain sum: each value's own change. A ratio: per value, a mix effect (its
    share of the denominator moved) and a rate effect (its own ratio moved). The parts add
    up to the change; what overlapping values (distinct users) leave is "(not attributable)".
    `--by chain`: a KPI declared as a product of factors (net revenue = sessions x orders per
    session x average order value) split between them (LMDI).

    Examples:
      kpi explain session_conversion_rate
      kpi explain organic_traffic --date 2025-03-03 --vs last_year --by source
      kpi explain net_revenue --by chain --grain week
      kpi explain "Session conversion rate" --grain month --format json
    """
    from kpi_pipeline.explain.chain import ChainError, explain_kpi_chain, factor_values
    from kpi_pipeline.explain.decompose import explain as decompose
    from kpi_pipeline.explain.explanation import NoValue
    from kpi_pipeline.explain.periods import COMPARISONS, compared_periods, vs_label
    from kpi_pipeline.explain.read import (
        OVERALL,
        MetricFactsMissing,
        read_breakdowns,
        read_metric_totals,
    )
    from kpi_pipeline.explain.wording import format_change, mix_subject, sentence
    from kpi_pipeline.kpis.catalogue import CHAIN
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
    settings = read_settings()
    kpi = named_kpi(settings, kpi_id)
    dimension = _split(kpi, by)
    chain = dimension == CHAIN
    day = parse_day(date, "--date") if date else None
    try:
        with read_only_connection(settings.warehouse_location, on_wait=say_waiting) as con:
            first, last = facts_range(con, kpi.id)
            if last is None:
                raise fail(f"no facts for {kpi.id} yet", "build some with kpi run / kpi backfill")
            day = day or last
            before, after = compared_periods(day, grain, vs)
            periods = read_breakdowns(
                con, kpi.id, OVERALL if chain else dimension, grain, before, after
            )
            if chain:
                metrics = dict.fromkeys(m for f in kpi.chain for m in f.metrics())
                totals = read_metric_totals(con, metrics, grain, before, after)
    except QueryError as err:
        raise fail(str(err), err.hint) from err
    except WarehouseBusyError as err:
        raise fail(str(err), BUSY_HINT, ExitCode.BUSY) from err
    except MetricFactsMissing as err:
        raise fail(str(err), "build it with kpi run / kpi backfill") from err
    try:
        if chain:
            found = explain_kpi_chain(kpi, (periods[0].overall, periods[1].overall), totals)
        else:
            found = decompose(kpi, dimension, *periods)
    except NoValue as err:
        missing = before if err.period == "from" else after
        raise fail(
            f"{kpi.id} has no value for the {grain} of {missing} ({err.reason}): nothing to "
            "explain",
            f"{kpi.id} has facts from {first} to {last}; pick --date and --vs within them",
        ) from err
    except ChainError as err:
        raise fail(str(err), "docs/kpis.md, 'Why a KPI moved', says what a chain needs") from err

    # each factor's value in the two periods (the chain was explained: they exist)
    factors = (
        [(f.name, *(factor_values([f], t, "")[f.name] for t in totals)) for f in kpi.chain]
        if chain
        else []
    )
    if fmt == "json":
        data = found.to_json_dict(before, after)
        if chain:
            data["factors"] = [{"name": n, "from": a, "to": b} for n, a, b in factors]
        sys.stdout.write(json.dumps(data) + "\n")
        return
    if fmt == "csv":
        sys.stdout.write("dimension_value,effect,value\n")
        for part in found.largest():
            name = part.dimension_value.replace('"', '""')
            sys.stdout.write(f'"{name}",{part.effect},{part.value!r}\n')
        return
    if chain:
        values = {name: (was, now) for name, was, now in factors}
        console.print(_chain_table(found, kpi, values, grain, before, after))
    else:
        console.print(_table(found, kpi, dimension, grain, before, after))
    currency = settings.reporting_currency
    console.print(
        f"{format_value(found.value_from, kpi.unit, currency)} -> "
        f"{format_value(found.value_to, kpi.unit, currency)} "
        f"({format_change(found.change, kpi.unit)}); the parts add up to the change"
    )
    label = vs_label(grain, vs)
    subject = mix_subject(kpi)
    console.print(sentence(found, kpi.name, kpi.unit, label, mix_subject=subject))


def _split(kpi, by: str | None) -> str:
    """What the change is split over: `by`, a breakdown of the KPI or `chain`; without
    `by`, the KPI's first breakdown, else its chain."""
    from kpi_pipeline.kpis.catalogue import CHAIN

    if by == CHAIN or (by is None and not kpi.dimensions and kpi.chain):
        if not kpi.chain:
            raise fail(
                f"{kpi.id} declares no product chain to split its change over",
                "declare one ('chain') for it in kpis.yml (docs/kpis.md, 'Why a KPI moved')"
                + (f", or use --by {' / '.join(kpi.dimensions)}" if kpi.dimensions else ""),
            )
        return CHAIN
    if not kpi.dimensions:
        raise fail(
            f"{kpi.id} has no breakdown to split its change over",
            "declare dimensions (or a chain) for it in kpis.yml (docs/kpis.md), or use kpi show",
        )
    dimension = by or kpi.dimensions[0]
    if dimension not in kpi.dimensions:
        chain = f", or {CHAIN}" if kpi.chain else ""
        raise fail(
            f"{kpi.id} has no breakdown by '{dimension}'",
            f"its breakdowns: {', '.join(kpi.dimensions)}{chain}",
        )
    return dimension


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


def _chain_table(
    found, kpi, factors: dict[str, tuple[float, float]], grain: str, before, after
) -> Table:
    """One row per factor, largest contribution first: its value in each period and its
    contribution to the change."""
    from kpi_pipeline.explain.wording import format_change

    title = f"{kpi.name} by its chain, {grain} of {after} vs {before}"
    table = Table(title=title, box=SIMPLE_HEAVY)
    table.add_column("factor")
    table.add_column(str(before), justify="right")
    table.add_column(str(after), justify="right")
    table.add_column("contribution", justify="right")
    for part in found.largest():
        was, now = factors[part.effect]
        table.add_row(part.effect, _factor(was), _factor(now), format_change(part.value, kpi.unit))
    return table


def _factor(value: float) -> str:
    """A factor's value: whole numbers as such, others to two decimals (under 1: four
    significant digits, e.g. orders per session 0.02134)."""
    if value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"
