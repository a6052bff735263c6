"""dbt's whole project (seeds, staging, intermediate, marts, data tests) built on a local
Spark through the deployment's Spark Connect server, over the raw tables of one sample day,
gives exactly the marts the same day gives on DuckDB. One Spark server for the module.

The raw tables are the pipeline's ingest on Spark of the day's landing files (the loaders the
ingest assets run, through `warehouse.connect`); the DuckDB side is the pipeline's own run
of the same files. On them the quality gate gives DuckDB's verdicts, and publication from
Spark DuckDB's snapshot, its registry and restatement ledger kept on Spark."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest

try:
    import pyspark  # noqa: F401
except ImportError:  # make test installs the spark extra; CI must run these, not skip them
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("the spark extra is not installed: make install-spark", allow_module_level=True)

from kpi_pipeline.kpis.availability import deployment_availability
from kpi_pipeline.partitions import daily_partitions, dbt_window, dbt_window_env
from kpi_pipeline.quality.checks import gate_checks, quality_checks
from kpi_pipeline.sample import generate_sample
from kpi_pipeline.settings import DBT_PROJECT_DIR, Settings
from kpi_pipeline.warehouse import WarehouseResource, connect, spark_connection
from kpi_pipeline.warehouse.spark import remote_session, running_server
from tests.conftest import deploy
from tests.ingest_days import ingest_days

DAY = dt.date(2025, 6, 2)
# each mart's key columns; every other column is compared value by value
MARTS = {
    "fct_kpi_daily": ["kpi_date", "kpi_id", "dimension", "dimension_value"],
    "fct_kpi_period": ["period_grain", "period_start", "kpi_id", "dimension", "dimension_value"],
    "fct_kpi_attainment": ["period_grain", "period_start", "kpi_id"],
    "fct_metric_daily": ["kpi_date", "metric_id"],
    "fct_kpi_pace": ["period_grain", "kpi_id"],
    "dim_kpi": ["kpi_id"],
}

pytestmark = pytest.mark.e2e


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dbt(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """dbt as the pipeline starts it: the deployment's dbt environment and the day's window."""
    window = dbt_window(DAY, DAY, settings.lookback_days)
    env = {**os.environ, **settings.dbt_env(), **dbt_window_env(window)}
    command = [
        str(Path(sys.executable).parent / "dbt"),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(settings.dbt_target_dir),
    ]
    # run from a folder of its own: nothing of Spark's may appear in the working directory
    cwd = settings.artefacts_dir / "dbt_cwd"
    cwd.mkdir(exist_ok=True)
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)


def statuses(settings: Settings) -> dict[str, str]:
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in results["results"]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The day on DuckDB (the pipeline's run), then its raw tables on Spark and `dbt build`
    there; yields the DuckDB file, the Spark session, the Spark settings and dbt's outcomes."""
    root = tmp_path_factory.mktemp("spark_dbt")
    with pytest.MonkeyPatch.context() as monkeypatch:
        on_duckdb = deploy(root / "duckdb", monkeypatch)
        generate_sample(DAY, DAY, on_duckdb.landing, scale=0.03, seed=11)
        on_duckdb.run(DAY)  # its gate may block the day: the marts are built before it
    env = {"KPI_DATA_DIR": str(root / "spark"), "KPI_WAREHOUSE": "spark"}
    settings = Settings.from_env({**env, "KPI_SPARK_PORT": str(free_port())})
    with running_server(settings.spark_paths, settings.spark_port):
        session = remote_session(settings.spark_port)
        loaded_at = dt.datetime.now(dt.UTC)
        location, port = settings.warehouse_location, settings.spark_port
        with spark_connection.connect(location, port=port) as con:
            ingest_days(con, on_duckdb.landing, [DAY], loaded_at)
        raw_rows = {
            table: session.table(f"raw.{table}").count() for table in ("ga4_events", "orders")
        }
        first = dbt(settings, "build", "--exclude", "resource_type:unit_test")
        first_statuses = statuses(settings)
        daily_after_first = pl.from_arrow(
            session.sql("select * from marts.fct_kpi_daily").toArrow()
        )
        periods_after_first = pl.from_arrow(
            session.sql("select * from marts.fct_kpi_period").toArrow()
        )
        # the incremental path: the same window again, partitions overwritten in place
        again = dbt(
            settings, "run", "--select", "int_ga4__sessions", "fct_kpi_daily", "fct_kpi_period"
        )
        # this session listed the tables' files before dbt's session rewrote them
        for mart in MARTS:
            session.sql(f"refresh table marts.{mart}")
        yield {
            "duckdb": on_duckdb.warehouse,
            "session": session,
            "settings": settings,
            "raw_rows": raw_rows,
            "first": first,
            "first_statuses": first_statuses,
            "daily_after_first": daily_after_first,
            "periods_after_first": periods_after_first,
            "again": again,
        }
        session.stop()


