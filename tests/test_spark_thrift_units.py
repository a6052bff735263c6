"""`KPI_WAREHOUSE=thrift://HOST:PORT` without a server: the address, the settings it reads
(user, authentication, password, staging folder) and their refusals in words, dbt's
environment, the `?` parameters as literals, a result's columns typed as Spark Connect types
them, `describe table`'s columns and the server's error words (tests/test_spark_thrift.py runs
the pipeline on a real Thrift Server)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pyarrow as pa
import pytest

from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse.spark_connection import OVERWRITE_MODE
from kpi_pipeline.warehouse.spark_thrift import (
    ResultColumn,
    arrow_result,
    described_columns,
    error_words,
    session_configuration,
    shown_thrift,
    sql_value,
    staging_dir,
    thrift_address,
    thrift_auth,
    thrift_problem,
    with_parameters,
)
from tests.spark_extra import require_spark_extra


def thrift_settings(tmp_path: Path, **more: str) -> Settings:
    return Settings.from_env(
        {
            "KPI_DATA_DIR": str(tmp_path / "data"),
            "KPI_WAREHOUSE": "thrift://spark-thrift.internal:10001",
            **more,
        }
    )


def test_a_thrift_server_is_a_spark_endpoint_the_deployment_does_not_own(tmp_path) -> None:
    settings = thrift_settings(tmp_path)
    data = (tmp_path / "data").absolute()
    endpoint = settings.spark_endpoint
    assert settings.warehouse_backend == "spark"
    assert settings.warehouse_location == f"spark:{data / 'spark'}"
    assert endpoint.thrift and not endpoint.owned
    assert endpoint.kind == "Spark Thrift Server"
    assert endpoint.shown == "thrift://spark-thrift.internal:10001"
    assert endpoint.staging == str(data / "spark" / "staging")
    env = settings.dbt_env()
    assert env["KPI_DBT_TARGET"] == "spark_thrift"
    assert (env["KPI_SPARK_THRIFT_HOST"], env["KPI_SPARK_THRIFT_PORT"]) == (
        "spark-thrift.internal",
        "10001",
    )
    assert "SPARK_REMOTE" not in env


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("thrift://h:10001", ("h", 10001)),
        ("thrift://h", ("h", 10000)),  # HiveServer2's default port
        ("thrift://10.0.0.7:10000/", ("10.0.0.7", 10000)),
        ("thrift://[::1]:10000", ("::1", 10000)),
    ],
)
def test_a_thrift_address_is_read(value, address) -> None:
    assert thrift_problem(value) is None
    assert thrift_address(value) == address
    assert shown_thrift(value).startswith("thrift://")


@pytest.mark.parametrize(
    "value",
    [
        "thrift://",
        "thrift://u:pw@h:10000",
        "thrift://h:10000/default",
        "thrift://h:0",
        "thrift://h:x",
    ],
)
def test_a_malformed_thrift_address_is_refused_in_words(value) -> None:
    problem = thrift_problem(value)
    assert problem is not None
    assert "give thrift://HOST:PORT" in problem
    assert "KPI_SPARK_THRIFT_USER / KPI_SPARK_THRIFT_PASSWORD" in problem
    assert "pw" not in problem and "default" not in problem


def test_the_user_and_authentication_come_from_the_environment() -> None:
    assert thrift_auth({}) == thrift_auth({"KPI_SPARK_THRIFT_AUTH": "none"})
    plain = thrift_auth({})
    assert (plain.user, plain.auth, plain.password) == ("kpi", "NONE", None)
    ldap = thrift_auth(
        {
            "KPI_SPARK_THRIFT_USER": "analyst",
            "KPI_SPARK_THRIFT_AUTH": "ldap",
            "KPI_SPARK_THRIFT_PASSWORD": "s3cret",
        }
    )
    assert (ldap.user, ldap.auth, ldap.password) == ("analyst", "LDAP", "s3cret")
    assert "s3cret" not in repr(ldap)


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        ({"KPI_SPARK_THRIFT_AUTH": "KERBEROS"}, "Kerberos is not supported"),
        ({"KPI_SPARK_THRIFT_AUTH": "PAM"}, "give one of NONE, NOSASL, LDAP, CUSTOM"),
        ({"KPI_SPARK_THRIFT_PASSWORD": "s3cret"}, "is set but KPI_SPARK_THRIFT_AUTH is NONE"),
        ({"KPI_SPARK_THRIFT_AUTH": "LDAP"}, "is not set but KPI_SPARK_THRIFT_AUTH is LDAP"),
    ],
)
def test_an_unusable_authentication_is_refused_by_the_settings(tmp_path, environ, said) -> None:
    with pytest.raises(ValueError) as refused:
        thrift_settings(tmp_path, **environ)
    assert said in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_the_staging_folder_is_a_local_path_or_a_file_url(tmp_path) -> None:
    spark_dir = tmp_path / "spark"
    assert staging_dir("", spark_dir) == spark_dir / "staging"
    assert staging_dir("/mnt/shared/staging", spark_dir) == Path("/mnt/shared/staging")
    assert staging_dir("file:///mnt/shared/staging", spark_dir) == Path("/mnt/shared/staging")
    assert staging_dir("relative/staging", spark_dir) == Path("relative/staging").absolute()
    settings = thrift_settings(tmp_path, KPI_SPARK_STAGING_DIR="file:///mnt/shared/kpi")
    assert settings.spark_endpoint.staging == "/mnt/shared/kpi"


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("s3a://bucket/staging", "KPI_SPARK_STAGING_DIR is a s3a:// URL: give a local folder"),
        ("hdfs://nn:8020/staging", "KPI_SPARK_STAGING_DIR is a hdfs:// URL: give a local folder"),
        ("file://relative/staging", "file:// URL without an absolute path"),
    ],
)
def test_a_staging_folder_elsewhere_is_refused_naming_the_setting(tmp_path, setting, said) -> None:
    with pytest.raises(ValueError) as refused:
        thrift_settings(tmp_path, KPI_SPARK_STAGING_DIR=setting)
    assert said in str(refused.value)


def test_a_tables_folder_for_a_thrift_server_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="which decides where tables live"):
        thrift_settings(tmp_path, KPI_SPARK_WAREHOUSE_DIR="/mnt/shared")


def test_session_settings_are_named_as_the_thrift_server_applies_them() -> None:
    assert session_configuration({"spark.sql.ansi.enabled": "false"}) == {
        "set:hiveconf:spark.sql.ansi.enabled": "false"
    }


def test_parameters_become_literals_outside_text_names_and_comments() -> None:
    sql = (
        "select '?' as q, `a?` from t -- a ? here\n"
        '/* and ? here */ where d between ? and ? and s = ? and n = ? and x = "?"'
    )
    rendered = with_parameters(sql, [dt.date(2025, 6, 1), dt.date(2025, 6, 2), "it's", 3])
    assert rendered == (
        "select '?' as q, `a?` from t -- a ? here\n"
        "/* and ? here */ where d between date'2025-06-01' and date'2025-06-02' "
        "and s = 'it\\'s' and n = 3 and x = \"?\""
    )
    assert with_parameters("select 1", None) == "select 1"
    with pytest.raises(ValueError, match="1 \\? placeholders for 2 values"):
        with_parameters("select ?", [1, 2])
    with pytest.raises(ValueError, match="more \\? placeholders than 0 values"):
        with_parameters("select ?", [])


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "null"),
        (True, "true"),
        (7, "7"),
        (0.25, "0.25d"),
        (Decimal("1.500000"), "1.500000bd"),
        ("a\\b", "'a\\\\b'"),
        (dt.date(2025, 6, 2), "date'2025-06-02'"),
        (dt.datetime(2025, 6, 2, 1, 2, 3), "timestamp'2025-06-02 01:02:03'"),
        (
            dt.datetime(2025, 6, 2, 3, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "timestamp'2025-06-02 01:00:00'",
        ),
    ],
)
def test_a_value_as_a_spark_literal(value, literal) -> None:
    assert sql_value(value) == literal


@pytest.mark.parametrize("value", [float("nan"), [1], b"x"])
def test_a_value_without_a_literal_is_refused(value) -> None:
    with pytest.raises(TypeError):
        sql_value(value)


def test_a_result_is_typed_as_spark_connect_types_it() -> None:
    columns = [
        ResultColumn("n", "INT_TYPE"),
        ResultColumn("amount", "DECIMAL_TYPE", 18, 6),
        ResultColumn("day", "DATE_TYPE"),
        ResultColumn("at", "TIMESTAMP_TYPE"),
        ResultColumn("params", "ARRAY_TYPE"),
        ResultColumn("n", "BIGINT_TYPE"),
    ]
    rows = [
        (1, Decimal("1.500000"), "2025-06-02", dt.datetime(2025, 6, 2, 1), '[{"key":"a"}]', 5),
        (None, None, None, None, None, None),
    ]
    table = arrow_result(columns, rows)
    assert table.schema.types == [
        pa.int32(),
        pa.decimal128(18, 6),
        pa.date32(),
        pa.timestamp("us", tz="UTC"),
        pa.string(),
        pa.int64(),
    ]
    assert table.column_names == ["n", "amount", "day", "at", "params", "n"]
    assert table.column(2).to_pylist() == [dt.date(2025, 6, 2), None]
    assert table.column(3).to_pylist() == [dt.datetime(2025, 6, 2, 1, tzinfo=dt.UTC), None]
    assert table.column(1).to_pylist() == [Decimal("1.500000"), None]
    assert arrow_result([ResultColumn("n", "INT_TYPE")], []).num_rows == 0


def test_describe_tables_columns_stop_at_the_partition_section() -> None:
    rows = [
        ("n", "int", None),
        ("e", "array<struct<key:string>>", None),
        ("d", "date", None),
        ("# Partition Information", "", ""),
        ("# col_name", "data_type", "comment"),
        ("d", "date", None),
    ]
    assert described_columns(rows) == [
        ("n", "int"),
        ("e", "array<struct<key:string>>"),
        ("d", "date"),
    ]


def test_the_servers_error_is_said_in_sparks_words() -> None:
    message = (
        "Error running query: [TABLE_OR_VIEW_NOT_FOUND] org.apache.spark.sql.AnalysisException: "
        "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found.\nSearch path: x"
    )
    assert error_words(message) == (
        "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found."
    )
    assert error_words("[X] org.apache.spark.SparkException: it broke") == "[X] it broke"
    # an asynchronous statement's status wraps it once more
    assert error_words(f"org.apache.hive.service.cli.HiveSQLException: {message}") == (
        "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found."
    )
    assert error_words("plain words\nmore") == "plain words"
    assert error_words("") == "the Spark Thrift Server refused the statement"


class FakeCursor:
    """A PyHive cursor that records statements, has no result set, and fails a statement
    starting with `fail_on` as the server would (PyHive's OperationalError)."""

    def __init__(self, log: list[str], fail_on: str | None) -> None:
        self.log, self.fail_on, self._operationHandle = log, fail_on, None

    def execute(self, sql: str, **_kwargs) -> None:
        self.log.append(sql)
        if self.fail_on and sql.startswith(self.fail_on):
            from pyhive.exc import OperationalError

            status = SimpleNamespace(errorMessage="Error running query: [BOOM] it broke")
            raise OperationalError(SimpleNamespace(status=status))

    def close(self) -> None:
        pass


def staged_connection(tmp_path: Path, fail_on: str | None = None):
    from kpi_pipeline.warehouse.spark_thrift_connection import ThriftConnection

    require_spark_extra()
    log: list[str] = []
    session = SimpleNamespace(cursor=lambda: FakeCursor(log, fail_on))
    con = ThriftConnection(session, tmp_path / "staging")
    con.table_columns = lambda table: [("n", "int"), ("d", "date")]
    fetch = con._fetch

    def answer(sql: str, args=None, timeout=None) -> pa.Table:  # the server's session setting
        if sql == f"set {OVERWRITE_MODE}":
            return pa.table({"key": [OVERWRITE_MODE], "value": ["dynamic"]})
        return fetch(sql, args, timeout)

    con._fetch = answer
    return con, log


def test_a_frame_is_staged_as_parquet_read_through_a_view_then_removed(tmp_path) -> None:
    con, log = staged_connection(tmp_path)
    frame = pl.DataFrame({"n": [1, 2], "d": [dt.date(2025, 6, 2)] * 2})
    seen: list[pl.DataFrame] = []
    original = con._command

    def command(sql: str) -> None:  # the staged file, read while its view exists
        if sql.startswith("create or replace temporary view"):
            [path] = (tmp_path / "staging").glob("*/part.parquet")
            seen.append(pl.read_parquet(path))
        original(sql)

    con._command = command
    con.execute("begin transaction")
    con.replace_partition("raw.t", {"d": dt.date(2025, 6, 2)})
    con.append_frame("raw.t", frame)
    assert log == []  # held until commit
    con.execute("commit")
    [view, insert, drop] = log
    folder = (tmp_path / "staging").resolve()
    assert view.startswith("create or replace temporary view _kpi_frame_1 using parquet")
    assert f"options (path '{folder}/_kpi_frame_1-" in view
    assert insert == (
        "insert overwrite table raw.t partition (`d`) select `n`, `d` from _kpi_frame_1"
    )
    assert drop == "drop view if exists _kpi_frame_1"
    assert seen[0].equals(frame)
    assert list((tmp_path / "staging").iterdir()) == []


def test_a_failed_insert_is_said_in_words_and_its_staged_file_removed(tmp_path) -> None:
    from kpi_pipeline.warehouse.spark import SparkWarehouseError

    con, log = staged_connection(tmp_path, fail_on="insert")
    with pytest.raises(SparkWarehouseError, match=r"^\[BOOM\] it broke$"):
        con.append_frame("raw.t", pl.DataFrame({"n": [1], "d": [dt.date(2025, 6, 2)]}))
    assert log[-1] == "drop view if exists _kpi_frame_1"
    assert list((tmp_path / "staging").iterdir()) == []


def test_parameters_reach_the_server_as_literals(tmp_path) -> None:
    con, log = staged_connection(tmp_path)
    con.execute("select * from raw.t where d = ? and s = ?", [dt.date(2025, 6, 2), "o'k"])
    assert log == ["select * from raw.t where d = date'2025-06-02' and s = 'o\\'k'"]


class PolledCursor:
    """A cursor whose statement (started asynchronously) is in `states`, one per poll."""

    def __init__(self, *states: int, message: str = "") -> None:
        self.states, self.message, self.cancelled = list(states), message, False

    def poll(self, get_progress_update: bool = True):
        return SimpleNamespace(operationState=self.states.pop(0), errorMessage=self.message)

    def cancel(self) -> None:
        self.cancelled = True


def test_a_statement_past_its_time_limit_is_cancelled() -> None:
    require_spark_extra()
    from TCLIService.ttypes import TOperationState

    from kpi_pipeline.warehouse.spark import SparkWarehouseError
    from kpi_pipeline.warehouse.spark_thrift_connection import StatementTimedOut, finished

    done = PolledCursor(TOperationState.FINISHED_STATE)
    finished(done, timeout=60)
    assert not done.cancelled and done.states == []
    running = PolledCursor(TOperationState.RUNNING_STATE)
    with pytest.raises(StatementTimedOut):
        finished(running, timeout=-1)  # the limit already passed
    assert running.cancelled
    failed = PolledCursor(
        TOperationState.ERROR_STATE,
        message="Error running query: [DIVIDE_BY_ZERO] org.apache.spark.SparkException: x",
    )
    with pytest.raises(SparkWarehouseError, match=r"^\[DIVIDE_BY_ZERO\] x$"):
        finished(failed, timeout=60)
    assert not failed.cancelled
