"""Alert KPI owners when a KPI turns off track on a published day, once: what was decided
and sent is kept in `publish.kpi_alerts` (DuckDB or PostgreSQL), so a rerun or a new
version of the day alerts nobody again. A failed delivery is logged and recorded, never
fails the run (unlike the stakeholders' report, see docs/snapshots.md)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kpi_pipeline.kpis.catalogue import Kpi
from kpi_pipeline.kpis.maturity import DayFigure, Maturity
from kpi_pipeline.notify.alerts import (
    Alert,
    KpiStatus,
    by_owner,
    decide_alerts,
    overall_statuses,
    with_maturity,
)
from kpi_pipeline.notify.channels import NotificationError, deliver
from kpi_pipeline.notify.messages import owner_alert_message
from kpi_pipeline.notify.settings import NotifySettings
from kpi_pipeline.publish import spark_tables
from kpi_pipeline.publish.snapshot import KPIS_PARQUET, latest_folder
from kpi_pipeline.warehouse import is_spark

ALERTS_TABLE = "publish.kpi_alerts"
# what became of an alert: delivered; tried and failed (tried again by the day's next run);
# no contact for its owner in KPI_OWNER_CONTACTS (tried again once there is one)
SENT, FAILED, NO_CONTACT = "sent", "failed", "no_contact"
ALERT_COLUMNS = (
    "day",
    "kpi_id",
    "kind",
    "owner",
    "status",
    "value",
    "target",
    "previous_day",
    "previous_status",
    "outcome",
    "channels",
    "error",
    "attempted_at",
)


@dataclass(frozen=True)
class AlertOutcome:
    alert: Alert
    outcome: str  # sent | failed | no_contact
    channels: str  # what was used, e.g. "email to growth@example.com"
    error: str | None


def ensure_alert_log(con) -> None:
    if is_spark(con):
        spark_tables.ensure_table(con, ALERTS_TABLE, spark_tables.ALERT_SCHEMA)
        return
    con.execute("create schema if not exists publish")
    con.execute(
        f"""create table if not exists {ALERTS_TABLE} (
            day DATE NOT NULL, kpi_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            owner VARCHAR NOT NULL, status VARCHAR, value DOUBLE PRECISION,
            target DOUBLE PRECISION, previous_day DATE, previous_status VARCHAR,
            outcome VARCHAR NOT NULL, channels VARCHAR NOT NULL, error VARCHAR,
            attempted_at TIMESTAMPTZ NOT NULL,
            primary key (day, kpi_id, kind))"""
    )


def alerts_sent(con, day: dt.date) -> set[tuple[str, str]]:
    """The (kpi_id, kind) alerts delivered for `day`."""
    ensure_alert_log(con)
    rows = con.execute(
        f"select kpi_id, kind from {ALERTS_TABLE} where day = ? and outcome = ?", [day, SENT]
    ).fetchall()
    return {(kpi_id, kind) for kpi_id, kind in rows}


def record_alert(con, result: AlertOutcome, attempted_at: str) -> None:
    """Keep what became of an alert; a later attempt for the same day, KPI and kind replaces
    the earlier one's row."""
    alert = result.alert
    con.execute(
        f"delete from {ALERTS_TABLE} where day = ? and kpi_id = ? and kind = ?",
        [alert.day, alert.kpi_id, alert.kind],
    )
    con.execute(
        f"insert into {ALERTS_TABLE} ({', '.join(ALERT_COLUMNS)}) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::TIMESTAMPTZ)",
        [
            alert.day,
            alert.kpi_id,
            alert.kind,
            alert.owner,
            alert.status,
            alert.value,
            alert.target,
            alert.previous_day,
            alert.previous_status,
            result.outcome,
            result.channels,
            result.error,
            attempted_at,
        ],
    )


def previous_snapshot(root: Path, day: dt.date) -> tuple[dt.date, pl.DataFrame] | None:
    """The latest version of the last day published before `day` (the disk is the truth),
    or None when none was."""
    earlier = []
    for folder in root.iterdir() if root.is_dir() else ():
        try:
            published = dt.date.fromisoformat(folder.name)
        except ValueError:
            continue
        if published < day:
            earlier.append(published)
    for published in sorted(earlier, reverse=True):
        latest = latest_folder(root / published.isoformat())
        if latest is not None and (latest / KPIS_PARQUET).exists():
            return published, pl.read_parquet(latest / KPIS_PARQUET)
    return None


def projected_statuses(snapshot: pl.DataFrame) -> dict[str, str]:
    """Each KPI's projected status for its period, from a snapshot's overall rows (none
    in a snapshot published before projections)."""
    if "projected_status" not in snapshot.columns:
        return {}
    overall = pl.col("dimension") == "all"
    rows = snapshot.filter(overall & pl.col("projected_status").is_not_null())
    return dict(zip(rows["kpi_id"].to_list(), rows["projected_status"].to_list(), strict=True))


