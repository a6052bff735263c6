"""`fct_kpi_change` is incremental on its window's days: a day's rows compare it with the
day before and with the same day last year, so a run recomputes every day that is in its
window or whose day before or day last year is (the day after each window day, and the
window's days a year on), and leaves the other days' rows as they are. After every run,
daily or over a window, new days or a restatement, a day whose value became unknown
included, the table is the one a full refresh builds, row for row.

The daily facts are made here (a year and a quarter of three KPIs, each broken down by
channel: a plain sum, a ratio, and a distinct count whose channels overlap)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.partitions import dbt_window
from tests.dbt_cli import run_dbt
from tests.incremental_marts import (
    DAY,
    copy_of,
    days_from,
    differing,
    full_rebuild,
    mart_rows,
    run_models,
)
from tests.pace_inputs import create_pace_inputs

D = dt.date
FIRST = D(2024, 1, 1)
HISTORY_END = D(2025, 3, 10)  # the first build holds the days up to it
KPIS = ("net_revenue", "cost_per_acquisition", "user_conversion_rate")
CHANNELS = ("email", "paid_search", "organic")


def _day_rows(day: D, version: int, unknown: bool) -> list[tuple]:
    """The facts of the KPIs on `day`, overall and by channel (a channel now and then
    missing); another `version` is the day restated with other data; `unknown`: the
    overall values are null (the day's value became unknown)."""
    rng = random.Random(f"{day.isoformat()}/{version}")
    rows = []
    for kpi_id in KPIS:
        channels = [c for c in CHANNELS if c != "organic" or rng.random() < 0.8]
        parts = []
        for channel in channels:
            if kpi_id == "net_revenue":
                parts.append((channel, round(100 * rng.lognormvariate(0, 0.3), 2), None))
            elif kpi_id == "cost_per_acquisition":
                customers = float(rng.randint(1, 6))
                parts.append((channel, round(customers * 50 * rng.uniform(0.7, 1.3), 2), customers))
            else:
                users = float(rng.randint(5, 20))
                parts.append((channel, float(rng.randint(0, 4)), users))
        numerator = sum(p[1] for p in parts)
        denominator = None if kpi_id == "net_revenue" else sum(p[2] for p in parts)
        if kpi_id == "user_conversion_rate":  # distinct users: the channels overlap
            numerator, denominator = max(0.0, numerator - 1), denominator - 2
        for channel, n, d in [("all", numerator, denominator), *parts]:
            value = n if d is None else n / d
            dimension = "all" if channel == "all" else "channel"
            if unknown and channel == "all":
                value = None
            rows.append((day, kpi_id, dimension, channel, n, d, value))
    return rows


def load_days(warehouse: Path, days: list[D], version: int = 0, unknown: bool = False) -> None:
    """Writes (or restates) the facts of `days`, as fct_kpi_daily's own run would."""
    with duckdb.connect(str(warehouse)) as con:
        for day in days:
            con.execute("delete from marts.fct_kpi_daily where kpi_date = ?", [day])
            con.executemany(
                "insert into marts.fct_kpi_daily values (?, ?, ?, ?, ?, ?, ?)",
                _day_rows(day, version, unknown),
            )


def change(warehouse: Path) -> dict[tuple, dict]:
    """fct_kpi_change's rows by kpi_date, compared_with, kpi_id, dimension, its value and
    the effect."""
    return mart_rows(warehouse, "fct_kpi_change")


MODELS = ["fct_kpi_change"]


def dbt_run(warehouse: Path, root: Path, *args: str, window: dict[str, str] | None = None):
    return run_models(MODELS, warehouse, root, *args, window=window)


def days_of(rows: dict[tuple, dict], compared_with: str) -> set[D]:
    return {key[0] for key in rows if key[1] == compared_with}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Facts from 1 January 2024 to 10 March 2025 and the changes built from them."""
    root = tmp_path_factory.mktemp("incremental_change")
    warehouse = root / "history.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        create_pace_inputs(con)
    load_days(warehouse, days_from(FIRST, HISTORY_END))
    seeds = run_dbt(["seed", "--select", "kpi_catalogue"], warehouse, root)
    assert seeds.returncode == 0, seeds.stdout[-3000:]
    dbt_run(warehouse, root, window=dbt_window(FIRST, HISTORY_END))
    built = change(warehouse)
    assert {key[2] for key in built} == set(KPIS)
    # every effect is there: a sum's change, a ratio's mix and rate, the distinct overlap
    assert {key[5] for key in built} == {"change", "mix", "rate", "overlap"}
    assert D(2025, 3, 10) in days_of(built, "last_year")
    return warehouse


@pytest.fixture
def warehouse(history: Path, tmp_path: Path) -> Path:
    return copy_of(history, tmp_path)


def tamper(warehouse: Path, days: list[D]) -> None:
    with duckdb.connect(str(warehouse)) as con:
        changed = con.execute(
            "update marts.fct_kpi_change set contribution = -12345 "
            "where kpi_date in (select unnest(?)) returning 1",
            [days],
        ).fetchall()
    assert changed


def test_a_daily_run_recomputes_its_days_and_the_days_comparing_with_them(
    warehouse: Path, tmp_path: Path
) -> None:
    run_day = HISTORY_END + DAY
    load_days(warehouse, [run_day])
    before = HISTORY_END - 3 * DAY
    tamper(warehouse, [before, HISTORY_END])
    run = dbt_run(warehouse, tmp_path, window=dbt_window(run_day, run_day))
    assert "incremental model marts.fct_kpi_change" in run.stdout
    after = change(warehouse)
    full = full_rebuild(warehouse, tmp_path, MODELS, change)

    # the days outside the window's reach were not recomputed: their tampered rows survive
    for tampered in (before, HISTORY_END):
        rows = [row for key, row in after.items() if key[0] == tampered]
        assert rows and all(row["contribution"] == -12345 for row in rows)
    # the new day is added, both comparisons, as a full refresh builds it
    untouched = {before, HISTORY_END}
    assert (
        differing(
            {k: v for k, v in after.items() if k[0] not in untouched},
            {k: v for k, v in full.items() if k[0] not in untouched},
        )
        == []
    )
    assert run_day in days_of(after, "previous_day") & days_of(after, "last_year")


def test_day_by_day_windows_and_restatements_equal_a_full_rebuild(
    warehouse: Path, tmp_path: Path
) -> None:
    def run_and_compare(first: D, last: D, lookback: int = 0) -> dict[tuple, dict]:
        run = dbt_run(warehouse, tmp_path, window=dbt_window(first, last, lookback))
        assert "incremental model marts.fct_kpi_change" in run.stdout
        incremental = change(warehouse)
        full = full_rebuild(warehouse, tmp_path, MODELS, change)
        assert differing(incremental, full) == [], (first, last)
        return incremental

    def rows_of(rows: dict[tuple, dict], day: D, compared_with: str) -> dict[tuple, dict]:
        return {k: v for k, v in rows.items() if k[0] == day and k[1] == compared_with}

    # a daily run
    day = HISTORY_END + DAY
    load_days(warehouse, [day])
    first = run_and_compare(day, day)

    # the next day's run restates the day before (a lookback of one day): the day after
    # the restated one compares with it (its previous_day rows move), and so on
    day += DAY
    load_days(warehouse, [day])
    restated = HISTORY_END
    load_days(warehouse, [restated], version=1)
    second = run_and_compare(day, day, lookback=2)
    assert rows_of(second, restated + DAY, "previous_day") != rows_of(
        first, restated + DAY, "previous_day"
    )

    # a past window rerun with changed data (five days of February)
    past = days_from(D(2025, 2, 10), D(2025, 2, 14))
    load_days(warehouse, past, version=2)
    after = run_and_compare(past[0], past[-1])
    assert rows_of(after, past[-1] + DAY, "previous_day") != rows_of(
        second, past[-1] + DAY, "previous_day"
    )

    # a day of last year restated: the same day a year on compares with it, far outside
    # the window (its last_year rows move, its previous_day rows stay)
    last_year = D(2024, 3, 5)
    load_days(warehouse, [last_year], version=3)
    restated = run_and_compare(last_year, last_year)
    a_year_on = D(2025, 3, 5)
    assert rows_of(restated, a_year_on, "last_year") != rows_of(after, a_year_on, "last_year")
    assert rows_of(restated, a_year_on, "previous_day") == rows_of(after, a_year_on, "previous_day")

    # a day whose value becomes unknown: its rows go, and nothing is left of it; so do
    # the next day's previous_day rows (its last_year rows stay) and the last_year rows of
    # the day a year on, where there is one (not here: the facts end before)
    unknown = D(2025, 2, 20)
    load_days(warehouse, [unknown], version=4, unknown=True)
    gone = run_and_compare(unknown, unknown)
    assert [k for k in restated if k[0] == unknown]
    assert not [k for k in gone if k[0] == unknown]
    assert rows_of(gone, unknown + DAY, "previous_day") == {}
    assert rows_of(gone, unknown + DAY, "last_year") != {}
    # and one of last year: the day a year on loses its last_year rows, keeps the others;
    # the day after it, with no last year in the facts, is left with no rows at all
    unknown = D(2024, 3, 7)
    load_days(warehouse, [unknown], version=4, unknown=True)
    gone = run_and_compare(unknown, unknown)
    assert not [k for k in gone if k[0] in (unknown, unknown + DAY)]
    assert rows_of(gone, D(2025, 3, 7), "last_year") == {}
    assert rows_of(gone, D(2025, 3, 7), "previous_day") != {}


def test_a_leap_day_and_the_day_before_restated(warehouse: Path, tmp_path: Path) -> None:
    """Feb 28 and 29 of 2024 rerun with changed data: Feb 29 and March 1 compare with the
    day before, and 2025's Feb 28 with 2024's Feb 28 (no day a year on maps to Feb 29)."""
    window = days_from(D(2024, 2, 28), D(2024, 2, 29))
    load_days(warehouse, window, version=5)
    run = dbt_run(warehouse, tmp_path, window=dbt_window(window[0], window[-1]))
    assert "incremental model marts.fct_kpi_change" in run.stdout
    assert differing(change(warehouse), full_rebuild(warehouse, tmp_path, MODELS, change)) == []
