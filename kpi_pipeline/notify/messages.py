"""What the messages say: pure functions from published or failed runs to `Message`s."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import polars as pl

from kpi_pipeline.kpis.catalogue import Kpi
from kpi_pipeline.kpis.maturity import LOOKBACK_DAYS, Maturity
from kpi_pipeline.notify.alerts import PROJECTED_OFF_TRACK, Alert
from kpi_pipeline.notify.channels import Message
from kpi_pipeline.publish.report import STATUS_LABELS, format_value
from kpi_pipeline.publish.report_words import maturity_sentence, no_value_sentence


def report_message(
    day: dt.date,
    version: int,
    snapshot: pl.DataFrame,
    catalogue: dict[str, Kpi],
    report_html: bytes,
    report_url: str | None,
    currency: str,
    warnings: list[str],
    other_days: list[dt.date] | None = None,
    why: dict[str, str] | None = None,
    maturity: dict[str, Maturity] | None = None,
    latest: dict[str, tuple[dt.date, float]] | None = None,
) -> Message:
    """The stakeholders' message: the KPIs of the day in text, the report as HTML body and
    attachment. The text form is what a webhook (Slack) shows. A link to the report only
    when it is served (`report_url`, from KPI_REPORT_BASE_URL): a recipient cannot open a
    path on the machine that published it, so none is ever written. A KPI whose data
    matures late (`maturity`) is given by its latest mature day, its newer days as
    provisional; a KPI without a value on the day by its latest earlier one (`latest`,
    report.latest_before), with its day."""
    lines = []
    for row in snapshot.filter(pl.col("dimension") == "all").iter_rows(named=True):
        kpi = catalogue[row["kpi_id"]]
        late = (maturity or {}).get(kpi.id)
        if late is not None:
            lines.append(f"- {kpi.name}: {maturity_line(late, kpi, currency)}")
            continue
        status = STATUS_LABELS.get(row["status"] or "no_data", row["status"])
        lines.append(
            f"- {kpi.name}: {format_value(row['value'], kpi.unit, currency)} "
            f"(target {format_value(row.get('target'), kpi.unit, currency)}, {status})"
        )
        known = (latest or {}).get(kpi.id)
        if row["value"] is None:
            words = (
                None if known is None else (known[0], format_value(known[1], kpi.unit, currency))
            )
            lines.append(f"  {no_value_sentence(day, words, LOOKBACK_DAYS)}")
        if (why or {}).get(kpi.id):  # moved beyond its tolerance: why, in one sentence
            lines.append(f"  {why[kpi.id]}")
    if warnings:
        lines.append("Published with warnings: " + "; ".join(warnings))
    if other_days:
        lines.append(
            f"Also published in this run: {len(other_days)} other day(s), "
            f"{min(other_days)} .. {max(other_days)}."
        )
    if report_url:
        lines.append(f"Report: {report_url}")
    suffix = " (with warnings)" if warnings else ""
    return Message(
        subject=f"KPIs of {day} (v{version}){suffix}",
        text="\n".join(lines),
        html=with_report_link(report_html.decode("utf-8"), report_url),
        attachments={f"kpis-{day}-v{version}.html": report_html},
    )


def maturity_line(late: Maturity, kpi: Kpi, currency: str) -> str:
    """A late-maturing KPI in the message: its latest mature value, day, target and status,
    then its provisional days: "20.6 h on 27 November 2026, the latest complete day (target
    24.0 h, on track); 28-29 November 2026 provisional (so far 21.3 h, no value)"."""

    def words(value: float | None) -> str | None:
        return None if value is None else format_value(value, kpi.unit, currency)

    shown = late.mature
    text = maturity_sentence(
        None if shown is None else (shown.day, words(shown.value) or "-"),
        late.mature_through,
        [(p.day, words(p.value)) for p in late.provisional],
        LOOKBACK_DAYS,
    )
    if shown is None:
        return text
    head, _, rest = text.partition("; ")
    status = STATUS_LABELS.get(shown.status or "no_data", str(shown.status))
    head += f" (target {format_value(shown.target, kpi.unit, currency)}, {status})"
    return f"{head}; {rest}" if rest else head


