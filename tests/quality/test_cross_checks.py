"""The cross-checks of the facts against staging: dbt tests (dbt_project/tests/) that
dagster-dbt runs as blocking checks of `marts/fct_kpi_daily`, here through the pipeline's
own dbt asset on a tiny warehouse built by hand (DuckDB, and PostgreSQL when its server
binaries are installed), their failing rows said in words; and end to end, a tampered fact
row blocking a run (error) or marking its snapshot (warn)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import AssetCheckSeverity, AssetSelection, DagsterInstance, materialize

from kpi_pipeline.quality import config
from kpi_pipeline.quality.dbt_failures import FailedTest, describe, failed_dbt_tests
from kpi_pipeline.warehouse import connect

DAY1, DAY2 = dt.date(2025, 3, 3), dt.date(2025, 3, 4)
CROSS_CHECKS = ("net_revenue_equals_orders", "sessions_equal_staging", "rollup_rows_match_daily")
# portable SQL (DuckDB and PostgreSQL): the staging rows the checks recompute from, and
# facts that agree with them
TABLES = [
    "create schema staging",
    "create schema marts",
    """create table staging.stg_orders__orders as select * from (values
        -- O1: 80 on day 1, cancelled in the extract of day 2 (latest version wins)
        ('O1', cast('2025-03-03 10:00+00' as timestamp with time zone), 'placed',
         cast(80 as decimal(18, 6)), cast('2025-03-03' as date), 1),
        ('O1', cast('2025-03-03 10:00+00' as timestamp with time zone), 'cancelled', 80,
         cast('2025-03-04' as date), 1),
        ('O2', cast('2025-03-03 12:00+00' as timestamp with time zone), 'fulfilled', 40,
         cast('2025-03-03' as date), 2),
        ('O3', cast('2025-03-03 13:00+00' as timestamp with time zone), 'cancelled', 25,
         cast('2025-03-03' as date), 3),
        ('O4', cast('2025-03-04 09:00+00' as timestamp with time zone), 'placed', 60.5,
         cast('2025-03-04' as date), 2))
      as t(order_id, placed_at, order_status, net_amount, extract_date, source_row_number)""",
    """create table staging.stg_ga4__events as select * from (values
        ('s1', cast('2025-03-03 10:00+00' as timestamp with time zone), cast('2025-03-04' as date)),
        ('s1', cast('2025-03-03 23:59+00' as timestamp with time zone), cast('2025-03-04' as date)),
        -- s2 crosses midnight: it belongs to day 1 only
        ('s2', cast('2025-03-03 23:50+00' as timestamp with time zone), cast('2025-03-04' as date)),
        ('s2', cast('2025-03-04 00:10+00' as timestamp with time zone), cast('2025-03-05' as date)),
        ('s3', cast('2025-03-04 08:00+00' as timestamp with time zone), cast('2025-03-05' as date)),
        (null, cast('2025-03-04 09:00+00' as timestamp with time zone), cast('2025-03-05' as date)),
        -- extracted a month before the run's window: never read by a daily run's check (had
        -- it been, s3 would start on 1 February and day 2 would count no session)
        ('s3', cast('2025-02-01 08:00+00' as timestamp with time zone), cast('2025-02-02' as date)))
      as t(session_key, event_at, extract_date)""",
    """create table marts.fct_kpi_daily as select * from (values
        (cast('2025-03-03' as date), 'net_revenue', 'all', 'all',
         cast(40 as double precision), cast(null as double precision)),
        (cast('2025-03-04' as date), 'net_revenue', 'all', 'all', 60.5, null),
        (cast('2025-03-03' as date), 'session_conversion_rate', 'all', 'all', 1, 2),
        (cast('2025-03-04' as date), 'session_conversion_rate', 'all', 'all', 0, 1))
      as t(kpi_date, kpi_id, dimension, dimension_value, numerator, denominator)""",
    # the layout of marts.fct_kpi_period: every period holding the two days
    """create table marts.fct_kpi_period as select * from (values
        ('week', cast('2025-03-03' as date), cast('2025-03-09' as date)),
        ('month', cast('2025-03-01' as date), cast('2025-03-31' as date)),
        ('quarter', cast('2025-01-01' as date), cast('2025-03-31' as date)),
        ('year', cast('2025-01-01' as date), cast('2025-12-31' as date)))
      as g(period_grain, period_start, period_end)
      cross join (values ('net_revenue', 'all', 'all'), ('session_conversion_rate', 'all', 'all'))
      as k(kpi_id, dimension, dimension_value)""",
]


@dataclass(frozen=True)
class Verdict:
    passed: bool
    severity: AssetCheckSeverity
    words: str | None
    found: FailedTest | None


@dataclass
class Site:
    location: str
    execute: Callable[[str], None]
    gate: Callable[..., dict[str, Verdict]]


def severities(monkeypatch: pytest.MonkeyPatch, **changes) -> None:
    """quality.yml's `cross_checks` with `changes`, as the dbt step reads it."""
    raw = yaml.safe_load(config.QUALITY_CONFIG_PATH.read_text())
    raw["cross_checks"] = {**raw["cross_checks"], **changes}
    parsed = config.parse_quality_config(raw, config.QUALITY_CONFIG_PATH)
    monkeypatch.setattr(config, "load_quality_config", lambda *_: parsed)


