"""The stakeholder report of a snapshot version: one self-contained HTML file (inline CSS and
SVG, no script, no external resource), also the e-mail's HTML body. A summary on top (status
counts, the biggest movers), then each KPI as a card, by family in catalogue order; the
layout reflows from 360 px phones to desktops. Every text goes through Jinja's autoescape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import jinja2
import polars as pl

from kpi_pipeline.kpis.catalogue import FAMILIES, Kpi, Target
from kpi_pipeline.kpis.maturity import LOOKBACK_DAYS, Maturity, latest_mature_day
from kpi_pipeline.kpis.status import same_day_last_year
from kpi_pipeline.publish.report_chart import CHART_HEIGHT, CHART_WIDTH, Chart, trend_chart
from kpi_pipeline.publish.report_words import (
    STATUS_LABELS,
    Mover,
    biggest_movers,
    date_words,
    format_change,
    format_value,
    header_line,
    maturity_sentence,
    no_value_sentence,
    period_sentence,
    published_words,
    report_title,
    short_date,
    status_counts,
)
from kpi_pipeline.publish.restatements import row_sentence

__all__ = [
    "STATUS_LABELS",
    "ReportContext",
    "change_sentences",
    "format_change",
    "format_value",
    "render_report",
    "target_changes",
]

TREND_DAYS = 90
STATUS_COLOURS = {
    "on_track": "#1a7f37",
    "at_risk": "#9a6700",
    "off_track": "#cf222e",
    "no_data": "#6e7781",
    "no_target": "#6e7781",
}


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


# Mobile first: without grid or media query support (some mail clients) everything stacks.
# No fixed widths; numbers wrap at their spaces, never over their neighbours.
TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title_line }}</title>
<style>
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       padding: 0.75rem; color: #1f2328; background: #f6f8fa; line-height: 1.45;
       overflow-wrap: break-word; }
.page { max-width: 72rem; margin: 0 auto; }
h1 { font-size: 1.35rem; line-height: 1.3; margin: 0.25rem 0; }
h2 { font-size: 1.1rem; line-height: 1.3; margin: 1.25rem 0 0.5rem; }
h3 { font-size: 1.05rem; line-height: 1.3; margin: 0; }
h4 { font-size: 0.8rem; line-height: 1.4; margin: 0.5rem 0 0.25rem; color: #59636e; }
p { margin: 0.25rem 0; }
ul { margin: 0.25rem 0; padding-left: 1.25rem; }
.published { color: #59636e; font-size: 0.9rem; margin: 0 0 0.75rem; }
.box { background: #fff; border: 1px solid #d1d9e0; border-radius: 6px;
       padding: 0.75rem; margin: 0 0 0.75rem; }
.box > h2 { margin-top: 0; }
.warnings { background: #fff8c5; border-color: #d4a72c; }
.counts { list-style: none; padding: 0; margin: 0 0 0.5rem; }
.counts li { display: inline-block; margin: 0 0.35rem 0.35rem 0; }
.status { display: inline-block; color: #fff; border-radius: 0.8rem; padding: 0.1rem 0.6rem;
          font-size: 0.85rem; line-height: 1.4; white-space: nowrap; }
.summary .names { font-size: 0.9rem; }
.movers li { margin-bottom: 0.25rem; }
.kpi { background: #fff; border: 1px solid #d1d9e0; border-left-width: 4px;
       border-radius: 6px; padding: 0.75rem; margin: 0 0 0.75rem; }
.kpi-head { display: flex; flex-wrap: wrap; align-items: baseline;
            justify-content: space-between; gap: 0.25rem 0.75rem; margin-bottom: 0.5rem; }
.kpi-body { display: grid; grid-template-columns: minmax(0, 1fr); gap: 0.75rem; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(7.5rem, 1fr));
           gap: 0.5rem 0.75rem; margin: 0; }
.figures > div { min-width: 0; }
dt { font-size: 0.75rem; line-height: 1.4; color: #59636e; }
dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: break-word; }
dd.value { font-size: 1.2rem; font-weight: 600; line-height: 1.35; }
.target-change { font-size: 0.8rem; color: #57606a; }
.why, .period, .maturity { font-size: 0.9rem; color: #424a53; margin-top: 0.5rem; }
.period { border-left: 3px solid #d1d9e0; padding-left: 0.5rem; }
figure.chart { margin: 0; min-width: 0; }
.chart-title { font-size: 0.75rem; line-height: 1.4; color: #59636e; }
.plot { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 0 0.5rem; }
.plot svg { display: block; width: 100%; height: {{ chart_height }}px;
            background: #f6f8fa; border-radius: 3px; }
.ylabels { display: flex; flex-direction: column; justify-content: space-between;
           max-width: 6rem; font-size: 0.75rem; line-height: 1.35; color: #59636e;
           text-align: right; font-variant-numeric: tabular-nums; }
.xlabels { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0 0.5rem;
           font-size: 0.75rem; line-height: 1.4; color: #59636e; }
.chart-note { font-size: 0.75rem; line-height: 1.4; color: #59636e; }
.breakdowns { margin-top: 0.5rem; }
.breakdowns ul { list-style: none; padding: 0; margin: 0; }
.breakdowns li { display: flex; flex-wrap: wrap; justify-content: space-between;
                 gap: 0 0.75rem; font-size: 0.85rem; color: #424a53;
                 border-bottom: 1px solid #eef1f4; padding: 0.15rem 0; }
.breakdowns li span { min-width: 0; overflow-wrap: anywhere; }
.breakdowns .num { margin-left: auto; font-variant-numeric: tabular-nums; }
footer { color: #59636e; font-size: 0.75rem; margin: 1.5rem 0 0.5rem; }
@media (min-width: 700px) {
  body { padding: 1.5rem 2rem; }
  .kpi-body { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
  .breakdowns .lists { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr));
                       gap: 0 1.5rem; }
}
</style>
</head>
<body>
<div class="page">
<header>
<h1>{{ title }}</h1>
<p class="published">{{ published }}</p>
</header>
{% if ctx.warnings %}
<div class="box warnings" id="warnings"><strong>Published with warnings</strong>
(the numbers passed every blocking check; these checks raised a warning):
<ul>{% for w in ctx.warnings %}<li>{{ w }}</li>{% endfor %}</ul></div>
{% endif %}
<section class="box summary" id="summary">
<h2>Summary</h2>
<ul class="counts">{% for status, count in summary.counts %}
<li><span class="status" style="background: {{ colours.get(status, colours.no_data) }}">
{{- count }} {{ labels.get(status, status) }}</span></li>
{%- endfor %}</ul>
{% for label, names in summary.names %}
<p class="names"><strong>{{ label }}:</strong> {{ names }}</p>
{% endfor %}
<h4>Biggest moves since {{ summary.previous_day }}</h4>
{% if summary.movers %}<ol class="movers">
{% for line in summary.movers %}<li>{{ line }}</li>{% endfor %}</ol>
{% else %}<p>No KPI can be compared with the previous day.</p>{% endif %}
</section>
{% if ctx.changes_since is not none %}
<section class="box" id="changes"><h2>What changed since version {{ ctx.changes_since }}</h2>
{% if ctx.changes %}<ul>{% for line in ctx.changes %}<li>{{ line }}</li>{% endfor %}</ul>
{% else %}<p>No KPI value, target or status changed.</p>{% endif %}</section>
{% endif %}
{% for family, rows in families %}
<section class="family">
<h2>{{ family_titles[family] }}</h2>
{% for r in rows %}
<article class="kpi" data-kpi="{{ r.kpi_id }}" data-status="{{ r.status }}"
 style="border-left-color: {{ r.colour }}">
<div class="kpi-head"><h3>{{ r.name }}</h3>
<span class="status" style="background: {{ r.colour }}">{{ r.status_label }}</span></div>
<div class="kpi-body">
<dl class="figures">
<div><dt>{{ r.value_label }}</dt><dd class="value">{{ r.value }}</dd></div>
<div><dt>Target</dt><dd>{{ r.target }}</dd>{% for note in r.target_changes %}
<dd class="target-change">{{ note }}</dd>{% endfor %}</div>
<div><dt>vs previous day</dt><dd>{{ r.change_day }}</dd></div>
<div><dt>vs same day last year</dt><dd>{{ r.change_year }}</dd></div>
</dl>
<figure class="chart">
<div class="chart-title">Last {{ trend_days }} days</div>
<div class="plot">
<svg role="img" viewBox="0 0 {{ chart_width }} {{ chart_height }}" preserveAspectRatio="none">
<title>{{ r.name }}: last {{ trend_days }} days (line)
{%- if r.chart.target_y is not none %} against the target (dashed){% endif %}</title>
{% if r.chart.target_y is not none %}<line x1="0" x2="{{ chart_width }}" y1="{{ r.chart.target_y }}"
 y2="{{ r.chart.target_y }}" stroke="#8c959f" stroke-dasharray="4 3" stroke-width="1"
 vector-effect="non-scaling-stroke"/>{% endif %}
{% for points in r.chart.segments %}<polyline fill="none" stroke="{{ r.colour }}" stroke-width="1.5"
 vector-effect="non-scaling-stroke" points="{{ points }}"/>{% endfor %}
</svg>
<div class="ylabels"><span>high {{ r.high }}</span><span>low {{ r.low }}</span></div>
<div class="xlabels">{% for d in r.dates %}<span>{{ d }}</span>{% endfor %}</div>
</div>
{% if r.target_note %}<div class="chart-note">{{ r.target_note }}</div>{% endif %}
</figure>
</div>
{% if r.maturity %}<div class="maturity">{{ r.maturity }}</div>{% endif %}
{% if r.why %}<div class="why">{{ r.why }}</div>{% endif %}
{% if r.period %}<div class="period">{{ r.period }}</div>{% endif %}
{% if r.breakdowns %}<div class="breakdowns"><div class="lists">
{% for dimension, items in r.breakdowns %}<div><h4>By {{ dimension }}</h4><ul>
{% for b in items %}
<li><span>{{ b.dimension_value }}</span><span class="num">{{ b.value }}</span></li>
{% endfor %}</ul></div>
{% endfor %}</div></div>{% endif %}
</article>
{% endfor %}
</section>
{% endfor %}
<footer>Snapshot version {{ ctx.version }} of {{ ctx.day }}
{%- if ctx.run_id %} &middot; run {{ ctx.run_id }}{% endif %}</footer>
</div>
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


def latest_before(
    history: pl.DataFrame, day: dt.date, lookback: int = LOOKBACK_DAYS
) -> dict[str, tuple[dt.date, float]]:
    """Each KPI's newest overall value on one of the `lookback` days before `day`, with its
    day (what a card without a value on `day` shows beside the blank): the day before is
    read as a day whose data matures a day later would be (`kpis.maturity`)."""
    by_kpi: dict[str, dict[dt.date, float | None]] = {}
    for (kpi_id, known), value in overall_values(history).items():
        by_kpi.setdefault(kpi_id, {})[known] = value
    found = {
        kpi_id: latest_mature_day(values, day, 1, lookback) for kpi_id, values in by_kpi.items()
    }
    return {kpi_id: (known, by_kpi[kpi_id][known]) for kpi_id, known in found.items() if known}


def target_note(chart: Chart, target: float | None, unit: str, currency: str) -> str | None:
    """Under the chart: what the dashed line is, or where the target lies when it is too
    far from the series to be drawn without flattening it."""
    if target is None:
        return None
    text = format_value(target, unit, currency)
    if chart.target_outside == "above":
        return f"↑ target {text} (above the chart)"
    if chart.target_outside == "below":
        return f"↓ target {text} (below the chart)"
    if chart.target_y is not None:
        return f"dashed line: target {text}"
    return f"target {text}"


def render_report(
    ctx: ReportContext,
    snapshot: pl.DataFrame,
    history: pl.DataFrame,
    catalogue: dict[str, Kpi],
    maturity: Mapping[str, Maturity] | None = None,
    latest: Mapping[str, tuple[dt.date, float]] | None = None,
) -> bytes:
    """The report of one snapshot version. `snapshot` is the version's KPI rows (see
    snapshot_frame; the period-to-date and projection columns are shown when present);
    `history` the overall rows (kpi_id, kpi_date, value) of the facts over at least the
    last year, for the changes, the movers and the trend. KPIs come by family, then in
    catalogue (kpis.yml) order. `maturity`: for each KPI whose data matures late
    (kpis/maturity.py), its card shows its latest mature day's value, target and status
    and says which days are provisional; those never count as final (no mover, no line
    on the chart). `latest`: `latest_before(history, ctx.day)`, when the caller has it."""
    values = overall_values(history)
    latest = latest_before(history, ctx.day) if latest is None else latest
    first = ctx.day - dt.timedelta(days=TREND_DAYS - 1)
    previous_day = ctx.day - dt.timedelta(days=1)
    trend_days = [first + dt.timedelta(days=i) for i in range(TREND_DAYS)]
    position = {kpi_id: i for i, kpi_id in enumerate(catalogue)}
    breakdowns: dict[str, dict[str, list[dict]]] = {}
    overall = []
    for row in snapshot.iter_rows(named=True):
        if row["dimension"] == "all":
            overall.append(row)
        else:
            breakdowns.setdefault(row["kpi_id"], {}).setdefault(row["dimension"], []).append(row)
    overall.sort(key=lambda r: position.get(r["kpi_id"], len(position)))
    by_family: dict[str, list[dict]] = {}
    movers = []
    shown_status: dict[str, str] = {}
    for row in overall:
        kpi = catalogue[row["kpi_id"]]
        late = (maturity or {}).get(kpi.id)
        value, target, status = row["value"], row["target"], row["status"] or "no_data"
        before = values.get((kpi.id, previous_day))
        year_before = values.get((kpi.id, same_day_last_year(ctx.day)))
        series = [(d, values.get((kpi.id, d))) for d in trend_days]
        series[-1] = (ctx.day, row["value"])
        value_label, maturity_line = "Value", None
        if late is None:
            if before is not None and value is not None:
                movers.append(Mover(kpi.id, kpi.name, before, value, kpi.unit, kpi.direction))
            if value is None:
                known = latest.get(kpi.id)
                maturity_line = no_value_sentence(
                    ctx.day,
                    None
                    if known is None
                    else (known[0], format_value(known[1], kpi.unit, ctx.currency)),
                    LOOKBACK_DAYS,
                )
        else:
            # the latest mature day stands for the KPI; its provisional days are not final
            shown = late.mature
            value = shown.value if shown else None
            target = shown.target if shown else None
            status = (shown.status if shown else None) or "no_data"
            before = late.before_mature.value if shown and late.before_mature else None
            year_before = values.get((kpi.id, same_day_last_year(shown.day))) if shown else None
            series = [(d, None if d > late.mature_through else v) for d, v in series]
            if shown:
                value_label = f"Value on {short_date(shown.day)}"
            maturity_line = maturity_sentence(
                None if shown is None else (shown.day, format_value(value, kpi.unit, ctx.currency)),
                late.mature_through,
                [
                    (
                        p.day,
                        None if p.value is None else format_value(p.value, kpi.unit, ctx.currency),
                    )
                    for p in late.provisional
                ],
                LOOKBACK_DAYS,
            )
        shown_status[kpi.id] = status
        chart = trend_chart(series, target, first, ctx.day)
        by_family.setdefault(kpi.family, []).append(
            {
                "kpi_id": kpi.id,
                "name": kpi.name,
                "value_label": value_label,
                "maturity": maturity_line,
                "value": format_value(value, kpi.unit, ctx.currency),
                "target": format_value(target, kpi.unit, ctx.currency),
                "target_changes": target_changes(kpi, first, ctx.day, ctx.currency),
                "why": ctx.why.get(kpi.id),
                "period": period_sentence(
                    row, kpi.unit, ctx.currency, is_additive=not kpi.formula.is_ratio
                ),
                "status": status,
                "status_label": STATUS_LABELS.get(status, status),
                "colour": STATUS_COLOURS.get(status, STATUS_COLOURS["no_data"]),
                "change_day": format_change(value, before, kpi.unit),
                "change_year": format_change(value, year_before, kpi.unit),
                "chart": chart,
                "high": format_value(chart.high, kpi.unit, ctx.currency),
                "low": format_value(chart.low, kpi.unit, ctx.currency),
                "dates": [short_date(d) for d in chart.dates],
                "target_note": target_note(chart, target, kpi.unit, ctx.currency),
                "breakdowns": [
                    (
                        dimension,
                        [
                            {
                                "dimension_value": b["dimension_value"],
                                "value": format_value(b["value"], kpi.unit, ctx.currency),
                            }
                            for b in rows
                        ],
                    )
                    for dimension, rows in breakdowns.get(kpi.id, {}).items()
                ],
            }
        )
    order = {family: i for i, family in enumerate(FAMILIES)}
    families = sorted(by_family.items(), key=lambda item: order.get(item[0], len(order)))
    counts = status_counts(shown_status[r["kpi_id"]] for r in overall)
    names = [
        (
            STATUS_LABELS[status].capitalize(),
            ", ".join(
                catalogue[r["kpi_id"]].name for r in overall if shown_status[r["kpi_id"]] == status
            ),
        )
        for status in ("off_track", "at_risk")
        if counts.get(status)
    ]
    summary = {
        "counts": list(counts.items()),
        "names": names,
        "previous_day": date_words(previous_day),
        "movers": [m.sentence(ctx.currency, previous_day) for m in biggest_movers(movers)],
    }
    html = (
        _environment()
        .from_string(TEMPLATE)
        .render(
            ctx=ctx,
            title=report_title(ctx.day),
            published=published_words(ctx.published_at, ctx.version),
            title_line=header_line(ctx.day, ctx.published_at, ctx.version),
            summary=summary,
            colours=STATUS_COLOURS,
            labels=STATUS_LABELS,
            families=families,
            family_titles={**{f: f for f in by_family}, **FAMILY_TITLES},
            trend_days=TREND_DAYS,
            chart_width=CHART_WIDTH,
            chart_height=CHART_HEIGHT,
        )
    )
    return html.encode("utf-8")
