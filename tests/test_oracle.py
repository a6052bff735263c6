"""Tests of the plain-Python KPI oracle on tiny hand-made landing zones.

Every expected figure is worked out by hand in the comments next to it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from tests.oracle import (
    DEFAULT_SOURCE_CATEGORIES,
    KpiValue,
    channel_group,
    compute_kpis,
    load_source_categories,
    parse_micros,
    parse_timestamp,
)

D1 = dt.date(2025, 3, 1)
D2 = dt.date(2025, 3, 2)

ORDER_COLUMNS = [
    "order_id",
    "contact_id",
    "placed_at",
    "fulfilled_at",
    "status",
    "net_amount",
    "currency",
]
SPEND_COLUMNS = ["date", "channel", "campaign", "spend", "currency", "impressions", "clicks"]
NPS_COLUMNS = ["response_id", "contact_id", "submitted_at", "score", "comment"]

SCR = "session_conversion_rate"
CPA = "cost_per_acquisition"
REVENUE = "net_revenue"
NPS = "nps"
PROCESSING = "avg_order_processing_hours"
ALL = ("all", "all")


# --------------------------------------------------------------------------------------
# Landing zone writers (exactly the contract's layout and formats)
# --------------------------------------------------------------------------------------


def write_csv(
    landing: Path,
    source: str,
    day: dt.date,
    filename: str,
    columns: list[str],
    rows: list[list[object]],
) -> None:
    """Write ``<landing>/<source>/dt=<day>/<filename>`` with a header row."""
    folder = landing / source / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / filename).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def write_orders(landing: Path, day: dt.date, rows: list[list[object]]) -> None:
    write_csv(landing, "orders", day, "orders.csv", ORDER_COLUMNS, rows)


def write_spend(landing: Path, day: dt.date, rows: list[list[object]]) -> None:
    write_csv(landing, "ads", day, "spend.csv", SPEND_COLUMNS, rows)


def write_nps(landing: Path, day: dt.date, rows: list[list[object]]) -> None:
    write_csv(landing, "nps", day, "responses.csv", NPS_COLUMNS, rows)


def micros(iso: str) -> str:
    """GA4 ``event_timestamp`` (microseconds, as a JSON string) of an ISO timestamp."""
    moment = dt.datetime.fromisoformat(iso)
    return str(int(moment.timestamp()) * 1_000_000 + moment.microsecond)


def event(
    user: str,
    session_id: int,
    at: str,
    name: str = "page_view",
    source: str | None = None,
    medium: str | None = None,
    campaign: str | None = None,
) -> dict:
    """One GA4 export event with the fields the KPIs use."""
    params = [{"key": "ga_session_id", "value": {"int_value": str(session_id)}}]
    for key, value in (("source", source), ("medium", medium), ("campaign", campaign)):
        if value is not None:
            params.append({"key": key, "value": {"string_value": value}})
    record = {
        "event_date": at[:10].replace("-", ""),
        "event_timestamp": micros(at),
        "event_name": name,
        "user_pseudo_id": user,
        "event_params": params,
        "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
        "geo": {"country": "France"},
        "device": {"category": "mobile"},
    }
    if name == "purchase":
        record["ecommerce"] = {"purchase_revenue": 10.0, "transaction_id": "O-1"}
    return record


def write_ga4(landing: Path, day: dt.date, events: list[dict]) -> None:
    folder = landing / "ga4" / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"events_{day.strftime('%Y%m%d')}.json"
    path.write_text("".join(json.dumps(record) + "\n" for record in events), encoding="utf-8")


@pytest.fixture
def categories() -> dict[str, str]:
    return load_source_categories(DEFAULT_SOURCE_CATEGORIES)


# --------------------------------------------------------------------------------------
# Helpers and source categories
# --------------------------------------------------------------------------------------


def test_timestamp_parsing_formats() -> None:
    # HubSpot "YYYY-MM-DD HH:MM" is UTC; "Z" and offsets are honoured.
    utc = dt.UTC
    assert parse_timestamp("2025-03-01 14:05") == dt.datetime(2025, 3, 1, 14, 5, tzinfo=utc)
    assert parse_timestamp("2025-03-01T14:05:09Z") == dt.datetime(2025, 3, 1, 14, 5, 9, tzinfo=utc)
    # 02:00 at +03:00 is 23:00 UTC the day before.
    assert parse_timestamp("2025-03-02T02:00:00+03:00") == dt.datetime(2025, 3, 1, 23, tzinfo=utc)
    assert parse_timestamp("") is None
    # 1740837909123456 us = 2025-03-01T14:05:09.123456Z, as a string or an int.
    expected = dt.datetime(2025, 3, 1, 14, 5, 9, 123456, tzinfo=utc)
    assert parse_micros("1740837909123456") == expected
    assert parse_micros(1740837909123456) == expected


def test_load_source_categories_lowercases_sources(categories: dict[str, str]) -> None:
    assert categories["google"] == "SOURCE_CATEGORY_SEARCH"
    assert categories["l.facebook.com"] == "SOURCE_CATEGORY_SOCIAL"
    # Written "Google Shopping" in the seed, looked up lower-case.
    assert categories["google shopping"] == "SOURCE_CATEGORY_SHOPPING"
    assert "example.com" not in categories


# --------------------------------------------------------------------------------------
# Channel grouping
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "medium", "campaign", "expected"),
    [
        ("(direct)", "(none)", None, "Direct"),
        (None, None, None, "Direct"),  # no source param at all
        ("google", "cpc", "spring_sale", "Paid Search"),
        ("Google", "CPC", None, "Paid Search"),  # compared lower-case
        ("google", "organic", None, "Organic Search"),
        ("facebook", "cpc", None, "Paid Social"),
        # SOCIAL category (rule 10) is checked before medium referral (rule 13).
        ("l.facebook.com", "referral", None, "Organic Social"),
        ("newsletter", "email", "march", "Email"),
        ("example.com", "referral", None, "Referral"),
        ("someunknownengine", "organic", None, "Organic Search"),
        ("unknown", "unknown", None, "Unassigned"),
        # Cross-network (rule 2) wins over the SEARCH + paid rule (rule 4).
        ("google", "cpc", "pmax_cross-network_q1", "Cross-network"),
        ("youtube.com", "cpc", None, "Paid Video"),
        ("example.com", "banner", None, "Display"),
        # "cpm" is in the display list but also matches the paid pattern: Paid Search first.
        ("google", "cpm", None, "Paid Search"),
        ("example.com", "paid_partner", None, "Paid Other"),
        ("example.com", "cpc", "summer-shop", "Paid Shopping"),
        ("example.com", "referral", "workshop", "Referral"),  # "workshop": 'k' before shop
        ("google shopping", "referral", None, "Organic Shopping"),
        ("sms", "text", None, "SMS"),
        ("firebase", "notif", None, "Mobile Push Notifications"),
        ("partner", "affiliate", None, "Affiliates"),
    ],
)
def test_channel_group(
    source: str | None,
    medium: str | None,
    campaign: str | None,
    expected: str,
    categories: dict[str, str],
) -> None:
    assert channel_group(source, medium, campaign, categories) == expected


# --------------------------------------------------------------------------------------
# Empty landing zone
# --------------------------------------------------------------------------------------


def test_empty_landing_has_all_rows_with_null_ratios(tmp_path: Path) -> None:
    kpis = compute_kpis(tmp_path, D1)
    assert kpis == {
        (SCR, *ALL): KpiValue(0.0, 0.0, None),
        (CPA, *ALL): KpiValue(0.0, 0.0, None),
        (REVENUE, *ALL): KpiValue(0.0, None, 0.0),
        (NPS, *ALL): KpiValue(0.0, 0.0, None),
        (PROCESSING, *ALL): KpiValue(0.0, 0.0, None),
        ("user_conversion_rate", *ALL): KpiValue(0.0, 0.0, None),
        # no ad spend, but the seed's other marketing costs: 150 + 40 + 85.50 a day
        ("customer_acquisition_cost", *ALL): KpiValue(275.5, 0.0, None),
        ("return_on_ad_spend", *ALL): KpiValue(0.0, 0.0, None),
        ("marketing_roi", *ALL): KpiValue(0.0, 0.0, None),
        ("social_engagement_rate", *ALL): KpiValue(0.0, 0.0, None),
        ("organic_traffic", *ALL): KpiValue(0.0, None, 0.0),
        ("lead_to_customer_rate", *ALL): KpiValue(0.0, 0.0, None),
        ("deal_win_rate", *ALL): KpiValue(0.0, 0.0, None),
        ("average_order_value", *ALL): KpiValue(0.0, 0.0, None),
    }


# --------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------


def test_converting_and_non_converting_sessions_by_channel(tmp_path: Path) -> None:
    write_ga4(
        tmp_path,
        D1,
        [
            # u1/s1 from google cpc, buys: converting, Paid Search.
            event("u1", 1, "2025-03-01T10:00:00+00:00", "session_start", "google", "cpc", "spring"),
            event("u1", 1, "2025-03-01T10:05:00+00:00", "purchase"),
            # u2/s2 direct, only browses: not converting, Direct.
            event("u2", 2, "2025-03-01T11:00:00+00:00", "session_start"),
            event("u2", 2, "2025-03-01T11:01:00+00:00", "page_view"),
            # Same user u1, another session s3, from google organic, no purchase.
            event("u1", 3, "2025-03-01T15:00:00+00:00", "page_view", "google", "organic"),
        ],
    )
    kpis = compute_kpis(tmp_path, D1)
    # 3 sessions (u1/s1, u2/s2, u1/s3), 1 converting: 1/3.
    assert kpis[(SCR, *ALL)] == KpiValue(1.0, 3.0, pytest.approx(1 / 3))
    assert kpis[(SCR, "channel", "Paid Search")] == KpiValue(1.0, 1.0, 1.0)
    assert kpis[(SCR, "channel", "Direct")] == KpiValue(0.0, 1.0, 0.0)
    assert kpis[(SCR, "channel", "Organic Search")] == KpiValue(0.0, 1.0, 0.0)
    assert {key for key in kpis if key[0] == SCR and key[1] == "channel"} == {
        (SCR, "channel", "Paid Search"),
        (SCR, "channel", "Direct"),
        (SCR, "channel", "Organic Search"),
    }


def test_session_crossing_midnight_counts_once_on_first_day(tmp_path: Path) -> None:
    write_ga4(
        tmp_path,
        D1,
        [
            # u1/s1 starts at 23:50 on D1 ...
            event("u1", 1, "2025-03-01T23:50:00+00:00", "session_start"),
            # u2/s2 on D1, never buys.
            event("u2", 2, "2025-03-01T12:00:00+00:00", "session_start"),
        ],
    )
    write_ga4(
        tmp_path,
        D2,
        [
            # ... and buys at 00:10 on D2 (in the D2 extract).
            event("u1", 1, "2025-03-02T00:10:00+00:00", "purchase"),
            # u3/s3 on D2.
            event("u3", 3, "2025-03-02T09:00:00+00:00", "session_start"),
        ],
    )
    # Run of D1 knows only the D1 extract: 2 sessions, the purchase is not known yet: 0/2.
    assert compute_kpis(tmp_path, D1)[(SCR, *ALL)] == KpiValue(0.0, 2.0, 0.0)
    # D1 recomputed with the D2 extract known: u1/s1 converts: 1/2.
    assert compute_kpis(tmp_path, D1, as_of=D2)[(SCR, *ALL)] == KpiValue(1.0, 2.0, 0.5)
    # D2 holds only u3/s3: u1/s1 belongs to D1 and is not counted again: 0/1.
    assert compute_kpis(tmp_path, D2)[(SCR, *ALL)] == KpiValue(0.0, 1.0, 0.0)


def test_session_channel_from_earliest_event_with_a_source(
    tmp_path: Path, categories: dict[str, str]
) -> None:
    late = event("u1", 1, "2025-03-01T10:09:00+00:00", "page_view", "facebook", "cpc")
    late["event_timestamp"] = int(late["event_timestamp"])  # tolerate a JSON int
    write_ga4(
        tmp_path,
        D1,
        [
            # Written out of order on purpose: file order must not matter.
            late,
            event("u1", 1, "2025-03-01T10:01:00+00:00", "page_view", "google", "cpc"),
            # Earliest event of the session carries no source.
            event("u1", 1, "2025-03-01T10:00:00+00:00", "session_start"),
        ],
    )
    kpis = compute_kpis(tmp_path, D1)
    # One session; its source is google/cpc (10:01), not facebook (10:09): Paid Search.
    assert kpis[(SCR, "channel", "Paid Search")] == KpiValue(0.0, 1.0, 0.0)
    assert (SCR, "channel", "Paid Social") not in kpis
    assert (SCR, "channel", "Direct") not in kpis


def test_session_day_in_reporting_timezone(tmp_path: Path) -> None:
    # 23:30Z on D1 is 00:30 on D2 in Paris (UTC+1 in March).
    write_ga4(tmp_path, D1, [event("u1", 1, "2025-03-01T23:30:00+00:00", "purchase")])
    assert compute_kpis(tmp_path, D1)[(SCR, *ALL)] == KpiValue(1.0, 1.0, 1.0)
    assert compute_kpis(tmp_path, D1, "Europe/Paris")[(SCR, *ALL)] == KpiValue(0.0, 0.0, None)
    assert compute_kpis(tmp_path, D2, "Europe/Paris")[(SCR, *ALL)] == KpiValue(1.0, 1.0, 1.0)


# --------------------------------------------------------------------------------------
# NPS
# --------------------------------------------------------------------------------------


def test_nps_promoters_passives_detractors(tmp_path: Path) -> None:
    write_nps(
        tmp_path,
        D1,
        [
            ["r1", "c1", "2025-03-01T08:00:00Z", 0, "first answer"],
            ["r2", "c2", "2025-03-01T09:00:00Z", 9, ""],
            ["r3", "c3", "2025-03-01T10:00:00Z", 8, "ok"],
            ["r4", "c4", "2025-03-01T11:00:00Z", 7, "meh, fine"],
            # 00:30 at +02:00 is 22:30Z on D1.
            ["r5", "c5", "2025-03-02T00:30:00+02:00", 3, "bad"],
            # r1 again later in the file: the last row wins, score 10.
            ["r1", "c1", "2025-03-01T08:00:00Z", 10, "changed my mind"],
            # 23:30 at -02:00 is 01:30Z on D2: not D1.
            ["r6", "c6", "2025-03-01T23:30:00-02:00", 0, "late"],
        ],
    )
    # D1 scores 10, 9, 8, 7, 3: promoters 2, detractors 1, responses 5 -> (2-1)/5*100 = 20.
    assert compute_kpis(tmp_path, D1)[(NPS, *ALL)] == KpiValue(1.0, 5.0, 20.0)
    write_nps(
        tmp_path,
        D2,
        [
            ["r7", "c7", "2025-03-02T10:00:00Z", 6, "6 is still a detractor"],
            ["r8", "c8", "2025-03-02T11:00:00Z", 7, "7 is a passive"],
        ],
    )
    # D2: r6 (0), r7 (6), r8 (7): promoters 0, detractors 2, responses 3 -> -2/3*100.
    assert compute_kpis(tmp_path, D2)[(NPS, *ALL)] == KpiValue(-2.0, 3.0, pytest.approx(-200 / 3))


def test_nps_without_responses_is_null(tmp_path: Path) -> None:
    write_nps(tmp_path, D2, [["r1", "c1", "2025-03-02T08:00:00Z", 10, ""]])
    # Nothing submitted on D1 (and the D2 extract is not even known on D1).
    assert compute_kpis(tmp_path, D1)[(NPS, *ALL)] == KpiValue(0.0, 0.0, None)


# --------------------------------------------------------------------------------------
# Orders: revenue, acquisitions, CPA, processing time
# --------------------------------------------------------------------------------------


def test_net_revenue_excludes_cancelled_orders(tmp_path: Path) -> None:
    write_orders(
        tmp_path,
        D1,
        [
            ["O1", "c1", "2025-03-01T10:00:00Z", "", "placed", "100.00", "USD"],
            ["O2", "c2", "2025-03-01T11:00:00Z", "", "cancelled", "25.50", "USD"],
            ["O3", "c3", "2025-03-01T12:00:00Z", "", "placed", "10.25", "USD"],
        ],
    )
    write_orders(
        tmp_path,
        D2,
        [
            # O3 cancelled on D2 (whole row again).
            ["O3", "c3", "2025-03-01T12:00:00Z", "", "cancelled", "10.25", "USD"],
            ["O4", "c4", "2025-03-02T09:00:00Z", "", "placed", "60.00", "USD"],
        ],
    )
    # Run of D1: O1 + O3 = 110.25 (O2 cancelled; O3's cancellation not known yet).
    assert compute_kpis(tmp_path, D1)[(REVENUE, *ALL)] == KpiValue(110.25, None, 110.25)
    # D1 once the D2 extract is known: O3's latest version is cancelled: 100.00.
    assert compute_kpis(tmp_path, D1, as_of=D2)[(REVENUE, *ALL)] == KpiValue(100.0, None, 100.0)
    # D2: only O4 was placed on D2 (O3 is in the D2 extract but placed on D1): 60.
    assert compute_kpis(tmp_path, D2)[(REVENUE, *ALL)] == KpiValue(60.0, None, 60.0)


def test_cpa_with_zero_acquisitions_is_null(tmp_path: Path) -> None:
    write_spend(tmp_path, D1, [[D1.isoformat(), "google_ads", "spring", "100.00", "USD", 1000, 40]])
    # 100 spent, nobody acquired: 100 / 0 -> null.
    assert compute_kpis(tmp_path, D1)[(CPA, *ALL)] == KpiValue(100.0, 0.0, None)


def test_acquisitions_second_order_and_later_cancellation(tmp_path: Path) -> None:
    write_orders(
        tmp_path,
        D1,
        [
            ["O1", "c1", "2025-03-01T10:00:00Z", "", "placed", "100.00", "USD"],
            ["O4", "c3", "2025-03-01T11:00:00Z", "", "placed", "40.00", "USD"],
        ],
    )
    write_orders(
        tmp_path,
        D2,
        [
            ["O2", "c1", "2025-03-02T09:00:00Z", "", "placed", "50.00", "USD"],  # c1's 2nd order
            ["O3", "c2", "2025-03-02T10:00:00Z", "", "placed", "30.00", "USD"],  # c2's 1st order
            ["O4", "c3", "2025-03-01T11:00:00Z", "", "cancelled", "40.00", "USD"],
            ["O5", "c3", "2025-03-02T12:00:00Z", "", "placed", "20.00", "USD"],
        ],
    )
    write_spend(tmp_path, D1, [[D1.isoformat(), "google_ads", "spring", "80", "USD", 10, 1]])
    write_spend(tmp_path, D2, [[D2.isoformat(), "google_ads", "spring", "150", "USD", 10, 1]])
    # D1 as known on D1: c1 (O1) and c3 (O4) acquired: 80 / 2 = 40.
    assert compute_kpis(tmp_path, D1)[(CPA, *ALL)] == KpiValue(80.0, 2.0, 40.0)
    # D2: c1's first order is O1 (D1): not acquired again. c3's O4 is now cancelled, so its
    # first non-cancelled order is O5 (D2). Acquired: c2, c3 -> 150 / 2 = 75.
    assert compute_kpis(tmp_path, D2)[(CPA, *ALL)] == KpiValue(150.0, 2.0, 75.0)
    # D1 recomputed with D2 known: only c1 -> 80 / 1 = 80.
    assert compute_kpis(tmp_path, D1, as_of=D2)[(CPA, *ALL)] == KpiValue(80.0, 1.0, 80.0)


def test_processing_time_over_orders_fulfilled_that_day(tmp_path: Path) -> None:
    write_orders(
        tmp_path,
        D1,
        [
            ["O1", "c1", "2025-03-01T08:00:00Z", "", "placed", "10", "USD"],
            ["O2", "c2", "2025-03-01T06:00:00Z", "2025-03-01T09:00:00Z", "fulfilled", "10", "USD"],
            ["O3", "c3", "2025-03-01T12:00:00Z", "", "placed", "10", "USD"],
            ["O5", "c5", "2025-03-01T10:00:00Z", "", "placed", "10", "USD"],
        ],
    )
    write_orders(
        tmp_path,
        D2,
        [
            # O1: D1 08:00 -> D2 14:00 = 30 h.
            ["O1", "c1", "2025-03-01T08:00:00Z", "2025-03-02T14:00:00Z", "fulfilled", "10", "USD"],
            # O3: D1 12:00Z -> D2 09:00+01:00 = 08:00Z = 20 h.
            [
                "O3",
                "c3",
                "2025-03-01T12:00:00Z",
                "2025-03-02T09:00:00+01:00",
                "fulfilled",
                "10",
                "USD",
            ],
            # O4: D2 01:00 -> 03:00 = 2 h.
            ["O4", "c4", "2025-03-02T01:00:00Z", "2025-03-02T03:00:00Z", "fulfilled", "10", "USD"],
            # O5 fulfilled then cancelled: excluded.
            ["O5", "c5", "2025-03-01T10:00:00Z", "2025-03-02T10:00:00Z", "cancelled", "10", "USD"],
        ],
    )
    # D1: only O2, 3 h -> 3 / 1.
    assert compute_kpis(tmp_path, D1)[(PROCESSING, *ALL)] == KpiValue(3.0, 1.0, 3.0)
    # D2: (30 + 20 + 2) / 3 = 52 / 3 (with O5 it would be 76 / 4 = 19).
    assert compute_kpis(tmp_path, D2)[(PROCESSING, *ALL)] == KpiValue(
        52.0, 3.0, pytest.approx(52 / 3)
    )


# --------------------------------------------------------------------------------------
# Ad spend
# --------------------------------------------------------------------------------------


def test_ad_spend_restated_by_a_later_extract(tmp_path: Path) -> None:
    write_orders(tmp_path, D1, [["O1", "c1", "2025-03-01T10:00:00Z", "", "placed", "5", "USD"]])
    write_spend(
        tmp_path,
        D1,
        [
            [D1.isoformat(), "google_ads", "spring", "90.00", "USD", 100, 5],
            [D1.isoformat(), "meta_ads", "spring", "50.00", "USD", 100, 5],
            # Same date + channel + campaign later in the file: last row wins (100, not 90).
            [D1.isoformat(), "google_ads", "spring", "100.00", "USD", 120, 6],
        ],
    )
    write_spend(
        tmp_path,
        D2,
        [
            # D1's google spend restated to 120 in the D2 extract.
            [D1.isoformat(), "google_ads", "spring", "120.00", "USD", 150, 7],
            [D2.isoformat(), "google_ads", "spring", "70.00", "USD", 90, 3],
        ],
    )
    # Run of D1: 100 + 50 = 150 spent, 1 customer (c1): 150.
    assert compute_kpis(tmp_path, D1)[(CPA, *ALL)] == KpiValue(150.0, 1.0, 150.0)
    # D1 once the restatement is known: 120 + 50 = 170.
    assert compute_kpis(tmp_path, D1, as_of=D2)[(CPA, *ALL)] == KpiValue(170.0, 1.0, 170.0)
    # D2: only the row dated D2 counts (the restated D1 row is in the D2 extract): 70 / 0.
    assert compute_kpis(tmp_path, D2)[(CPA, *ALL)] == KpiValue(70.0, 0.0, None)


def test_spend_in_another_currency_is_left_out(tmp_path: Path) -> None:
    write_orders(
        tmp_path,
        D1,
        [
            ["O1", "c1", "2025-03-01T10:00:00Z", "", "placed", "5", "USD"],
            ["O2", "c2", "2025-03-01T11:00:00Z", "", "placed", "5", "USD"],
        ],
    )
    write_spend(
        tmp_path,
        D1,
        [
            [D1.isoformat(), "google_ads", "spring", "100.00", "USD", 100, 5],
            [D1.isoformat(), "meta_ads", "spring", "30.00", "EUR", 100, 5],
        ],
    )
    # Reporting in USD: the EUR row is not converted, just left out: 100 / 2 = 50.
    assert compute_kpis(tmp_path, D1)[(CPA, *ALL)] == KpiValue(100.0, 2.0, 50.0)
    # Reporting in EUR: only the EUR row: 30 / 2 = 15.
    kpis = compute_kpis(tmp_path, D1, reporting_currency="EUR")
    assert kpis[(CPA, *ALL)] == KpiValue(30.0, 2.0, 15.0)


def test_contact_ids_are_text_leading_zeros_kept(tmp_path: Path) -> None:
    write_orders(
        tmp_path,
        D1,
        [["O1", "007", "2025-03-01T10:00:00Z", "", "placed", "10", "USD"]],
    )
    write_orders(
        tmp_path,
        D2,
        [
            ["O2", " 7 ", "2025-03-02T10:00:00Z", "", "placed", "10", "USD"],  # not 007
            ["O3", "007", "2025-03-02T11:00:00Z", "", "placed", "10", "USD"],  # 007's 2nd
            ["O4", "gid://shop/Customer/7", "2025-03-02T12:00:00Z", "", "placed", "10", "USD"],
        ],
    )
    write_spend(tmp_path, D2, [[D2.isoformat(), "google_ads", "spring", "60", "USD", 10, 1]])
    # D2: "7" and gid://shop/Customer/7 are acquired; "007" was acquired on D1: 60 / 2 = 30.
    assert compute_kpis(tmp_path, D2)[(CPA, *ALL)] == KpiValue(60.0, 2.0, 30.0)


LEAD_COLUMNS = ["Id", "CreatedDate", "LastModifiedDate", "LeadSource", "IsConverted"]
OPPORTUNITY_COLUMNS = ["Id", "CreatedDate", "LastModifiedDate", "IsWon", "IsClosed", "CloseDate"]
T1 = "2025-03-01T09:00:00.000+0000"
T2 = "2025-03-02T09:00:00.000Z"


def test_salesforce_booleans_empty_is_false_and_latest_version_wins(tmp_path: Path) -> None:
    write_csv(
        tmp_path,
        "salesforce",
        D1,
        "Opportunity.csv",
        OPPORTUNITY_COLUMNS,
        [
            ["006A", T1, T1, "1", "1", "2025-03-01"],  # won
            ["006B", T1, T1, "", "1", "2025-03-01"],  # lost: empty IsWon is false
            ["006C", T1, T1, "", "", "2025-03-01"],  # open: its close date is a forecast
            ["006D", T1, T1, "maybe", "1", "2025-03-01"],  # unreadable: quarantined, left out
            ["006E", T1, T1, "", "", "2025-03-02"],  # open on D1...
        ],
    )
    write_csv(
        tmp_path,
        "salesforce",
        D2,
        "Opportunity.csv",
        [c.upper() for c in OPPORTUNITY_COLUMNS],  # Data Loader's upper-case header
        [
            ["006E", T1, T2, "false", "TRUE", "2025-03-02"],  # ... lost on D2
            ["006A", T1, "2025-03-02T09:00:00", "", "", "2025-03-01"],  # no zone: left out
        ],
    )
    write_csv(
        tmp_path,
        "salesforce",
        D1,
        "Lead.csv",
        LEAD_COLUMNS,
        [["00QA", T1, T1, "Web", "1"], ["00QB", T1, T1, "", ""], ["00QC", T1, T1, "Web", "0"]],
    )
    kpis = compute_kpis(tmp_path, D1, as_of=D2)
    # D1: 006A won, 006B lost (006C open, 006D unreadable): 1 / 2.
    assert kpis[("deal_win_rate", *ALL)] == KpiValue(1.0, 2.0, 0.5)
    # leads of D1: 00QA converted of 3; by source: Web 1 of 2, (not set) 0 of 1.
    assert kpis[("lead_to_customer_rate", *ALL)] == KpiValue(1.0, 3.0, 1 / 3)
    assert kpis[("lead_to_customer_rate", "source", "Web")] == KpiValue(1.0, 2.0, 0.5)
    assert kpis[("lead_to_customer_rate", "source", "(not set)")] == KpiValue(0.0, 1.0, 0.0)
    # D2: 006E lost: 0 / 1.
    assert compute_kpis(tmp_path, D2)[("deal_win_rate", *ALL)] == KpiValue(0.0, 1.0, 0.0)