def with_report_link(report: str, report_url: str | None) -> str:
    """The report as the email's HTML body, with one line linking to where it is served (the
    attachment stays the report as published)."""
    if not report_url:
        return report
    link = (
        f'<p class="report-link"><a href="{html.escape(report_url)}">'
        "Open this report in your browser</a></p>"
    )
    body = re.search(r"<body[^>]*>", report, flags=re.IGNORECASE)
    return report[: body.end()] + link + report[body.end() :] if body else link + report


def _status_words(status: str | None) -> str:
    return STATUS_LABELS.get(status or "no_data", str(status))


def alert_sentence(alert: Alert, kpi: Kpi, currency: str) -> str:
    """One plain sentence: "Net revenue is off track on 2026-03-03: 6,100.00 USD against a
    target of 8,000.00 USD (on track the day before)." """
    value = format_value(alert.value, kpi.unit, currency)
    target = format_value(alert.target, kpi.unit, currency)
    if alert.about_day is not None and alert.about_day != alert.day:
        # a late-maturing KPI: judged on the day that has just matured, against the day before
        return (
            f"{kpi.name} is off track on {alert.about_day} (its latest complete day): {value} "
            f"against a target of {target} ({_status_words(alert.previous_status)} the day "
            "before)."
        )
    if alert.previous_day is None:
        before = "the first day published"
    elif alert.previous_day == alert.day - dt.timedelta(days=1):
        before = f"{_status_words(alert.previous_status)} the day before"
    else:
        before = f"{_status_words(alert.previous_status)} on {alert.previous_day}"
    if alert.kind == PROJECTED_OFF_TRACK:
        return (
            f"{kpi.name} is projected to end its period off track: on {alert.day} it is "
            f"{value} against a target of {target} ({_status_words(alert.status)})."
        )
    return (
        f"{kpi.name} is off track on {alert.day}: {value} against a target of {target} ({before})."
    )


def owner_alert_message(
    owner: str,
    alerts: list[Alert],
    catalogue: dict[str, Kpi],
    currency: str,
    report_url: str | None,
) -> Message:
    """The message to a KPI owner about the KPIs of theirs that turned off track on a day."""
    sentences = [alert_sentence(a, catalogue[a.kpi_id], currency) for a in alerts]
    day = alerts[0].day
    if len(alerts) == 1:
        name = catalogue[alerts[0].kpi_id].name
        subject = (
            f"{name} is projected off track ({day})"
            if alerts[0].kind == PROJECTED_OFF_TRACK
            else f"{name} is off track on {day}"
        )
    else:
        turned = all(a.kind != PROJECTED_OFF_TRACK for a in alerts)
        state = "are off track" if turned else "need attention"
        subject = f"{len(alerts)} KPIs of {owner} {state} on {day}"
    lines = sentences[:]
    if report_url:
        lines.append(f"Report: {report_url}")
    lines.append(
        f"You receive this as the owner ({owner}) of these KPIs in the KPI catalogue: once "
        "when a KPI turns off track, not again while it stays so."
    )
    return Message(subject=subject, text="\n".join(lines))


def failure_message(summary: dict, report_path: Path) -> Message:
    """The data engineers' notice of a failed run: which checks, which steps, where the
    failure report is."""
    lines = [f"Run {summary['run_id']} of {summary['job']} failed: nothing was published."]
    if summary.get("partitions"):
        lines.append(f"Days: {summary['partitions']}")
    for check in summary["failed_checks"]:
        lines.append(f"- check {check['asset']}:{check['check']}: {check['description']}")
    for step in summary["failed_steps"]:
        lines.append(f"- step {step['step']}: {step['error']}")
    lines.append(f"Failure report: {report_path}")
    return Message(
        subject=f"KPI run failed: {summary['partitions'] or summary['run_id']}",
        text="\n".join(lines),
    )