def _status(kpi_id: str, figure: DayFigure | None) -> KpiStatus | None:
    if figure is None:
        return None
    return KpiStatus(kpi_id, figure.value, figure.target, figure.status, figure.day)


def alert_owners(
    con,
    day: dt.date,
    snapshot: pl.DataFrame,
    previous: tuple[dt.date, pl.DataFrame] | None,
    catalogue: dict[str, Kpi],
    notify: NotifySettings,
    currency: str,
    report_url: str | None,
    log: logging.Logger | logging.LoggerAdapter,
    projected: dict[str, str] | None = None,
    maturity: dict[str, Maturity] | None = None,
) -> list[AlertOutcome]:
    """Alert the owner of every KPI that turned off track on `day` (one message per owner),
    unless that alert was already sent; record every alert decided in `publish.kpi_alerts`.
    Never raises for a delivery: a failure is logged and recorded as `failed`.
    `projected`: each KPI's projected status for its period (default: the snapshot's
    `projected_status`, against the previous day's snapshot's). `maturity`: the KPIs whose
    data matures late, judged on the day that has just matured (`with_maturity`)."""
    for problem in notify.owner_problems:
        log.warning("%s", problem)
    previous_day, previous_statuses = (
        (previous[0], overall_statuses(previous[1])) if previous else (None, {})
    )
    if projected is None:
        projected = projected_statuses(snapshot)
    today, previous_statuses = with_maturity(
        overall_statuses(snapshot),
        previous_statuses,
        {
            kpi_id: (
                late.mature_through,
                _status(kpi_id, late.mature),
                _status(kpi_id, late.before_mature),
            )
            for kpi_id, late in (maturity or {}).items()
        },
    )
    decision = decide_alerts(
        day,
        today,
        previous_day,
        previous_statuses,
        {kpi_id: kpi.owner for kpi_id, kpi in catalogue.items()},
        set(notify.owners),
        alerts_sent(con, day),
        projected,
        projected_statuses(previous[1]) if previous else {},
    )
    results: list[AlertOutcome] = []
    if decision.no_contact and not notify.owners:  # owner alerts not set up: one line
        log.info(
            "%d KPI(s) turned off track on %s; no owner alerted (KPI_OWNER_CONTACTS is unset)",
            len(decision.no_contact),
            day,
        )
    for alert in decision.no_contact:
        if notify.owners:
            log.warning(
                "%s turned off track on %s, but its owner %r has no contact in "
                "KPI_OWNER_CONTACTS: no alert sent",
                alert.kpi_id,
                day,
                alert.owner,
            )
        results.append(AlertOutcome(alert, NO_CONTACT, "", None))
    for owner, alerts in by_owner(decision.due).items():
        message = owner_alert_message(owner, alerts, catalogue, currency, report_url)
        try:
            used = ", ".join(deliver(notify.owners[owner], notify.smtp, message))
        except NotificationError as err:
            log.warning("alert to %s about %s not sent: %s", owner, day, err)
            results += [AlertOutcome(a, FAILED, "", str(err)) for a in alerts]
            continue
        log.info("alert to %s about %s sent: %s", owner, ", ".join(a.kpi_id for a in alerts), used)
        results += [AlertOutcome(a, SENT, used, None) for a in alerts]
    attempted_at = dt.datetime.now(dt.UTC).isoformat()
    if is_spark(con):
        record_alerts_spark(con, results, attempted_at)
        return results
    for result in results:
        record_alert(con, result, attempted_at)
    return results


def alert_row(result: AlertOutcome, attempted_at: str) -> dict:
    """What `record_alert` inserts, as a row."""
    alert = result.alert
    return {
        **{c: getattr(alert, c) for c in ALERT_COLUMNS[:9]},
        "outcome": result.outcome,
        "channels": result.channels,
        "error": result.error,
        "attempted_at": spark_tables.timestamp(attempted_at),
    }


def record_alerts_spark(con, results: list[AlertOutcome], attempted_at: str) -> None:
    """`record_alert` of every result on Spark: each day's partition read, the attempts
    replacing the rows of the same KPI and kind, written back whole (no DELETE on Parquet)."""
    by_day: dict[dt.date, list[dict]] = {}
    for result in results:
        by_day.setdefault(result.alert.day, []).append(alert_row(result, attempted_at))
    for day, attempts in sorted(by_day.items()):
        known = spark_tables.day_rows(con, ALERTS_TABLE, day)
        rows = spark_tables.alert_day_rows(known, attempts)
        spark_tables.overwrite_day(con, ALERTS_TABLE, spark_tables.ALERT_SCHEMA, day, rows)


__all__ = ["ALERTS_TABLE", "AlertOutcome", "KpiStatus", "alert_owners", "previous_snapshot"]