def test_dbt_builds_the_whole_project_on_spark(built) -> None:
    assert built["raw_rows"]["ga4_events"] > 0 and built["raw_rows"]["orders"] > 0
    first = built["first"]
    assert first.returncode == 0, first.stdout[-3000:]
    outcomes = built["first_statuses"]
    assert len(outcomes) > 80  # seeds, models and data tests, every one of them
    assert {s for s in outcomes.values()} <= {"success", "pass"}, {
        node: s for node, s in outcomes.items() if s not in ("success", "pass")
    }
    # everything Spark wrote is under the deployment's Spark folder, where the server put it
    settings = built["settings"]
    spark_dir = settings.spark_paths.root
    assert (settings.spark_paths.warehouse_dir / "marts.db" / "fct_kpi_daily").is_dir()
    assert (settings.spark_paths.metastore_dir / "service.properties").is_file()  # Derby's
    assert (spark_dir / "derby.log").is_file()
    assert not (spark_dir / "spark-warehouse").exists()  # Spark's default folder, unused
    assert list((settings.artefacts_dir / "dbt_cwd").iterdir()) == []


def rows_by_key(frame: pl.DataFrame, keys: list[str]) -> dict[tuple, dict]:
    rows = {tuple(r[k] for k in keys): r for r in frame.iter_rows(named=True)}
    assert len(rows) == frame.height, "duplicate keys"
    return rows


