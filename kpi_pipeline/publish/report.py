"""The stakeholder report of a snapshot version: one self-contained HTML file (inline CSS and
SVG, no script, no external resource). Every text goes through Jinja's autoescape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import jinja2
import polars as pl

from kpi_pipeline.kpis.catalogue import FAMILIES, Kpi, Target
from kpi_pipeline.kpis.status import same_day_last_year
from kpi_pipeline.publish.restatements import row_sentence

TREND_DAYS = 90
STATUS_COLOURS = {
    "on_track": "#1a7f37",
    "at_risk": "#b58100",
    "off_track": "#cf222e",
    "no_data": "#6e7781",
    "no_target": "#6e7781",
}
STATUS_LABELS = {
    "on_track": "on track",
    "at_risk": "at risk",
    "off_track": "off track",
    "no_data": "no data",
    "no_target": "no target",
}
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 240, 60, 4


@dataclass(frozen=True)
class ReportContext:
    day: dt.date
    version: int
    published_at: str
    run_id: str | None
    currency: str
    warnings: list[str]
    # the version this one restates, and what changed since, in plain words
    changes_since: int | None = None
    changes: tuple[str, ...] = ()
    # KPI id -> why it moved beyond its tolerance since the previous day, in one sentence
    why: Mapping[str, str] = field(default_factory=dict)


def format_value(value: float | None, unit: str, currency: str) -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value * 100:,.2f} %"
    if unit == "currency":
        return f"{value:,.2f} {currency}"
    if unit == "hours":
        return f"{value:,.1f} h"
    return f"{value:,.1f}"


def format_change(value: float | None, before: float | None, unit: str) -> str:
    if value is None or before is None:
        return "-"
    delta = value - before
    text = f"{delta * 100:+,.2f} pt" if unit == "ratio" else f"{delta:+,.2f}"
    if before:
        text += f" ({delta / abs(before) * 100:+,.1f} %)"
    return text


def trend_svg_points(
    series: list[tuple[dt.date, float | None]],
    target: float | None,
    first: dt.date,
    last: dt.date,
) -> tuple[list[str], float | None]:
    """Polyline segments (gaps where a value is missing) and the target line's y, in pixels
    (None without a target)."""
    values = [v for _, v in series if v is not None] + ([target] if target is not None else [])
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    span = (high - low) or 1.0
    days = max((last - first).days, 1)

    def x(day: dt.date) -> float:
        return CHART_PAD + (day - first).days / days * (CHART_WIDTH - 2 * CHART_PAD)

    def y(value: float) -> float:
        return CHART_HEIGHT - CHART_PAD - (value - low) / span * (CHART_HEIGHT - 2 * CHART_PAD)

    segments, current = [], []
    for day, value in series:
        if value is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        current.append(f"{x(day):.1f},{y(value):.1f}")
    if current:
        segments.append(" ".join(current))
    return segments, None if target is None else round(y(target), 1)


TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>KPIs of {{ ctx.day }} (v{{ ctx.version }})</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2328; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
.meta { color: #59636e; font-size: 0.85rem; margin-bottom: 1.2rem; }
.warnings { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.6rem 1rem; }
h2 { font-size: 1.1rem; margin-top: 1.6rem; border-bottom: 1px solid #d1d9e0; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th.kpi { width: 22%; } th.chart { width: 250px; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #eef1f4;
         vertical-align: middle; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.target-change { font-size: 0.8rem; color: #57606a; }
.why { font-size: 0.85rem; color: #424a53; max-width: 32rem; }
.status { color: #fff; border-radius: 0.8rem; padding: 0.1rem 0.6rem; font-size: 0.85rem;
          white-space: nowrap; }
.breakdown { color: #59636e; font-size: 0.85rem; }
</style>
</head>
<body>
<h1>KPIs of {{ ctx.day }}</h1>
<div class="meta">snapshot version {{ ctx.version }} &middot; published {{ ctx.published_at }}
{%- if ctx.run_id %} &middot; run {{ ctx.run_id }}{% endif %}</div>
{% if ctx.warnings %}
<div class="warnings" id="warnings"><strong>Published with warnings</strong>
(the numbers passed every blocking check; these checks raised a warning):
<ul>{% for w in ctx.warnings %}<li>{{ w }}</li>{% endfor %}</ul></div>
{% endif %}
{% if ctx.changes_since is not none %}
<section id="changes"><h2>What changed since version {{ ctx.changes_since }}</h2>
{% if ctx.changes %}<ul>{% for line in ctx.changes %}<li>{{ line }}</li>{% endfor %}</ul>
{% else %}<p>No KPI value, target or status changed.</p>{% endif %}</section>
{% endif %}
{% for family, rows in families %}
<h2>{{ family_titles[family] }}</h2>
<table>
<thead><tr><th class="kpi">KPI</th><th>value</th><th>target</th><th>status</th>
<th>vs previous day</th><th>vs same day last year</th>
<th class="chart">last {{ trend_days }} days</th></tr></thead>
<tbody>
{% for r in rows %}
<tr class="kpi" data-kpi="{{ r.kpi_id }}" data-status="{{ r.status }}">
<td>{{ r.name }}{% if r.why %}<div class="why">{{ r.why }}</div>{% endif %}</td>
<td class="num">{{ r.value }}</td>
<td class="num">{{ r.target }}{% for note in r.target_changes %}
<div class="target-change">{{ note }}</div>{% endfor %}</td>
<td><span class="status" style="background: {{ r.colour }}">{{ r.status_label }}</span></td>
<td class="num">{{ r.change_day }}</td>
<td class="num">{{ r.change_year }}</td>
<td><svg width="{{ chart_width }}" height="{{ chart_height }}" role="img"
 viewBox="0 0 {{ chart_width }} {{ chart_height }}">
<title>{{ r.name }}: last {{ trend_days }} days (line) against the target (dashed)</title>
{% if r.target_y is not none %}<line x1="0" x2="{{ chart_width }}" y1="{{ r.target_y }}"
 y2="{{ r.target_y }}" stroke="#8c959f" stroke-dasharray="4 3" stroke-width="1"/>{% endif %}
{% for points in r.segments %}<polyline fill="none" stroke="{{ r.colour }}" stroke-width="1.5"
 points="{{ points }}"/>{% endfor %}
</svg></td>
</tr>
{% for b in r.breakdowns %}
<tr class="breakdown"><td>&nbsp;&nbsp;{{ b.dimension }}: {{ b.dimension_value }}</td>
<td class="num">{{ b.value }}</td><td colspan="5"></td></tr>
{% endfor %}
{% endfor %}
</tbody>
</table>
{% endfor %}
</body>
</html>
"""

