"""The change of a KPI split into per-segment contributions: hand-worked fixtures, then
properties on random segment tables."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_pipeline.explain.decompose import (
    Breakdown,
    Components,
    explain,
    explain_additive,
    explain_ratio,
)
from kpi_pipeline.explain.explanation import (
    NOT_ATTRIBUTABLE,
    OVERLAP,
    Contribution,
    Explanation,
    NoValue,
)
from kpi_pipeline.kpis.catalogue import load_catalogue

C = Components


def by_key(explanation: Explanation) -> dict[tuple[str, str], float]:
    return {(c.dimension_value, c.effect): c.value for c in explanation.contributions}


# --- hand-worked fixtures --------------------------------------------------------------


def test_two_channels_mix_and_rate_by_hand() -> None:
    # Session conversion rate by channel (scale 1):
    #   day 0: A 1000 sessions, 20 conversions; B 1000, 10  -> D0 = 2000, N0 = 30, V0 = 0.015
    #   day 1: A 1500 sessions, 24 conversions; B  500,  6  -> D1 = 2000, N1 = 30, V1 = 0.015
    # shares s = d / D: A 0.5 -> 0.75, B 0.5 -> 0.25; rates r = n / d: A 0.02 -> 0.016,
    # B 0.01 -> 0.012
    #   mix_A  = (0.75 - 0.5) x (0.016 + 0.02) / 2 = 0.25 x 0.018  =  0.0045
    #   rate_A = (0.016 - 0.02) x (0.75 + 0.5) / 2 = -0.004 x 0.625 = -0.0025
    #   mix_B  = (0.25 - 0.5) x (0.012 + 0.01) / 2 = -0.25 x 0.011 = -0.00275
    #   rate_B = (0.012 - 0.01) x (0.25 + 0.5) / 2 = 0.002 x 0.375 =  0.00075
    #   total  = 0.0045 - 0.0025 - 0.00275 + 0.00075 = 0 = V1 - V0: traffic moved toward the
    #   better-converting A, whose own rate fell by as much
    before = Breakdown(C(30, 2000), {"A": C(20, 1000), "B": C(10, 1000)})
    after = Breakdown(C(30, 2000), {"A": C(24, 1500), "B": C(6, 500)})
    found = explain_ratio("session_conversion_rate", "channel", before, after)
    assert (found.value_from, found.value_to, found.change) == (0.015, 0.015, 0.0)
    assert [(c.dimension_value, c.effect) for c in found.contributions] == [
        ("A", "mix"),
        ("A", "rate"),
        ("B", "mix"),
        ("B", "rate"),
    ]
    assert [c.value for c in found.contributions] == pytest.approx(
        [0.0045, -0.0025, -0.00275, 0.00075], abs=1e-15
    )
    assert found.shares == (("A", 0.5, 0.75), ("B", 0.5, 0.25))


def test_a_new_and_a_gone_channel_are_all_mix() -> None:
    # day 0: A 1000 / 20, B 1000 / 10 -> V0 = 30 / 2000 = 0.015
    # day 1: A 1000 / 20, C 1000 / 30 (B gone, C new) -> V1 = 50 / 2000 = 0.025
    #   A: share 0.5 -> 0.5, rate 0.02 -> 0.02: mix 0, rate 0
    #   B: share 0.5 -> 0 (rate taken as 0.01 in day 1): mix = -0.5 x 0.02 / 2 = -0.005
    #   C: share 0 -> 0.5 (rate taken as 0.03 in day 0): mix = 0.5 x 0.06 / 2 = 0.015
    #   total = -0.005 + 0.015 = 0.01 = V1 - V0
    before = Breakdown(C(30, 2000), {"A": C(20, 1000), "B": C(10, 1000)})
    after = Breakdown(C(50, 2000), {"A": C(20, 1000), "C": C(30, 1000)})
    found = by_key(explain_ratio("session_conversion_rate", "channel", before, after))
    assert found == {
        ("A", "mix"): 0.0,
        ("A", "rate"): 0.0,
        ("B", "mix"): pytest.approx(-0.005, abs=1e-15),
        ("B", "rate"): 0.0,
        ("C", "mix"): pytest.approx(0.015, abs=1e-15),
        ("C", "rate"): 0.0,
    }


def test_spend_without_customers_goes_to_rate() -> None:
    # Cost per acquisition by channel:
    #   day 0: A 100 spend / 2 customers, B 50 spend / 0 customers -> V0 = 150 / 2 = 75
    #   day 1: A 120 / 3, B 30 / 1 -> V1 = 150 / 4 = 37.5
    #   A: share 1 -> 0.75, cpa 50 -> 40: mix = -0.25 x 90 / 2 = -11.25,
    #      rate = -10 x 1.75 / 2 = -8.75
    #   B: no share on day 0 (its 50 / 2 = 25 of V0 is the stray term), share 0.25 on day 1,
    #      cpa 30 (day 0 takes day 1's): mix = 0.25 x 60 / 2 = 7.5, rate = 0 - 25 = -25
    #   total = -11.25 - 8.75 + 7.5 - 25 = -37.5 = V1 - V0
    before = Breakdown(C(150, 2), {"A": C(100, 2), "B": C(50, 0)})
    after = Breakdown(C(150, 4), {"A": C(120, 3), "B": C(30, 1)})
    found = explain_ratio("cost_per_acquisition", "channel", before, after)
    assert found.change == -37.5
    assert by_key(found) == {
        ("A", "mix"): -11.25,
        ("A", "rate"): -8.75,
        ("B", "mix"): 7.5,
        ("B", "rate"): -25.0,
    }


def test_distinct_users_in_several_channels_leave_an_overlap() -> None:
    # User conversion rate by channel; 50 users visit through both channels:
    #   day 0: 150 users, 3 purchasers overall; A 100 / 2, B 100 / 2 -> V0 = 0.02
    #   day 1: 150 users, 6 purchasers overall; A 100 / 4, B 100 / 4 -> V1 = 0.04
    #   shares 100 / 150 = 2/3 in both days: mix 0; rate = 0.02 x 2/3 = 1/75 for A and B
    #   overlap = 0.02 - 2/75 = -1/150
    before = Breakdown(C(3, 150), {"A": C(2, 100), "B": C(2, 100)})
    after = Breakdown(C(6, 150), {"A": C(4, 100), "B": C(4, 100)})
    found = explain_ratio("user_conversion_rate", "channel", before, after)
    assert found.change == pytest.approx(0.02, abs=1e-15)
    assert by_key(found) == {
        ("A", "mix"): 0.0,
        ("A", "rate"): pytest.approx(1 / 75, abs=1e-15),
        ("B", "mix"): 0.0,
        ("B", "rate"): pytest.approx(1 / 75, abs=1e-15),
        (NOT_ATTRIBUTABLE, OVERLAP): pytest.approx(-1 / 150, abs=1e-15),
    }


def test_a_plain_sum_by_source_with_rows_missing_a_source() -> None:
    # Organic traffic by source: 610 = google 400 + bing 210, then 700 of which google 450,
    # bing 200, duckduckgo 30 (new) and 20 sessions without a source row:
    # +50, -10, +30 and the 20 not attributable = +90
    before = Breakdown(C(610), {"google": C(400), "bing": C(210)})
    after = Breakdown(C(700), {"google": C(450), "bing": C(200), "duckduckgo": C(30)})
    found = explain_additive("organic_traffic", "source", before, after)
    assert (found.value_from, found.value_to, found.change) == (610.0, 700.0, 90.0)
    assert found.contributions == (
        Contribution("bing", "change", -10.0),
        Contribution("duckduckgo", "change", 30.0),
        Contribution("google", "change", 50.0),
        Contribution(NOT_ATTRIBUTABLE, OVERLAP, 20.0),
    )


def test_explain_follows_the_catalogue_formula() -> None:
    kpis = load_catalogue(Path(__file__).parents[2] / "kpis.yml")
    # NPS: (promoters - detractors) / responses x 100, from kpis.yml
    before = Breakdown(C(10, 40), {"email": C(10, 40)})
    after = Breakdown(C(20, 40), {"email": C(20, 40)})
    found = explain(kpis["nps"], "source", before, after)
    assert (found.value_from, found.value_to) == (25.0, 50.0)
    assert by_key(found) == {("email", "mix"): 0.0, ("email", "rate"): 25.0}
    plain = explain(kpis["organic_traffic"], "source", before, after)
    assert by_key(plain) == {("email", "change"): 10.0}


@pytest.mark.parametrize(
    ("before", "after", "period", "reason"),
    [
        (C(1, 0), C(1, 10), "from", "the denominator is 0"),
        (C(1, 10), C(1, None), "to", "the denominator is missing"),
        (C(None, 10), C(1, 10), "from", "the numerator is missing"),
    ],
)
def test_a_ratio_without_a_value_is_refused(before, after, period, reason) -> None:
    with pytest.raises(NoValue) as raised:
        explain_ratio("k", "channel", Breakdown(before), Breakdown(after))
    assert raised.value.period == period
    assert reason in str(raised.value) and "nothing to explain" in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_a_plain_sum_without_a_value_is_refused() -> None:
    with pytest.raises(NoValue, match="'to' period"):
        explain_additive("k", "source", Breakdown(C(3)), Breakdown(C(None)))


def test_largest_orders_by_size_then_name_then_effect() -> None:
    found = Explanation(
        "k",
        "channel",
        0.0,
        0.0,
        0.0,
        (
            Contribution("B", "rate", 2.0),
            Contribution("A", "rate", -2.0),
            Contribution("A", "mix", 2.0),
            Contribution("C", "mix", 5.0),
            Contribution("D", "mix", -0.5),
        ),
    )
    assert [(c.dimension_value, c.effect) for c in found.largest()] == [
        ("C", "mix"),
        ("A", "mix"),
        ("A", "rate"),
        ("B", "rate"),
        ("D", "mix"),
    ]
    assert [c.dimension_value for c in found.largest(2)] == ["C", "A"]


def test_the_json_dict_has_exactly_its_keys() -> None:
    before = Breakdown(C(30, 2000), {"A": C(20, 1000), "B": C(10, 1000)})
    after = Breakdown(C(50, 2000), {"A": C(20, 1000), "C": C(30, 1000)})
    found = explain_ratio("session_conversion_rate", "channel", before, after)
    data = found.to_json_dict(dt.date(2025, 3, 3), dt.date(2025, 3, 4))
    assert json.loads(json.dumps(data)) == data
    assert list(data) == [
        "kpi_id",
        "dimension",
        "from",
        "to",
        "value_from",
        "value_to",
        "change",
        "contributions",
    ]
    assert data["kpi_id"] == "session_conversion_rate" and data["dimension"] == "channel"
    assert (data["from"], data["to"]) == ("2025-03-03", "2025-03-04")
    assert (data["value_from"], data["value_to"]) == (0.015, 0.025)
    assert data["change"] == found.change
    assert data["contributions"][0] == {"dimension_value": "A", "effect": "mix", "value": 0.0}
    assert all(list(c) == ["dimension_value", "effect", "value"] for c in data["contributions"])
    assert len(data["contributions"]) == 6


# --- properties on random segment tables ---------------------------------------------

NAMES = ["Direct", "Email", "Organic Search", "Paid Search", "Referral", "Social"]
counts = st.integers(min_value=0, max_value=5000)
amounts = st.one_of(
    st.integers(min_value=-2000, max_value=5000).map(float),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False),
)
# zero denominators, with or without a numerator, come often
denominators = st.one_of(st.just(0), counts, st.integers(min_value=1, max_value=10**7))


def segment_tables(ratio: bool):
    parts = st.builds(C, amounts, denominators) if ratio else st.builds(C, amounts)
    return st.dictionaries(st.sampled_from(NAMES), parts, max_size=len(NAMES))


def overall_of(segments: dict[str, Components], ratio: bool) -> Components:
    numerator = math.fsum(p.numerator for p in segments.values())
    denominator = math.fsum(p.denominator for p in segments.values()) if ratio else None
    return C(numerator, denominator)


@st.composite
def periods(draw, ratio: bool):
    """Two periods of random segments (some in one period only); the overall either the
    segments' sum or not (distinct counts, missing rows)."""
    result = []
    for _ in range(2):
        segments = draw(segment_tables(ratio))
        overall = overall_of(segments, ratio)
        if draw(st.booleans()):
            overall = C(
                overall.numerator + draw(amounts),
                overall.denominator + draw(counts) if ratio else None,
            )
        result.append(Breakdown(overall, segments))
    return result


