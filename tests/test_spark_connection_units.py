"""The pure parts of the Spark warehouse's connection (no pyspark, no Java): DuckDB type
names in Spark's, the partition overwrite statements, transaction control, and whose server
listens on the deployment's port."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pyarrow as pa
import pytest

from kpi_pipeline.ingest.contracts import GA4_JSON_COLUMNS
from kpi_pipeline.orchestration.query_guard import QueryError
from kpi_pipeline.orchestration.readonly_spark import check_reading_statement, first_keyword
from kpi_pipeline.warehouse.spark import (
    SparkPaths,
    SparkUnavailableError,
    SparkWarehouseError,
    spark_endpoint,
)
from kpi_pipeline.warehouse.spark_connection import (
    OVERWRITE_MODE,
    SparkConnection,
    deployment_session,
    drop_partition_sql,
    foreign_listener_problem,
    foreign_session,
    local_endpoint,
    matching,
    overwrite_sql,
    partition_clause,
    refusal_words,
    sql_literal,
    transaction_control,
    warehouse_dir_matches,
)
from kpi_pipeline.warehouse.spark_types import spark_type


@pytest.mark.parametrize(
    ("duckdb_type", "expected"),
    [
        ("VARCHAR", "string"),
        ("BIGINT", "bigint"),
        ("DOUBLE", "double"),
        ("DATE", "date"),
        ("TIMESTAMPTZ", "timestamp"),
        ("BOOLEAN", "boolean"),
        ("DECIMAL(18, 2)", "decimal(18,2)"),
        ("VARCHAR[]", "array<string>"),
        ("STRUCT(country VARCHAR)", "struct<country:string>"),
    ],
)
def test_duckdb_type_names_become_sparks(duckdb_type: str, expected: str) -> None:
    assert spark_type(duckdb_type) == expected


def test_ga4_nested_fields_stay_nested_on_spark() -> None:
    assert spark_type(GA4_JSON_COLUMNS["event_params"]) == (
        "array<struct<key:string, value:struct<string_value:string, int_value:string, "
        "float_value:double, double_value:double>>>"
    )
    assert spark_type(GA4_JSON_COLUMNS["ecommerce"]) == (
        "struct<purchase_revenue:double, transaction_id:string>"
    )


def test_a_type_without_a_spark_counterpart_is_refused() -> None:
    with pytest.raises(ValueError, match="no Spark type for the DuckDB type 'UUID'"):
        spark_type("UUID")


def test_partition_values_are_literals() -> None:
    assert sql_literal(dt.date(2025, 6, 2)) == "date'2025-06-02'"
    assert sql_literal("it's") == "'it\\'s'"
    assert sql_literal(7) == "7"
    with pytest.raises(TypeError):
        sql_literal(dt.datetime(2025, 6, 2, tzinfo=dt.UTC))
    spec = {"raw_table": "orders", "_extract_date": dt.date(2025, 6, 2)}
    assert partition_clause(spec) == (
        "partition (`raw_table` = 'orders', `_extract_date` = date'2025-06-02')"
    )


def test_a_partition_is_overwritten_with_its_rows_or_emptied() -> None:
    """A dynamic overwrite of the partition's rows (the session's mode: it replaces the
    partitions its rows are in, staged in its job's own folder), or a drop of the partition
    when it has none: never the static form, whose jobs share the table's `_temporary`."""
    columns = [("source", "string"), ("raw_table", "string"), ("_extract_date", "date")]
    spec = {"raw_table": "orders", "_extract_date": dt.date(2025, 6, 2)}
    assert overwrite_sql("raw._ingest_log", spec, columns, "_kpi_frame_1") == (
        "insert overwrite table raw._ingest_log partition (`raw_table`, `_extract_date`) "
        "select `source`, `raw_table`, `_extract_date` from _kpi_frame_1"
    )
    assert drop_partition_sql("raw._ingest_log", spec) == (
        "alter table raw._ingest_log drop if exists partition (`raw_table` = 'orders', "
        "`_extract_date` = date'2025-06-02')"
    )