FAMILY_TITLES = {
    "marketing": "Marketing",
    "financial": "Financial",
    "customer_satisfaction": "Customer satisfaction",
    "process": "Process",
}


def _describe(target: Target, unit: str, currency: str) -> str:
    if target.is_relative:
        return target.describe()
    return format_value(target.value, unit, currency)


def target_changes(kpi: Kpi, first: dt.date, last: dt.date, currency: str) -> list[str]:
    """A sentence per target change within [first, last] (the report's window): "target
    changed on 2026-07-01 from 8,000 to 9,000"."""
    notes = []
    for before, after in zip(kpi.targets, kpi.targets[1:], strict=False):
        day = after.effective_from
        if day is not None and first <= day <= last:
            notes.append(
                f"target changed on {day} from {_describe(before, kpi.unit, currency)} "
                f"to {_describe(after, kpi.unit, currency)}"
            )
    return notes


CHANGES_SHOWN = 20  # the report's list stays short; the manifest holds every row


def change_sentences(
    changes: dict | None, catalogue: dict[str, Kpi], currency: str
) -> tuple[str, ...]:
    """The `changes` section of a manifest (publish/restatements.py) in plain words, overall
    rows first: "Net revenue: 12,340.00 USD → 12,415.50 USD (orders/dt=.../orders.csv was
    re-sent)"; beyond CHANGES_SHOWN rows, one line saying how many more."""
    if not changes:
        return ()
    if changes.get("unreadable"):
        return (f"the previous version could not be read ({changes['unreadable']})",)
    rows = sorted(changes.get("rows") or [], key=lambda r: (r["dimension"] != "all",))
    lines = [row_sentence(r, catalogue, format_value, currency) for r in rows[:CHANGES_SHOWN]]
    if len(rows) > CHANGES_SHOWN:
        lines.append(
            f"... and {len(rows) - CHANGES_SHOWN} more rows (manifest.json `changes`, or "
            "kpi snapshots diff)"
        )
    return tuple(lines)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def overall_values(history: pl.DataFrame) -> dict[tuple[str, dt.date], float | None]:
    """`history` has kpi_id, kpi_date, value of the overall rows."""
    return {(r["kpi_id"], r["kpi_date"]): r["value"] for r in history.iter_rows(named=True)}


