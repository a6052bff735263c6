"""The backtest of the month projections (`kpi pace --backtest`): worked by hand on two
months of a plain sum and one of a ratio, then read from a hand-made warehouse."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.kpis.backtest import score

D = dt.date


def row(kpi_id, start, day, days_in, to_date, projected, low, high, final) -> dict:
    return {
        "kpi_id": kpi_id,
        "period_start": start,
        "days_elapsed": day,
        "days_in_period": days_in,
        "period_to_date_value": to_date,
        "projected_value": projected,
        "projected_low": low,
        "projected_high": high,
        "final_value": final,
    }


ROWS = [
    # net revenue, March (31 days), final 310: at day 10, 80 to date; linear pacing says
    # 80 x 31 / 10 = 248 (error 62 / 310 = 20 %), the projection 300 (10 / 310 = 3.2258 %),
    # its interval 290..320 holds 310
    row("net_revenue", D(2025, 3, 1), 10, 31, 80.0, 300.0, 290.0, 320.0, 310.0),
    # April (30 days), final 300: at day 10, 110 to date, linear 330 (10 %), projection 270
    # (10 %), interval 280..290 misses
    row("net_revenue", D(2025, 4, 1), 10, 30, 110.0, 270.0, 280.0, 290.0, 300.0),
    # a ratio: linear pacing keeps the value to date, 0.02 against a final 0.025 (20 %);
    # the projection 0.024 (4 %); no interval yet
    row("deal_win_rate", D(2025, 3, 1), 10, 31, 0.02, 0.024, None, None, 0.025),
    # day 15: not a backtest day
    row("net_revenue", D(2025, 3, 1), 15, 31, 1.0, 1.0, None, None, 310.0),
]


def test_errors_and_coverage_by_hand() -> None:
    found = {(s.kpi_id, s.day): s for s in score(ROWS, sums={"net_revenue"})}
    assert set(found) == {("net_revenue", 10), ("deal_win_rate", 10), ("all", 10)}
    revenue = found[("net_revenue", 10)]
    assert revenue.months == 2
    assert revenue.projection_error == pytest.approx((10 / 310 + 30 / 300) / 2)
    assert revenue.naive_error == pytest.approx((62 / 310 + 30 / 300) / 2)
    assert (revenue.with_interval, revenue.covered, revenue.coverage) == (2, 1, 0.5)
    assert revenue.beats_naive is True
    ratio = found[("deal_win_rate", 10)]
    assert ratio.projection_error == pytest.approx(0.001 / 0.025)
    assert ratio.naive_error == pytest.approx(0.005 / 0.025)
    assert (ratio.with_interval, ratio.coverage) == (0, None)
    overall = found[("all", 10)]
    assert overall.months == 3 and overall.with_interval == 2


@pytest.fixture
def warehouse(cli_env: Path) -> Path:
    path = cli_env / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_kpi_pace (kpi_id varchar, period_grain varchar, "
            "period_start date, days_elapsed integer, days_in_period integer, "
            "period_to_date_value double, projected_value double, projected_low double, "
            "projected_high double)"
        )
        con.execute(
            "create table marts.fct_kpi_period (kpi_id varchar, period_grain varchar, "
            "period_start date, dimension varchar, days_covered integer, value double)"
        )
        for r in ROWS:
            con.execute(
                "insert into marts.fct_kpi_pace values (?, 'month', ?, ?, ?, ?, ?, ?, ?)",
                [r["kpi_id"], r["period_start"], r["days_elapsed"], r["days_in_period"],
                 r["period_to_date_value"], r["projected_value"], r["projected_low"],
                 r["projected_high"]],
            )  # fmt: skip
        finals = {(r["kpi_id"], r["period_start"], r["days_in_period"], r["final_value"])
                  for r in ROWS}  # fmt: skip
        for kpi_id, start, days, value in finals:
            con.execute(
                "insert into marts.fct_kpi_period values (?, 'month', ?, 'all', ?, ?)",
                [kpi_id, start, days, value],
            )
        # an incomplete month: no final value to score against
        con.execute(
            "insert into marts.fct_kpi_pace values "
            "('net_revenue', 'month', '2025-05-01', 10, 31, 1, 1, null, null)"
        )
        con.execute(
            "insert into marts.fct_kpi_period values "
            "('net_revenue', 'month', '2025-05-01', 'all', 12, 500)"
        )
    return path


def test_the_command_reads_complete_months_only(warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["pace", "--backtest", "--format", "json"])
    assert result.exit_code == 0, result.output
    found = {(r["kpi_id"], r["day"]): r for r in json.loads(result.output)}
    assert found[("net_revenue", 10)]["months"] == 2  # May is not complete
    assert found[("net_revenue", 10)]["coverage"] == 0.5
    assert found[("all", 10)]["beats_naive"] is True
