"""Adding a KPI is one block of YAML (issue 14): a copy of the project gets a new ratio KPI
over existing metrics in kpis.yml and nothing else; the pipeline run derives the rest, and
the KPI is in the daily facts, the period and attainment marts, the snapshot and its
report, `kpi show` and MetricFlow, at values computed independently (tests/oracle.py)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kpi_pipeline.settings import PROJECT_ROOT
from tests import oracle

DAYS = (dt.date(2025, 6, 2), dt.date(2025, 6, 3))
BIN = Path(sys.executable).parent
NEW_KPI = """
  - id: revenue_per_session
    name: Revenue per session
    family: financial
    description: Net revenue of the day divided by the day's website sessions.
    objective: Earn more from every visit.
    formula: {numerator: net_revenue, denominator: sessions}
    unit: currency
    direction: higher_is_better
    dimensions: []
    owner: finance
    review_cadence: weekly
    target: {value: 2.5, at_risk_tolerance: 0.1}
"""
SKIPPED = (".git", ".venv", "data", "target", "logs", "__pycache__", ".pytest_cache", "*.duckdb")


def kpi(project: Path, data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPI_", "DAGSTER_", "DBT_"))}
    env |= {"PYTHONPATH": str(project), "KPI_DATA_DIR": str(data), "KPI_PII_KEY": "test-key"}
    return subprocess.run(
        [sys.executable, "-c", "from kpi_pipeline.cli import app; app()", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.e2e
def test_a_new_ratio_kpi_is_one_yaml_block(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=shutil.ignore_patterns(*SKIPPED))
    catalogue = project / "kpis.yml"
    catalogue.write_text(catalogue.read_text() + NEW_KPI)  # the only change
    data = tmp_path / "data"

    sampled = kpi(project, data, "sample", "--start", str(DAYS[0]), "--end", str(DAYS[1]))
    assert sampled.returncode == 0, sampled.stdout + sampled.stderr
    ran = kpi(project, data, "backfill", "--start", str(DAYS[0]), "--end", str(DAYS[1]))
    assert ran.returncode == 0, ran.stdout + ran.stderr

    # independently: the oracle's net revenue and sessions of each day
    landing = data / "landing"
    sessions = oracle.build_sessions(landing, DAYS[-1])
    orders = oracle.load_orders(landing, DAYS[-1])
    categories = oracle.load_source_categories()
    expected = {}
    for day in DAYS:
        revenue = oracle.net_revenue(orders, day, dt.UTC)[("net_revenue", "all", "all")].value
        visits = oracle.session_conversion_rate(sessions, day, dt.UTC, categories)
        expected[day] = (revenue, visits[("session_conversion_rate", "all", "all")].denominator)
    assert all(visits > 0 for _, visits in expected.values())

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        daily = {
            day: (numerator, denominator, value)
            for day, numerator, denominator, value in con.execute(
                "select kpi_date, numerator, denominator, value from marts.fct_kpi_daily "
                "where kpi_id = 'revenue_per_session' and dimension = 'all'"
            ).fetchall()
        }
        week = con.execute(
            "select numerator, denominator, value from marts.fct_kpi_period "
            "where kpi_id = 'revenue_per_session' and period_grain = 'week'"
        ).fetchall()
        attained = con.execute(
            "select value, target, status from marts.fct_kpi_attainment "
            "where kpi_id = 'revenue_per_session' and period_grain = 'week'"
        ).fetchall()
    for day, (revenue, visits) in expected.items():
        assert daily[day][0] == pytest.approx(revenue)
        assert daily[day][1] == visits
        assert daily[day][2] == pytest.approx(revenue / visits)
    revenue = sum(r for r, _ in expected.values())
    visits = sum(v for _, v in expected.values())
    assert week == [(pytest.approx(revenue), visits, pytest.approx(revenue / visits))]
    status = (
        "on_track"
        if revenue / visits >= 2.5
        else "at_risk"
        if revenue / visits >= 2.25
        else "off_track"
    )
    assert attained == [(pytest.approx(revenue / visits), 2.5, status)]

    for day, (revenue, visits) in expected.items():
        latest = data / "snapshots" / str(day) / "latest"
        with (latest / "kpis.csv").open(newline="") as handle:
            [row] = [
                r
                for r in csv.DictReader(handle)
                if r["kpi_id"] == "revenue_per_session" and r["dimension"] == "all"
            ]
        assert float(row["value"]) == pytest.approx(revenue / visits)
        assert row["target"] == "2.5"
        assert "Revenue per session" in (latest / "report.html").read_text()

    shown = kpi(
        project,
        data,
        "show",
        "Revenue per session",
        "--from",
        str(DAYS[0]),
        "--to",
        str(DAYS[1]),
        "--format",
        "json",
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    values = {r["period_start"]: r["value"] for r in json.loads(shown.stdout)}
    assert values == {str(d): pytest.approx(r / v) for d, (r, v) in expected.items()}

    out = tmp_path / "mf.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPI_", "DBT_"))}
    env |= {
        "KPI_WAREHOUSE": str(data / "warehouse.duckdb"),
        "DBT_PROFILES_DIR": str(project / "dbt_project"),
    }
    queried = subprocess.run(
        [
            str(BIN / "mf"),
            "query",
            "--metrics",
            "revenue_per_session",
            "--group-by",
            "metric_time__day",
            "--csv",
            str(out),
        ],
        cwd=project / "dbt_project",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert queried.returncode == 0, queried.stdout + queried.stderr
    by_day = {
        r["metric_time__day"][:10]: float(r["revenue_per_session"])
        for r in pl.read_csv(out).to_dicts()
    }
    assert by_day == {str(d): pytest.approx(r / v) for d, (r, v) in expected.items()}
