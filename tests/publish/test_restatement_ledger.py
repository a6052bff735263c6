"""The restatement ledger end to end (issue 15): two days run on a project copy; then day 2's
orders file is re-sent with one paid order's amount raised and day 2 runs again. Day 2 gets
v2, whose manifest, report, `kpi snapshots diff` and `publish.kpi_restatements` hold
exactly the rows that order feeds (computed here from the landing files with the oracle:
net revenue and average order value overall, ROAS and marketing ROI overall and for the
order's campaign), each caused by that file; day 1 stays v1; an identical rerun records
nothing."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests import oracle
from tests.kpis.walkthrough import copy_project, kpi

DAYS = (dt.date(2025, 6, 2), dt.date(2025, 6, 3))
RAISE = Decimal("10.00")


def paid_order_to_change(landing: Path, day: dt.date) -> tuple[str, str]:
    """(order_id, campaign) of a non-cancelled order placed on `day`, listed once in the
    landing zone, bought in a paid session of a campaign with ad spend that day: raising
    its amount changes net revenue, average order value, and ROAS and marketing ROI
    overall and of its campaign."""
    rows = list(oracle.read_csv_rows(landing, "orders", "orders.csv", day))
    listed = {}
    for row in rows:
        listed[row["order_id"]] = listed.get(row["order_id"], 0) + 1
    purchases = oracle.purchase_sessions(landing, day)
    sessions = oracle.build_sessions(landing, day)
    categories = oracle.load_source_categories()
    spend = oracle.spend_by_campaign(landing, day, day, "USD")
    for order in oracle.load_orders(landing, day):
        if order.cancelled or order.net_amount is None or listed[order.order_id] != 1:
            continue
        if order.placed_at is None or oracle.local_date(order.placed_at, dt.UTC) != day:
            continue
        session = sessions.get(purchases.get(order.order_id, ("", "")))
        if session is None:
            continue
        channel = oracle.channel_group(session.source, session.medium, session.campaign, categories)
        campaign = session.campaign or oracle.NOT_SET
        if channel in oracle.PAID_CHANNELS and spend.get(campaign):
            return order.order_id, campaign
    raise AssertionError(f"the sample has no paid order of a campaign with spend on {day}")


def resend_with_raised_amount(path: Path, order_id: str) -> None:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    for row in rows:
        if row["order_id"] == order_id:
            row["net_amount"] = str(Decimal(row["net_amount"]) + RAISE)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def ledger(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select day, from_version, to_version, kpi_id, dimension, dimension_value, "
            "old_value, new_value, causes from publish.kpi_restatements order by all"
        ).fetchall()


@pytest.mark.e2e
def test_a_resent_orders_file_is_recorded_with_its_cause(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    data = tmp_path / "data"
    first, second = (str(d) for d in DAYS)
    for args in (
        ("sample", "--start", first, "--end", second),
        ("backfill", "--start", first, "--end", second),
    ):
        done = kpi(project, data, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    one_version = kpi(project, data, "snapshots", "diff", second)
    assert one_version.returncode == 1, one_version.stdout + one_version.stderr
    assert "one version only" in one_version.stderr and "Traceback" not in one_version.stderr

    landing = data / "landing"
    order_id, campaign = paid_order_to_change(landing, DAYS[1])
    resent = landing / "orders" / f"dt={second}" / "orders.csv"
    resend_with_raised_amount(resent, order_id)
    rerun = kpi(project, data, "backfill", "--start", second, "--end", second)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr

    snapshots = data / "snapshots"
    assert sorted(p.name for p in (snapshots / first).iterdir()) == ["latest", "v1"]
    assert (snapshots / second / "latest").resolve().name == "v2"
    expected = {
        ("net_revenue", "all", "all"),
        ("average_order_value", "all", "all"),
        ("return_on_ad_spend", "all", "all"),
        ("return_on_ad_spend", "campaign", campaign),
        ("marketing_roi", "all", "all"),
        ("marketing_roi", "campaign", campaign),
    }
    cause = f"re-sent: orders/dt={second}/orders.csv"
    recorded = ledger(data / "warehouse.duckdb")
    assert {r[3:6] for r in recorded} == expected
    for day, from_version, to_version, *_, causes in recorded:
        assert (day, from_version, to_version) == (DAYS[1], 1, 2)
        assert causes == [cause]
    [revenue] = [r for r in recorded if r[3] == "net_revenue"]
    assert revenue[7] - revenue[6] == pytest.approx(float(RAISE))

    manifest = json.loads((snapshots / second / "v2" / "manifest.json").read_text())
    changes = manifest["changes"]
    assert changes["since_version"] == 1 and changes["rows_changed"] == len(expected)
    assert [f["file"] for f in changes["files_changed"]] == [f"orders/dt={second}/orders.csv"]
    report = (snapshots / second / "v2" / "report.html").read_text()
    assert "What changed since version 1" in report
    assert f"orders/dt={second}/orders.csv was re-sent" in report

    shown = kpi(project, data, "snapshots", "diff", second, "--format", "json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    rows = json.loads(shown.stdout)
    assert {(r["kpi_id"], r["dimension"], r["dimension_value"]) for r in rows} == expected
    assert all(r["causes"] == [cause] for r in rows)
    spelt = kpi(project, data, "snapshots", "--diff", second, "--from", "1", "--to", "2")
    assert spelt.returncode == 0, spelt.stdout + spelt.stderr
    assert "6 KPI rows changed" in spelt.stdout and "Net revenue" in spelt.stdout

    again = kpi(project, data, "backfill", "--start", second, "--end", second)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(p.name for p in (snapshots / second).iterdir()) == ["latest", "v1", "v2"]
    assert ledger(data / "warehouse.duckdb") == recorded