def run_cross_checks(location: str, day: dt.date) -> dict[str, Verdict]:
    """The pipeline's dbt asset with the cross-checks selected, for the partition `day`
    (dbt's window: the day and its lookback days), as the daily job runs them; Dagster
    runs a partitioned dbt step only with one of its assets selected, so the smallest seed
    goes along. Returns each cross-check's verdict and what a blocked run says of it."""
    from kpi_pipeline.partitions import daily_partitions
    from kpi_pipeline.settings import Settings
    from kpi_pipeline.transform.assets import build_dbt_assets
    from kpi_pipeline.transform.manifest import ensure_manifest
    from kpi_pipeline.transform.project import DBT_EXECUTABLE, dbt_project
    from kpi_pipeline.transform.resource import KpiDbtCliResource
    from kpi_pipeline.warehouse import WarehouseResource

    settings = Settings.from_env()
    ensure_manifest(dbt_project, DBT_EXECUTABLE)
    assets = build_dbt_assets(dbt_project, daily_partitions(settings), settings)
    checks = [k for k in assets.check_keys if k.name in CROSS_CHECKS]
    assert {k.asset_key.to_user_string() for k in checks} == {"marts/fct_kpi_daily"}
    assert all(s.blocking for s in assets.check_specs if s.key in checks)
    seed = next(k for k in assets.keys if k.path[-1] == "crm_deal_stages")
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [assets],
            selection=AssetSelection.checks(*checks) | AssetSelection.assets(seed),
            partition_key=day.isoformat(),
            instance=instance,
            resources={
                "dbt": KpiDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
                "warehouse": WarehouseResource(path=location),
            },
            raise_on_error=False,
        )
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name in CROSS_CHECKS]
    failed = failed_dbt_tests(evaluations, location=location)
    return {
        e.check_name: Verdict(
            e.passed,
            e.severity,
            describe(e, failed),
            failed.get(("marts/fct_kpi_daily", e.check_name)),
        )
        for e in evaluations
    }


