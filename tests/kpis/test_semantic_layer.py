"""MetricFlow's semantic layer follows the catalogue (issue 14): a KPI whose metrics add up
over days is a metric over the daily facts; a KPI with a distinct count is recounted from
the semantic model of its metrics, generated from kpis.yml's `semantic_models`, and
MetricFlow accepts the generated project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from kpi_pipeline.kpis.catalogue import load_full_catalogue
from kpi_pipeline.kpis.derive import METRICS_YAML, SEMANTIC_MODELS_YAML, sync
from kpi_pipeline.kpis.semantic import recounted_kpis
from kpi_pipeline.settings import DBT_PROJECT_DIR, KPI_CATALOGUE_PATH

BIN = Path(sys.executable).parent
# a distinct count on the orders model (generated for it), a ratio over it, and a ratio
# whose numerator's metric id (net_revenue) is also a KPI over the daily facts
NEW_METRIC = """
  - id: ordering_customers
    description: Distinct customers with a non-cancelled order in the period.
    unit: customers
    semantic_model: orders
    agg: count_distinct
    expr: contact_id
    filter: not is_cancelled
"""
NEW_KPIS = """
  - id: orders_per_customer
    name: Orders per customer
    family: financial
    description: Non-cancelled orders per distinct ordering customer over the period.
    objective: Bring customers back.
    formula: {numerator: orders, denominator: ordering_customers}
    unit: orders
    direction: higher_is_better
    dimensions: []
    owner: finance
    review_cadence: monthly
    target: {value: 1.2, at_risk_tolerance: 0.1}
  - id: revenue_per_customer
    name: Revenue per customer
    family: financial
    description: Net revenue per distinct ordering customer over the period.
    objective: Earn more from each customer.
    formula: {numerator: net_revenue - processing_hours, denominator: ordering_customers}
    unit: currency
    direction: higher_is_better
    dimensions: []
    owner: finance
    review_cadence: monthly
    target: {value: 90.0, at_risk_tolerance: 0.1}
"""


def _documents(project: Path) -> tuple[dict, dict]:
    return (
        yaml.safe_load((project / METRICS_YAML).read_text()),
        yaml.safe_load((project / SEMANTIC_MODELS_YAML).read_text()),
    )


def test_the_shipped_kpis_are_routed_by_additivity() -> None:
    catalogue = load_full_catalogue(KPI_CATALOGUE_PATH)
    assert set(recounted_kpis(catalogue)) == {"user_conversion_rate"}
    facts, models = _documents(DBT_PROJECT_DIR)
    over_facts = {m["name"] for m in facts["metrics"]}
    # counts of sessions add up over days: summed from the daily facts, by breakdown too
    assert {"session_conversion_rate", "session_conversion_rate_by_channel"} <= over_facts
    assert "user_conversion_rate" not in over_facts
    [sessions] = models["semantic_models"]
    assert sessions["model"] == "ref('int_ga4__sessions')"
    assert sessions["entities"] == [{"name": "session", "type": "primary", "expr": "session_key"}]
    measures = {m["name"]: (m["agg"], m["expr"]) for m in sessions["measures"]}
    assert measures["purchasing_users"] == (
        "count_distinct",
        "case when (is_converted) then user_pseudo_id end",
    )
    metric = {m["name"]: m for m in models["metrics"]}["user_conversion_rate"]
    assert metric["type_params"] == {"numerator": "purchasing_users", "denominator": "users"}


def test_a_new_distinct_count_kpi_gets_its_semantic_model_and_metricflow_accepts_it(
    tmp_path: Path,
) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    text = KPI_CATALOGUE_PATH.read_text()
    text = text.replace("\nkpis:\n", NEW_METRIC + "\nkpis:\n", 1) + NEW_KPIS
    catalogue_path = tmp_path / "kpis.yml"
    catalogue_path.write_text(text)

    written = sync(catalogue_path, project, tmp_path / "expectations")
    assert project / SEMANTIC_MODELS_YAML in written
    facts, models = _documents(project)
    assert {"orders_per_customer", "revenue_per_customer"}.isdisjoint(
        m["name"] for m in facts["metrics"]
    )
    by_name = {m["name"]: m for m in models["semantic_models"]}
    assert set(by_name) == {"sessions", "orders"}
    orders = by_name["orders"]
    assert orders["model"] == "ref('int_orders__orders')"
    assert orders["entities"] == [{"name": "order", "type": "primary", "expr": "order_id"}]
    times = [d["name"] for d in orders["dimensions"] if d["type"] == "time"]
    assert times == ["placed_date", "fulfilled_date"]
    measures = {m["name"]: m for m in orders["measures"]}
    kept = measures["ordering_customers"]
    assert (kept["agg"], kept["expr"]) == (
        "count_distinct",
        "case when (not is_cancelled) then contact_id end",
    )
    assert measures["processing_hours"]["agg_time_dimension"] == "fulfilled_date"
    metrics = {m["name"]: m for m in models["metrics"]}
    assert metrics["orders_per_customer"]["type"] == "ratio"
    assert metrics["orders_per_customer"]["type_params"] == {
        "numerator": "orders",
        "denominator": "ordering_customers",
    }
    # `net_revenue` is the additive KPI's metric: the measure's own metric is renamed
    assert metrics["orders_net_revenue"]["type_params"] == {"measure": "net_revenue"}
    assert metrics["revenue_per_customer"]["type_params"]["expr"] == (
        "cast(orders_net_revenue - processing_hours as double precision) "
        "/ nullif(ordering_customers, 0)"
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPI_", "DBT_"))}
    env |= {
        "KPI_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "DBT_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    parsed = subprocess.run(
        [str(BIN / "dbt"), "parse", "--quiet"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    validated = subprocess.run(
        [str(BIN / "mf"), "validate-configs", "--skip-dw"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = validated.stdout + validated.stderr
    assert validated.returncode == 0, output
    assert "ERRORS: 0" in output, output
