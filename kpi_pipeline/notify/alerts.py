"""Which KPI owners to alert: pure decisions from a published day's statuses, the previous
published day's and the alerts already sent. Reading, sending and recording happen in
`notify/owner_alerts.py`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import polars as pl

OFF_TRACK = "off_track"
# what an alert is about; with the day and the KPI, the key of `publish.kpi_alerts`
TURNED_OFF_TRACK = "turned_off_track"
PROJECTED_OFF_TRACK = "projected_off_track"


@dataclass(frozen=True)
class KpiStatus:
    """A KPI's overall row on a published day (dimension `all`)."""

    kpi_id: str
    value: float | None
    target: float | None
    status: str | None
    # the day the status is of when it is not the published day's (a KPI whose data
    # matures late: the day that has just matured)
    day: dt.date | None = None


@dataclass(frozen=True)
class Alert:
    """One alert due to a KPI's owner."""

    day: dt.date
    kpi_id: str
    owner: str
    kind: str
    value: float | None
    target: float | None
    status: str | None
    previous_day: dt.date | None  # the previous published day; None: there is none
    previous_status: str | None
    # the day `status` is of, when not `day` (a late-maturing KPI's newly mature day)
    about_day: dt.date | None = None


@dataclass(frozen=True)
class AlertDecision:
    due: list[Alert]  # to send: the owner has a contact
    no_contact: list[Alert]  # due, but nobody to send them to (logged, recorded)


def overall_statuses(snapshot: pl.DataFrame) -> dict[str, KpiStatus]:
    """Each KPI's overall row of a snapshot frame, by KPI id."""
    rows = snapshot.filter(pl.col("dimension") == "all").iter_rows(named=True)
    return {
        row["kpi_id"]: KpiStatus(row["kpi_id"], row["value"], row.get("target"), row["status"])
        for row in rows
    }


def with_maturity(
    today: Mapping[str, KpiStatus],
    previous: Mapping[str, KpiStatus],
    maturity: Mapping[str, tuple[dt.date, KpiStatus | None, KpiStatus | None]],
) -> tuple[dict[str, KpiStatus], dict[str, KpiStatus]]:
    """The statuses to decide alerts on when some KPIs' data matures late. `maturity` maps
    such a KPI to (its mature-through day, that day's figure or None, the day before's or
    None). Its provisional newest day alerts nobody: it is judged on the day that has just
    matured against the day before, and not at all when that day has no figure (a value
    that has not come yet, or one already judged)."""
    now, before = dict(today), dict(previous)
    for kpi_id, (through, mature, day_before) in maturity.items():
        if mature is None or mature.day != through or mature.value is None:
            now[kpi_id] = KpiStatus(kpi_id, None, None, None)
            before.pop(kpi_id, None)
            continue
        now[kpi_id] = mature
        before[kpi_id] = day_before or KpiStatus(kpi_id, None, None, None)
    return now, before


def alert_kind(
    status: str | None,
    previous_status: str | None,
    projected_status: str | None = None,
    previous_projected_status: str | None = None,
) -> str | None:
    """What a KPI's owner is to be told, if anything: the KPI turned off track (it is off
    track, and was not on the previous published day, or there was none); else, the hook for
    projections: its period is projected to end off track and was not projected so the day
    before (marts.fct_kpi_pace, through the snapshots' `projected_status`)."""
    if status == OFF_TRACK and previous_status != OFF_TRACK:
        return TURNED_OFF_TRACK
    if (
        projected_status == OFF_TRACK
        and status != OFF_TRACK
        and previous_projected_status != OFF_TRACK
    ):
        return PROJECTED_OFF_TRACK
    return None


def decide_alerts(
    day: dt.date,
    today: Mapping[str, KpiStatus],
    previous_day: dt.date | None,
    previous: Mapping[str, KpiStatus],
    owners: Mapping[str, str],
    contacts: Collection[str],
    already_sent: Collection[tuple[str, str]],
    projected: Mapping[str, str] | None = None,
    previous_projected: Mapping[str, str] | None = None,
) -> AlertDecision:
    """The alerts due on `day`: one per KPI that turned off track (`alert_kind`), unless one
    of that kind was already sent for that day and KPI (`already_sent`: (kpi_id, kind)
    pairs), so a rerun or a new version of the day alerts nobody again. `owners` maps a KPI
    to its owner (the catalogue's), `contacts` are the owners that can be reached; a KPI
    unknown to the catalogue is not alerted."""
    due: list[Alert] = []
    no_contact: list[Alert] = []
    for kpi_id, now in sorted(today.items()):
        if kpi_id not in owners:
            continue
        before = previous.get(kpi_id)
        previous_status = before.status if before else None
        kind = alert_kind(
            now.status,
            previous_status,
            (projected or {}).get(kpi_id),
            (previous_projected or {}).get(kpi_id),
        )
        if kind is None or (kpi_id, kind) in already_sent:
            continue
        alert = Alert(
            day=day,
            kpi_id=kpi_id,
            owner=owners[kpi_id],
            kind=kind,
            value=now.value,
            target=now.target,
            status=now.status,
            previous_day=previous_day,
            previous_status=previous_status,
            about_day=now.day,
        )
        (due if alert.owner in contacts else no_contact).append(alert)
    return AlertDecision(due, no_contact)


def by_owner(alerts: list[Alert]) -> dict[str, list[Alert]]:
    """Alerts grouped by owner (each owner gets one message a day)."""
    grouped: dict[str, list[Alert]] = {}
    for alert in alerts:
        grouped.setdefault(alert.owner, []).append(alert)
    return grouped
