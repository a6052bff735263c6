"""The KPI readers on Spark (`kpi show`, `kpi pace`, `kpi explain`, `kpi quarantine`, the
values of `kpi list`): a DuckDB deployment built by the real pipeline (four sample days, an
order spoiled so that ingest quarantines it) has its marts and quarantine copied into the
deployment's local Spark, laid out as the pipeline lays them out there (Parquet tables,
partitioned as dbt-spark and ingest make them). Every reader then gives on Spark exactly
what it gives on DuckDB, through `read_only_connection` and through the CLI, and the
readers' connection sends reads only. No dbt on Spark here: tests/test_spark_dbt.py builds
the marts on Spark and compares them with DuckDB's."""

from __future__ import annotations

import datetime as dt
import math
import os
import socket
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

try:
    import pyspark  # noqa: F401
except ImportError:  # make test installs the spark extra; CI must run these, not skip them
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("the spark extra is not installed: make install-spark", allow_module_level=True)

from typer.testing import CliRunner

from kpi_pipeline.cli import app, common
from kpi_pipeline.cli.catalogue import latest_values
from kpi_pipeline.explain.read import read_breakdowns, read_metric_totals
from kpi_pipeline.ingest.quarantine_view import quarantined_rows
from kpi_pipeline.ingest.raw_tables import QUARANTINE_TABLE, ensure_raw_schema
from kpi_pipeline.kpis.catalogue import load_catalogue
from kpi_pipeline.kpis.maturity import lagged
from kpi_pipeline.kpis.pace import latest_pace_day, pace_of, read_pace
from kpi_pipeline.kpis.show import facts_range, read_days, read_periods
from kpi_pipeline.orchestration.readonly_query import QueryError, read_only_connection
from kpi_pipeline.orchestration.readonly_spark import ReadOnlySparkConnection
from kpi_pipeline.sample import generate_sample
from kpi_pipeline.settings import KPI_CATALOGUE_PATH, PROJECT_ROOT
from kpi_pipeline.warehouse import connect, dialect, is_spark, query_polars
from kpi_pipeline.warehouse.spark import SparkPaths, spark_location, start_server, stop_server
from kpi_pipeline.warehouse.spark_connection import SparkConnection, new_session
from tests.conftest import deploy

pytestmark = pytest.mark.e2e

FIRST, LAST = dt.date(2025, 6, 1), dt.date(2025, 6, 4)
# the marts the readers read, partitioned as dbt-spark makes them (dbt_project/models/marts)
MARTS = {
    "fct_kpi_daily": ["kpi_date"],
    "fct_kpi_period": ["period_grain", "period_start"],
    "fct_metric_daily": ["kpi_date"],
    "fct_kpi_attainment": [],
    "fct_kpi_pace": [],
}
BY_CHANNEL = "session_conversion_rate"  # a ratio with a channel breakdown
CHAINED = "net_revenue"  # a KPI with a product chain (kpis.yml)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spoil_an_order(landing: Path) -> None:
    """An order of the first day whose amount is not a number: one quarantined row."""
    orders = landing / "orders" / f"dt={FIRST}" / "orders.csv"
    with orders.open("a") as f:
        f.write("O-20250601-99999,2025060199999,2025-06-01T10:00:00Z,,placed,lots,USD\n")


def copy_into_spark(duckdb_file: Path, session) -> None:
    """The readers' tables of the DuckDB warehouse into Spark: each mart by `create table
    ... using parquet partitioned by` as dbt-spark creates it, the quarantine into the
    table ingest creates on Spark (`ensure_raw_schema`)."""
    with connect(duckdb_file, read_only=True) as con:
        marts = {name: query_polars(con, f"select * from marts.{name}") for name in MARTS}
        quarantine = query_polars(con, f"select * from {QUARANTINE_TABLE}")
    session.sql("create schema marts")
    for name, partition in MARTS.items():
        session.createDataFrame(marts[name].to_arrow()).createOrReplaceTempView("copied")
        by = f"partitioned by ({', '.join(partition)})" if partition else ""
        session.sql(f"create table marts.{name} using parquet {by} as select * from copied")
    writer = SparkConnection(session)
    ensure_raw_schema(writer)
    writer.append_frame(QUARANTINE_TABLE, quarantine)


@dataclass
class Built:
    root: Path
    port: int
    session: object  # the setup's own session on the server

    @property
    def duckdb(self) -> str:
        return str(self.root / "warehouse.duckdb")

    @property
    def spark(self) -> str:
        return spark_location(self.root / "spark")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark_readers")
    generate_sample(FIRST, LAST, root / "landing", scale=0.03, seed=11)
    spoil_an_order(root / "landing")
    port = free_port()
    with warnings.catch_warnings(), ThreadPoolExecutor(1) as starter, ExitStack() as stack:
        warnings.simplefilter("ignore", FutureWarning)
        # the server starts while the pipeline builds the DuckDB warehouse; stopped however
        # the module ends
        starting = starter.submit(start_server, SparkPaths(root / "spark"), port)
        stack.callback(lambda: stop_server(starting.result()))
        with pytest.MonkeyPatch.context() as monkeypatch:
            report = deploy(root, monkeypatch).run(FIRST, LAST)
        assert report.success, report.reason()
        session = new_session(port)
        stack.callback(session.stop)
        copy_into_spark(root / "warehouse.duckdb", session)
        with pytest.MonkeyPatch.context() as env:
            env.setenv("KPI_SPARK_PORT", str(port))
            yield Built(root, port, session)


