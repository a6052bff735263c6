"""Two hand-made days run through the real Dagster job; every expected figure worked by hand."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl
import pytest

from tests.landing_files import ga4_event, write_csv, write_ga4

DAY1 = dt.date(2025, 3, 3)
DAY2 = dt.date(2025, 3, 4)
DAY3 = dt.date(2025, 3, 5)

pytestmark = pytest.mark.e2e


def write_day1(landing: Path) -> None:
    write_csv(
        landing,
        "hubspot",
        "contacts.csv",
        DAY1,
        [
            [
                101,
                "Ada",
                "Lovelace",
                "ada@example.com",
                "2025-03-03 08:00",
                "2025-03-03 08:00",
                "customer",
                "PAID_SEARCH",
            ],
            [
                102,
                "Alan",
                "Turing",
                "alan@example.com",
                "2025-03-03 09:00",
                "2025-03-03 09:00",
                "customer",
                "DIRECT_TRAFFIC",
            ],
            [
                103,
                "Grace",
                "Hopper",
                "grace@example.com",
                "2025-03-03 09:30",
                "2025-03-03 09:30",
                "lead",
                "ORGANIC_SEARCH",
            ],
        ],
    )
    write_csv(
        landing,
        "hubspot",
        "deals.csv",
        DAY1,
        [
            [
                501,
                "Ada - starter",
                "appointmentscheduled",
                "default",
                "1,200.00",
                "2025-03-03 10:00",
                "",
                "2025-03-03 10:00",
            ],
        ],
    )
    write_ga4(
        landing,
        DAY1,
        [
            # S1: Paid Search, converts
            ga4_event(
                "2025-03-03T10:00:00Z", "session_start", "u1", 1001, "google", "cpc", "spring_sale"
            ),
            ga4_event("2025-03-03T10:01:00Z", "page_view", "u1", 1001),
            ga4_event(
                "2025-03-03T10:05:00Z", "purchase", "u1", 1001, transaction_id="O-1", revenue=80.0
            ),
            # S2: Direct, no purchase
            ga4_event("2025-03-03T11:00:00Z", "session_start", "u2", 1002),
            # S3: Organic Search, no purchase
            ga4_event("2025-03-03T12:00:00Z", "session_start", "u3", 1003, "google", "organic"),
            # S4: Direct, starts before midnight; its purchase comes after midnight (day 2's file)
            ga4_event("2025-03-03T23:55:00Z", "session_start", "u4", 1004),
        ],
    )
    write_csv(
        landing,
        "ads",
        "spend.csv",
        DAY1,
        [
            ["2025-03-03", "google_ads", "spring_sale", "30.00", "USD", 1000, 40],
            ["2025-03-03", "meta_ads", "brand", "20.00", "USD", 2000, 30],
        ],
    )
    write_csv(
        landing,
        "social",
        "posts.csv",
        DAY1,
        [
            ["2025-03-03", "instagram", "p1", 500, 20, 3, 1],
        ],
    )
    write_csv(
        landing,
        "nps",
        "responses.csv",
        DAY1,
        [
            ["r1", 101, "2025-03-03T09:00:00Z", 10, "great"],
            ["r2", 102, "2025-03-03T09:10:00Z", 9, ""],
            ["r3", 103, "2025-03-03T09:20:00Z", 8, ""],
            ["r4", 101, "2025-03-03T09:30:00+01:00", 7, "ok"],
            ["r5", 102, "2025-03-03T09:40:00Z", 3, "slow"],
        ],
    )
    write_csv(
        landing,
        "orders",
        "orders.csv",
        DAY1,
        [
            [
                "O-1",
                101,
                "2025-03-03T10:05:00Z",
                "2025-03-03T16:05:00Z",
                "fulfilled",
                "80.00",
                "USD",
            ],
            ["O-2", 102, "2025-03-03T12:00:00Z", "", "placed", "40.00", "USD"],
            ["O-9", 103, "2025-03-03T13:00:00Z", "", "cancelled", "25.00", "USD"],
        ],
    )


def write_day2(landing: Path) -> None:
    write_ga4(
        landing,
        DAY2,
        [
            ga4_event(
                "2025-03-04T00:05:00Z", "purchase", "u4", 1004, transaction_id="O-3", revenue=60.0
            ),
            ga4_event("2025-03-04T09:00:00Z", "session_start", "u1", 2001, "newsletter", "email"),
        ],
    )
    write_csv(
        landing,
        "ads",
        "spend.csv",
        DAY2,
        [
            ["2025-03-04", "google_ads", "spring_sale", "10.00", "USD", 400, 10],
        ],
    )
    write_csv(
        landing,
        "social",
        "posts.csv",
        DAY2,
        [
            ["2025-03-04", "instagram", "p2", 300, 10, 0, 0],
        ],
    )
    write_csv(landing, "nps", "responses.csv", DAY2, [])
    write_csv(
        landing,
        "orders",
        "orders.csv",
        DAY2,
        [
            [
                "O-2",
                102,
                "2025-03-03T12:00:00Z",
                "2025-03-04T12:00:00Z",
                "fulfilled",
                "40.00",
                "USD",
            ],
            ["O-3", 101, "2025-03-04T00:05:00Z", "", "placed", "60.00", "USD"],
        ],
    )


def overall(snapshot: pl.DataFrame) -> dict[str, dict]:
    return {
        r["kpi_id"]: r for r in snapshot.filter(pl.col("dimension") == "all").iter_rows(named=True)
    }


def read_snapshot(deployment, day: dt.date) -> pl.DataFrame:
    return pl.read_parquet(deployment.snapshots / day.isoformat() / "kpis.parquet")


def folder_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_two_days_by_hand_then_a_blocked_day(deployment) -> None:
    write_day1(deployment.landing)
    report = deployment.run(DAY1)
    assert report.success, report.reason()

    day1 = read_snapshot(deployment, DAY1)
    kpis = overall(day1)
    # 4 sessions start on day 1 (S4 only purchases after midnight, unknown yet); S1 converts.
    assert (
        kpis["session_conversion_rate"]["numerator"],
        kpis["session_conversion_rate"]["denominator"],
    ) == (1, 4)
    assert kpis["session_conversion_rate"]["value"] == pytest.approx(0.25)
    # spend 30 + 20 = 50; acquired: 101 and 102 (103's only order was cancelled) -> 25
    assert kpis["cost_per_acquisition"]["value"] == pytest.approx(25.0)
    assert kpis["cost_per_acquisition"]["denominator"] == 2
    # 80 + 40, the cancelled 25 excluded
    assert kpis["net_revenue"]["value"] == pytest.approx(120.0)
    assert kpis["net_revenue"]["denominator"] is None
    # 10, 9 promoters; 8, 7 passives; 3 detractor -> (2 - 1) / 5 * 100
    assert kpis["nps"]["value"] == pytest.approx(20.0)
    assert (kpis["nps"]["numerator"], kpis["nps"]["denominator"]) == (1, 5)
    # O-1 placed 10:05, fulfilled 16:05 -> 6 h
    assert kpis["avg_order_processing_hours"]["value"] == pytest.approx(6.0)
    # targets and status come from kpis.yml: conversion 0.25 >= 0.02 is on track,
    # net revenue 120 is far below 8000, processing 6 h <= 24 h
    assert kpis["session_conversion_rate"]["status"] == "on_track"
    assert kpis["net_revenue"]["status"] == "off_track"
    assert kpis["net_revenue"]["target"] == 8000.0
    assert kpis["avg_order_processing_hours"]["status"] == "on_track"
    assert kpis["nps"]["family"] == "customer_satisfaction"
    by_channel = {
        r["dimension_value"]: (r["numerator"], r["denominator"])
        for r in day1.filter(pl.col("dimension") == "channel").iter_rows(named=True)
    }
    assert by_channel == {"Paid Search": (1, 1), "Direct": (0, 2), "Organic Search": (0, 1)}
    # users u1..u4, purchaser u1 -> 1/4
    assert (
        kpis["user_conversion_rate"]["numerator"],
        kpis["user_conversion_rate"]["denominator"],
    ) == (1, 4)
    # S3 (google / organic) is the only Organic Search session; its target is relative to
    # last year, and there is no last year: no target in the snapshot
    assert kpis["organic_traffic"]["value"] == 1
    assert (kpis["organic_traffic"]["target"], kpis["organic_traffic"]["status"]) == (
        None,
        "no_target",
    )
    # all marketing spend: 50 ads + 275.50 other costs (seed) over the 2 new customers
    assert kpis["customer_acquisition_cost"]["value"] == pytest.approx(162.75)
    # O-1 (80) was bought in S1 (google / cpc, spring_sale): attributed; O-2 has no GA4
    # purchase. ROAS 80 / 50, ROI (80 - 50) / 50; spring_sale 80 / 30, brand 0 / 20
    assert kpis["return_on_ad_spend"]["value"] == pytest.approx(1.6)
    assert kpis["marketing_roi"]["value"] == pytest.approx(0.6)
    by_campaign = {
        r["dimension_value"]: r["value"]
        for r in day1.filter(
            (pl.col("kpi_id") == "return_on_ad_spend") & (pl.col("dimension") == "campaign")
        ).iter_rows(named=True)
    }
    assert by_campaign == {"spring_sale": pytest.approx(80 / 30), "brand": 0.0}
    # instagram p1: (20 + 3 + 1) / 500
    assert kpis["social_engagement_rate"]["value"] == pytest.approx(0.048)
    # contacts 101 and 102 are customers, 103 a lead: 2/3; the only deal is open: null
    assert kpis["lead_to_customer_rate"]["value"] == pytest.approx(2 / 3)
    assert kpis["deal_win_rate"]["value"] is None
    # (80 + 40) / 2 orders, the cancelled O-9 excluded
    assert kpis["average_order_value"]["value"] == pytest.approx(60.0)

    write_day2(deployment.landing)
    report = deployment.run(DAY2)
    assert report.success, report.reason()
    day2 = read_snapshot(deployment, DAY2)
    kpis = overall(day2)
    # S4 belongs to day 1; only S5 (email, no purchase) starts on day 2
    assert (
        kpis["session_conversion_rate"]["numerator"],
        kpis["session_conversion_rate"]["denominator"],
    ) == (0, 1)
    assert kpis["session_conversion_rate"]["value"] == 0
    # spend 10, no new customer (101 ordered before) -> zero denominator gives null
    assert (
        kpis["cost_per_acquisition"]["numerator"],
        kpis["cost_per_acquisition"]["denominator"],
    ) == (10, 0)
    assert kpis["cost_per_acquisition"]["value"] is None
    assert kpis["cost_per_acquisition"]["status"] == "no_data"
    assert kpis["net_revenue"]["value"] == pytest.approx(60.0)
    # no responses: null, not 0
    assert kpis["nps"]["value"] is None and kpis["nps"]["denominator"] == 0
    # O-2: placed day 1 12:00, fulfilled day 2 12:00 -> 24 h
    assert kpis["avg_order_processing_hours"]["value"] == pytest.approx(24.0)
    # the missing contacts extract is a warning, not a block
    assert any("hubspot_contacts" in w for w in report.warned_checks)

    published = folder_digest(deployment.snapshots / DAY2.isoformat())
    # day 3: an NPS score of 11 breaks the gate
    write_day2_like_day3(deployment.landing)
    report = deployment.run(DAY3)
    assert not report.success
    assert report.blocked_by_gate
    assert any("nps_responses" in c for c in report.failed_checks)
    assert not (deployment.snapshots / DAY3.isoformat()).exists()
    assert folder_digest(deployment.snapshots / DAY2.isoformat()) == published
    assert sorted(p.name for p in deployment.snapshots.iterdir()) == [
        DAY1.isoformat(),
        DAY2.isoformat(),
    ]

    # rerunning a published day gives the same snapshot, untouched
    report = deployment.run(DAY2)
    assert report.success, report.reason()
    assert folder_digest(deployment.snapshots / DAY2.isoformat()) == published


def write_day2_like_day3(landing: Path) -> None:
    write_ga4(landing, DAY3, [ga4_event("2025-03-05T09:00:00Z", "session_start", "u9", 3001)])
    write_csv(
        landing,
        "ads",
        "spend.csv",
        DAY3,
        [["2025-03-05", "google_ads", "spring_sale", "5.00", "USD", 1, 1]],
    )
    write_csv(
        landing,
        "orders",
        "orders.csv",
        DAY3,
        [
            ["O-4", 101, "2025-03-05T10:00:00Z", "", "placed", "10.00", "USD"],
        ],
    )
    write_csv(landing, "nps", "responses.csv", DAY3, [["r9", 101, "2025-03-05T09:00:00Z", 11, ""]])