def tolerance(found: Explanation) -> float:
    """1e-9 of the magnitudes in play: the values and the contributions that cancel."""
    scale = abs(found.value_from) + abs(found.value_to)
    return 1e-9 * (1 + scale + sum(abs(c.value) for c in found.contributions))


def assert_adds_up(found: Explanation) -> None:
    assert found.change == found.value_to - found.value_from
    total = sum(c.value for c in found.contributions)
    assert abs(total - found.change) <= tolerance(found)


def decompose(ratio: bool, before: Breakdown, after: Breakdown, scale: float) -> Explanation:
    if ratio:
        return explain_ratio("k", "channel", before, after, scale)
    return explain_additive("k", "channel", before, after)


@settings(max_examples=400, deadline=None)
@given(st.data(), st.booleans(), st.sampled_from([1.0, 100.0]))
def test_contributions_add_up_to_the_overall_change(data, ratio, scale) -> None:
    before, after = data.draw(periods(ratio))
    if ratio and 0 in (before.overall.denominator, after.overall.denominator):
        with pytest.raises(NoValue):
            decompose(ratio, before, after, scale)
        return
    found = decompose(ratio, before, after, scale)
    assert_adds_up(found)
    names = sorted(set(before.segments) | set(after.segments))
    effects = ["mix", "rate"] if ratio else ["change"]
    segment_part = [c for c in found.contributions if c.effect != OVERLAP]
    assert [(c.dimension_value, c.effect) for c in segment_part] == [
        (name, effect) for name in names for effect in effects
    ]
    assert all(math.isfinite(c.value) for c in found.contributions)
    if ratio:
        # a segment in one period only, with a denominator there: all of it is mix
        values = by_key(found)
        for name in set(before.segments) ^ set(after.segments):
            present = before.segments.get(name) or after.segments[name]
            if present.denominator:
                assert values[(name, "rate")] == 0.0


