"""Every KPI mart checked against the plain-Python oracle (tests/oracle.py), at every day,
dimension and grain, on generated extracts of two years run through the Dagster job; the
semantic layer (MetricFlow `mf query`) checked against `fct_kpi_period`; the dbt unit
tests run on the same warehouse."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.sample import generate_sample
from kpi_pipeline.settings import DBT_PROJECT_DIR, KPI_CATALOGUE_PATH, PROJECT_ROOT
from tests import oracle
from tests.status_oracle import status

pytestmark = pytest.mark.e2e

GRAINS = ("week", "month", "quarter", "year")
ATTAINMENT_GRAINS = ("day", *GRAINS)  # each day is held against its own target too
# Two short runs a year apart: the 2025 periods have a previous-year value (July) or an
# incomplete last year (June: 2024 starts on the 28th); the weeks, months and quarters
# cross their boundaries.
LAST_YEAR = (dt.date(2024, 6, 28), dt.date(2024, 7, 2))
THIS_YEAR = (dt.date(2025, 6, 27), dt.date(2025, 7, 2))
BIN = Path(sys.executable).parent


@dataclass
class Built:
    root: Path
    landing: Path
    warehouse: Path
    env: dict[str, str]


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    from dagster import DagsterInstance

    root = tmp_path_factory.mktemp("kpi_marts")
    env = {
        "KPI_DATA_DIR": str(root),
        "KPI_LANDING_DIR": str(root / "landing"),
        "KPI_WAREHOUSE": str(root / "warehouse.duckdb"),
        "KPI_SNAPSHOT_DIR": str(root / "snapshots"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "KPI_PII_KEY": "test-key-not-a-secret",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        from kpi_pipeline.definitions import build_definitions
        from kpi_pipeline.runner import run_days
        from kpi_pipeline.settings import Settings

        settings = Settings.from_env()
        for first, last in (LAST_YEAR, THIS_YEAR):
            generate_sample(first, last, settings.landing_dir, scale=0.03, seed=11)
        defs = build_definitions(settings)
        for first, last in (LAST_YEAR, THIS_YEAR):
            with DagsterInstance.ephemeral() as instance:
                report = run_days(defs, first, last, instance=instance)
            assert report.success, report.reason()
        yield Built(root, settings.landing_dir, settings.warehouse_path, env)


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _close(want: float | None, got: float | None) -> bool:
    if want is None or got is None:
        return want is None and got is None
    return got == pytest.approx(want, rel=1e-9, abs=1e-9)


def _oracle_daily(built: Built) -> dict[dt.date, dict[oracle.KpiKey, oracle.KpiValue]]:
    """What each run knew: the 2024 days as of the end of the 2024 run, 2025 likewise."""
    return {
        day: oracle.compute_kpis(built.landing, day, as_of=last)
        for first, last in (LAST_YEAR, THIS_YEAR)
        for day in _days(first, last)
    }


@pytest.fixture(scope="module")
def expected_daily(built: Built) -> dict[dt.date, dict[oracle.KpiKey, oracle.KpiValue]]:
    return _oracle_daily(built)


@pytest.fixture(scope="module")
def sessions(built: Built) -> dict[int, dict]:
    """GA4 sessions per year as each run knew them (for distinct users over periods)."""
    return {
        last.year: oracle.build_sessions(built.landing, last) for _, last in (LAST_YEAR, THIS_YEAR)
    }


def test_daily_facts_match_the_oracle_for_every_kpi_and_dimension(built, expected_daily):
    rows = _rows(
        built.warehouse,
        "select kpi_date, kpi_id, dimension, dimension_value, numerator, denominator, value "
        "from marts.fct_kpi_daily",
    )
    actual = {(r[0], r[1], r[2], r[3]): r[4:] for r in rows}
    expected = {
        (day, *key): (v.numerator, v.denominator, v.value)
        for day, kpis in expected_daily.items()
        for key, v in kpis.items()
    }
    assert set(actual) == set(expected)
    wrong = [
        (key, expected[key], actual[key])
        for key in expected
        if not all(_close(w, g) for w, g in zip(expected[key], actual[key], strict=True))
    ]
    assert not wrong, wrong[:5]
    # every shipped KPI and dimension is exercised, not just present
    kpis = {k[1] for k in expected}
    assert kpis == set(load_catalogue(KPI_CATALOGUE_PATH))
    assert {k[2] for k in expected} == {"all", "channel", "campaign", "source", "country"}
    nonzero = {k[1] for k, v in expected.items() if v[0]}
    assert nonzero == kpis, f"KPIs never non-zero in the sample: {kpis - nonzero}"


def test_chain_metric_facts_match_the_oracle_and_multiply_out_to_net_revenue(built, expected_daily):
    from kpi_pipeline.explain.chain import check_identity, factor_values

    rows = _rows(built.warehouse, "select kpi_date, metric_id, value from marts.fct_metric_daily")
    actual = {(r[0], r[1]): r[2] for r in rows}
    assert len(actual) == len(rows)
    # the chain's metrics as the oracle counts them: sessions (the session conversion rate's
    # base), non-cancelled orders (the average order value's) and their net amount
    expected = {}
    for day, kpis in expected_daily.items():
        expected[(day, "sessions")] = kpis[(oracle.KPI_SESSION_CONVERSION_RATE, "all", "all")]
        expected[(day, "orders")] = kpis[(oracle.KPI_AVERAGE_ORDER_VALUE, "all", "all")]
        expected[(day, "net_revenue")] = kpis[(oracle.KPI_NET_REVENUE, "all", "all")]
    expected = {
        key: v.numerator if key[1] == "net_revenue" else v.denominator
        for key, v in expected.items()
    }
    assert set(actual) == set(expected)
    wrong = [(k, expected[k], actual[k]) for k in expected if not _close(expected[k], actual[k])]
    assert not wrong, wrong[:5]
    assert all(actual[(day, "orders")] > 0 for day in expected_daily)
    # sessions x orders / sessions x revenue / orders is each day's net revenue in the facts
    chain = load_catalogue(KPI_CATALOGUE_PATH)["net_revenue"].chain
    facts = dict(
        _rows(
            built.warehouse,
            "select kpi_date, value from marts.fct_kpi_daily "
            "where kpi_id = 'net_revenue' and dimension = 'all'",
        )
    )
    for day in expected_daily:
        totals = {metric: actual[(day, metric)] for metric in ("sessions", "orders", "net_revenue")}
        check_identity("net_revenue", factor_values(chain, totals, "to"), facts[day], "to")


def test_periods_match_the_oracle_at_every_grain(built, expected_daily, sessions):
    rows = _rows(
        built.warehouse,
        "select period_grain, period_start, kpi_id, dimension, dimension_value, "
        "numerator, denominator, value from marts.fct_kpi_period",
    )
    actual = {r[:5]: r[5:] for r in rows}
    expected = {}
    for grain in GRAINS:
        for start, days in oracle.days_by_period(expected_daily, grain).items():
            rolled = oracle.roll_up(expected_daily, days, sessions[start.year])
            for key, v in rolled.items():
                expected[(grain, start, *key)] = (v.numerator, v.denominator, v.value)
    assert set(actual) == set(expected)
    wrong = [
        (key, expected[key], actual[key])
        for key in expected
        if not all(_close(w, g) for w, g in zip(expected[key], actual[key], strict=True))
    ]
    assert not wrong, wrong[:5]
    # the sample has a user returning on another day, so summing daily users would differ
    summed = {
        key[:2]: sum(
            expected_daily[d][(oracle.KPI_USER_CONVERSION_RATE, "all", "all")].denominator
            for d in oracle.days_by_period(expected_daily, key[0])[key[1]]
        )
        for key in expected
        if key[2:] == (oracle.KPI_USER_CONVERSION_RATE, "all", "all")
    }
    assert any(
        actual[(*period, oracle.KPI_USER_CONVERSION_RATE, "all", "all")][1] < users
        for period, users in summed.items()
    )


def test_attainment_matches_the_oracle_with_last_year(built, expected_daily, sessions):
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    rows = _rows(
        built.warehouse,
        "select period_grain, period_start, kpi_id, days_covered, value, target, "
        "previous_year_value, change, status from marts.fct_kpi_attainment",
    )
    actual = {r[:3]: r[3:] for r in rows}
    known = set(expected_daily)
    checked_previous = 0
    for grain in ATTAINMENT_GRAINS:
        for start, days in oracle.days_by_period(expected_daily, grain).items():
            now = oracle.roll_up(expected_daily, days, sessions[start.year])
            window = _days(
                oracle.year_earlier(days[0], grain), oracle.year_earlier(days[-1], grain)
            )
            complete = all(d in known for d in window)
            before = (
                oracle.roll_up(expected_daily, window, sessions[window[0].year]) if complete else {}
            )
            for kpi in catalogue.values():
                value = now[(kpi.id, "all", "all")].value
                previous = before.get((kpi.id, "all", "all"))
                previous_value = previous.value if previous else None
                if kpi.target.is_relative:
                    target = (
                        None
                        if previous_value is None
                        else previous_value * (1 + kpi.target.relative_to_last_year)
                    )
                elif kpi.id in oracle.PLAIN_SUMS:
                    target = kpi.target.value * len(days)
                else:
                    target = kpi.target.value
                got = actual[(grain, start, kpi.id)]
                assert got[0] == len(days)
                assert _close(value, got[1]), (grain, start, kpi.id)
                assert _close(target, got[2]), (grain, start, kpi.id, target, got[2])
                assert _close(previous_value, got[3]), (grain, start, kpi.id)
                checked_previous += previous_value is not None
                assert got[5] == status(value, target, kpi), (grain, start, kpi.id)
    assert checked_previous > 0, "no period had a comparable last year"
    # June 2025 holds 27-30 June; June 2024 only from the 28th: no comparable last year
    assert actual[("month", dt.date(2025, 6, 1), "organic_traffic")][2:5] == (None, None, None)
    assert actual[("month", dt.date(2025, 7, 1), "organic_traffic")][3] is not None


def _mf_query(built: Built, metrics: str, group_by: str, out: Path) -> list[dict]:
    env = {**os.environ, **built.env, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    result = subprocess.run(
        [str(BIN / "mf"), "query", "--metrics", metrics, "--group-by", group_by, "--csv", str(out)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_semantic_layer_gives_the_same_numbers_as_fct_kpi_period(built, sessions):
    by_channel = _mf_query(
        built,
        "session_conversion_rate_by_channel",
        "metric_time__month,kpi_fact__dimension_value",
        built.root / "mf_channel.csv",
    )
    period = {
        (r[0], r[1]): r[2]
        for r in _rows(
            built.warehouse,
            "select period_start, dimension_value, value from marts.fct_kpi_period "
            "where period_grain = 'month' and kpi_id = 'session_conversion_rate' "
            "and dimension = 'channel'",
        )
    }
    semantic = {
        (dt.date.fromisoformat(r["metric_time__month"][:10]), r["kpi_fact__dimension_value"]): (
            float(r["session_conversion_rate_by_channel"])
            if r["session_conversion_rate_by_channel"]
            else None
        )
        for r in by_channel
    }
    assert len(period) > 10
    assert set(semantic) == set(period)
    assert all(_close(period[k], semantic[k]) for k in period), (period, semantic)

    # the distinct users, recounted from the generated `sessions` semantic model, by the
    # channel it declares (`session__channel`): a user counts once a month per channel
    users = _mf_query(
        built, "users", "metric_time__month,session__channel", built.root / "mf_users.csv"
    )
    categories = oracle.load_source_categories()
    expected: dict[tuple[dt.date, str], set[str]] = {}
    for first, last in (LAST_YEAR, THIS_YEAR):
        for (user, _), session in sessions[last.year].items():
            day = oracle.local_date(session.first_event, dt.UTC)
            if first <= day <= last:
                channel = oracle.channel_group(
                    session.source, session.medium, session.campaign, categories
                )
                expected.setdefault((day.replace(day=1), channel), set()).add(user)
    got = {
        (dt.date.fromisoformat(r["metric_time__month"][:10]), r["session__channel"]): int(
            r["users"]
        )
        for r in users
    }
    assert got == {key: len(found) for key, found in expected.items()}

    overall = _mf_query(
        built,
        "session_conversion_rate,user_conversion_rate",
        "metric_time__month",
        built.root / "mf_month.csv",
    )
    period = {
        (r[0], r[1]): r[2]
        for r in _rows(
            built.warehouse,
            "select period_start, kpi_id, value from marts.fct_kpi_period "
            "where period_grain = 'month' and dimension = 'all' "
            "and kpi_id in ('session_conversion_rate', 'user_conversion_rate')",
        )
    }
    for row in overall:
        month = dt.date.fromisoformat(row["metric_time__month"][:10])
        for kpi_id in ("session_conversion_rate", "user_conversion_rate"):
            assert _close(period[(month, kpi_id)], float(row[kpi_id])), (month, kpi_id)
    assert len(overall) == 4  # June and July of both years


def _readme_metrics_commands() -> list[list[str]]:
    """The `kpi metrics` commands of the README's semantic-layer block, as argument lists
    (a trailing backslash continues a command on the next line)."""
    text = (PROJECT_ROOT / "README.md").read_text()
    block = text.split("Semantic layer (MetricFlow", 1)[1].split("```sh\n", 1)[1]
    block = block.split("```", 1)[0].replace("\\\n", " ")
    return [line.split() for line in block.splitlines() if line.startswith(".venv/bin/kpi metrics")]


def test_the_readme_semantic_layer_commands_run_from_the_repository_root(
    built, expected_daily, sessions
):
    commands = _readme_metrics_commands()
    assert [c[:4] for c in commands] == [[".venv/bin/kpi", "metrics", "query", "--metrics"]] * 2
    env = {**os.environ, **built.env, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("DBT_PROFILES_DIR", None)
    env.pop("DBT_PROJECT_DIR", None)
    results = []
    for number, command in enumerate(commands):
        out = built.root / f"readme_{number}.csv"
        done = subprocess.run(
            [str(BIN / "kpi"), *command[1:], "--csv", str(out)],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        with out.open(newline="") as handle:
            results.append(list(csv.DictReader(handle)))

    # user conversion rate by month: distinct users of the month (the oracle's roll-up)
    by_month = {dt.date.fromisoformat(r["metric_time__month"][:10]): r for r in results[0]}
    months = oracle.days_by_period(expected_daily, "month")
    assert set(by_month) == set(months)
    for start, days in months.items():
        want = oracle.roll_up(expected_daily, days, sessions[start.year])
        value = want[(oracle.KPI_USER_CONVERSION_RATE, "all", "all")].value
        assert _close(value, float(by_month[start]["user_conversion_rate"])), start

    # session conversion rate by channel and week: the oracle's daily counts, summed
    weeks = oracle.days_by_period(expected_daily, "week")
    checked = 0
    for row in results[1]:
        start = dt.date.fromisoformat(row["metric_time__week"][:10])
        key = (oracle.KPI_SESSION_CONVERSION_RATE, "channel", row["kpi_fact__dimension_value"])
        want = oracle.roll_up(expected_daily, weeks[start])[key].value
        assert _close(want, float(row["session_conversion_rate_by_channel"])), (start, key)
        checked += 1
    assert checked > 10


def test_every_kpi_metric_of_the_semantic_layer_matches_fct_kpi_period(built):
    from kpi_pipeline.kpis.catalogue import load_full_catalogue
    from kpi_pipeline.kpis.semantic import recounted_kpis

    recounted = recounted_kpis(load_full_catalogue(KPI_CATALOGUE_PATH))
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    # every KPI has its metric: summed from the daily facts, or recounted (distinct users)
    overall = list(catalogue)
    breakdowns = [
        f"{k.id}_by_{d}" for k in catalogue.values() if k.id not in recounted for d in k.dimensions
    ]
    period = {
        (r[0], r[1], r[2], r[3]): r[4]
        for r in _rows(
            built.warehouse,
            "select period_start, kpi_id, dimension, dimension_value, value "
            "from marts.fct_kpi_period where period_grain = 'month'",
        )
    }
    rows = _mf_query(built, ",".join(overall), "metric_time__month", built.root / "mf_all.csv")
    assert len(rows) == 4
    for row in rows:
        month = dt.date.fromisoformat(row["metric_time__month"][:10])
        for kpi_id in overall:
            got = float(row[kpi_id]) if row[kpi_id] else None
            assert _close(period[(month, kpi_id, "all", "all")], got), (month, kpi_id)

    rows = _mf_query(
        built,
        ",".join(breakdowns),
        "metric_time__month,kpi_fact__dimension_value",
        built.root / "mf_breakdowns.csv",
    )
    compared = 0
    for row in rows:
        month = dt.date.fromisoformat(row["metric_time__month"][:10])
        for metric in breakdowns:
            kpi_id, dimension = metric.rsplit("_by_", 1)
            key = (month, kpi_id, dimension, row["kpi_fact__dimension_value"])
            if key in period:
                got = float(row[metric]) if row[metric] else None
                assert _close(period[key], got), key
                compared += 1
    expected = sum(1 for k in period if k[2] != "all" and k[1] not in recounted)
    assert compared == expected


def test_dbt_unit_tests_pass(built):
    env = {**os.environ, **built.env}
    result = subprocess.run(
        [
            str(BIN / "dbt"),
            "test",
            "--select",
            "test_type:unit",
            "--vars",
            "{run_unit_tests: true}",
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(built.root / "dbt_unit_target"),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    passed = re.search(r"PASS=(\d+)", result.stdout)
    assert passed and int(passed.group(1)) >= 5, result.stdout[-2000:]
