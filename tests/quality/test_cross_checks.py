"""Cross-checks of the facts against staging, on a tiny warehouse built by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.quality.cross_checks import cross_check_outcomes
from kpi_pipeline.quality.evidence import is_blocking
from kpi_pipeline.quality.suites import SuiteOutcome

DAY1, DAY2 = dt.date(2025, 3, 3), dt.date(2025, 3, 4)
ERRORS = {"net_revenue_equals_orders": "error", "sessions_equal_staging": "error"}


@pytest.fixture
def con(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("set TimeZone = 'UTC'")
    con.execute("create schema staging; create schema marts")
    con.execute(
        """create table staging.stg_orders__orders as select * from (values
            -- O1: 80 on day 1, cancelled in the extract of day 2 (latest version wins)
            ('O1', '2025-03-03 10:00+00'::TIMESTAMPTZ, 'placed', 80.00::DECIMAL(18,6),
             '2025-03-03'::DATE, 1),
            ('O1', '2025-03-03 10:00+00', 'cancelled', 80.00, '2025-03-04', 1),
            ('O2', '2025-03-03 12:00+00', 'fulfilled', 40.00, '2025-03-03', 2),
            ('O3', '2025-03-03 13:00+00', 'cancelled', 25.00, '2025-03-03', 3),
            ('O4', '2025-03-04 09:00+00', 'placed', 60.50, '2025-03-04', 2))
          as t(order_id, placed_at, order_status, net_amount, extract_date, source_row_number)"""
    )
    con.execute(
        """create table staging.stg_ga4__events as select * from (values
            ('s1', '2025-03-03 10:00+00'::TIMESTAMPTZ), ('s1', '2025-03-03 23:59+00'),
            -- s2 crosses midnight: it belongs to day 1 only
            ('s2', '2025-03-03 23:50+00'), ('s2', '2025-03-04 00:10+00'),
            ('s3', '2025-03-04 08:00+00'), (null, '2025-03-04 09:00+00'))
          as t(session_key, event_at)"""
    )
    con.execute(
        """create table marts.fct_kpi_daily as select * from (values
            ('2025-03-03'::DATE, 'net_revenue', 'all', 'all', 40.0::DOUBLE, null::DOUBLE),
            ('2025-03-04', 'net_revenue', 'all', 'all', 60.5, null),
            ('2025-03-03', 'session_conversion_rate', 'all', 'all', 1, 2),
            ('2025-03-04', 'session_conversion_rate', 'all', 'all', 0, 1))
          as t(kpi_date, kpi_id, dimension, dimension_value, numerator, denominator)"""
    )
    yield con
    con.close()


def outcomes(con, severities=ERRORS):
    return {
        o.expectation: o
        for o in cross_check_outcomes(con, DAY1, DAY2, "UTC", severities, tolerance=0.005)
    }


def test_facts_that_agree_with_staging_pass(con) -> None:
    result = outcomes(con)
    assert set(result) == {"net_revenue_equals_orders", "sessions_equal_staging"}  # no roll-up
    assert all(o.success for o in result.values())


def test_net_revenue_off_by_a_cent_is_an_error_with_the_day_as_evidence(con) -> None:
    con.execute(
        "update marts.fct_kpi_daily set numerator = 40.01 where kpi_id = 'net_revenue' "
        "and kpi_date = '2025-03-03'"
    )
    result = outcomes(con)["net_revenue_equals_orders"]
    assert (result.success, result.severity, result.unexpected_count) == (False, "error", 1)
    assert result.unexpected_sample == [["2025-03-03", "40.01", "40.0"]]
    assert is_blocking([SuiteOutcome("cross_checks", 2, [result])])


def test_a_lost_session_is_caught_and_its_severity_comes_from_configuration(con) -> None:
    con.execute(
        "update marts.fct_kpi_daily set denominator = 2 where kpi_id = "
        "'session_conversion_rate' and kpi_date = '2025-03-04'"
    )
    result = outcomes(con)["sessions_equal_staging"]
    assert (result.success, result.unexpected_sample) == (False, [["2025-03-04", "2.0", "1"]])
    warned = outcomes(con, {**ERRORS, "sessions_equal_staging": "warn"})["sessions_equal_staging"]
    assert warned.severity == "warn"


def test_rollup_rows_lost_or_duplicated_are_caught_when_the_rollup_exists(con) -> None:
    # the layout of marts.fct_kpi_period; quarter and year start on the same day
    con.execute(
        """create table marts.fct_kpi_period as
           select * from (values ('week', '2025-03-03'::DATE, '2025-03-09'::DATE),
                                 ('quarter', '2025-01-01', '2025-03-31'),
                                 ('year', '2025-01-01', '2025-12-31'))
                as g(period_grain, period_start, period_end)
           cross join (values ('net_revenue', 'all', 'all'),
                              ('session_conversion_rate', 'all', 'all'))
                as k(kpi_id, dimension, dimension_value)"""
    )
    assert outcomes(con)["rollup_rows_match_daily"].success
    con.execute(
        "insert into marts.fct_kpi_period values "
        "('week', '2025-03-03', '2025-03-09', 'net_revenue', 'all', 'all')"
    )
    con.execute("delete from marts.fct_kpi_period where kpi_id = 'session_conversion_rate'")
    result = outcomes(con)["rollup_rows_match_daily"]
    assert not result.success and result.severity == "error"
    problems = sorted((row[0], row[2], row[5]) for row in result.unexpected_sample)
    assert problems == [
        ("quarter", "session_conversion_rate", "lost in the roll-up"),
        ("week", "net_revenue", "duplicated in the roll-up"),
        ("week", "session_conversion_rate", "lost in the roll-up"),
        ("year", "session_conversion_rate", "lost in the roll-up"),
    ]