@settings(max_examples=200, deadline=None)
@given(st.data(), st.booleans(), st.sampled_from([1.0, 100.0]))
def test_segments_that_add_up_leave_no_overlap(data, ratio, scale) -> None:
    before_segments, after_segments = (
        data.draw(segment_tables(ratio)),
        data.draw(segment_tables(ratio)),
    )
    before = Breakdown(overall_of(before_segments, ratio), before_segments)
    after = Breakdown(overall_of(after_segments, ratio), after_segments)
    if ratio and 0 in (before.overall.denominator, after.overall.denominator):
        return
    found = decompose(ratio, before, after, scale)
    assert all(c.effect != OVERLAP for c in found.contributions)
    assert_adds_up(found)


@settings(max_examples=200, deadline=None)
@given(st.data(), st.booleans(), st.sampled_from([1.0, 100.0]))
def test_the_same_input_in_any_order_gives_the_same_explanation(data, ratio, scale) -> None:
    before, after = data.draw(periods(ratio))
    if ratio and 0 in (before.overall.denominator, after.overall.denominator):
        return
    found = decompose(ratio, before, after, scale)
    assert decompose(ratio, before, after, scale) == found
    shuffled = [
        Breakdown(p.overall, dict(reversed(list(p.segments.items())))) for p in (before, after)
    ]
    assert decompose(ratio, *shuffled, scale) == found