def read_everything(location: str) -> dict:
    """What each reader's functions read from the warehouse `location`, as `kpi show`,
    `kpi pace`, `kpi explain` and `kpi quarantine` call them."""
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    by_channel, chained = catalogue[BY_CHANNEL], catalogue[CHAINED]
    metrics = dict.fromkeys(m for f in chained.chain for m in f.metrics())
    with read_only_connection(location) as con:
        first, last = facts_range(con, BY_CHANNEL)
        day = latest_pace_day(con)
        pace = read_pace(con, day, lagged(catalogue)).sort("kpi_id")
        # where the KPI is heading at the grain of its review cadence (`kpi show`)
        grain = pace.filter(pl.col("kpi_id") == BY_CHANNEL)["period_grain"].item()
        before = last - dt.timedelta(days=1)
        return {
            "dialect": dialect(con),
            "facts_range": (first, last),
            "days": read_days(con, by_channel, first, last, "channel"),
            "weeks": read_periods(con, by_channel, "week", first, last, "channel"),
            "months": read_periods(con, by_channel, "month", first, last, None),
            "heading": pace_of(con, BY_CHANNEL, grain, last),
            "pace_day": day,
            "pace": pace,
            "breakdowns": read_breakdowns(con, BY_CHANNEL, "channel", "day", before, last),
            "chain": read_metric_totals(con, metrics, "day", before, last),
            "quarantine": quarantined_rows(con, None, None, None, 50),
            "orders_quarantined": quarantined_rows(con, "orders", FIRST, FIRST, 1),
        }


