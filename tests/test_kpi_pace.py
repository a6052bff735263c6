"""`kpi pace`: every KPI's period to date, target to date, projection and projected
status, read from a hand-made `marts.fct_kpi_pace` (the mart itself is checked by its dbt
unit test and by tests/kpis/test_pace_projection.py, worked by hand and against a
plain-Python computation)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.cli.common import console
from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.publish.snapshot import PACE_COLUMNS, snapshot_frame
from kpi_pipeline.settings import KPI_CATALOGUE_PATH
from tests.facts import overall_fact
from tests.status_oracle import day_attainment

D = dt.date
DAY = D(2025, 3, 3)
ROWS = [
    # net revenue, month: 3 of 31 days, 25,981.63 to date against 24,000 (3 x 8,000)
    (DAY, "net_revenue", "month", D(2025, 3, 1), D(2025, 3, 31), 3, 31, 25981.63, 24000.0,
     248000.0, 268476.84, 250000.0, 281000.0, "on_track"),
    # session conversion, week: day 1 of 7, no interval yet (fewer than 56 days of history)
    (DAY, "session_conversion_rate", "week", D(2025, 3, 3), D(2025, 3, 9), 1, 7, 0.0205,
     0.02, 0.02, 0.0205, None, None, "on_track"),
    # another day: not shown
    (D(2025, 3, 2), "net_revenue", "month", D(2025, 3, 1), D(2025, 3, 31), 2, 31, 1.0, 1.0,
     1.0, 1.0, None, None, "off_track"),
]  # fmt: skip


@pytest.fixture
def warehouse(cli_env: Path) -> Path:
    path = cli_env / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_kpi_pace (kpi_date date, kpi_id varchar, period_grain "
            "varchar, period_start date, period_end date, days_elapsed integer, "
            "days_in_period integer, period_to_date_value double, target_to_date double, "
            "period_target double, projected_value double, projected_low double, "
            "projected_high double, projected_status varchar)"
        )
        con.executemany(
            "insert into marts.fct_kpi_pace values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ROWS,
        )
    return path


def test_pace_as_json_holds_the_days_rows(warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["pace", "--format", "json"])  # default: the latest day
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    # catalogue order: session conversion rate comes before net revenue in kpis.yml
    assert [r["kpi_id"] for r in rows] == ["session_conversion_rate", "net_revenue"]
    revenue = rows[1]
    assert (revenue["period_to_date_value"], revenue["target_to_date"]) == (25981.63, 24000.0)
    assert (revenue["projected_low"], revenue["projected_high"]) == (250000.0, 281000.0)
    assert rows[0]["projected_low"] is None


def test_pace_table_in_words(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "width", 200)
    result = CliRunner().invoke(app, ["pace", "--date", "2025-03-03"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "Net revenue" in x)
    assert "2025-03, day 3 of 31" in line
    assert "268,476.84 USD (250,000.00 USD to 281,000.00 USD)" in line
    assert "on_track" in line
    conversion = next(x for x in result.output.splitlines() if "Session conversion" in x)
    assert "week of 2025-03-03, day 1 of 7" in conversion and "(" not in conversion


def test_a_day_without_facts_is_refused_in_words(warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["pace", "--date", "2024-01-01"])
    assert result.exit_code == 2
    assert "no KPI facts on 2024-01-01" in result.output
    assert "Traceback" not in result.output


def test_the_snapshot_carries_the_pace_on_overall_rows() -> None:
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    facts = overall_fact(DAY, "net_revenue", 9000.0)
    pace = {"net_revenue": dict(zip(
        ("period_grain", "period_to_date_value", "target_to_date", "period_target",
         "projected_value", "projected_low", "projected_high", "projected_status"),
        ("month", 25981.63, 24000.0, 248000.0, 268476.84, 250000.0, 281000.0, "on_track"),
        strict=True,
    ))}  # fmt: skip
    row = snapshot_frame(facts, catalogue, day_attainment(facts, catalogue), pace).row(
        0, named=True
    )
    assert {name: row[name] for name in PACE_COLUMNS} == pace["net_revenue"]
    assert (row["kpi_name"], row["unit"]) == ("Net revenue", "currency")