def same(value, other) -> bool:
    if isinstance(value, float) and other is not None:
        return math.isclose(float(other), value, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(value, dt.datetime) and isinstance(other, dt.datetime):
        return value.replace(tzinfo=None) == other.replace(tzinfo=None)
    return value == other


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_each_mart_equals_the_duckdb_run(built, mart) -> None:
    keys = MARTS[mart]
    with duckdb.connect(str(built["duckdb"]), read_only=True) as con:
        expected = con.sql(f"select * from marts.{mart}").pl()
    actual = pl.from_arrow(built["session"].sql(f"select * from marts.{mart}").toArrow())
    assert expected.height > 0
    assert sorted(actual.columns) == sorted(expected.columns)
    want, got = rows_by_key(expected, keys), rows_by_key(actual, keys)
    assert set(got) == set(want), f"keys differ: {set(want) ^ set(got)}"
    different = [
        (key, column, value, got[key][column])
        for key, row in want.items()
        for column, value in row.items()
        if not same(value, got[key][column])
    ]
    assert different == []


def test_an_empty_seed_cell_is_null_on_spark_not_the_string_none(built) -> None:
    """dbt-adapters#487: dbt-spark's session cursor wrote an empty cell as 'None'."""
    session = built["session"]
    query = (
        "select count(*) as empty, count(case when denominator_formula = 'None' then 1 end)"
        " as none_text from reference.kpi_catalogue where denominator_formula is null"
        " or denominator_formula = 'None'"
    )
    with duckdb.connect(str(built["duckdb"]), read_only=True) as con:
        (nulls_on_duckdb,) = con.execute(
            "select count(*) from reference.kpi_catalogue where denominator_formula is null"
        ).fetchone()
    (empty, none_text) = session.sql(query).collect()[0]
    assert nulls_on_duckdb > 0  # the seed has empty text cells (KPIs that are not ratios)
    assert (empty, none_text) == (nulls_on_duckdb, 0)


def test_the_incremental_run_overwrites_the_windows_partitions_in_place(built) -> None:
    again = built["again"]
    assert again.returncode == 0, again.stdout[-3000:]
    after = pl.from_arrow(built["session"].sql("select * from marts.fct_kpi_daily").toArrow())
    before = built["daily_after_first"]
    keys = MARTS["fct_kpi_daily"]
    assert after.height == before.height  # no row twice
    assert rows_by_key(after, keys).keys() == rows_by_key(before, keys).keys()
    # the table is partitioned by day, which insert_overwrite replaces
    described = built["session"].sql("describe table extended marts.fct_kpi_daily").collect()
    partitions = [row for row in described if row[0] == "# Partition Information"]
    assert partitions, "fct_kpi_daily is not partitioned on Spark"


def test_the_incremental_run_overwrites_the_windows_periods_in_place(built) -> None:
    """fct_kpi_period is partitioned by period_grain and period_start: the run's periods are
    overwritten with the same rows (no row twice, none lost, the same values)."""
    assert built["again"].returncode == 0, built["again"].stdout[-3000:]
    session = built["session"]
    after = pl.from_arrow(session.sql("select * from marts.fct_kpi_period").toArrow())
    keys = MARTS["fct_kpi_period"]
    want, got = rows_by_key(built["periods_after_first"], keys), rows_by_key(after, keys)
    assert got.keys() == want.keys()
    assert all(same(v, got[k][c]) for k, row in want.items() for c, v in row.items())
    described = session.sql("describe table extended marts.fct_kpi_period").collect()
    names = [row[0] for row in described]
    partition_columns = names[names.index("# Partition Information") + 2 :][:2]
    assert partition_columns == ["period_grain", "period_start"]


def test_the_dbt_unit_tests_pass_on_spark(built) -> None:
    """The models' unit tests (hand-made rows, expected rows) that CI runs on DuckDB."""
    result = dbt(
        built["settings"], "test", "--select", "test_type:unit", "--vars", "{run_unit_tests: true}"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    outcomes = statuses(built["settings"])
    assert len(outcomes) >= 8 and all(node.startswith("unit_test.") for node in outcomes)
    assert set(outcomes.values()) == {"pass"}


# --- the quality gate on Spark ----------------------------------------------------------


class OpenWarehouse:
    """The gate checks' `warehouse` resource over a connection already open."""

    def __init__(self, con) -> None:
        self.con = con

    @contextmanager
    def connection(self):
        yield self.con


def gate_results(con, settings: Settings, day: dt.date) -> dict[str, object]:
    """Every check of the deployment's gate on `day` through `con`, by check key: the
    functions the gate's asset checks run (`checks.gate_checks`), as a one-day run calls them."""
    kpis = deployment_availability(settings.kpi_catalogue_path, settings.deployment)
    checks = gate_checks(daily_partitions(settings), settings, list(kpis.available))
    context = SimpleNamespace(
        partition_keys=[day.isoformat()], run=SimpleNamespace(run_id=f"gate-{day}")
    )
    results = {}
    for check in checks:
        [spec] = check.check_specs
        function = check.op.compute_fn.decorated_fn
        results[spec.key.to_user_string()] = function(context, warehouse=OpenWarehouse(con))
    return results


def verdicts(results: dict[str, object]) -> dict[str, tuple]:
    """Each check's verdict, severity, words and evidence (failing rows counted, samples)."""
    return {
        key: (r.passed, r.severity, r.description, dict(r.metadata)) for key, r in results.items()
    }


@contextmanager
def spark_warehouse(settings: Settings):
    with spark_connection.connect(settings.warehouse_location, port=settings.spark_port) as con:
        yield con


def test_the_gate_gives_the_same_verdicts_on_spark(built) -> None:
    """Every check of the gate (raw suites and their volume and anomalies, the facts' suites,
    the KPI figures' anomalies, deliveries, ad spend) on the Spark day: the same verdict,
    severity, words, failing-row counts and samples as on the DuckDB day."""
    settings = built["settings"]
    with connect(built["duckdb"], read_only=True) as con:
        expected = verdicts(gate_results(con, settings, DAY))
    with spark_warehouse(settings) as con:
        actual = verdicts(gate_results(con, settings, DAY))
    # 11 raw tables, the facts' suites and anomalies, deliveries, ad spend; NPS's day is empty
    assert len(expected) == 15 and not expected["raw/nps_responses:gx_raw_nps_responses"][0]
    assert actual.keys() == expected.keys()
    assert {k: v for k, v in actual.items() if v != expected[k]} == {}


BROKEN_DAY = DAY + dt.timedelta(days=1)
# one row of each table broken: a GA4 event without its name, an order in another currency
BROKEN = {"ga4_events": ("event_name", "null"), "orders": ("currency", "'XXX'")}


def break_a_row(con, table: str, columns: list[str], row: tuple, day: dt.date) -> None:
    """The table's rows of `DAY` copied to `day` (its own partition on Spark), one of them
    (by its file and row number) with BROKEN's value: positional SQL both engines run."""
    column, value = BROKEN[table]
    source_file, row_number = row
    picked = f"_source_file = '{source_file}' and _row_number = {row_number}"
    replaced = {
        "_extract_date": f"cast('{day.isoformat()}' as date)",
        column: f"case when {picked} then {value} else {column} end",
    }
    select = ", ".join(replaced.get(c, c) for c in columns)
    con.execute(
        f"insert into raw.{table} select {select} from raw.{table} where _extract_date = ?", [DAY]
    )


def test_a_broken_raw_row_fails_the_same_expectation_on_spark(built, tmp_path) -> None:
    settings = built["settings"]
    duckdb_copy = tmp_path / "warehouse.duckdb"
    shutil.copy(built["duckdb"], duckdb_copy)
    with connect(duckdb_copy) as con:
        rows = {
            table: con.execute(
                f"select _source_file, _row_number from raw.{table} where _extract_date = ? "
                "order by 1, 2 limit 1",
                [DAY],
            ).fetchone()
            for table in BROKEN
        }
        for table in BROKEN:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = "
                    "'raw' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            break_a_row(con, table, columns, rows[table], BROKEN_DAY)
        expected = verdicts(gate_results(con, settings, BROKEN_DAY))
    with spark_warehouse(settings) as con:
        for table in BROKEN:
            columns = [name for name, _ in con.table_columns(f"raw.{table}")]
            break_a_row(con, table, columns, rows[table], BROKEN_DAY)
        actual = verdicts(gate_results(con, settings, BROKEN_DAY))
    for table, (column, _) in BROKEN.items():
        passed, _, words, metadata = expected[f"raw/{table}:gx_raw_{table}"]
        assert not passed and column in words, words
        failures = metadata["failures"].value
        assert [f["unexpected_count"] for f in failures if f["column"] == column] == [1]
    assert actual.keys() == expected.keys()
    assert {k: v for k, v in actual.items() if v != expected[k]} == {}


def test_the_gates_asset_checks_run_in_dagster_on_spark(built, monkeypatch) -> None:
    """The gate's asset checks as the definitions hold them (`quality_checks`), run by
    Dagster for the day with the warehouse resource on the Spark location (each check's own
    session on the deployment's server): DuckDB's verdicts, severities and words."""
    from dagster import AssetSelection, AssetSpec, DagsterInstance, asset, materialize

    settings = built["settings"]
    monkeypatch.setenv("KPI_SPARK_PORT", str(settings.spark_port))  # warehouse.connect's
    partitions = daily_partitions(settings)
    kpis = deployment_availability(settings.kpi_catalogue_path, settings.deployment)
    checks = quality_checks(partitions, settings, list(kpis.available))
    targets = {spec.asset_key for c in checks for spec in c.check_specs}

    @asset(partitions_def=partitions)
    def the_day() -> None:
        """Dagster runs a partitioned step only with one of its assets selected."""

    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [the_day, *[AssetSpec(k, partitions_def=partitions) for k in targets], *checks],
            selection=AssetSelection.all_asset_checks() | AssetSelection.assets(the_day),
            partition_key=DAY.isoformat(),
            instance=instance,
            resources={"warehouse": WarehouseResource(path=settings.warehouse_location)},
            raise_on_error=False,
        )
    actual = {
        f"{e.asset_key.to_user_string()}:{e.check_name}": (e.passed, e.severity, e.description)
        for e in result.get_asset_check_evaluations()
    }
    with connect(built["duckdb"], read_only=True) as con:
        expected = {k: v[:3] for k, v in verdicts(gate_results(con, settings, DAY)).items()}
    assert actual == expected


# --- publication on Spark ---------------------------------------------------------------

# the daily facts' columns a KPI row is keyed by in a snapshot
SNAPSHOT_KEYS = ["kpi_id", "dimension", "dimension_value"]


def publish_day(settings: Settings, location: str, day: dt.date):
    """The publish asset of `settings` (its snapshot folder) run by Dagster for `day` on the
    warehouse `location`, its upstream assets taken as built; the run's result."""
    from dagster import AssetSelection, AssetSpec, DagsterInstance, materialize

    from kpi_pipeline.publish.assets import ATTAINMENT_KEY, PACE_KEY, build_publish_asset
    from kpi_pipeline.quality.checks import FACTS_KEY

    partitions = daily_partitions(settings)
    publish = build_publish_asset(partitions, settings)
    upstream = [
        AssetSpec(k, partitions_def=partitions) for k in (FACTS_KEY, ATTAINMENT_KEY, PACE_KEY)
    ]
    with DagsterInstance.ephemeral() as instance:
        return materialize(
            [publish, *upstream],
            selection=AssetSelection.assets(publish),
            partition_key=day.isoformat(),
            instance=instance,
            resources={"warehouse": WarehouseResource(path=location)},
        )


def latest_kpis(settings: Settings, day: dt.date) -> pl.DataFrame:
    """The day's latest published KPI rows, by key."""
    frame = pl.read_parquet(settings.snapshot_dir / day.isoformat() / "latest" / "kpis.parquet")
    return frame.sort(SNAPSHOT_KEYS)


def assert_same_kpis(actual: pl.DataFrame, expected: pl.DataFrame) -> None:
    """The same rows, columns and types; floats to 1e-9 relative, as the marts are compared
    (the engines differ in a float's last digits: an average of hours computed from
    microseconds is 219.252222221 on DuckDB, 219.25222222 on Spark)."""
    from polars.testing import assert_frame_equal

    assert_frame_equal(actual, expected, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def manifest_of(settings: Settings, day: dt.date, version: int) -> dict:
    folder = settings.snapshot_dir / day.isoformat() / f"v{version}"
    return json.loads((folder / "manifest.json").read_text())


def double_a_value(con, kpi_id: str, day: dt.date) -> None:
    """The KPI's overall value of `day` in marts.fct_kpi_daily doubled: DuckDB's update; on
    Spark the day's partition rewritten (Parquet has no UPDATE)."""
    from kpi_pipeline.warehouse import is_spark, query_polars

    if not is_spark(con):
        con.execute(
            "update marts.fct_kpi_daily set value = value * 2 "
            "where kpi_date = ? and kpi_id = ? and dimension = 'all'",
            [day, kpi_id],
        )
        return
    rows = query_polars(con, "select * from marts.fct_kpi_daily where kpi_date = ?", [day])
    picked = (pl.col("kpi_id") == kpi_id) & (pl.col("dimension") == "all")
    changed = rows.with_columns(
        pl.when(picked).then(pl.col("value") * 2).otherwise(pl.col("value")).alias("value")
    )
    write_day(con, changed, day)


def write_day(con, rows: pl.DataFrame, day: dt.date) -> None:
    con.execute("begin transaction")
    con.replace_partition("marts.fct_kpi_daily", {"kpi_date": day})
    con.append_frame("marts.fct_kpi_daily", rows)
    con.execute("commit")


@pytest.fixture(scope="module")
def published(built, tmp_path_factory):
    """The sample day published from Spark (the Spark deployment's snapshot folder) and from
    a copy of the DuckDB warehouse (a folder of its own), each by the publish asset in
    Dagster; yields both settings."""
    root = tmp_path_factory.mktemp("spark_publish")
    duckdb_copy = root / "warehouse.duckdb"
    shutil.copy(built["duckdb"], duckdb_copy)
    spark_settings = built["settings"]
    duckdb_settings = Settings.from_env(
        {
            "KPI_DATA_DIR": str(root / "duckdb"),
            "KPI_WAREHOUSE": str(duckdb_copy),
            "KPI_PARTITIONS_START": spark_settings.partitions_start,
        }
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("KPI_SPARK_PORT", str(spark_settings.spark_port))  # warehouse.connect's
        duckdb_result = publish_day(duckdb_settings, str(duckdb_copy), DAY)
        spark_result = publish_day(spark_settings, spark_settings.warehouse_location, DAY)
        yield {
            "duckdb": duckdb_settings,
            "spark": spark_settings,
            "results": (duckdb_result, spark_result),
        }


ALERTS_OF_DAY = (
    "select kpi_id, kind, owner, status, outcome from publish.kpi_alerts where day = ? "
    "order by 1, 2"
)


def registry_rows(con, table: str, columns: str) -> list[tuple]:
    con.execute(f"refresh table {table}")
    return con.execute(f"select {columns} from {table} order by 1, 2").fetchall()


def test_publishing_from_spark_gives_duckdbs_snapshot(published) -> None:
    """The sample day published from Spark: the KPI rows DuckDB's publication of the same day
    holds (floats to 1e-9), its manifest naming Spark and its version, `publish.kpi_snapshots`
    on Spark recording version 1 as the latest, and the owner alerts DuckDB records."""
    assert all(r.success for r in published["results"])
    expected = latest_kpis(published["duckdb"], DAY)
    actual = latest_kpis(published["spark"], DAY)
    assert expected.height > 0
    assert_same_kpis(actual, expected)
    settings = published["spark"]
    manifest = manifest_of(settings, DAY, 1)
    with spark_warehouse(settings) as con:
        version = con.session.version
        rows = registry_rows(
            con, "publish.kpi_snapshots", "day, version, `rows`, checksum, is_latest, folder"
        )
        con.execute("refresh table publish.kpi_alerts")
        alerts = con.execute(ALERTS_OF_DAY, [DAY]).fetchall()
    assert manifest["warehouse"] == {"engine": "spark", "version": version}
    assert manifest_of(published["duckdb"], DAY, 1)["warehouse"]["engine"] == "duckdb"
    # the owner alerts decided (no contacts: recorded as such), kept in a partition of Spark's
    with connect(published["duckdb"].warehouse_path, read_only=True) as con:
        assert alerts == con.execute(ALERTS_OF_DAY, [DAY]).fetchall() != []
    folder = str(settings.snapshot_dir / DAY.isoformat() / "v1")
    assert rows == [(DAY, 1, manifest["rows"], manifest["data_checksum"], True, folder)]
    assert (
        manifest["sources"]["files"] == manifest_of(published["duckdb"], DAY, 1)["sources"]["files"]
    )


def test_a_changed_value_publishes_version_2_on_spark_as_on_duckdb(published) -> None:
    """A KPI's value of the day changed on both warehouses: publishing again makes version 2
    on each, the same rows; on Spark the registry moves `is_latest` to v2 by rewriting the
    day's partition (v1's row and files untouched) and the ledger records the restated row."""
    duckdb_settings, settings = published["duckdb"], published["spark"]
    v1 = latest_kpis(settings, DAY)
    overall = v1.filter((pl.col("dimension") == "all") & pl.col("value").is_not_null())
    kpi_id = overall["kpi_id"].sort()[0]
    v1_files = sorted((settings.snapshot_dir / DAY.isoformat() / "v1").iterdir())
    v1_bytes = {p.name: p.read_bytes() for p in v1_files}
    with connect(duckdb_settings.warehouse_path) as con:
        double_a_value(con, kpi_id, DAY)
    with spark_warehouse(settings) as con:
        original = con.query_polars("select * from marts.fct_kpi_daily where kpi_date = ?", [DAY])
        double_a_value(con, kpi_id, DAY)
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv("KPI_SPARK_PORT", str(settings.spark_port))
            assert publish_day(duckdb_settings, str(duckdb_settings.warehouse_path), DAY).success
            assert publish_day(settings, settings.warehouse_location, DAY).success
        with spark_warehouse(settings) as con:
            registry = registry_rows(con, "publish.kpi_snapshots", "version, is_latest, folder")
            ledger = registry_rows(
                con,
                "publish.kpi_restatements",
                "day, from_version, to_version, kpi_id, dimension, old_value, new_value",
            )
    finally:
        with spark_warehouse(settings) as con:  # the mart as the module's build left it
            write_day(con, original, DAY)
    expected, actual = latest_kpis(duckdb_settings, DAY), latest_kpis(settings, DAY)
    assert_same_kpis(actual, expected)
    changed = actual.join(v1, on=SNAPSHOT_KEYS).filter(pl.col("value") != pl.col("value_right"))
    assert changed["kpi_id"].to_list() == [kpi_id]
    day_folder = settings.snapshot_dir / DAY.isoformat()
    assert registry == [
        (1, False, str(day_folder / "v1")),
        (2, True, str(day_folder / "v2")),
    ]
    assert {p.name: p.read_bytes() for p in sorted((day_folder / "v1").iterdir())} == v1_bytes
    [row] = ledger
    assert row[:5] == (DAY, 1, 2, kpi_id, "all")
    old_value = overall.filter(pl.col("kpi_id") == kpi_id)["value"][0]
    assert math.isclose(row[5], old_value, rel_tol=1e-9)
    assert math.isclose(row[6], 2 * old_value, rel_tol=1e-9)
    assert manifest_of(settings, DAY, 2)["changes"]["since_version"] == 1
