"""A target changed from a date never rewrites history (issue 14): a copy of the project
runs three days, then net revenue's target gives way to another from the third day
(kpis.yml `targets`) and the days run again. The first two days keep the old target and
status in the warehouse and in their snapshots (no new version); the third gets the new one
in a new version; warehouse and snapshots agree on every KPI; `kpi show` and the report say
which target applied. Net revenue comes from the oracle, and the two targets are chosen
from it so that the third day's status changes (off track against the old target, on track
against the new one) at the sample's small scale."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.kpis.catalogue import load_catalogue
from tests import oracle
from tests.kpis.walkthrough import copy_project, kpi
from tests.status_oracle import status

DAYS = (dt.date(2025, 6, 30), dt.date(2025, 7, 1), dt.date(2025, 7, 2))
CHANGED_ON = DAYS[2]
SCALE = "0.03"  # the sample's size: the statuses do not depend on it (targets from the oracle)
SHIPPED_TARGET = "    target: {value: 8000.0, at_risk_tolerance: 0.10}\n"


def one_target(value: int) -> str:
    return f"    target: {{value: {value}.0, at_risk_tolerance: 0.10}}\n"


def two_targets(old: int, new: int) -> str:
    return (
        "    targets:\n"
        f"      - {{value: {old}.0, at_risk_tolerance: 0.10}}\n"
        f"      - {{from: {CHANGED_ON}, value: {new}.0, at_risk_tolerance: 0.10}}\n"
    )


def replace_net_revenue_target(catalogue_path: Path, old: str, new: str) -> None:
    text = catalogue_path.read_text()
    block = text.index("  - id: net_revenue\n")
    at = text.index(old, block)
    catalogue_path.write_text(text[:at] + new + text[at + len(old) :])


def snapshot_rows(folder: Path) -> dict[str, dict[str, str]]:
    with (folder / "kpis.csv").open(newline="") as handle:
        return {r["kpi_id"]: r for r in csv.DictReader(handle) if r["dimension"] == "all"}


def as_float(text: str) -> float | None:
    return float(text) if text else None


@pytest.mark.e2e
def test_a_changed_target_keeps_the_days_before_it(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    data = tmp_path / "data"
    first, last = str(DAYS[0]), str(DAYS[-1])
    sampled = kpi(project, data, "sample", "--start", first, "--end", last, "--scale", SCALE)
    assert sampled.returncode == 0, sampled.stdout + sampled.stderr

    # independently: the oracle's net revenue; the old target out of every day's reach
    # (off track: more than 10 % short), the new one below the third day's revenue (on track)
    orders = oracle.load_orders(data / "landing", DAYS[-1])
    revenue = {
        day: oracle.net_revenue(orders, day, dt.UTC)[("net_revenue", "all", "all")].value
        for day in DAYS
    }
    assert all(revenue[day] and revenue[day] > 0 for day in DAYS), revenue
    old_target = math.ceil(max(revenue.values()) * 2)
    new_target = math.floor(revenue[CHANGED_ON] * 0.9)
    catalogue_path = project / "kpis.yml"
    replace_net_revenue_target(catalogue_path, SHIPPED_TARGET, one_target(old_target))

    ran = kpi(project, data, "backfill", "--start", first, "--end", last)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    snapshots = data / "snapshots"
    before = {day: snapshot_rows(snapshots / str(day) / "v1") for day in DAYS}
    assert {before[day]["net_revenue"]["target"] for day in DAYS} == {f"{old_target}.0"}

    replace_net_revenue_target(
        catalogue_path, one_target(old_target), two_targets(old_target, new_target)
    )
    rerun = kpi(project, data, "backfill", "--start", first, "--end", last)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr

    net_revenue = load_catalogue(catalogue_path)["net_revenue"]
    targets = {DAYS[0]: old_target, DAYS[1]: old_target, DAYS[2]: new_target}
    expected = {
        day: (targets[day], status(revenue[day], targets[day], net_revenue)) for day in DAYS
    }
    assert [expected[day][1] for day in DAYS] == ["off_track", "off_track", "on_track"]

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        days = con.execute(
            "select period_start, kpi_id, target, status, target_from "
            "from marts.fct_kpi_attainment where period_grain = 'day'"
        ).fetchall()
        [july] = con.execute(
            "select target, target_from, target_changed from marts.fct_kpi_attainment "
            "where period_grain = 'month' and period_start = '2025-07-01' "
            "and kpi_id = 'net_revenue'"
        ).fetchall()
    warehouse = {(day, kpi_id): (target, state) for day, kpi_id, target, state, _ in days}
    for day in DAYS:
        assert warehouse[(day, "net_revenue")][0] == targets[day]
        assert warehouse[(day, "net_revenue")][1] == expected[day][1]
    assert {r[4] for r in days if r[1] == "net_revenue"} == {None, CHANGED_ON}
    assert july == (old_target + new_target, CHANGED_ON, True)

    # the days before the change publish no new version; the day of the change does
    for day in DAYS[:2]:
        assert (snapshots / str(day) / "latest").resolve().name == "v1"
        assert snapshot_rows(snapshots / str(day) / "latest") == before[day]
    assert (snapshots / str(CHANGED_ON) / "latest").resolve().name == "v2"
    assert snapshot_rows(snapshots / str(CHANGED_ON) / "v1") == before[CHANGED_ON]
    changed = snapshot_rows(snapshots / str(CHANGED_ON) / "v2")["net_revenue"]
    assert (as_float(changed["target"]), changed["status"]) == expected[CHANGED_ON]

    # warehouse and every latest snapshot agree on every KPI's target and status
    for day in DAYS:
        for kpi_id, row in snapshot_rows(snapshots / str(day) / "latest").items():
            target, state = warehouse[(day, kpi_id)]
            assert (as_float(row["target"]), row["status"]) == (target, state), (day, kpi_id)

    report = (snapshots / str(CHANGED_ON) / "v2" / "report.html").read_text()
    said = f"from {old_target:,.2f} USD to {new_target:,.2f} USD"
    assert f"target changed on {CHANGED_ON} {said}" in report
    shown = kpi(project, data, "show", "net_revenue", "--from", first, "--to", last)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    flat = " ".join(shown.stdout.split())
    ranges = f"{old_target} until {DAYS[1]}; {new_target} from {CHANGED_ON}"
    assert f"targets in this range: {ranges}" in flat
    shown_json = kpi(
        project, data, "show", "net_revenue", "--from", first, "--to", last, "--format", "json"
    )
    rows = {r["period_start"]: r for r in json.loads(shown_json.stdout)}
    assert [rows[str(day)]["target"] for day in DAYS] == [old_target, old_target, new_target]
    assert [rows[str(day)]["target_from"] for day in DAYS] == [None, None, str(CHANGED_ON)]
