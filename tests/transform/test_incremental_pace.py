"""`fct_kpi_pace` is incremental on its window's days: a run recomputes the rows of every
day from the window's first day on and leaves the earlier days' rows as they are. A day's
pace reads earlier days (its period to date, its last 56 days, last year's same period),
so a rerun of an older day, with changed data, moves the pace of the days after it that
are not in its window: those are recomputed too. After every run, daily or over a window,
new days or a restatement, the table is the one a full refresh builds, row for row.

The daily facts are made here (a year and a quarter of five KPIs: a plain sum against
absolute targets, one against last year, ratios by week and by month, and a distinct
count recounted from GA4 sessions), as in tests/kpis/test_pace_projection.py."""

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
HISTORY_END = D(2025, 3, 10)  # a Monday: the first build holds the days up to it
KPIS = ("net_revenue", "organic_traffic", "cost_per_acquisition", "nps", "user_conversion_rate")
USERS = [f"user-{i}" for i in range(30)]


def _day_rows(day: D, version: int) -> tuple[list[tuple], list[tuple]]:
    """The `all` facts of the KPIs on `day`, and its GA4 sessions (user conversion rate is
    counted from them); another `version` is the same day restated with other data."""
    rng = random.Random(f"{day.isoformat()}/{version}")
    weekday = (1.0, 1.05, 1.0, 0.95, 0.9, 1.3, 1.4)[day.weekday()]
    level = 200 * weekday * (1 + 0.001 * (day - FIRST).days)
    facts = [
        ("net_revenue", round(level * rng.lognormvariate(0, 0.15), 2), None),
        ("organic_traffic", float(round(level / 4 * rng.lognormvariate(0, 0.2))), None),
    ]
    customers = float(rng.randint(2, 9))
    facts.append(
        ("cost_per_acquisition", round(customers * 55 * rng.uniform(0.7, 1.3), 2), customers)
    )
    responses = rng.randint(5, 20)
    facts.append(("nps", float(rng.randint(-responses // 4, responses // 2)), float(responses)))
    sessions = []
    for i in range(rng.randint(4, 14)):
        user = rng.choice(USERS)
        sessions.append((f"{day}/{version}/{i}", user, day, rng.random() < 0.25))
    users = {s[1] for s in sessions}
    buyers = {s[1] for s in sessions if s[3]}
    facts.append(("user_conversion_rate", float(len(buyers)), float(len(users))))
    rows = []
    for kpi_id, numerator, denominator in facts:
        scale = 100 if kpi_id == "nps" else 1
        value = numerator if denominator is None else scale * numerator / denominator
        rows.append((day, kpi_id, numerator, denominator, value))
    return rows, sessions


def load_days(warehouse: Path, days: list[D], version: int = 0) -> None:
    """Writes (or restates) the facts and sessions of `days`, as fct_kpi_daily's own run
    and the sessions' would."""
    with duckdb.connect(str(warehouse)) as con:
        for day in days:
            rows, sessions = _day_rows(day, version)
            con.execute("delete from marts.fct_kpi_daily where kpi_date = ?", [day])
            con.execute("delete from intermediate.int_ga4__sessions where session_date = ?", [day])
            con.executemany(
                "insert into marts.fct_kpi_daily values (?, ?, 'all', 'all', ?, ?, ?)", rows
            )
            con.executemany(
                "insert into intermediate.int_ga4__sessions (session_key, user_pseudo_id, "
                "session_date, is_converted) values (?, ?, ?, ?)",
                sessions,
            )


def pace(warehouse: Path) -> dict[tuple, dict]:
    """fct_kpi_pace's rows by day and KPI."""
    return mart_rows(warehouse, "fct_kpi_pace")


MODELS = ["fct_kpi_period", "fct_kpi_pace"]
# a pace row's day, KPI and period, which a tampered row keeps
PERIOD = ("kpi_date", "kpi_id", "period_grain", "period_start", "period_end")


def dbt_run(warehouse: Path, root: Path, *args: str, window: dict[str, str] | None = None):
    return run_models(MODELS, warehouse, root, *args, window=window)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Facts from 1 January 2024 to 10 March 2025 and the pace built from them."""
    root = tmp_path_factory.mktemp("incremental_pace")
    warehouse = root / "history.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        create_pace_inputs(con)
    load_days(warehouse, days_from(FIRST, HISTORY_END))
    seeds = run_dbt(["seed", "--select", "kpi_catalogue", "kpi_targets"], warehouse, root)
    assert seeds.returncode == 0, seeds.stdout[-3000:]
    dbt_run(warehouse, root, window=dbt_window(FIRST, HISTORY_END))
    built = pace(warehouse)
    assert {kpi_id for _, kpi_id in built} == set(KPIS)
    # the history reaches every input of a day's pace: 56 days, last year, the recount
    newest = built[(HISTORY_END, "net_revenue")]
    # an interval: 56 full days
    assert newest["projected_low"] is not None and newest["projected_high"] is not None
    return warehouse


@pytest.fixture
def warehouse(history: Path, tmp_path: Path) -> Path:
    return copy_of(history, tmp_path)


def tamper(warehouse: Path, days: list[D]) -> None:
    with duckdb.connect(str(warehouse)) as con:
        changed = con.execute(
            "update marts.fct_kpi_pace set days_elapsed = -1 "
            "where kpi_date in (select unnest(?)) returning 1",
            [days],
        ).fetchall()
    assert len(changed) == len(KPIS) * len(days)


def test_a_daily_run_recomputes_its_windows_days_and_keeps_the_others(
    warehouse: Path, tmp_path: Path
) -> None:
    run_day = HISTORY_END + DAY
    load_days(warehouse, [run_day])
    load_days(warehouse, [HISTORY_END], version=1)  # late data restates the day before
    before = HISTORY_END - 3 * DAY
    tamper(warehouse, [before, HISTORY_END])
    run = dbt_run(warehouse, tmp_path, window=dbt_window(run_day, run_day, 1))
    assert "incremental model marts.fct_kpi_pace" in run.stdout
    after = pace(warehouse)
    full = full_rebuild(warehouse, tmp_path, MODELS, pace)

    # the day before the window was not recomputed: its tampered rows survive
    for kpi_id in KPIS:
        kept, rebuilt = after[(before, kpi_id)], full[(before, kpi_id)]
        assert kept["days_elapsed"] == -1
        assert [kept[c] for c in PERIOD] == [rebuilt[c] for c in PERIOD]
    # the window's days (the restated one included) are recomputed, the new day added
    assert (
        differing(
            {k: v for k, v in after.items() if k[0] != before},
            {k: v for k, v in full.items() if k[0] != before},
        )
        == []
    )
    assert {k[0] for k in after} == set(days_from(FIRST, run_day))


def test_day_by_day_windows_and_restatements_equal_a_full_rebuild(
    warehouse: Path, tmp_path: Path
) -> None:
    def run_and_compare(first: D, last: D, lookback: int = 0) -> dict[tuple, dict]:
        run = dbt_run(warehouse, tmp_path, window=dbt_window(first, last, lookback))
        assert "incremental model marts.fct_kpi_pace" in run.stdout
        incremental = pace(warehouse)
        full = full_rebuild(warehouse, tmp_path, MODELS, pace)
        assert differing(incremental, full) == [], (first, last)
        return incremental

    # day by day: a new day; then the next with a lookback of two days, one restated
    day = HISTORY_END + DAY
    load_days(warehouse, [day])
    run_and_compare(day, day)
    day += DAY
    load_days(warehouse, [day])
    load_days(warehouse, [HISTORY_END], version=1)
    run_and_compare(day, day, lookback=2)

    # a window of a week of new days, as a backfill runs it
    newest = day + 7 * DAY
    load_days(warehouse, days_from(day + DAY, newest))
    before = run_and_compare(day + DAY, newest)

    # a past window rerun with changed data (five days of February): the newest days'
    # pace moves though they are not in the window (their 56 days hold the changed days)
    past = days_from(D(2025, 2, 10), D(2025, 2, 14))
    load_days(warehouse, past, version=2)
    after = run_and_compare(past[0], past[-1])
    for kpi_id in ("net_revenue", "organic_traffic", "nps", "cost_per_acquisition"):
        assert after[(newest, kpi_id)] != before[(newest, kpi_id)], kpi_id
    # and February's later days, their month to date
    later = (D(2025, 2, 20), "net_revenue")
    assert after[later]["period_to_date_value"] != before[later]["period_to_date_value"]
    # the days before the window are the same
    assert (
        differing(
            {k: v for k, v in after.items() if k[0] < past[0]},
            {k: v for k, v in before.items() if k[0] < past[0]},
        )
        == []
    )

    # a day of last year restated: this year's same month moves (organic traffic's
    # target is relative to last year; net revenue's target to date follows its profile)
    last_year = D(2024, 3, 12)
    load_days(warehouse, [last_year], version=3)
    restated = run_and_compare(last_year, last_year)
    march = D(2025, 3, 14)
    for kpi_id in ("organic_traffic", "net_revenue"):
        key = (march, kpi_id)
        assert restated[key]["target_to_date"] != after[key]["target_to_date"], kpi_id
