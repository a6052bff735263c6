"""`fct_kpi_period` is incremental on the periods its run's window touches: a run recomputes
whole each week, month, quarter and year holding a day of the window and leaves the others
as they are; a late restatement of an earlier day of a period recomputes that period; and
the result is the table a full refresh builds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.partitions import dbt_window, dbt_window_env
from kpi_pipeline.sample import generate_sample
from tests.conftest import deploy
from tests.dbt_cli import run_dbt

FIRST, LAST = dt.date(2025, 2, 24), dt.date(2025, 3, 5)
RUN_DAY = dt.date(2025, 3, 4)  # a Tuesday: its week started on 3 March, in the same month
RESTATED_DAY = dt.date(2025, 3, 3)
KEY = ("period_grain", "period_start", "kpi_id", "dimension", "dimension_value")
# rows of periods no day of the run's window is in (February's month, the week before)
UNTOUCHED = [
    ("month", dt.date(2025, 2, 1), "session_conversion_rate", "all", "all"),
    ("week", dt.date(2025, 2, 24), "user_conversion_rate", "all", "all"),
]
TOUCHED = ("month", dt.date(2025, 3, 1), "session_conversion_rate", "all", "all")
RECOUNTED = ("month", dt.date(2025, 3, 1), "user_conversion_rate", "all", "all")


def periods(warehouse: Path) -> dict[tuple, tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"select {', '.join(KEY)}, period_end, days_covered, numerator, denominator, value "
            "from marts.fct_kpi_period"
        ).fetchall()
    found = {row[: len(KEY)]: row[len(KEY) :] for row in rows}
    assert len(found) == len(rows), "a period row twice"
    return found


def dbt_run(warehouse: Path, root: Path, *args: str, window: dict[str, str] | None = None):
    run = run_dbt(["run", "--select", *args], warehouse, root, env=dbt_window_env(window or {}))
    assert run.returncode == 0, run.stdout[-3000:]
    return run


def tamper(warehouse: Path, keys: list[tuple]) -> None:
    with duckdb.connect(str(warehouse)) as con:
        for key in keys:
            changed = con.execute(
                "update marts.fct_kpi_period set value = -1, days_covered = 99 where "
                + " and ".join(f"{column} = ?" for column in KEY)
                + " returning 1",
                list(key),
            ).fetchall()
            assert len(changed) == 1, key


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten sample days, 24 February to 5 March 2025, run by the pipeline as one backfill."""
    root = tmp_path_factory.mktemp("incremental_periods")
    with pytest.MonkeyPatch.context() as monkeypatch:
        deployment = deploy(root, monkeypatch)
        generate_sample(FIRST, LAST, deployment.landing, scale=0.03, seed=11)
        deployment.run(FIRST, LAST)  # the gate may block a day: the marts are built before
    return deployment.warehouse


def test_a_run_recomputes_the_windows_periods_and_leaves_the_others(
    warehouse: Path, tmp_path: Path
) -> None:
    dbt_run(warehouse, tmp_path, "fct_kpi_period", "--full-refresh")
    full = periods(warehouse)
    assert {*UNTOUCHED, TOUCHED, RECOUNTED} <= set(full)

    tamper(warehouse, [*UNTOUCHED, TOUCHED, RECOUNTED])
    run = dbt_run(warehouse, tmp_path, "fct_kpi_period", window=dbt_window(RUN_DAY, RUN_DAY, 0))
    assert "incremental" in run.stdout
    after = periods(warehouse)

    # the untouched periods were not recomputed: the tampered rows survive
    for key in UNTOUCHED:
        assert after[key][1:] == (99, *full[key][2:4], -1), key
    # the touched periods (an additive KPI and a recounted one) are recomputed right
    assert after[TOUCHED] == full[TOUCHED]
    assert after[RECOUNTED] == full[RECOUNTED]
    # and nothing else moved: the same rows as the full refresh, no row lost or added
    assert {k: v for k, v in after.items() if k not in UNTOUCHED} == {
        k: v for k, v in full.items() if k not in UNTOUCHED
    }


def test_a_late_restatement_recomputes_its_periods_as_a_full_refresh_would(
    warehouse: Path, tmp_path: Path
) -> None:
    dbt_run(warehouse, tmp_path, "fct_kpi_period", "--full-refresh")
    before = periods(warehouse)
    tamper(warehouse, UNTOUCHED)
    # late data restates the day before the run's day: its converted sessions are gone
    with duckdb.connect(str(warehouse)) as con:
        removed = con.execute(
            "delete from intermediate.int_ga4__sessions "
            "where session_date = ? and is_converted returning session_key",
            [RESTATED_DAY],
        ).fetchall()
    assert removed
    # the run's window reaches back over the restated day (its lookback), as Dagster's does
    window = dbt_window(RUN_DAY, RUN_DAY, (RUN_DAY - RESTATED_DAY).days)
    dbt_run(warehouse, tmp_path, "fct_kpi_daily", "fct_kpi_period", window=window)
    incremental = periods(warehouse)

    dbt_run(warehouse, tmp_path, "fct_kpi_period", "--full-refresh")
    full = periods(warehouse)
    assert incremental[RECOUNTED] != before[RECOUNTED]  # the restatement reached the month
    assert incremental[TOUCHED] != before[TOUCHED]
    for key in UNTOUCHED:
        assert incremental[key][-1] == -1, key  # still not recomputed
    assert {k: v for k, v in incremental.items() if k not in UNTOUCHED} == {
        k: v for k, v in full.items() if k not in UNTOUCHED
    }
