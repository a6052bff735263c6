"""A product V = f_1 x ... x f_k split between its factors (LMDI): exact, refusing what has
no logarithm."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_pipeline.explain.chain import ChainError, explain_chain, lmdi, logarithmic_mean


def test_the_logarithmic_mean() -> None:
    assert logarithmic_mean(3.0, 3.0) == 3.0
    assert logarithmic_mean(math.e, 1.0) == pytest.approx(math.e - 1)
    assert logarithmic_mean(1.0, math.e) == pytest.approx(math.e - 1)
    # close values: between them, not lost to cancellation
    assert logarithmic_mean(1.0 + 1e-12, 1.0) == pytest.approx(1.0 + 5e-13, rel=1e-15)


def test_revenue_as_sessions_times_conversion_times_order_value_by_hand() -> None:
    # revenue = sessions x conversion rate x order value:
    #   from 1000 x 0.02 x 50 = 1000, to 1000 x 0.04 x 50 = 2000
    #   L(2000, 1000) = 1000 / ln 2; conversion contributes L x ln(0.04 / 0.02) = 1000 exactly
    #   (up to rounding); sessions and order value did not move: 0
    found = explain_chain(
        "net_revenue",
        {"sessions": 1000.0, "conversion_rate": 0.02, "order_value": 50.0},
        {"sessions": 1000.0, "conversion_rate": 0.04, "order_value": 50.0},
    )
    assert (found.value_from, found.value_to, found.change) == (1000.0, 2000.0, 1000.0)
    assert [(c.dimension_value, c.effect) for c in found.contributions] == [
        ("all", "sessions"),
        ("all", "conversion_rate"),
        ("all", "order_value"),
    ]
    assert [c.value for c in found.contributions] == [0.0, pytest.approx(1000.0), 0.0]


def test_two_factors_moving_split_by_their_logs() -> None:
    # 10 x 10 = 100 -> 20 x 40 = 800: L = 700 / ln 8; shares ln 2 : ln 4 = 1 : 2
    found = lmdi({"a": 10.0, "b": 10.0}, {"a": 20.0, "b": 40.0})
    assert found == {"a": pytest.approx(700 / 3), "b": pytest.approx(1400 / 3)}


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        ({"a": 1.0, "b": 0.0}, {"a": 1.0, "b": 1.0}, "factor 'b' is 0.0 in the 'from' period"),
        ({"a": 1.0}, {"a": -2.0}, "factor 'a' is -2.0 in the 'to' period"),
        ({"a": 1.0}, {"a": math.nan}, "factor 'a' is nan"),
        ({"a": 1.0}, {"b": 1.0}, "factor(s) a, b given for one period only"),
        ({}, {}, "at least one factor"),
    ],
)
def test_factors_without_a_logarithm_are_refused(before, after, message) -> None:
    with pytest.raises(ChainError) as raised:
        lmdi(before, after)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(st.data(), st.integers(min_value=1, max_value=5))
def test_lmdi_adds_up_for_random_positive_factors(data, count) -> None:
    names = [f"f{k}" for k in range(count)]
    before = {name: data.draw(positive) for name in names}
    # some factors stay the same
    after = {name: data.draw(st.one_of(st.just(before[name]), positive)) for name in names}
    found = explain_chain("k", before, after)
    total = sum(c.value for c in found.contributions)
    magnitude = abs(found.value_from) + abs(found.value_to)
    magnitude += sum(abs(c.value) for c in found.contributions)
    assert abs(total - found.change) <= 1e-9 * magnitude
    for contribution in found.contributions:
        if before[contribution.effect] == after[contribution.effect]:
            assert contribution.value == 0.0
    assert explain_chain("k", before, after) == found