class RecordingConnection(SparkConnection):
    """`SparkConnection` whose statements are recorded, not sent; its session's partition
    overwrite mode is `mode`."""

    def __init__(self, mode: str) -> None:
        super().__init__(session=None)
        self.mode = mode
        self.sent: list[str] = []

    def _fetch(self, sql: str, args: list | None = None) -> pa.Table:
        self.sent.append(sql)
        return pa.table({"key": [OVERWRITE_MODE], "value": [self.mode]})

    def _command(self, sql: str) -> None:
        self.sent.append(sql)

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        return [("n", "bigint"), ("d", "date")]

    def _write(self, table, writes) -> None:
        self._write_rows(table, writes)

    def _view(self, frame: pl.DataFrame) -> str:
        return "_kpi_frame_1"


def test_a_commit_overwrites_a_partition_with_rows_and_drops_one_without() -> None:
    con = RecordingConnection("dynamic")
    days = [dt.date(2025, 6, 1), dt.date(2025, 6, 2)]
    con.execute("begin transaction")
    for day in days:
        con.replace_partition("raw.t", {"d": day})
    con.append_frame("raw.t", pl.DataFrame({"n": [1, 2], "d": [days[0]] * 2}))
    con.execute("commit")
    assert con.sent == [
        f"set {OVERWRITE_MODE}",
        "insert overwrite table raw.t partition (`d`) select `n`, `d` from _kpi_frame_1",
        "alter table raw.t drop if exists partition (`d` = date'2025-06-02')",
    ]


def test_a_partition_overwrite_is_refused_in_a_static_session() -> None:
    """There `partition (d)` without a value would replace every partition."""
    con = RecordingConnection("STATIC")
    con.execute("begin transaction")
    con.replace_partition("raw.t", {"d": dt.date(2025, 6, 1)})
    with pytest.raises(SparkWarehouseError, match="partitionOverwriteMode is static, not dyn"):
        con.execute("commit")
    assert con.sent == [f"set {OVERWRITE_MODE}"]


def test_rows_of_a_partition() -> None:
    frame = pl.DataFrame(
        {"raw_table": ["orders", "orders", "ads", None], "d": [1, 2, 1, 1]},
    )
    assert matching(frame, {"raw_table": "orders", "d": 1}).to_list() == [
        True,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("begin transaction", "begin"),
        ("  COMMIT; ", "commit"),
        ("rollback", "rollback"),
        ("select 1", None),
        ("begin transaction; select 1", None),
    ],
)
def test_transaction_control_statements(sql: str, kind: str | None) -> None:
    assert transaction_control(sql) == kind


def test_the_servers_warehouse_folder_is_the_deployments(tmp_path: Path) -> None:
    tables = str(SparkPaths(tmp_path / "spark").warehouse_dir)
    assert warehouse_dir_matches(f"file:{tmp_path}/spark/warehouse", tables)
    assert warehouse_dir_matches(str(tmp_path / "spark" / "warehouse"), tables)
    assert not warehouse_dir_matches(f"file:{tmp_path}/other/spark/warehouse", tables)
    # KPI_SPARK_WAREHOUSE_DIR given as a URL (shared storage): compared as given
    assert warehouse_dir_matches("hdfs://nn:8020/kpi/tables/", "hdfs://nn:8020/kpi/tables")
    assert not warehouse_dir_matches("hdfs://nn:8020/other", "hdfs://nn:8020/kpi/tables")


def test_only_the_recorded_live_server_is_taken_for_the_deployments(tmp_path: Path) -> None:
    paths = SparkPaths(tmp_path / "spark")
    assert foreign_listener_problem(paths, 15002, {"pid": 1, "port": 15002}, True) is None
    for recorded, alive in (
        (None, False),
        ({"pid": 1, "port": 15003}, True),  # another port: not what listens here
        ({"pid": 1, "port": 15002}, False),  # a stale record: its server is gone
    ):
        problem = foreign_listener_problem(paths, 15002, recorded, alive)
        assert problem == (
            f"port 15002 on 127.0.0.1 is held by something that is not this deployment's "
            f"Spark server ({paths.root}): stop it, or set KPI_SPARK_PORT to a free port"
        )


