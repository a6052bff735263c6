"""`kpi quarantine` lists what ingest set aside, filtered, with file, line, column, reason."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.ingest import contracts as c
from kpi_pipeline.ingest.loaders import load_csv_day
from kpi_pipeline.warehouse import connect
from tests.ingest.test_corpus import KEY, LOADED_AT
from tests.ingest.test_deliveries import put

DAY1, DAY2 = dt.date(2025, 3, 3), dt.date(2025, 3, 4)


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path))
    for name in ("KPI_LANDING_DIR", "KPI_WAREHOUSE", "KPI_SNAPSHOT_DIR", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    landing = tmp_path / "landing"
    put(landing, c.NPS_RESPONSES, DAY1, "nps_mixed.csv")
    put(landing, c.ORDERS, DAY2, "orders_text_in_numeric.csv")
    with connect(tmp_path / "warehouse.duckdb") as con:
        load_csv_day(con, c.NPS_RESPONSES, landing, DAY1, KEY, LOADED_AT)
        load_csv_day(con, c.ORDERS, landing, DAY2, KEY, LOADED_AT)
    return tmp_path


def test_lists_every_quarantined_row_newest_day_first(warehouse: Path, monkeypatch) -> None:
    from kpi_pipeline.cli.common import console

    monkeypatch.setattr(console, "width", 250)  # one table row per line
    result = CliRunner().invoke(app, ["quarantine"])
    assert result.exit_code == 0, result.output
    assert "quarantined rows: 4 of 4" in result.output
    lines = [
        line
        for line in result.output.splitlines()
        if "responses.csv" in line or "orders.csv" in line
    ]
    assert len(lines) == 4
    assert "2025-03-04" in lines[0] and "orders.csv" in lines[0]
    assert "expected a number, found 'ten'" in lines[0]
    assert "2025-03-03" in lines[1] and "│ 3    │ score" in lines[1]
    assert "expected an integer, found 'x'" in lines[1]


def test_filters_by_source_and_day_and_limits(warehouse: Path) -> None:
    runner = CliRunner()
    only_nps = runner.invoke(app, ["quarantine", "--source", "nps", "--limit", "1"])
    assert only_nps.exit_code == 0, only_nps.output
    assert "quarantined rows: 1 of 3" in only_nps.output and "2 more" in only_nps.output
    none = runner.invoke(app, ["quarantine", "--start", "2025-03-05"])
    assert none.exit_code == 0 and "nothing quarantined" in none.output
    bad = runner.invoke(app, ["quarantine", "--start", "03/05/2025"])
    assert bad.exit_code == 2 and "is not a date" in bad.output


def test_without_a_warehouse_says_what_to_do(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    result = CliRunner().invoke(app, ["quarantine"])
    assert result.exit_code == 2
    assert "no warehouse at" in result.output and "kpi run" in result.output
