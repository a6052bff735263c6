"""An explanation in one sentence: the change, then its two largest drivers."""

from __future__ import annotations

import pytest

from kpi_pipeline.explain.chain import explain_chain
from kpi_pipeline.explain.decompose import Breakdown, Components, explain_additive, explain_ratio
from kpi_pipeline.explain.wording import format_change, is_shown, sentence

C = Components


def test_the_two_channel_fixture() -> None:
    # the fixture of test_decompose: mix A +0.45 pt, rate A -0.25 pt, mix B -0.275 pt,
    # rate B +0.075 pt; the rate is unchanged
    before = Breakdown(C(30, 2000), {"A": C(20, 1000), "B": C(10, 1000)})
    after = Breakdown(C(30, 2000), {"A": C(24, 1500), "B": C(6, 500)})
    found = explain_ratio("session_conversion_rate", "channel", before, after)
    assert sentence(found, "Session conversion rate", "ratio", "the previous day", "traffic") == (
        "Session conversion rate unchanged vs the previous day: traffic shifted toward A "
        "(+0.45 pt); traffic shifted away from B (-0.28 pt)"
    )


def test_a_rate_rising_and_a_new_channel() -> None:
    # day 0: Paid Search 1000 sessions / 20 conversions, Organic Search 1000 / 10
    #   -> 30 / 2000 = 1.5 %
    # day 1: Paid Search 1000 / 26, Organic Search 1000 / 10, Email (new) 500 / 5
    #   -> 41 / 2500 = 1.64 %: +0.14 pt
    # shares: Paid 0.5 -> 0.4, Organic 0.5 -> 0.4, Email 0 -> 0.2
    # Paid:    rate (2.6 % - 2 %) x 0.45 = +0.27 pt; mix -0.1 x 2.3 % = -0.23 pt
    # Organic: rate 0;                                mix -0.1 x 1 %   = -0.10 pt
    # Email:   rate 0 (new);                          mix +0.2 x 1 %   = +0.20 pt
    before = Breakdown(C(30, 2000), {"Paid Search": C(20, 1000), "Organic Search": C(10, 1000)})
    after = Breakdown(
        C(41, 2500),
        {"Paid Search": C(26, 1000), "Organic Search": C(10, 1000), "Email": C(5, 500)},
    )
    found = explain_ratio("session_conversion_rate", "channel", before, after)
    assert sentence(found, "Session conversion rate", "ratio", "the previous day", "traffic") == (
        "Session conversion rate +0.14 pt vs the previous day: Paid Search's rate rose "
        "(+0.27 pt); traffic shifted away from Paid Search (-0.23 pt)"
    )


def test_a_plain_sum_names_segments_that_rose_and_fell() -> None:
    before = Breakdown(C(610), {"google": C(400), "bing": C(210)})
    after = Breakdown(C(545), {"google": C(350), "bing": C(195)})
    found = explain_additive("organic_traffic", "source", before, after)
    assert sentence(found, "Organic traffic", "sessions", "the same day last year") == (
        "Organic traffic -65 vs the same day last year: google fell (-50); bing fell (-15)"
    )


def test_a_larger_share_of_a_negative_ratio_is_still_a_shift_toward_it() -> None:
    # marketing ROI by campaign: A loses money (-0.5), its share of spend grows 0.5 -> 0.75
    before = Breakdown(C(0, 200), {"A": C(-50, 100), "B": C(50, 100)})
    after = Breakdown(C(-100, 400), {"A": C(-150, 300), "B": C(50, 100)})
    found = explain_ratio("marketing_roi", "campaign", before, after)
    text = sentence(found, "Marketing ROI", "ratio", "the previous month")
    assert text.startswith("Marketing ROI -25.00 pt vs the previous month: ")
    assert "the mix shifted toward A (-12.50 pt)" in text
    assert "the mix shifted away from B (-12.50 pt)" in text


def test_the_overlap_and_currency_are_worded() -> None:
    before = Breakdown(C(3, 150), {"A": C(2, 100), "B": C(2, 100)})
    after = Breakdown(C(6, 150), {"A": C(4, 100), "B": C(4, 100)})
    found = explain_ratio("user_conversion_rate", "channel", before, after)
    assert sentence(found, "User conversion rate", "ratio", "the previous week") == (
        "User conversion rate +2.00 pt vs the previous week: A's rate rose (+1.33 pt); "
        "B's rate rose (+1.33 pt)"
    )
    cpa = explain_ratio(
        "cost_per_acquisition",
        "channel",
        Breakdown(C(150, 2), {"A": C(100, 2), "B": C(50, 0)}),
        Breakdown(C(150, 4), {"A": C(120, 3), "B": C(30, 1)}),
    )
    assert sentence(cpa, "Cost per acquisition", "currency", "the previous day") == (
        "Cost per acquisition -37.50 vs the previous day: B's average fell (-25.00); "
        "the mix shifted away from A (-11.25)"
    )
    users = explain_ratio(
        "user_conversion_rate",
        "channel",
        Breakdown(C(3, 150), {"A": C(2, 100)}),
        Breakdown(C(9, 150), {"A": C(2, 100)}),
    )
    assert sentence(users, "User conversion rate", "ratio", "the previous day") == (
        "User conversion rate +4.00 pt vs the previous day: the part no single channel "
        "explains (+4.00 pt)"
    )


def test_near_zero_drivers_are_left_out() -> None:
    before = Breakdown(C(1000.0), {"A": C(500.0), "B": C(500.0)})
    after = Breakdown(C(1000.001), {"A": C(500.001), "B": C(500.0)})
    found = explain_additive("net_revenue", "channel", before, after)
    assert sentence(found, "Net revenue", "currency", "the previous day") == (
        "Net revenue unchanged vs the previous day"
    )


def test_a_chain_names_its_factors() -> None:
    found = explain_chain(
        "net_revenue",
        {"sessions": 1000.0, "conversion_rate": 0.02, "order_value": 50.0},
        {"sessions": 1000.0, "conversion_rate": 0.04, "order_value": 50.0},
    )
    assert sentence(found, "Net revenue", "currency", "the previous day") == (
        "Net revenue +1,000.00 vs the previous day: conversion rate rose (+1,000.00)"
    )


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.0017, "ratio", "+0.17 pt"),
        (-0.00275, "ratio", "-0.28 pt"),
        (1234.5, "currency", "+1,234.50"),
        (3.25, "points", "+3.3 points"),
        (-1.44, "hours", "-1.4 h"),
        (-1200.0, "sessions", "-1,200"),
        (2.5, "orders", "+2.50"),
        (-0.0, "orders", "+0"),
    ],
)
def test_format_change(value, unit, shown) -> None:
    assert format_change(value, unit) == shown


def test_is_shown() -> None:
    assert not is_shown(0.00004, "ratio") and is_shown(0.00005, "ratio")
    assert not is_shown(0.004, "currency") and is_shown(0.005, "currency")


def test_what_a_ratios_segments_share_is_named_by_its_denominator() -> None:
    from kpi_pipeline.explain.wording import mix_subject
    from kpi_pipeline.kpis.catalogue import load_catalogue
    from kpi_pipeline.settings import KPI_CATALOGUE_PATH

    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    assert mix_subject(catalogue["session_conversion_rate"]) == "traffic"  # per session
    assert mix_subject(catalogue["social_engagement_rate"]) == "the mix"  # per impression
    assert mix_subject(catalogue["net_revenue"]) == "the mix"  # no denominator