def assert_same(spark, duckdb, where: str = "") -> None:
    """Equal, floats to 1e-9 (frames compared row by row, column by column)."""
    if isinstance(duckdb, pl.DataFrame):
        assert spark.columns == duckdb.columns, where
        assert spark.height == duckdb.height, where
        assert_same(spark.to_dicts(), duckdb.to_dicts(), where)
    elif isinstance(duckdb, dict):
        assert spark.keys() == duckdb.keys(), where
        for key in duckdb:
            assert_same(spark[key], duckdb[key], f"{where}.{key}")
    elif isinstance(duckdb, (list, tuple)):
        assert len(spark) == len(duckdb), where
        for i, (a, b) in enumerate(zip(spark, duckdb, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(duckdb, float) and not isinstance(spark, str):
        assert spark is not None and math.isclose(
            float(spark), duckdb, rel_tol=1e-9, abs_tol=1e-9
        ), f"{where}: {spark} != {duckdb}"
    elif hasattr(duckdb, "__dataclass_fields__"):
        assert_same(vars(spark), vars(duckdb), where)
    else:
        assert spark == duckdb, f"{where}: {spark!r} != {duckdb!r}"


def test_the_readers_read_on_spark_what_they_read_on_duckdb(built) -> None:
    duckdb = read_everything(built.duckdb)
    spark = read_everything(built.spark)
    assert (duckdb.pop("dialect"), spark.pop("dialect")) == ("duckdb", "spark")
    # the comparison compares something: the range's days by channel, a quarantined order
    first, last = duckdb["facts_range"]
    assert (first, last) == (FIRST, LAST)
    assert {"all", "channel"} <= set(duckdb["days"]["dimension"])
    assert duckdb["pace"].height > 5 and duckdb["heading"] is not None
    rows, total = duckdb["orders_quarantined"]
    assert total == 1 and rows["column"].to_list() == ["net_amount"]
    assert duckdb["quarantine"][1] >= 1
    assert_same(spark, duckdb)


def test_the_values_of_kpi_list_are_the_same_on_spark(built) -> None:
    duckdb = latest_values(built.duckdb)
    assert len(duckdb) > 5 and {day for day, _, _ in duckdb.values()} == {LAST}
    assert_same(latest_values(built.spark), duckdb)


def kpi_on_spark(built: Built, *args: str) -> subprocess.CompletedProcess:
    """The CLI in a process of its own on the deployment with KPI_WAREHOUSE=spark."""
    env = {
        **os.environ,
        "KPI_DATA_DIR": str(built.root),
        "KPI_WAREHOUSE": "spark",
        "KPI_SPARK_PORT": str(built.port),
        "KPI_PII_KEY": "test-key-not-a-secret",
        "COLUMNS": str(WIDTH),
        # this checkout's code, whatever the venv's editable install points at
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    for name in ("KPI_LANDING_DIR", "KPI_SNAPSHOT_DIR", "DAGSTER_HOME", "KPI_CATALOGUE"):
        env.pop(name, None)
    code = "from kpi_pipeline.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=built.root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def kpi_on_duckdb(built: Built, monkeypatch, *args: str) -> str:
    """The CLI in this process on the deployment's DuckDB warehouse: what it prints."""
    monkeypatch.setenv("KPI_DATA_DIR", str(built.root))
    monkeypatch.setenv("KPI_WAREHOUSE", built.duckdb)
    monkeypatch.setenv("KPI_PII_KEY", "test-key-not-a-secret")
    for name in ("KPI_LANDING_DIR", "KPI_SNAPSHOT_DIR", "DAGSTER_HOME", "KPI_CATALOGUE"):
        monkeypatch.delenv(name, raising=False)
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "width", WIDTH)
    done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, done.output
    return done.stdout


WIDTH = 200  # the consoles' width: tables whole, one row a line
# each reader's command, and words its output has
COMMANDS = {
    "show": (["show", BY_CHANNEL, "--by", "channel"], "(all)"),
    "pace": (["pace"], "Where the KPIs are heading"),
    "explain": (["explain", BY_CHANNEL, "--by", "channel"], "the parts add up to the change"),
    "explain a chain": (["explain", CHAINED, "--by", "chain", "--format", "json"], '"chain"'),
    "quarantine": (["quarantine"], "net_amount"),
    "list": (["list"], f"KPI catalogue (values of {LAST})"),
}


@pytest.mark.parametrize(("args", "words"), COMMANDS.values(), ids=COMMANDS.keys())
def test_the_cli_says_on_spark_what_it_says_on_duckdb(built, monkeypatch, args, words) -> None:
    duckdb = kpi_on_duckdb(built, monkeypatch, *args)
    assert words in duckdb
    spark = kpi_on_spark(built, *args)
    assert spark.returncode == 0, spark.stderr
    assert "Traceback" not in spark.stderr
    assert spark.stdout == duckdb


REFUSED = [
    "insert into marts.fct_kpi_pace select * from marts.fct_kpi_pace",
    "drop table marts.fct_kpi_pace",
    "create table marts.made (a int) using parquet",
    "set spark.sql.ansi.enabled = true",
    "truncate table marts.fct_kpi_pace",
    "refresh table marts.fct_kpi_pace",
    "begin transaction",
    "  /* a comment */ (insert into marts.fct_kpi_pace select * from marts.fct_kpi_pace)",
    "with again as (select * from marts.fct_kpi_pace) "
    "insert into marts.fct_kpi_pace select * from again",
    "explain execute immediate 'drop table marts.fct_kpi_pace'",
]


def state(session) -> tuple:
    """The marts' tables and the pace mart's rows."""
    tables = sorted(r[1] for r in session.sql("show tables in marts").collect())
    [(rows,)] = session.sql("select count(*) from marts.fct_kpi_pace").collect()
    return tables, rows


def test_the_readers_connection_refuses_anything_but_a_read_in_words(built) -> None:
    before = state(built.session)
    with read_only_connection(built.spark) as con:
        assert isinstance(con, ReadOnlySparkConnection) and is_spark(con)
        for sql in REFUSED:
            with pytest.raises(QueryError, match=r"^refused: .* read"):
                con.execute(sql)
        for write in (
            lambda: con.append_frame("marts.fct_kpi_pace", pl.DataFrame({"kpi_id": ["x"]})),
            lambda: con.replace_partition("marts.fct_kpi_daily", {"kpi_date": FIRST}),
        ):
            with pytest.raises(QueryError, match="read-only; it writes nothing to marts"):
                write()
        assert con.execute("show tables in marts").fetchall()  # a read still runs
        assert con.session.conf.get("spark.sql.runSQLOnFiles") == "false"
        [(schema,)] = con.execute("select current_schema()").fetchall()
        assert schema == "marts"
        with pytest.raises(QueryError, match=r"^the query failed: .*TABLE_OR_VIEW_NOT_FOUND"):
            con.execute("select * from marts.no_such_mart")
    assert state(built.session) == before


def test_a_new_readers_session_sees_what_another_session_wrote(built) -> None:
    """Without REFRESH TABLE: a reader's session is new, Spark lists the files afresh."""
    writer = SparkConnection(built.session)
    writer.execute("create schema if not exists scratch")
    writer.execute("create table scratch.written (a int, d date) using parquet partitioned by (d)")
    writer.append_frame("scratch.written", pl.DataFrame({"a": [1, 2], "d": [FIRST, LAST]}))
    read = "select a from scratch.written order by a"
    with read_only_connection(built.spark) as con:
        assert con.execute(read).fetchall() == [(1,), (2,)]
    # a partition rewritten, as dbt's insert_overwrite and the pipeline's loads do
    writer.execute("begin transaction")
    writer.replace_partition("scratch.written", {"d": LAST})
    writer.append_frame("scratch.written", pl.DataFrame({"a": [5, 6], "d": [LAST, LAST]}))
    writer.execute("commit")
    with read_only_connection(built.spark) as con:
        assert con.execute(read).fetchall() == [(1,), (5,), (6,)]
    writer.execute("drop schema scratch cascade")