def test_a_port_held_by_something_else_is_refused_without_connecting(tmp_path: Path) -> None:
    """No Spark client is opened on a stranger's port (it would retry, or talk to it)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(SparkUnavailableError, match="not this deployment's Spark server"):
            paths = SparkPaths(tmp_path / "spark")
            deployment_session(paths, local_endpoint(paths, port))


@pytest.mark.parametrize(
    ("sql", "keyword"),
    [
        ("select 1", "select"),
        ("  -- a comment\n  WITH x AS (select 1) select * from x", "with"),
        ("/* a -- comment */ ((Select 1))", "select"),
        ("/* select */ insert into t values (1)", "insert"),
        ("-- select\ndrop table t", "drop"),
        ("   ", ""),
    ],
)
def test_a_statements_first_keyword(sql: str, keyword: str) -> None:
    assert first_keyword(sql) == keyword


@pytest.mark.parametrize(
    "sql",
    [
        "insert into marts.t values (1)",
        "/* select */ drop table marts.t",
        "(update t set a = 1)",
        "set spark.sql.ansi.enabled = true",
        "refresh table marts.t",
        "begin transaction",
        "cache table marts.t",
        "explain execute immediate 'drop table t'",
    ],
)
def test_the_readers_connection_refuses_what_is_not_a_read_before_sending_it(sql: str) -> None:
    with pytest.raises(QueryError, match=r"^refused: \S.* is not a read"):
        check_reading_statement(sql)


def test_the_readers_connection_lets_reads_through() -> None:
    for sql in ("select 1", "show tables in marts", "describe marts.t", "values (1)", "table t"):
        check_reading_statement(sql)


def test_an_endpoint_not_owned_that_does_not_answer_is_said_in_words(tmp_path: Path) -> None:
    """sc:// on a port where nothing listens: refused before any Spark client is opened (it
    would retry), naming the endpoint without its token; nothing started, nothing written."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    env = {"KPI_WAREHOUSE": f"sc://127.0.0.1:{port}/;token=s3cret"}
    endpoint = spark_endpoint(env, tmp_path / "spark")
    with pytest.raises(SparkUnavailableError) as refused:
        foreign_session(endpoint, timeout=2)
    said = str(refused.value)
    assert said.startswith(f"the Spark Connect endpoint sc://127.0.0.1:{port} (KPI_WAREHOUSE)")
    assert "does not answer" in said and "s3cret" not in said
    assert not (tmp_path / "spark").exists()


def test_a_refusal_is_one_line_without_the_endpoints_token() -> None:
    class Refused(Exception):  # what grpc raises: a status code and details
        def code(self):
            return SimpleNamespace(name="UNAUTHENTICATED")

        def details(self):
            return "bad token for sc://h:1/;token=s3cret"

    url = "sc://h:1/;token=s3cret"
    assert refusal_words(Refused("<_InactiveRpcError ..."), url, "sc://h:1") == (
        "UNAUTHENTICATED: bad token for sc://h:1"
    )
    assert refusal_words(ValueError(f"no session at {url}\nmore"), url, "sc://h:1") == (
        "no session at sc://h:1"
    )
    said = refusal_words(ValueError("token s3cret is not valid"), url, "sc://h:1")
    assert said == "token *** is not valid"


def test_a_failed_read_of_the_readers_is_a_warehouse_error_and_pace_falls_back() -> None:
    """On Spark the readers' failed read is a QueryError in words (`kpi query`) and a
    warehouse error, so a reader that falls back on a failed read does on Spark what it
    does on DuckDB: `pace_of` without `marts.fct_kpi_pace` gives no pace line, not a
    failure of `kpi show`."""
    from kpi_pipeline.kpis.pace import pace_of
    from kpi_pipeline.orchestration.readonly_spark import ReadOnlySparkConnection
    from kpi_pipeline.warehouse import WAREHOUSE_ERRORS

    class MissingTable(Exception):
        pass

    def sql(*_args, **_kwargs):
        raise MissingTable(
            "[TABLE_OR_VIEW_NOT_FOUND] The table `marts`.`fct_kpi_pace` cannot be found."
        )

    con = ReadOnlySparkConnection(SimpleNamespace(sql=sql))

    with pytest.raises(WAREHOUSE_ERRORS) as failed:
        con.execute("select 1 from marts.fct_kpi_pace")
    assert isinstance(failed.value, QueryError)
    assert str(failed.value).startswith("the query failed: [TABLE_OR_VIEW_NOT_FOUND]")
    assert pace_of(con, "net_revenue", "month", dt.date(2025, 6, 3)) is None
