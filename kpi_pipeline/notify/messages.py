"""What the messages say: pure functions from published or failed runs to `Message`s."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from kpi_pipeline.kpis.catalogue import Kpi
from kpi_pipeline.notify.channels import Message
from kpi_pipeline.publish.report import STATUS_LABELS, format_value


def report_message(
    day: dt.date,
    version: int,
    snapshot: pl.DataFrame,
    catalogue: dict[str, Kpi],
    report_html: bytes,
    report_path: Path,
    currency: str,
    warnings: list[str],
    other_days: list[dt.date] | None = None,
    why: dict[str, str] | None = None,
) -> Message:
    """The stakeholders' message: the KPIs of the day in text, the report as HTML body and
    attachment. The text form is what a webhook (Slack) shows."""
    lines = []
    for row in snapshot.filter(pl.col("dimension") == "all").iter_rows(named=True):
        kpi = catalogue[row["kpi_id"]]
        status = STATUS_LABELS.get(row["status"] or "no_data", row["status"])
        lines.append(
            f"- {kpi.name}: {format_value(row['value'], kpi.unit, currency)} "
            f"(target {format_value(row.get('target'), kpi.unit, currency)}, {status})"
        )
        if (why or {}).get(kpi.id):  # moved beyond its tolerance: why, in one sentence
            lines.append(f"  {why[kpi.id]}")
    if warnings:
        lines.append("Published with warnings: " + "; ".join(warnings))
    if other_days:
        lines.append(
            f"Also published in this run: {len(other_days)} other day(s), "
            f"{min(other_days)} .. {max(other_days)}."
        )
    lines.append(f"Report: {report_path}")
    suffix = " (with warnings)" if warnings else ""
    return Message(
        subject=f"KPIs of {day} (v{version}){suffix}",
        text="\n".join(lines),
        html=report_html.decode("utf-8"),
        attachments={f"kpis-{day}-v{version}.html": report_html},
    )


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
