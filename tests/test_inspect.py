"""`kpi inspect`: a dry run of a landing zone for a team connecting its data (issue 19)."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.sample import generate_sample

DAYS = (dt.date(2025, 6, 2), dt.date(2025, 6, 3))


def data_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_inspect_counts_rows_names_what_is_missing_and_writes_nothing(
    cli_env: Path, monkeypatch
) -> None:
    landing = cli_env / "landing"
    generate_sample(DAYS[0], DAYS[-1], landing, scale=0.05)
    shutil.rmtree(landing / "nps" / f"dt={DAYS[-1]}")
    orders = landing / "orders" / f"dt={DAYS[0]}" / "orders.csv"
    rows = data_rows(orders)
    rows[0]["net_amount"] = "twelve"  # one row that cannot load
    with orders.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    monkeypatch.setenv("KPI_SOURCES", "orders,nps")
    before = sorted(cli_env.rglob("*"))

    result = CliRunner().invoke(app, ["inspect", "--start", str(DAYS[0]), "--end", str(DAYS[-1])])

    assert result.exit_code == 1, result.output
    [line] = [row for row in result.output.splitlines() if f"{DAYS[0]} │ orders" in row]
    cells = [cell.strip() for cell in line.split("│")[1:-1]]
    assert cells[2:6] == ["1", str(len(rows)), str(len(rows) - 1), "1"]
    assert "net_amount" in cells[6]
    assert f"no nps extract on 1 day(s): {DAYS[-1]}" in result.output
    assert "not computed: session_conversion_rate: needs ga4" in result.output
    assert "net_revenue" in result.output.split("KPIs this deployment computes")[1]
    assert not (cli_env / "warehouse.duckdb").exists()
    assert sorted(cli_env.rglob("*")) == before  # nothing written, not even a folder


def test_inspect_of_an_empty_landing_zone_says_how_to_deliver(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["inspect"])
    assert result.exit_code == 2
    assert "no dt=YYYY-MM-DD folder in the landing zone" in result.output
    assert "<landing>/<source>/dt=YYYY-MM-DD/<file>" in result.output
