"""The GA4 session tests check the run's window only (`where: ... __window_start__`, see
macros/get_where_subquery.sql), so their cost does not grow with history; without a
window (a hand-run `dbt test`) they check every row."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.partitions import dbt_window, dbt_window_env
from tests.dbt_cli import run_dbt

OLD_DAY, RUN_DAY = dt.date(2025, 1, 10), dt.date(2025, 3, 4)


def dbt_test(warehouse: Path, root: Path, window: dict[str, str]) -> subprocess.CompletedProcess:
    args = ["test", "--select", "int_ga4__sessions,test_type:data"]
    return run_dbt(args, warehouse, root, env=dbt_window_env(window))


@pytest.fixture
def sessions_with_an_old_duplicate(tmp_path: Path) -> Path:
    """int_ga4__sessions by hand: session s1 twice on an old day (a defect outside the
    run's window), clean rows on the run's day."""
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_ga4__sessions "
        "(session_key varchar, session_date date, channel varchar)"
    )
    con.executemany(
        "insert into intermediate.int_ga4__sessions values (?, ?, ?)",
        [
            ("s1", OLD_DAY, "Direct"),
            ("s1", OLD_DAY, "Direct"),
            ("s2", RUN_DAY, "Organic Search"),
            ("s3", RUN_DAY, "Direct"),
        ],
    )
    con.close()
    return warehouse


def test_session_tests_check_the_window_only(
    sessions_with_an_old_duplicate: Path, tmp_path: Path
) -> None:
    run = dbt_test(sessions_with_an_old_duplicate, tmp_path, dbt_window(RUN_DAY, RUN_DAY, 3))
    assert run.returncode == 0, run.stdout[-3000:]
    assert "PASS=3" in run.stdout

    # the old day inside the window, or no window at all: the duplicate is found
    old = dbt_window(OLD_DAY, OLD_DAY, 0)
    run = dbt_test(sessions_with_an_old_duplicate, tmp_path, old)
    assert run.returncode == 1
    assert "FAIL 1 unique_int_ga4__sessions_session_key" in run.stdout

    run = dbt_test(sessions_with_an_old_duplicate, tmp_path, {})
    assert run.returncode == 1
    assert "FAIL 1 unique_int_ga4__sessions_session_key" in run.stdout
