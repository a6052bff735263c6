"""Reading the two compared periods of a KPI from hand-made marts, in DuckDB and in
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kpi_pipeline.explain.decompose import Breakdown, Components, explain_ratio
from kpi_pipeline.explain.explanation import NoValue
from kpi_pipeline.explain.read import breakdowns_from_rows, read_breakdowns, read_two_days
from kpi_pipeline.warehouse import connect

D = dt.date
C = Components
SCR = "session_conversion_rate"


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same marts in a DuckDB file and in a PostgreSQL database (skipped without its
    server binaries); its location for `connect`."""
    if request.param == "postgres":
        location = request.getfixturevalue("postgres_database")
    else:
        location = str(tmp_path / "warehouse.duckdb")
    daily = [
        (D(2025, 3, 3), SCR, "all", "all", 30.0, 2000.0, 0.015),
        (D(2025, 3, 3), SCR, "channel", "A", 20.0, 1000.0, 0.02),
        (D(2025, 3, 3), SCR, "channel", "B", 10.0, 1000.0, 0.01),
        (D(2025, 3, 4), SCR, "all", "all", 30.0, 2000.0, 0.015),
        (D(2025, 3, 4), SCR, "channel", "A", 24.0, 1500.0, 0.016),
        (D(2025, 3, 4), SCR, "channel", "B", 6.0, 500.0, 0.012),
        # not asked for: another breakdown, another day, another KPI
        (D(2025, 3, 4), SCR, "country", "FR", 30.0, 2000.0, 0.015),
        (D(2025, 3, 5), SCR, "channel", "A", 1.0, 1.0, 1.0),
        (D(2025, 3, 4), "net_revenue", "all", "all", 500.0, None, 500.0),
        # a day whose overall ratio has no value
        (D(2025, 3, 6), SCR, "all", "all", 0.0, 0.0, None),
    ]
    period = [
        ("month", D(2025, 2, 1), "net_revenue", "all", "all", 900.0),
        ("month", D(2025, 2, 1), "net_revenue", "campaign", "spring", 400.0),
        ("month", D(2025, 3, 1), "net_revenue", "all", "all", 1000.0),
        ("month", D(2025, 3, 1), "net_revenue", "campaign", "spring", 600.0),
        ("month", D(2025, 3, 1), "net_revenue", "campaign", "summer", 100.0),
        # not asked for: another grain with the same start, another month
        ("week", D(2025, 3, 3), "net_revenue", "all", "all", 70.0),
        ("quarter", D(2025, 1, 1), "net_revenue", "all", "all", 1.0),
        ("month", D(2025, 1, 1), "net_revenue", "all", "all", 2.0),
    ]
    with connect(location) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_kpi_daily (kpi_date date, kpi_id varchar, dimension "
            "varchar, dimension_value varchar, numerator double precision, denominator "
            "double precision, value double precision)"
        )
        for row in daily:
            con.execute("insert into marts.fct_kpi_daily values (?, ?, ?, ?, ?, ?, ?)", row)
        # decimals, as a sum over days may come: read as doubles
        con.execute(
            "create table marts.fct_kpi_period (period_grain varchar, period_start date, "
            "period_end date, days_covered integer, kpi_id varchar, dimension varchar, "
            "dimension_value varchar, numerator decimal(38, 9), denominator decimal(38, 9), "
            "value double precision)"
        )
        for grain, start, kpi_id, dimension, value, numerator in period:
            con.execute(
                "insert into marts.fct_kpi_period values (?, ?, ?, 1, ?, ?, ?, ?, null, ?)",
                [grain, start, start, kpi_id, dimension, value, numerator, numerator],
            )
    return location


def test_two_days_by_channel(warehouse: str) -> None:
    with connect(warehouse, read_only=True) as con:
        before, after = read_breakdowns(con, SCR, "channel", "day", D(2025, 3, 3), D(2025, 3, 4))
    assert before == Breakdown(C(30.0, 2000.0), {"A": C(20.0, 1000.0), "B": C(10.0, 1000.0)})
    assert after == Breakdown(C(30.0, 2000.0), {"A": C(24.0, 1500.0), "B": C(6.0, 500.0)})
    found = explain_ratio(SCR, "channel", before, after)
    assert [c.value for c in found.contributions] == pytest.approx(
        [0.0045, -0.0025, -0.00275, 0.00075], abs=1e-15
    )


def test_every_kpis_two_days_in_one_read(warehouse: str) -> None:
    """What a published day's movers read (one query for every KPI): each KPI's rows of the
    two days, shaped into the same breakdowns as the KPI's own read."""
    with connect(warehouse, read_only=True) as con:
        rows_of = read_two_days(con, D(2025, 3, 3), D(2025, 3, 4))
    assert sorted(rows_of) == ["net_revenue", SCR]
    assert len(rows_of[SCR]) == 7  # both days' overall and channel rows, the 4th's country
    before, after = breakdowns_from_rows(rows_of[SCR], "channel", D(2025, 3, 3), D(2025, 3, 4))
    assert before == Breakdown(C(30.0, 2000.0), {"A": C(20.0, 1000.0), "B": C(10.0, 1000.0)})
    assert after == Breakdown(C(30.0, 2000.0), {"A": C(24.0, 1500.0), "B": C(6.0, 500.0)})
    revenue = breakdowns_from_rows(rows_of["net_revenue"], "campaign", D(2025, 3, 3), D(2025, 3, 4))
    assert revenue == (Breakdown(C(None, None), {}), Breakdown(C(500.0, None), {}))


def test_two_months_by_campaign(warehouse: str) -> None:
    with connect(warehouse, read_only=True) as con:
        before, after = read_breakdowns(
            con, "net_revenue", "campaign", "month", D(2025, 2, 1), D(2025, 3, 1)
        )
    assert before == Breakdown(C(900.0, None), {"spring": C(400.0, None)})
    assert after == Breakdown(C(1000.0, None), {"spring": C(600.0, None), "summer": C(100.0, None)})
    assert all(isinstance(p.numerator, float) for p in after.segments.values())


def test_a_period_without_rows_or_value_has_none(warehouse: str) -> None:
    with connect(warehouse, read_only=True) as con:
        missing, _ = read_breakdowns(con, SCR, "channel", "day", D(2025, 3, 1), D(2025, 3, 4))
        _, empty = read_breakdowns(con, SCR, "channel", "day", D(2025, 3, 4), D(2025, 3, 6))
    assert missing == Breakdown(C(None, None), {})
    assert empty == Breakdown(C(0.0, 0.0), {})
    with pytest.raises(NoValue) as raised:
        explain_ratio(SCR, "channel", missing, empty)
    assert raised.value.period == "from"
