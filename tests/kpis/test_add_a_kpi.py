"""Adding a KPI is one block of YAML (issue 14): the walk-through of docs/kpis.md ("Add a
KPI"), read from the page, run on a copy of the project: its block appended to kpis.yml
and nothing else changed, its `kpi` commands run in order. The pipeline run derives the
rest, and the KPI is in the daily facts, the period and attainment marts, the snapshot and
its report, `kpi show` and MetricFlow, at values computed independently (tests/oracle.py)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests import oracle
from tests.kpis.walkthrough import add_a_kpi, copy_project, kpi

DAYS = (dt.date(2025, 6, 2), dt.date(2025, 6, 3))
BIN = Path(sys.executable).parent


@pytest.mark.e2e
def test_a_new_ratio_kpi_is_one_yaml_block(tmp_path: Path) -> None:
    steps = add_a_kpi()
    assert ["backfill", "--start", str(DAYS[0]), "--end", str(DAYS[1])] in steps.commands
    project = copy_project(tmp_path / "project")
    catalogue = project / "kpis.yml"
    catalogue.write_text(catalogue.read_text() + steps.kpi_block)  # the only change
    data = tmp_path / "data"

    for args in steps.commands:
        done = kpi(project, data, *args)
        assert done.returncode == 0, f"kpi {' '.join(args)}: {done.stdout}{done.stderr}"
        if args[0] in ("show", "list"):
            assert "revenue per session" in done.stdout.lower().replace("_", " "), done.stdout
    # the intermediate tables have exactly the columns their YAML declares, which is
    # what `kpi validate` checks kpis.yml against
    from kpi_pipeline.kpis.model_columns import read_dbt_relations

    declared = read_dbt_relations()
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        built = con.execute(
            "select table_name, list(column_name order by ordinal_position) "
            "from information_schema.columns where table_schema = 'intermediate' group by 1"
        ).fetchall()
    assert built
    for table, columns in built:
        assert declared[table].columns == tuple(columns), f"{table}: declare every column"

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
        "Revenue per session",  # by its name, too
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
