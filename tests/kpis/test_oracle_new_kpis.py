"""The oracle's newer KPIs on tiny hand-made landing zones; every figure worked by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests import oracle
from tests.landing_files import ga4_event, write_csv, write_ga4
from tests.oracle import KpiValue, compute_kpis

D1 = dt.date(2025, 3, 3)
D2 = dt.date(2025, 3, 4)
ALL = ("all", "all")


def test_user_conversion_counts_distinct_users_per_day_and_per_period(tmp_path: Path) -> None:
    write_ga4(
        tmp_path,
        D1,
        [
            # u1: two sessions on D1, one buys; u2 browses
            ga4_event("2025-03-03T09:00:00Z", "session_start", "u1", 1),
            ga4_event("2025-03-03T09:05:00Z", "purchase", "u1", 1, transaction_id="O1"),
            ga4_event("2025-03-03T15:00:00Z", "session_start", "u1", 2),
            ga4_event("2025-03-03T10:00:00Z", "session_start", "u2", 3),
        ],
    )
    write_ga4(tmp_path, D2, [ga4_event("2025-03-04T10:00:00Z", "session_start", "u2", 4)])
    day1 = compute_kpis(tmp_path, D1, as_of=D2)
    day2 = compute_kpis(tmp_path, D2)
    # D1: users u1, u2; purchaser u1: 1/2 (sessions: 1/3)
    assert day1[("user_conversion_rate", *ALL)] == KpiValue(1.0, 2.0, 0.5)
    assert day1[("session_conversion_rate", *ALL)].denominator == 3
    # D2: u2 only, no purchase: 0/1
    assert day2[("user_conversion_rate", *ALL)] == KpiValue(0.0, 1.0, 0.0)
    # the two days together: users u1, u2 (u2 is not counted twice): 1/2, not 1/3
    sessions = oracle.build_sessions(tmp_path, D2)
    week = oracle.roll_up({D1: day1, D2: day2}, [D1, D2], sessions)
    assert week[("user_conversion_rate", *ALL)] == KpiValue(1.0, 2.0, 0.5)
    # session conversion over the two days: (1 + 0) / (3 + 1)
    assert week[("session_conversion_rate", *ALL)] == KpiValue(1.0, 4.0, 0.25)


def test_roas_and_roi_by_campaign_from_paid_sessions(tmp_path: Path) -> None:
    write_ga4(
        tmp_path,
        D1,
        [
            # O1 bought in a google / cpc session of campaign brand: paid, attributed
            ga4_event("2025-03-03T09:00:00Z", "session_start", "u1", 1, "google", "cpc", "brand"),
            ga4_event("2025-03-03T09:05:00Z", "purchase", "u1", 1, transaction_id="O1"),
            # O2 bought in an organic session: not attributed
            ga4_event("2025-03-03T10:00:00Z", "session_start", "u2", 2, "google", "organic"),
            ga4_event("2025-03-03T10:05:00Z", "purchase", "u2", 2, transaction_id="O2"),
            # O3 bought in a paid session, then cancelled: not attributed
            ga4_event("2025-03-03T11:00:00Z", "session_start", "u3", 3, "google", "cpc", "brand"),
            ga4_event("2025-03-03T11:05:00Z", "purchase", "u3", 3, transaction_id="O3"),
            # O4 from a facebook paid_social session of campaign retarget
            ga4_event(
                "2025-03-03T12:00:00Z",
                "session_start",
                "u4",
                4,
                "facebook",
                "paid_social",
                "retarget",
            ),
            ga4_event("2025-03-03T12:05:00Z", "purchase", "u4", 4, transaction_id="O4"),
        ],
    )
    write_csv(
        tmp_path,
        "orders",
        "orders.csv",
        D1,
        [
            ["O1", "c1", "2025-03-03T09:05:00Z", "", "placed", "120.00", "USD"],
            ["O2", "c2", "2025-03-03T10:05:00Z", "", "placed", "50.00", "USD"],
            ["O3", "c3", "2025-03-03T11:05:00Z", "", "cancelled", "70.00", "USD"],
            ["O4", "c4", "2025-03-03T12:05:00Z", "", "placed", "30.00", "USD"],
        ],
    )
    write_csv(
        tmp_path,
        "ads",
        "spend.csv",
        D1,
        [
            ["2025-03-03", "google_ads", "brand", "40.00", "USD", 100, 10],
            ["2025-03-03", "meta_ads", "prospecting", "20.00", "USD", 100, 10],
        ],
    )
    kpis = compute_kpis(tmp_path, D1)
    # attributed: O1 120 (brand) + O4 30 (retarget) = 150; spend 40 + 20 = 60
    assert kpis[("return_on_ad_spend", *ALL)] == KpiValue(150.0, 60.0, 2.5)
    assert kpis[("marketing_roi", *ALL)] == KpiValue(90.0, 60.0, 1.5)
    assert kpis[("return_on_ad_spend", "campaign", "brand")] == KpiValue(120.0, 40.0, 3.0)
    assert kpis[("marketing_roi", "campaign", "brand")] == KpiValue(80.0, 40.0, 2.0)
    # revenue without spend (retarget) has no ROAS; spend without revenue gives 0 and -1
    assert kpis[("return_on_ad_spend", "campaign", "retarget")] == KpiValue(30.0, 0.0, None)
    assert kpis[("return_on_ad_spend", "campaign", "prospecting")] == KpiValue(0.0, 20.0, 0.0)
    assert kpis[("marketing_roi", "campaign", "prospecting")] == KpiValue(-20.0, 20.0, -1.0)
    # net revenue 120 + 50 + 30 = 200 over 3 orders (O3 cancelled)
    assert kpis[("average_order_value", *ALL)] == KpiValue(200.0, 3.0, pytest.approx(200 / 3))
    # CAC: (60 ad spend + 275.50 other costs) / 3 new customers (c1, c2, c4; c3 cancelled)
    assert kpis[("customer_acquisition_cost", *ALL)] == KpiValue(
        335.5, 3.0, pytest.approx(335.5 / 3)
    )


def test_social_engagement_uses_the_latest_counts_of_each_post(tmp_path: Path) -> None:
    write_csv(
        tmp_path,
        "social",
        "posts.csv",
        D1,
        [
            ["2025-03-03", "instagram", "p1", 100, 5, 1, 0],
            ["2025-03-03", "linkedin", "p2", 50, 1, 0, 0],
        ],
    )
    write_csv(
        tmp_path,
        "social",
        "posts.csv",
        D2,
        [
            # p1 again with lifetime totals: replaces the D1 counts
            ["2025-03-03", "instagram", "p1", 400, 20, 4, 6],
            ["2025-03-04", "instagram", "p3", 0, 0, 0, 0],
        ],
    )
    day1 = compute_kpis(tmp_path, D1, as_of=D2)
    # (20 + 4 + 6) + 1 = 31 engagements over 400 + 50 impressions
    assert day1[("social_engagement_rate", *ALL)] == KpiValue(31.0, 450.0, pytest.approx(31 / 450))
    assert day1[("social_engagement_rate", "source", "instagram")] == KpiValue(30.0, 400.0, 0.075)
    assert day1[("social_engagement_rate", "source", "linkedin")] == KpiValue(1.0, 50.0, 0.02)
    # D2: one post without impressions: 0 / 0 is null, not 0
    day2 = compute_kpis(tmp_path, D2)
    assert day2[("social_engagement_rate", *ALL)] == KpiValue(0.0, 0.0, None)


CONTACT = ["Ada", "L", "ada@example.com"]


def test_leads_convert_by_creation_day_and_deals_count_on_their_close_day(tmp_path: Path) -> None:
    write_csv(
        tmp_path,
        "hubspot",
        "contacts.csv",
        D1,
        [
            [1, *CONTACT, "2025-03-03 08:00", "2025-03-03 08:00", "lead", "ORGANIC_SEARCH"],
            [2, *CONTACT, "2025-03-03 09:00", "2025-03-03 09:00", "customer", "PAID_SEARCH"],
            [3, *CONTACT, "2025-03-03 10:00", "2025-03-03 10:00", "lead", "PAID_SEARCH"],
        ],
    )
    write_csv(
        tmp_path,
        "hubspot",
        "contacts.csv",
        D2,
        [
            # lead 1 became a customer on D2: counts for its creation day D1
            [1, *CONTACT, "2025-03-03 08:00", "2025-03-04 12:00", "customer", "ORGANIC_SEARCH"],
            [4, *CONTACT, "2025-03-04 08:00", "2025-03-04 08:00", "subscriber", ""],
        ],
    )
    write_csv(
        tmp_path,
        "hubspot",
        "deals.csv",
        D1,
        [
            [
                10,
                "A",
                "appointmentscheduled",
                "default",
                "100",
                "2025-03-03 08:00",
                "",
                "2025-03-03 08:00",
            ],
            [
                11,
                "B",
                "closedlost",
                "default",
                "50",
                "2025-03-03 09:00",
                "2025-03-03 17:00",
                "2025-03-03 17:00",
            ],
        ],
    )
    write_csv(
        tmp_path,
        "hubspot",
        "deals.csv",
        D2,
        [
            # deal 10, created on D1, won on D2
            [
                10,
                "A",
                "closedwon",
                "default",
                "100",
                "2025-03-03 08:00",
                "2025-03-04 11:00",
                "2025-03-04 11:00",
            ],
        ],
    )
    as_known_on_d1 = compute_kpis(tmp_path, D1)
    assert as_known_on_d1[("lead_to_customer_rate", *ALL)] == KpiValue(
        1.0, 3.0, pytest.approx(1 / 3)
    )
    # D1 closed: deal 11 lost (deal 10 still open): 0 / 1
    assert as_known_on_d1[("deal_win_rate", *ALL)] == KpiValue(0.0, 1.0, 0.0)
    later = compute_kpis(tmp_path, D1, as_of=D2)
    # leads 1 and 2 of the 3 created on D1 are customers now: 2/3
    assert later[("lead_to_customer_rate", *ALL)] == KpiValue(2.0, 3.0, pytest.approx(2 / 3))
    assert later[("lead_to_customer_rate", "source", "PAID_SEARCH")] == KpiValue(1.0, 2.0, 0.5)
    assert later[("lead_to_customer_rate", "source", "ORGANIC_SEARCH")] == KpiValue(1.0, 1.0, 1.0)
    # deal 10 won on D2 does not change D1: still 0 / 1
    assert later[("deal_win_rate", *ALL)] == KpiValue(0.0, 1.0, 0.0)
    day2 = compute_kpis(tmp_path, D2)
    # D2: deal 10 won: 1 / 1; lead 4 (no source) created D2, not a customer
    assert day2[("deal_win_rate", *ALL)] == KpiValue(1.0, 1.0, 1.0)
    assert day2[("lead_to_customer_rate", "source", "(not set)")] == KpiValue(0.0, 1.0, 0.0)


def test_organic_traffic_counts_organic_search_sessions_by_source(tmp_path: Path) -> None:
    write_ga4(
        tmp_path,
        D1,
        [
            ga4_event("2025-03-03T09:00:00Z", "session_start", "u1", 1, "google", "organic"),
            ga4_event("2025-03-03T09:30:00Z", "session_start", "u2", 2, "Bing", "referral"),
            ga4_event("2025-03-03T10:00:00Z", "session_start", "u3", 3, "google", "cpc"),
            ga4_event("2025-03-03T11:00:00Z", "session_start", "u4", 4),
        ],
    )
    kpis = compute_kpis(tmp_path, D1)
    # google / organic and bing / referral (a search source: Organic Search before Referral);
    # google / cpc is Paid Search, no source is Direct
    assert kpis[("organic_traffic", *ALL)] == KpiValue(2.0, None, 2.0)
    assert kpis[("organic_traffic", "source", "google")] == KpiValue(1.0, None, 1.0)
    assert kpis[("organic_traffic", "source", "bing")] == KpiValue(1.0, None, 1.0)


def test_last_year_window_and_period_starts() -> None:
    # weeks shift by 52 weeks (same weekday), other grains by a calendar year
    assert oracle.year_earlier(dt.date(2025, 6, 30), "week") == dt.date(2024, 7, 1)
    assert oracle.year_earlier(dt.date(2025, 7, 2), "month") == dt.date(2024, 7, 2)
    assert oracle.year_earlier(dt.date(2024, 2, 29), "year") == dt.date(2023, 2, 28)
    assert oracle.period_start(dt.date(2025, 7, 2), "week") == dt.date(2025, 6, 30)
    assert oracle.period_start(dt.date(2025, 8, 15), "quarter") == dt.date(2025, 7, 1)
    # NPS over a period: (1 - 2) / (5 + 5) * 100, not the mean of the daily NPS
    daily = {
        D1: {("nps", *ALL): KpiValue(1.0, 5.0, 20.0)},
        D2: {("nps", *ALL): KpiValue(-2.0, 5.0, -40.0)},
    }
    assert oracle.roll_up(daily, [D1, D2])[("nps", *ALL)] == KpiValue(-1.0, 10.0, -10.0)
