"""A product V = f_1 x ... x f_k split between its factors (LMDI): exact, refusing what has
no logarithm; a KPI's chain built from its metrics' totals and held to the KPI's value."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_pipeline.explain.chain import (
    ChainError,
    check_identity,
    explain_chain,
    explain_kpi_chain,
    factor_values,
    kpi_value,
    lmdi,
    logarithmic_mean,
)
from kpi_pipeline.explain.decompose import Components as C
from kpi_pipeline.explain.explanation import NoValue
from kpi_pipeline.explain.read import metric_totals
from kpi_pipeline.explain.wording import sentence


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


# -- a KPI's chain (kpis.yml `chain`): factors from its metrics' totals ------------------

# net revenue = sessions x orders per session x average order value, two days by hand:
#   day 1: 1000 sessions, 20 orders, 1000.00 revenue -> 1000 x 0.02 x 50 = 1000
#   day 2: 1250 sessions, 25 orders, 2200.00 revenue -> 1250 x 0.02 x 88 = 2200
#   L(2200, 1000) = 1200 / ln 2.2 = 1521.959284...
#   sessions:            L x ln(1250 / 1000) = 1200 x ln 1.25 / ln 2.2 = 339.615399...
#   orders per session:  L x ln(0.02 / 0.02) = 0
#   average order value: L x ln(88 / 50)     = 1200 x ln 1.76 / ln 2.2 = 860.384600...
#   339.615399... + 0 + 860.384600... = 1200
DAY_1 = {"sessions": 1000.0, "orders": 20.0, "net_revenue": 1000.0}
DAY_2 = {"sessions": 1250.0, "orders": 25.0, "net_revenue": 2200.0}


def net_revenue():
    from kpi_pipeline.kpis.catalogue import load_catalogue
    from kpi_pipeline.settings import KPI_CATALOGUE_PATH

    return load_catalogue(KPI_CATALOGUE_PATH)["net_revenue"]


def test_net_revenue_split_between_its_chain_by_hand() -> None:
    found = explain_kpi_chain(net_revenue(), (C(1000.0), C(2200.0)), (DAY_1, DAY_2))
    assert (found.kpi_id, found.dimension) == ("net_revenue", "chain")
    assert (found.value_from, found.value_to, found.change) == (1000.0, 2200.0, 1200.0)
    assert [(c.dimension_value, c.effect) for c in found.contributions] == [
        ("all", "sessions"),
        ("all", "orders_per_session"),
        ("all", "average_order_value"),
    ]
    values = [c.value for c in found.contributions]
    assert values == [pytest.approx(339.615399688, abs=1e-8), 0.0, pytest.approx(860.3846003120)]
    assert math.fsum(values) == pytest.approx(1200.0, rel=1e-12)
    assert sentence(found, "Net revenue", "currency", "the previous day") == (
        "Net revenue +1,200.00 vs the previous day: average order value rose (+860.38); "
        "sessions rose (+339.62)"
    )


def test_factor_values_from_metric_totals() -> None:
    assert factor_values(net_revenue().chain, DAY_2, "to") == {
        "sessions": 1250.0,
        "orders_per_session": 0.02,
        "average_order_value": 88.0,
    }


def test_the_product_must_be_the_kpis_value() -> None:
    check_identity("net_revenue", {"a": 1250.0, "b": 0.02, "c": 88.0}, 2200.0 * (1 + 1e-12), "to")
    with pytest.raises(ChainError) as raised:
        # the facts say 2300: the metrics and the KPI disagree
        explain_kpi_chain(net_revenue(), (C(1000.0), C(2300.0)), (DAY_1, DAY_2))
    assert str(raised.value).startswith(
        "the chain of net_revenue does not multiply out to its value in the 'to' period: "
        "sessions (1250.0) x orders_per_session (0.02) x average_order_value (88.0) = 2200.0, "
        "but net_revenue is 2300.0"
    )


def test_a_period_without_a_metric_or_a_factor_without_a_value_is_refused() -> None:
    kpi = net_revenue()
    with pytest.raises(NoValue) as missing:
        explain_kpi_chain(kpi, (C(1000.0), C(2200.0)), (DAY_1, {**DAY_2, "sessions": None}))
    assert missing.value.period == "to"
    assert "metric 'sessions' of factor 'sessions' is missing" in str(missing.value)
    with pytest.raises(NoValue, match="'from' period"):
        explain_kpi_chain(kpi, (C(None), C(2200.0)), (DAY_1, DAY_2))
    no_orders = {"sessions": 900.0, "orders": 0.0, "net_revenue": 0.0}
    with pytest.raises(ChainError) as zero:
        explain_kpi_chain(kpi, (C(0.0), C(2200.0)), (no_orders, DAY_2))
    assert str(zero.value) == (
        "factor 'average_order_value' has no value in the 'from' period: its denominator, "
        "metric 'orders', is 0"
    )


def test_a_kpi_without_a_chain_is_refused() -> None:
    from kpi_pipeline.kpis.catalogue import load_catalogue
    from kpi_pipeline.settings import KPI_CATALOGUE_PATH

    kpi = load_catalogue(KPI_CATALOGUE_PATH)["organic_traffic"]
    with pytest.raises(ChainError, match="organic_traffic declares no product chain"):
        explain_kpi_chain(kpi, (C(1.0), C(2.0)), ({}, {}))


def test_a_ratio_kpis_value_and_the_days_summed_into_a_period() -> None:
    from dataclasses import replace

    from kpi_pipeline.kpis.catalogue import Factor, Formula

    # revenue per session (a ratio) = orders per session x average order value
    kpi = replace(
        net_revenue(),
        formula=Formula("net_revenue", "sessions"),
        chain=(Factor("ops", "orders", "sessions"), Factor("aov", "net_revenue", "orders")),
    )
    assert kpi_value(kpi, C(2200.0, 1250.0), "to") == 1.76
    with pytest.raises(NoValue, match="denominator is 0"):
        kpi_value(kpi, C(2200.0, 0.0), "to")
    # a week of two days: the metrics' totals over both (one day null: no total)
    rows = [
        {"metric_id": "orders", "value": 20.0},
        {"metric_id": "orders", "value": 25.0},
        {"metric_id": "sessions", "value": 1000.0},
        {"metric_id": "sessions", "value": None},
    ]
    assert metric_totals(rows, ["orders", "sessions", "net_revenue"]) == {
        "orders": 45.0,
        "sessions": None,
        "net_revenue": None,
    }
