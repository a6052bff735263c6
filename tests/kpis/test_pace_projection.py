"""The projection and interval of `marts.fct_kpi_pace`, built by dbt over hand-made daily
facts: a week worked by hand, then every day of four months of two plain sums and two
ratios against the plain-Python computation of tests/pace_oracle.py."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator

import duckdb
import pytest

from tests.dbt_cli import run_dbt
from tests.pace_inputs import create_pace_inputs
from tests.pace_oracle import Z80, project

D = dt.date
FIRST, LAST = D(2025, 1, 1), D(2025, 4, 30)
GAP = D(2025, 2, 15)  # net revenue has no value that day

# Monday .. Sunday: the weekday profile of the random series
PROFILE = (1.0, 1.05, 1.0, 0.95, 0.9, 1.3, 1.4)
# (kpi_id, review cadence's period, is_ratio, value_scale) as in kpis.yml
RANDOM_KPIS = {
    "net_revenue": ("month", False, 1.0),
    "organic_traffic": ("month", False, 1.0),
    "nps": ("month", True, 100.0),
    "cost_per_acquisition": ("week", True, 1.0),
}


HAND_WORKED_DAY = D(2026, 3, 27)  # a Friday


def _hand_worked_month() -> dict[D, tuple[float, None]]:
    """Organic traffic, the 56 days to Friday 27 March 2026 (the random series are in
    2025): the older four weeks 6 a weekday, 24 on Saturdays, 30 on Sundays; the last four
    10, 40 and 50."""
    days = {}
    for i in range(56):
        day = HAND_WORKED_DAY - dt.timedelta(days=i)
        recent = i < 28
        by_weekday = (10, 10, 10, 10, 10, 40, 50) if recent else (6, 6, 6, 6, 6, 24, 30)
        days[day] = (float(by_weekday[day.weekday()]), None)
    return days


def _random_days(kpi_id: str, is_ratio: bool, rng: random.Random) -> dict:
    days = {}
    for i in range((LAST - FIRST).days + 1):
        day = FIRST + dt.timedelta(days=i)
        volume = 200 * PROFILE[day.weekday()] * (1 + 0.002 * i) * rng.lognormvariate(0, 0.15)
        if not is_ratio:
            days[day] = (round(volume, 2), None)
        elif kpi_id == "nps":  # promoters minus detractors over responses
            responses = max(1, round(volume / 10))
            days[day] = (float(rng.randint(-responses // 4, responses // 2)), float(responses))
        else:  # spend over customers
            customers = max(1, round(volume / 20))
            days[day] = (round(customers * 55 * rng.lognormvariate(0, 0.2), 2), float(customers))
    return days


@pytest.fixture(scope="module")
def facts() -> dict[str, dict]:
    rng = random.Random(20)
    found = {kpi_id: _random_days(kpi_id, spec[1], rng) for kpi_id, spec in RANDOM_KPIS.items()}
    found["net_revenue"][GAP] = (None, None)
    return found


@pytest.fixture(scope="module")
def pace(facts: dict[str, dict], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("pace")
    warehouse = root / "warehouse.duckdb"
    rows = []
    for kpi_id, days in facts.items():
        scale = RANDOM_KPIS[kpi_id][2]
        for day, (numerator, denominator) in days.items():
            value = (
                numerator
                if denominator is None
                else (None if numerator is None else scale * numerator / denominator)
            )
            rows.append((day, kpi_id, numerator, denominator, value))
    for day, (numerator, _) in _hand_worked_month().items():
        rows.append((day, "organic_traffic", numerator, None, numerator))
    with duckdb.connect(str(warehouse)) as con:
        create_pace_inputs(con)
        con.executemany(
            "insert into marts.fct_kpi_daily values (?, ?, 'all', 'all', ?, ?, ?)", rows
        )
        con.execute(
            "create table marts.fct_kpi_period (period_grain varchar, period_start date, "
            "period_end date, days_covered integer, kpi_id varchar, dimension varchar, "
            "dimension_value varchar, numerator double, denominator double, value double)"
        )
    run = run_dbt(
        ["build", "--select", "kpi_catalogue kpi_targets fct_kpi_pace", "--exclude",
         "test_type:unit"],
        warehouse,
        root,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = con.execute(
            "select kpi_id, kpi_date, period_grain, projected_value, projected_low, "
            "projected_high from marts.fct_kpi_pace"
        ).fetchall()
    yield {(kpi_id, day): rest for kpi_id, day, *rest in found}


def test_a_month_worked_by_hand(pace: dict) -> None:
    """Friday 27 March 2026: March to date is 4 Sundays x 50 + 4 Mondays, 4 Tuesdays and
    4 Wednesdays to Fridays x 10 + 3 Saturdays x 40 = 200 + 200 + 120 = 520. The 56 days'
    mean is (4 x 84 + 4 x 140) / 56 = 16, each weekday's mean 8 (Monday to Friday), 32
    (Saturday), 40 (Sunday): factors 0.5, 2 and 2.5. The last 28 days' level is 140 / 7 =
    20, so Saturday 28 to Tuesday 31 come to 20 x (2 + 2.5 + 0.5 + 0.5) = 110: 630 for the
    month (naive pacing: 520 x 31 / 27 = 597.04). Every day is 25 % off its weekday's
    mean (the older days below, the newer above): spread 56 x 0.0625 / 49 = 1 / 14; the
    factors' squares add up to 4 + 6.25 + 0.25 + 0.25 = 10.75, and the level's own error
    adds 5.5^2 / 28: sd = 20 x sqrt((10.75 + 5.5^2 / 28) / 14)."""
    grain, value, low, high = pace[("organic_traffic", HAND_WORKED_DAY)]
    assert grain == "month"
    assert value == pytest.approx(630)
    half = Z80 * 20 * math.sqrt((10.75 + 5.5**2 / 28) / 14)
    assert (low, high) == (pytest.approx(630 - half), pytest.approx(630 + half))
    # the day before has only 55 days before it: naive pacing (510 x 31 / 26), no interval
    day_before = pace[("organic_traffic", HAND_WORKED_DAY - dt.timedelta(days=1))]
    assert tuple(day_before[1:]) == (pytest.approx(510 * 31 / 26), None, None)


@pytest.mark.parametrize("kpi_id", RANDOM_KPIS)
def test_every_day_matches_the_plain_python_projection(
    kpi_id: str, facts: dict, pace: dict
) -> None:
    grain, is_ratio, scale = RANDOM_KPIS[kpi_id]
    checked = with_interval = 0
    for day in sorted(d for d in facts[kpi_id] if d.year == 2025):
        expected = project(facts[kpi_id], day, grain, is_ratio, scale)
        found_grain, value, low, high = pace[(kpi_id, day)]
        assert found_grain == grain
        for got, want in ((value, expected.value), (low, expected.low), (high, expected.high)):
            assert (got is None) == (want is None), (kpi_id, day, got, want)
            if want is not None:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (kpi_id, day)
        checked += 1
        with_interval += expected.low is not None
    assert checked == (LAST - FIRST).days + 1
    # from 56 days in, every day has an interval, but for net revenue's gap and its weeks
    assert with_interval >= (LAST - FIRST).days + 1 - 55 - (56 if kpi_id == "net_revenue" else 0)
    assert with_interval > 0


def test_a_day_without_a_value_stops_the_pacing(pace: dict) -> None:
    """Net revenue has no value on 15 February: the month to date has none from then on,
    and the days whose 56 days include it pace naively, without an interval."""
    assert pace[("net_revenue", D(2025, 2, 20))][1] is None  # the period to date is incomplete
    april = pace[("net_revenue", D(2025, 4, 5))]
    assert april[1] is not None and april[2] is None  # naive: 15 February is in its 56 days
    assert pace[("net_revenue", D(2025, 4, 12))][2] is not None  # 56 days after it