def render_report(
    ctx: ReportContext,
    snapshot: pl.DataFrame,
    history: pl.DataFrame,
    catalogue: dict[str, Kpi],
) -> bytes:
    """The report of one snapshot version. `snapshot` is the version's KPI rows (see
    snapshot_frame); `history` the overall rows (kpi_id, kpi_date, value) of the facts
    over at least the last year, for the changes and the trend."""
    values = overall_values(history)
    first = ctx.day - dt.timedelta(days=TREND_DAYS - 1)
    trend_days = [first + dt.timedelta(days=i) for i in range(TREND_DAYS)]
    by_family: dict[str, list[dict]] = {}
    breakdowns: dict[str, list[dict]] = {}
    overall = []
    for row in snapshot.iter_rows(named=True):
        if row["dimension"] == "all":
            overall.append(row)
        else:
            breakdowns.setdefault(row["kpi_id"], []).append(row)
    for row in overall:
        kpi = catalogue[row["kpi_id"]]
        status = row["status"] or "no_data"
        series = [(d, values.get((kpi.id, d))) for d in trend_days]
        series[-1] = (ctx.day, row["value"])
        segments, target_y = trend_svg_points(series, row["target"], first, ctx.day)
        by_family.setdefault(kpi.family, []).append(
            {
                "kpi_id": kpi.id,
                "name": kpi.name,
                "value": format_value(row["value"], kpi.unit, ctx.currency),
                "target": format_value(row["target"], kpi.unit, ctx.currency),
                "target_changes": target_changes(kpi, first, ctx.day, ctx.currency),
                "why": ctx.why.get(kpi.id),
                "status": status,
                "status_label": STATUS_LABELS.get(status, status),
                "colour": STATUS_COLOURS.get(status, STATUS_COLOURS["no_data"]),
                "change_day": format_change(
                    row["value"], values.get((kpi.id, ctx.day - dt.timedelta(days=1))), kpi.unit
                ),
                "change_year": format_change(
                    row["value"], values.get((kpi.id, same_day_last_year(ctx.day))), kpi.unit
                ),
                "segments": segments,
                "target_y": target_y,
                "breakdowns": [
                    {
                        "dimension": b["dimension"],
                        "dimension_value": b["dimension_value"],
                        "value": format_value(b["value"], kpi.unit, ctx.currency),
                    }
                    for b in breakdowns.get(kpi.id, [])
                ],
            }
        )
    order = {family: i for i, family in enumerate(FAMILIES)}
    families = sorted(by_family.items(), key=lambda item: order.get(item[0], len(order)))
    html = (
        _environment()
        .from_string(TEMPLATE)
        .render(
            ctx=ctx,
            families=families,
            family_titles={**{f: f for f in by_family}, **FAMILY_TITLES},
            trend_days=TREND_DAYS,
            chart_width=CHART_WIDTH,
            chart_height=CHART_HEIGHT,
        )
    )
    return html.encode("utf-8")
