"""`kpi show`: one KPI's values against its targets, by grain, range and breakdown, read from
hand-made marts (the marts themselves are checked against the oracle elsewhere)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.kpis.show import default_first, period_start

D = dt.date


@pytest.fixture
def warehouse(cli_env: Path) -> Path:
    path = cli_env / "warehouse.duckdb"
    daily = [
        # net revenue: target 8000 a day, 10 % tolerance
        (D(2025, 3, 3), "net_revenue", "all", "all", 9000.0),
        (D(2025, 3, 4), "net_revenue", "all", "all", 7500.0),  # within 10 %: at risk
        (D(2025, 3, 5), "net_revenue", "all", "all", 100.0),
        # organic traffic: +20 % on the same day last year (500 -> target 600)
        (D(2024, 3, 4), "organic_traffic", "all", "all", 500.0),
        (D(2025, 3, 4), "organic_traffic", "all", "all", 610.0),
        (D(2025, 3, 4), "organic_traffic", "source", "google", 400.0),
        (D(2025, 3, 4), "organic_traffic", "source", "bing", 210.0),
        (D(2025, 3, 5), "organic_traffic", "all", "all", 300.0),  # no last year: no target
    ]
    period = [
        ("month", D(2025, 3, 1), D(2025, 3, 31), 3, "net_revenue", "all", "all", 16600.0),
        ("month", D(2025, 2, 1), D(2025, 2, 28), 2, "net_revenue", "all", "all", 20000.0),
        ("month", D(2025, 1, 1), D(2025, 1, 31), 2, "net_revenue", "all", "all", 1.0),
        ("month", D(2025, 3, 1), D(2025, 3, 31), 2, "organic_traffic", "all", "all", 910.0),
        ("month", D(2025, 3, 1), D(2025, 3, 31), 1, "organic_traffic", "source", "bing", 210.0),
        ("week", D(2025, 3, 3), D(2025, 3, 9), 3, "net_revenue", "all", "all", 16600.0),
    ]
    attainment = [
        ("month", D(2025, 3, 1), "net_revenue", 16600.0, 24000.0, "off_track", None, None),
        ("month", D(2025, 2, 1), "net_revenue", 20000.0, 16000.0, "on_track", 10000.0, 1.0),
        ("month", D(2025, 1, 1), "net_revenue", 1.0, 16000.0, "off_track", None, None),
        ("month", D(2025, 3, 1), "organic_traffic", 910.0, None, "no_target", None, None),
        ("week", D(2025, 3, 3), "net_revenue", 16600.0, 24000.0, "off_track", None, None),
        # each day against its own target, as fct_kpi_attainment holds it
        ("day", D(2025, 3, 3), "net_revenue", 9000.0, 8000.0, "on_track", None, None),
        ("day", D(2025, 3, 4), "net_revenue", 7500.0, 8000.0, "at_risk", None, None),
        ("day", D(2025, 3, 5), "net_revenue", 100.0, 8000.0, "off_track", None, None),
        ("day", D(2024, 3, 4), "organic_traffic", 500.0, None, "no_target", None, None),
        ("day", D(2025, 3, 4), "organic_traffic", 610.0, 600.0, "on_track", 500.0, 0.22),
        ("day", D(2025, 3, 5), "organic_traffic", 300.0, None, "no_target", None, None),
    ]
    attainment = [(*row, None, False) for row in attainment]
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_kpi_daily (kpi_date date, kpi_id varchar, dimension "
            "varchar, dimension_value varchar, value double)"
        )
        con.executemany("insert into marts.fct_kpi_daily values (?, ?, ?, ?, ?)", daily)
        con.execute(
            "create table marts.fct_kpi_period (period_grain varchar, period_start date, "
            "period_end date, days_covered integer, kpi_id varchar, dimension varchar, "
            "dimension_value varchar, value double)"
        )
        con.executemany("insert into marts.fct_kpi_period values (?, ?, ?, ?, ?, ?, ?, ?)", period)
        con.execute(
            "create table marts.fct_kpi_attainment (period_grain varchar, period_start date, "
            "kpi_id varchar, value double, target double, status varchar, "
            "previous_year_value double, change_ratio double, target_from date, "
            "target_changed boolean)"
        )
        con.executemany(
            "insert into marts.fct_kpi_attainment values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            attainment,
        )
    return path


def show(*args: str):
    return CliRunner().invoke(app, ["show", *args])


def rows(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_days_with_targets_and_status_from_the_catalogue(warehouse: Path) -> None:
    found = rows(show("net_revenue", "--format", "json"))  # default: 14 days to the latest
    assert [(r["period_start"], r["value"], r["target"], r["status"]) for r in found] == [
        ("2025-03-03", 9000.0, 8000.0, "on_track"),
        ("2025-03-04", 7500.0, 8000.0, "at_risk"),
        ("2025-03-05", 100.0, 8000.0, "off_track"),
    ]
    only = rows(
        show("net_revenue", "--from", "2025-03-04", "--to", "2025-03-04", "--format", "json")
    )
    assert [r["period_start"] for r in only] == ["2025-03-04"]


def test_a_relative_target_uses_the_same_day_last_year_and_breakdowns_follow(warehouse) -> None:
    found = rows(
        show(
            "organic_traffic",
            "--from",
            "2025-03-04",
            "--to",
            "2025-03-05",
            "--by",
            "source",
            "--format",
            "json",
        )
    )
    assert [
        (r["period_start"], r["dimension_value"], r["value"], r["target"], r["status"])
        for r in found
    ] == [
        ("2025-03-04", "all", 610.0, pytest.approx(600.0), "on_track"),
        ("2025-03-04", "bing", 210.0, None, None),
        ("2025-03-04", "google", 400.0, None, None),
        ("2025-03-05", "all", 300.0, None, "no_target"),
    ]
    assert found[0]["previous_year_value"] == 500.0
    assert found[0]["change_ratio"] == pytest.approx(0.22)


def test_months_come_with_their_attainment(warehouse: Path) -> None:
    found = rows(
        show(
            "net_revenue",
            "--grain",
            "month",
            "--from",
            "2025-02-10",
            "--to",
            "2025-03-31",
            "--format",
            "json",
        )
    )
    # January ends before --from: left out; February overlaps the range: kept
    assert [(r["period_start"], r["value"], r["target"], r["status"]) for r in found] == [
        ("2025-02-01", 20000.0, 16000.0, "on_track"),
        ("2025-03-01", 16600.0, 24000.0, "off_track"),
    ]
    assert found[0]["previous_year_value"] == 10000.0 and found[0]["days_covered"] == 2


def test_csv_and_table_outputs(warehouse: Path) -> None:
    csv = show("net_revenue", "--grain", "week", "--format", "csv")
    assert csv.exit_code == 0, csv.output
    header, line = csv.output.splitlines()
    assert header.startswith("period_start,period_end,kpi_id,dimension,dimension_value")
    assert line.startswith("2025-03-03,2025-03-09,net_revenue,all,all,3,16600.0,24000.0,off_track")
    table = show("organic_traffic", "--grain", "month", "--by", "source")
    assert table.exit_code == 0, table.output
    assert "Organic traffic (organic_traffic) by month" in table.output
    [overall] = [line for line in table.output.splitlines() if "(all)" in line]
    assert "910.0" in overall and "no_target" in overall
    assert any("bing" in line and "210.0" in line for line in table.output.splitlines())


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["nope"], "no KPI 'nope'", "kpi list"),
        (["net_revenu"], "no KPI 'net_revenu'", "did you mean net_revenue?"),
        (["promoter score"], "no KPI 'promoter score'", "did you mean nps?"),
        (["net_revenue", "--grain", "hour"], "--grain 'hour' is not known", "day, week"),
        (["net_revenue", "--by", "channel"], "has no breakdown by 'channel'", "none"),
        (["organic_traffic", "--by", "country"], "no breakdown by 'country'", "source"),
        (["net_revenue", "--format", "xml"], "--format 'xml'", "table, csv or json"),
        (["net_revenue", "--from", "2025-03-05", "--to", "2025-03-01"], "--to is before", "swap"),
        (["net_revenue", "--to", "March"], "--to 'March' is not a date", "YYYY-MM-DD"),
    ],
)
def test_errors_are_one_line_with_a_hint(warehouse, args, message, hint) -> None:
    result = show(*args)
    assert result.exit_code == 2
    assert message in result.output and "hint: " in result.output and hint in result.output
    assert "Traceback" not in result.output


def test_a_display_name_is_accepted_and_an_empty_range_names_the_facts(warehouse) -> None:
    by_name = show("Net revenue", "--format", "csv")
    assert by_name.exit_code == 0, by_name.output
    assert by_name.output == show("net_revenue", "--format", "csv").output
    empty = show("net_revenue", "--from", "2024-01-01", "--to", "2024-01-31")
    assert empty.exit_code == 0, empty.output
    assert "no facts in this range; net_revenue has facts from 2025-0" in empty.output


def test_without_a_warehouse_it_says_how_to_build_one(cli_env: Path) -> None:
    result = show("net_revenue")
    assert result.exit_code == 2
    assert "no warehouse at" in result.output and "kpi run" in result.output


def test_default_ranges_count_whole_periods_back() -> None:
    day = D(2025, 3, 5)  # a Wednesday
    assert period_start(day, "week") == D(2025, 3, 3)
    assert period_start(day, "quarter") == D(2025, 1, 1)
    assert default_first(day, "day") == D(2025, 2, 20)  # 14 days including the 5th
    assert default_first(day, "week") == D(2024, 12, 16)  # 12 ISO weeks
    assert default_first(day, "month") == D(2024, 4, 1)
    assert default_first(day, "quarter") == D(2023, 4, 1)
    assert default_first(day, "year") == D(2021, 1, 1)


def test_a_period_not_over_says_where_it_is_heading(warehouse: Path) -> None:
    """With fct_kpi_pace: the month of net revenue (reviewed daily, so paced by the month),
    seen from its last day with facts, in the words of the report."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create table marts.fct_kpi_pace (kpi_date date, kpi_id varchar, period_grain "
            "varchar, period_start date, period_end date, days_elapsed integer, "
            "days_in_period integer, period_to_date_value double, target_to_date double, "
            "period_target double, projected_value double, projected_low double, "
            "projected_high double, projected_status varchar)"
        )
        con.execute(
            "insert into marts.fct_kpi_pace values ('2025-03-05', 'net_revenue', 'month', "
            "'2025-03-01', '2025-03-31', 5, 31, 16600, 40000, 248000, 102920, null, null, "
            "'off_track')"
        )
    result = show("net_revenue", "--grain", "month", "--from", "2025-03-01", "--to", "2025-03-31")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert (
        "Month to date 16,600.00 USD against 40,000.00 USD to date (248,000.00 USD target); "
        "projected 102,920.00 USD, off track (seen from 2025-03-05)"
    ) in said
    # a week of net revenue: not its pace's grain, nothing said
    weekly = show("net_revenue", "--grain", "week", "--from", "2025-03-03", "--to", "2025-03-09")
    assert "to date" not in weekly.output