@settings(max_examples=300, deadline=None)
@given(st.data(), st.booleans(), st.sampled_from([1.0, 100.0]))
def test_a_segment_that_did_not_move_contributes_exactly_zero(data, ratio, scale) -> None:
    before, after = data.draw(periods(ratio))
    steady = data.draw(st.builds(C, amounts, denominators) if ratio else st.builds(C, amounts))
    # the same overall denominator in both periods: the steady segment's share is unchanged
    total = data.draw(st.integers(min_value=1, max_value=10**7)) if ratio else None
    before = Breakdown(C(before.overall.numerator, total), {**before.segments, "Steady": steady})
    after = Breakdown(C(after.overall.numerator, total), {**after.segments, "Steady": steady})
    found = decompose(ratio, before, after, scale)
    assert_adds_up(found)
    for contribution in found.contributions:
        if contribution.dimension_value == "Steady":
            assert contribution.value == 0.0 and math.copysign(1, contribution.value) == 1


@settings(max_examples=200, deadline=None)
@given(st.data(), st.booleans(), st.sampled_from([1.0, 100.0]))
def test_a_steady_segment_among_segments_that_add_up_contributes_zero(data, ratio, scale) -> None:
    # the other segments trade their denominators: the overall denominator stays the same
    before_segments = data.draw(segment_tables(ratio))
    order = data.draw(st.permutations(list(before_segments)))
    after_segments = {
        name: C(data.draw(amounts), before_segments[other].denominator)
        for name, other in zip(before_segments, order, strict=True)
    }
    steady = data.draw(st.builds(C, amounts, denominators) if ratio else st.builds(C, amounts))
    before_segments["Steady"] = after_segments["Steady"] = steady
    before = Breakdown(overall_of(before_segments, ratio), before_segments)
    after = Breakdown(overall_of(after_segments, ratio), after_segments)
    if ratio and before.overall.denominator == 0:
        return
    found = decompose(ratio, before, after, scale)
    assert_adds_up(found)
    assert all(c.effect != OVERLAP for c in found.contributions)
    assert [c.value for c in found.contributions if c.dimension_value == "Steady"] == (
        [0.0, 0.0] if ratio else [0.0]
    )