@pytest.fixture(params=["duckdb", "postgres"])
def site(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The hand-built warehouse (DuckDB file, or a fresh PostgreSQL database) and the
    cross-checks run on it."""
    if request.param == "postgres":
        # a database of its own: its hand-built tables must not meet another test's
        location = request.getfixturevalue("postgres_database")
    else:
        location = str(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KPI_WAREHOUSE", location)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    for name in ("KPI_DBT_TARGET", "KPI_PG_HOST", "KPI_PG_PORT", "KPI_PG_USER", "KPI_PG_DBNAME"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "postgres":  # as the deployment's settings give dbt (older: env)
        from kpi_pipeline.warehouse.postgres import dbt_target_env

        for name, value in dbt_target_env(location).items():
            monkeypatch.setenv(name, value)

    def execute(sql: str) -> None:
        with connect(location) as con:
            con.execute(sql)

    for statement in TABLES:
        execute(statement)
    yield Site(location, execute, lambda day=DAY2: run_cross_checks(location, day))


def test_facts_that_agree_with_staging_pass(site: Site) -> None:
    verdicts = site.gate()
    assert set(verdicts) == set(CROSS_CHECKS)
    assert all(v.passed for v in verdicts.values()), verdicts


def test_a_tampered_fact_row_fails_naming_the_day_and_the_numbers(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.execute(
        "update marts.fct_kpi_daily set numerator = 40.01 "
        "where kpi_id = 'net_revenue' and kpi_date = '2025-03-03'"
    )
    site.execute(
        "update marts.fct_kpi_daily set denominator = 2 "
        "where kpi_id = 'session_conversion_rate' and kpi_date = '2025-03-04'"
    )
    severities(monkeypatch, sessions_equal_staging="warn")  # quality.yml decides

    verdicts = site.gate()

    revenue = verdicts["net_revenue_equals_orders"]
    assert (revenue.passed, revenue.severity) == (False, AssetCheckSeverity.ERROR)  # blocks
    assert revenue.words == (
        "net revenue of 2025-03-03 is 40.01 in marts.fct_kpi_daily, but the non-cancelled "
        "orders placed that day sum to 40 (staging.stg_orders__orders)"
    )
    assert revenue.found is not None and revenue.found.count == 1
    sessions = verdicts["sessions_equal_staging"]
    assert (sessions.passed, sessions.severity) == (False, AssetCheckSeverity.WARN)
    assert sessions.words == (
        "sessions of 2025-03-04: 2 in marts.fct_kpi_daily, but 1 distinct GA4 sessions "
        "started that day (staging.stg_ga4__events)"
    )


def test_rollup_rows_lost_or_duplicated_are_caught(site: Site) -> None:
    site.execute(
        "insert into marts.fct_kpi_period values "
        "('week', '2025-03-03', '2025-03-09', 'net_revenue', 'all', 'all')"
    )
    site.execute("delete from marts.fct_kpi_period where kpi_id = 'session_conversion_rate'")

    verdicts = site.gate()

    rollup = verdicts["rollup_rows_match_daily"]
    assert (rollup.passed, rollup.severity) == (False, AssetCheckSeverity.ERROR)
    assert rollup.found is not None
    problems = sorted((r["period_grain"], r["kpi_id"], r["problem"]) for r in rollup.found.rows)
    assert problems == [
        ("month", "session_conversion_rate", "lost in the roll-up"),
        ("quarter", "session_conversion_rate", "lost in the roll-up"),
        ("week", "net_revenue", "duplicated in the roll-up"),
        ("week", "session_conversion_rate", "lost in the roll-up"),
        ("year", "session_conversion_rate", "lost in the roll-up"),
    ]
    assert rollup.words is not None and rollup.words.endswith("; and 2 more")
    assert "net_revenue (all all) in the week from 2025-03-03: duplicated in the roll-up" in (
        rollup.words
    )
    assert all(v.passed for name, v in verdicts.items() if name != "rollup_rows_match_daily")


def test_only_the_runs_days_with_data_are_compared(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a month before the run's window: not the run's to check
    site.execute(
        "insert into marts.fct_kpi_daily values "
        "('2025-02-03', 'net_revenue', 'all', 'all', 99, null), "
        "('2025-02-03', 'session_conversion_rate', 'all', 'all', 0, 9)"
    )
    # a day of the window whose sources delivered nothing: no value is not a mismatch
    site.execute(
        "insert into marts.fct_kpi_daily values "
        "('2025-03-02', 'net_revenue', 'all', 'all', null, null), "
        "('2025-03-02', 'session_conversion_rate', 'all', 'all', null, null)"
    )
    # within the tolerance quality.yml gives
    site.execute(
        "update marts.fct_kpi_daily set numerator = 60.54 "
        "where kpi_id = 'net_revenue' and kpi_date = '2025-03-04'"
    )
    severities(monkeypatch, net_revenue_tolerance=0.05)
    # no roll-up built (a hand-run `dbt build --select +fct_kpi_daily`): nothing to compare
    site.execute("drop table marts.fct_kpi_period")

    verdicts = site.gate()

    assert all(v.passed for v in verdicts.values()), verdicts
    assert set(verdicts) == set(CROSS_CHECKS)


@pytest.mark.e2e
def test_a_tampered_fact_row_blocks_the_run_and_a_warning_publishes_it_marked(
    deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the daily job: the fact row of a day inside the run's dbt window (a lookback
    day never loaded, which dbt does not rebuild) disagrees with staging."""
    from tests.test_hand_worked_kpis import write_day1, write_day2

    write_day1(deployment.landing)
    assert deployment.run(DAY1).success
    tampered = DAY1 - dt.timedelta(days=1)
    with duckdb.connect(str(deployment.warehouse)) as con:
        con.execute(
            "insert into marts.fct_kpi_daily select * replace (? as kpi_date, 12.34 as numerator) "
            "from marts.fct_kpi_daily "
            "where kpi_date = ? and kpi_id = 'net_revenue' and dimension = 'all'",
            [tampered, DAY1],
        )
    write_day2(deployment.landing)
    said = (
        "marts/fct_kpi_daily:net_revenue_equals_orders (net revenue of 2025-03-02 is 12.34 in "
        "marts.fct_kpi_daily, but the non-cancelled orders placed that day sum to 0 "
        "(staging.stg_orders__orders))"
    )

    report = deployment.run(DAY2)

    assert not report.success and report.blocked_by_gate, report.reason()
    assert said in report.failed_checks
    assert not (deployment.snapshots / DAY2.isoformat()).exists()
    failure = json.loads(report.failure_report.read_text())
    [check] = [c for c in failure["failed_checks"] if c["check"] == "net_revenue_equals_orders"]
    assert "net revenue of 2025-03-02 is 12.34" in check["description"]
    assert check["failures"][0]["unexpected_count"] == 1
    assert "2025-03-02" in (report.failure_report.parent / "failure.md").read_text()

    severities(monkeypatch, net_revenue_equals_orders="warn")
    report = deployment.run(DAY2)

    assert report.success, report.reason()
    assert said in report.warned_checks
    latest = deployment.snapshots / DAY2.isoformat() / "latest"
    manifest = json.loads((latest / "manifest.json").read_text())
    assert manifest["status"] == "published_with_warnings"
    [warning] = [w for w in manifest["warnings"] if w["check"] == "net_revenue_equals_orders"]
    assert warning["severity"] == "WARN"
    assert warning["description"].startswith("net revenue of 2025-03-02 is 12.34")


def test_a_stored_failure_table_is_named_with_spark_quotes() -> None:
    """dbt's `"schema"."alias"` as Spark SQL reads it (double quotes are text there)."""
    from kpi_pipeline.quality.dbt_failures import spark_relation

    assert spark_relation('"dbt_test__audit"."net_revenue_equals_orders"') == (
        "`dbt_test__audit`.`net_revenue_equals_orders`"
    )
    assert spark_relation('"a""b"."c`d"') == '`a"b`.`c``d`'
