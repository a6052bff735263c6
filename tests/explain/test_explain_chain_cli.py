"""`kpi explain net_revenue --by chain`: net revenue's change split between sessions, orders
per session and average order value (kpis.yml `chain`), read from hand-made marts (the
marts themselves are checked against the oracle in tests/kpis/test_marts_vs_oracle.py)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app

D = dt.date
# (day, sessions, orders, net revenue); None: no GA4 file that day
DAYS = [
    # the previous week: 2000 sessions x 0.02 x 50.00 = 2000
    (D(2025, 2, 24), 800.0, 16.0, 800.0),
    (D(2025, 2, 25), 1200.0, 24.0, 1200.0),
    # tests/explain/test_chain.py's two days, worked by hand there
    (D(2025, 3, 3), 1000.0, 20.0, 1000.0),
    (D(2025, 3, 4), 1250.0, 25.0, 2200.0),
    # no GA4 file: no sessions that day
    (D(2025, 3, 10), None, 30.0, 2400.0),
]
# the facts of 25 February say 999, its metrics 1200: they disagree
WRONG = {D(2025, 2, 25): 999.0}


@pytest.fixture
def warehouse(cli_env: Path) -> Path:
    path = cli_env / "warehouse.duckdb"
    facts = {day: revenue for day, _, _, revenue in DAYS} | WRONG
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_kpi_daily (kpi_date date, kpi_id varchar, dimension "
            "varchar, dimension_value varchar, numerator double, denominator double, "
            "value double)"
        )
        for day, revenue in facts.items():
            con.execute(
                "insert into marts.fct_kpi_daily values (?, 'net_revenue', 'all', 'all', ?, "
                "null, ?)",
                [day, revenue, revenue],
            )
        con.execute(
            "insert into marts.fct_kpi_daily values "
            "('2025-03-04', 'organic_traffic', 'all', 'all', 10, null, 10), "
            "('2025-03-04', 'organic_traffic', 'source', 'google', 10, null, 10)"
        )
        con.execute(
            "create table marts.fct_kpi_period (period_grain varchar, period_start date, "
            "kpi_id varchar, dimension varchar, dimension_value varchar, numerator double, "
            "denominator double, value double)"
        )
        con.execute(
            "insert into marts.fct_kpi_period values "
            "('week', '2025-02-24', 'net_revenue', 'all', 'all', 2000, null, 2000), "
            "('week', '2025-03-03', 'net_revenue', 'all', 'all', 3200, null, 3200), "
            "('week', '2025-03-10', 'net_revenue', 'all', 'all', 2400, null, 2400)"
        )
        con.execute(
            "create table marts.fct_metric_daily (kpi_date date, metric_id varchar, value double)"
        )
        for day, sessions, orders, revenue in DAYS:
            for metric, value in (("sessions", sessions), ("orders", orders)):
                con.execute(
                    "insert into marts.fct_metric_daily values (?, ?, ?)", [day, metric, value]
                )
            con.execute(
                "insert into marts.fct_metric_daily values (?, 'net_revenue', ?)", [day, revenue]
            )
    return path


def explain(*args: str):
    return CliRunner().invoke(app, ["explain", *args])


def test_a_day_split_between_the_chains_factors_as_json(warehouse: Path) -> None:
    result = explain("net_revenue", "--date", "2025-03-04", "--by", "chain", "--format", "json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert (found["dimension"], found["from"], found["to"]) == ("chain", "2025-03-03", "2025-03-04")
    assert (found["value_from"], found["value_to"], found["change"]) == (1000.0, 2200.0, 1200.0)
    parts = {(p["dimension_value"], p["effect"]): p["value"] for p in found["contributions"]}
    assert parts == {
        ("all", "sessions"): pytest.approx(1200 * math.log(1.25) / math.log(2.2)),
        ("all", "orders_per_session"): 0.0,
        ("all", "average_order_value"): pytest.approx(1200 * math.log(1.76) / math.log(2.2)),
    }
    assert math.fsum(parts.values()) == pytest.approx(1200.0, rel=1e-12)
    assert found["factors"] == [
        {"name": "sessions", "from": 1000.0, "to": 1250.0},
        {"name": "orders_per_session", "from": 0.02, "to": 0.02},
        {"name": "average_order_value", "from": 50.0, "to": 88.0},
    ]


def test_the_table_and_sentence_and_chain_by_default(warehouse: Path) -> None:
    # net revenue has no breakdown: its chain is what it is split over
    result = explain("net_revenue", "--date", "2025-03-04")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("Net revenue by its chain, day of 2025-03-04 vs 2025-03-03" in s for s in lines)
    rows = [s.split() for s in lines if s.strip().startswith(("sessions", "orders", "average"))]
    assert rows == [
        ["average_order_value", "50", "88", "+860.38"],
        ["sessions", "1,000", "1,250", "+339.62"],
        ["orders_per_session", "0.02", "0.02", "+0.00"],
    ]
    assert (
        "Net revenue +1,200.00 vs the previous day: average order value rose (+860.38); "
        "sessions rose (+339.62)"
    ) in result.output.replace("\n", " ")


def test_a_week_sums_its_days_into_the_factors(warehouse: Path) -> None:
    # 2000 sessions x 0.02 x 50.00 = 2000 -> 2250 x 0.02 x 71.11 = 3200: L = 1200 / ln 1.6
    result = explain(
        "net_revenue", "--date", "2025-03-04", "--grain", "week", "--by", "chain",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert (found["from"], found["value_from"], found["value_to"]) == ("2025-02-24", 2000, 3200)
    parts = {p["effect"]: p["value"] for p in found["contributions"]}
    weight = 1200 / math.log(1.6)
    assert parts == {
        "sessions": pytest.approx(weight * math.log(2250 / 2000)),
        "orders_per_session": pytest.approx(0.0, abs=1e-9),
        "average_order_value": pytest.approx(weight * math.log((3200 / 45) / 50)),
    }
    # the week of 10 March has a day without GA4: no value, not a partial week
    missing = explain("net_revenue", "--date", "2025-03-10", "--grain", "week", "--by", "chain")
    assert missing.exit_code == 2
    text = " ".join(missing.output.split())
    assert "no value for the week of 2025-03-10" in text
    assert "metric 'sessions' of factor 'sessions' is missing" in text


def test_a_chain_that_does_not_multiply_out_names_its_factors(warehouse: Path) -> None:
    result = explain("net_revenue", "--date", "2025-02-25", "--by", "chain")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "the chain of net_revenue does not multiply out to its value in the 'to' period" in text
    assert "sessions (1200.0) x orders_per_session (0.02) x average_order_value (50.0)" in text
    assert "but net_revenue is 999.0" in text


def test_a_kpi_without_a_chain_asked_for_one(warehouse: Path) -> None:
    result = explain("organic_traffic", "--date", "2025-03-04", "--by", "chain")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "organic_traffic declares no product chain to split its change over" in text
    assert "or use --by source" in text


def test_a_warehouse_without_metric_facts(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table marts.fct_metric_daily")
    result = explain("net_revenue", "--date", "2025-03-04", "--by", "chain")
    assert result.exit_code == 2
    assert "marts.fct_metric_daily is not built" in result.output
