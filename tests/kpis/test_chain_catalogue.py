"""A KPI's product chain in kpis.yml (`chain`): factors whose product telescopes to the
KPI's formula, refused by line when they do not, and carried to dbt's catalogue macro."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kpi_pipeline.kpis.catalogue import (
    CatalogueError,
    Factor,
    load_catalogue,
    load_full_catalogue,
)
from kpi_pipeline.kpis.derive import catalogue_data
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.kpis.test_catalogue import KPI, METRICS, MODELS, write

USERS = {
    "id": "users",
    "description": "Distinct users.",
    "unit": "users",
    "semantic_model": "sessions",
    "agg": "count_distinct",
    "expr": "user_id",
}
CHAIN = [
    {"name": "sessions", "numerator": "sessions"},
    {"name": "orders_per_session", "numerator": "orders", "denominator": "sessions"},
    {"name": "order_value", "numerator": "revenue", "denominator": "orders"},
]
REVENUE = {
    **KPI,
    "id": "rev",
    "formula": {"numerator": "revenue"},
    "unit": "currency",
    "dimensions": [],
    "chain": CHAIN,
}


def chain_line(path: Path) -> int:
    """The 1-based line of the KPI's `chain:` key in the written file."""
    return next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "chain:" in text)


def test_revenue_as_sessions_times_orders_per_session_times_order_value(tmp_path) -> None:
    kpi = load_catalogue(write(tmp_path, REVENUE))["rev"]
    assert kpi.chain == (
        Factor("sessions", "sessions"),
        Factor("orders_per_session", "orders", "sessions"),
        Factor("order_value", "revenue", "orders"),
    )
    assert kpi.chain[1].metrics() == ("orders", "sessions")


def test_a_ratio_kpi_may_chain_too_and_factors_may_come_in_any_order(tmp_path) -> None:
    # revenue per session = order value x orders per session
    ratio = {
        **REVENUE,
        "formula": {"numerator": "revenue", "denominator": "sessions"},
        "chain": [CHAIN[2], CHAIN[1]],
    }
    assert [f.name for f in load_catalogue(write(tmp_path, ratio))["rev"].chain] == [
        "order_value",
        "orders_per_session",
    ]


def test_a_kpi_without_a_chain_has_none(tmp_path) -> None:
    assert load_catalogue(write(tmp_path, KPI))["conv"].chain == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"chain": [CHAIN[0], {**CHAIN[1], "denominator": "visits"}]},
            "field 'chain[2].denominator' uses unknown metric 'visits' (define it under 'metrics')",
        ),
        (
            {"chain": CHAIN[:2]},
            "field 'chain' multiplies out to orders, not to the formula revenue",
        ),
        (
            {"chain": [CHAIN[0], {**CHAIN[1], "denominator": "users"}, CHAIN[2]]},
            "field 'chain[2].denominator' uses metric 'users', a count_distinct",
        ),
        (
            {"chain": [CHAIN[0], CHAIN[1], {**CHAIN[2], "name": "sessions"}]},
            "field 'chain' names factor(s) sessions more than once",
        ),
        (
            {"chain": [CHAIN[0], CHAIN[2]]},
            "field 'chain' multiplies out to revenue x sessions / orders, not to the formula "
            "revenue",
        ),
        (
            {"formula": {"numerator": "revenue - orders"}},
            "declares a 'chain', but its formula is not one metric or a ratio of two",
        ),
        (
            {"formula": {"numerator": "revenue", "scale": 100}},
            "declares a 'chain', but its formula is not one metric or a ratio of two",
        ),
        ({"chain": CHAIN[:1]}, "field 'chain' must be a list of at least two factors"),
        ({"chain": [CHAIN[0], "orders"]}, "field 'chain[2]' must be a mapping with 'name'"),
        (
            {"chain": [CHAIN[0], {"name": "x", "denominator": "sessions"}]},
            "missing required field 'chain[2].numerator'",
        ),
        (
            {"chain": [CHAIN[0], {**CHAIN[1], "denom": "sessions"}]},
            "field 'chain[2]' has unknown key(s) denom",
        ),
    ],
)
def test_a_chain_that_is_no_identity_of_the_formula_is_refused_by_line(
    tmp_path: Path, change: dict, message: str
) -> None:
    path = write(tmp_path, {**REVENUE, **change}, metrics=[*METRICS, USERS])
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(path)
    assert str(raised.value).startswith(f"{path}:{chain_line(path)}: KPI 'rev': ")
    assert message in str(raised.value)


def test_chain_is_no_name_for_a_breakdown(tmp_path: Path) -> None:
    models = [{**MODELS[0], "dimensions": ["channel", "chain"]}, MODELS[1]]
    path = tmp_path / "kpis.yml"
    path.write_text(yaml.safe_dump({"semantic_models": models, "metrics": METRICS, "kpis": [KPI]}))
    with pytest.raises(CatalogueError, match="'chain', a reserved name"):
        load_catalogue(path)


def test_the_shipped_net_revenue_chain_and_what_dbt_gets_of_it() -> None:
    catalogue = load_full_catalogue(KPI_CATALOGUE_PATH)
    assert [f.name for f in catalogue.kpis["net_revenue"].chain] == [
        "sessions",
        "orders_per_session",
        "average_order_value",
    ]
    data = catalogue_data(catalogue)
    [net_revenue] = [k for k in data["kpis"] if k["id"] == "net_revenue"]
    assert net_revenue["chain"][1] == {
        "name": "orders_per_session",
        "numerator": "orders",
        "denominator": "sessions",
    }
    # the same rows: orders and their net amount both count non-cancelled orders by the day
    # they were placed (sessions are another model: the identity is the algebra's)
    orders, revenue = data["metrics"]["orders"], data["metrics"]["net_revenue"]
    assert (orders["semantic_model"], orders["filter"], orders["date"]) == (
        revenue["semantic_model"],
        revenue["filter"],
        revenue["date"],
    )
    # each metric's source requirements, the CRM met by either of its two sources
    assert data["metrics"]["sessions"]["sources"] == {"ga4": ["ga4"]}
    assert data["metrics"]["leads_created"]["sources"] == {"crm": ["hubspot", "salesforce"]}
    assert data["metrics"]["other_marketing_costs"]["sources"] == {}
