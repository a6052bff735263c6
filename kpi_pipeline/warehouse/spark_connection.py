"""The Spark warehouse behind the surface DuckDB's connection offers (`warehouse/__init__.py`):
`execute(sql, params)` with `?` placeholders (Spark SQL's positional `args`), `fetchall` /
`fetchone` / `df`, `query_polars` and `append_frame` through Arrow, `column_type` in Spark's
names, over a Spark Connect session of the deployment's server (`warehouse/spark.py`).

Spark has no transactions and Parquet tables no DELETE. Between `begin transaction` and
`commit` a connection holds what it is asked to write: `replace_partition` names a partition
to replace, `append_frame` keeps the rows; `commit` writes each named partition with one
statement, so a load that fails before `commit` leaves the table as it was: a dynamic
partition overwrite of its rows (`overwrite_sql`), or the partition dropped when it has none
(`drop_partition_sql`). Neither shares a folder with another writer of the same table, so
several sessions may replace different partitions of one table at once (parallel ingest:
the raw bookkeeping tables). A static one (`insert overwrite ... partition (k = 'v')`) would
not: every job writing a table through Hadoop's classic committer stages its files in the
table's `_temporary/0`, and the first to finish deletes it under the other (measured on
Spark 4.3: docs/warehouses.md). pyspark is imported lazily: the `spark` extra is optional.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
import pyarrow as pa

from kpi_pipeline.warehouse import spark
from kpi_pipeline.warehouse.spark import SparkPaths, SparkUnavailableError, SparkWarehouseError
from kpi_pipeline.warehouse.spark_types import spark_type

# statements a DuckDB or PostgreSQL connection runs as transaction control
_BEGIN = {"begin", "begin transaction", "start transaction"}
_COMMIT = {"commit", "commit transaction", "end"}
_ROLLBACK = {"rollback", "rollback transaction", "abort"}
OVERWRITE_MODE = "spark.sql.sources.partitionOverwriteMode"


def sql_literal(value) -> str:
    """A partition value as Spark SQL literal text (a date, text or a whole number)."""
    if isinstance(value, dt.datetime):
        raise TypeError("a timestamp is not a partition value here")
    if isinstance(value, dt.date):
        return f"date'{value.isoformat()}'"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"not a partition value: {value!r}")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def partition_clause(spec: Mapping[str, object]) -> str:
    """`partition (raw_table = 'orders', _extract_date = date'2025-06-02')`."""
    return "partition (" + ", ".join(f"`{k}` = {sql_literal(v)}" for k, v in spec.items()) + ")"


def overwrite_sql(
    table: str, spec: Mapping[str, object], columns: list[tuple[str, str]], source: str
) -> str:
    """The statement that replaces the partition `spec` of `table` with the rows of the view
    `source`, every one of which is in that partition: a dynamic partition overwrite
    (`partitionOverwriteMode=dynamic`, `spark.SESSION_CONF`), which replaces exactly the
    partitions its rows are in and stages its files in a folder of its own job
    (`.spark-staging-<job>`). `columns` are the table's (name, Spark type) in its order, its
    partition columns (the keys of `spec`) last."""
    keys = ", ".join(f"`{name}`" for name, _ in columns if name in spec)
    names = ", ".join(f"`{name}`" for name, _ in columns)
    return f"insert overwrite table {table} partition ({keys}) select {names} from {source}"


def drop_partition_sql(table: str, spec: Mapping[str, object]) -> str:
    """The statement that empties the partition `spec` of `table` (a partition replaced by
    no rows: a dynamic overwrite of none would leave it as it was)."""
    return f"alter table {table} drop if exists {partition_clause(spec)}"


def insert_sql(table: str, columns: list[tuple[str, str]], source: str) -> str:
    """The statement that appends the rows of the view `source` to `table` (its columns
    `columns`, matched by name)."""
    names = ", ".join(f"`{name}`" for name, _ in columns)
    return f"insert into {table} ({names}) select {names} from {source}"


def matching(frame: pl.DataFrame, spec: Mapping[str, object]) -> pl.Series:
    """Which rows of `frame` belong to the partition `spec`."""
    mask = pl.repeat(True, frame.height, eager=True)
    for name, value in spec.items():
        mask = mask & (frame[name] == value).fill_null(False)
    return mask


def transaction_control(sql: str) -> str | None:
    """`begin`, `commit` or `rollback` when `sql` is that statement, else None."""
    statement = " ".join(sql.strip().rstrip(";").lower().split())
    for kind, forms in (("begin", _BEGIN), ("commit", _COMMIT), ("rollback", _ROLLBACK)):
        if statement in forms:
            return kind
    return None


def warehouse_dir_matches(conf_value: str, tables: str) -> bool:
    """Whether a server's `spark.sql.warehouse.dir` (`file:/...` or a path; a URL such as
    `hdfs://...` as given) is the deployment's tables location `tables`."""
    if "://" in tables:
        return conf_value.rstrip("/") == tables.rstrip("/")
    text = conf_value.removeprefix("file:")
    return Path(text).resolve() == Path(tables).resolve()


def foreign_listener_problem(
    paths: SparkPaths, port: int, recorded: dict | None, recorded_alive: bool
) -> str | None:
    """Why the process listening on `port` is not taken for the deployment's server, or
    None when the deployment's record names a live server on that port."""
    if recorded and recorded.get("port") == port and recorded_alive:
        return None
    return (
        f"port {port} on 127.0.0.1 is held by something that is not this deployment's Spark "
        f"server ({paths.root}): stop it, or set KPI_SPARK_PORT to a free port"
    )


@contextmanager
def spark_errors() -> Iterator[None]:
    """pyspark's errors (a statement refused, a failed job, a lost server) as the
    warehouse's own `SparkWarehouseError`, with pyspark's words and the error as its cause."""
    from pyspark.errors import PySparkException

    try:
        yield
    except PySparkException as err:
        raise SparkWarehouseError(str(err)) from err


@dataclass
class SparkResult:
    """A statement's rows, read like DuckDB's result (a command has none)."""

    frame: object | None  # a pyspark DataFrame

    def arrow(self) -> pa.Table:
        if self.frame is None:
            return pa.table({})
        with spark_errors():
            return self.frame.toArrow()

    def pl(self) -> pl.DataFrame:
        return pl.from_arrow(self.arrow()) if self.frame is not None else pl.DataFrame()

    def fetchall(self) -> list[tuple]:
        table = self.arrow()
        return list(zip(*(column.to_pylist() for column in table.columns), strict=True))

    def fetchone(self) -> tuple | None:
        if self.frame is None:
            return None
        rows = SparkResult(self.frame.limit(1)).fetchall()
        return rows[0] if rows else None

    def df(self):
        return self.pl().to_pandas()


class FetchedResult:
    """A statement's rows, fetched whole as Arrow, read like DuckDB's result."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def arrow(self) -> pa.Table:
        return self.table

    def pl(self) -> pl.DataFrame:
        return pl.from_arrow(self.table) if self.table.num_columns else pl.DataFrame()

    def fetchall(self) -> list[tuple]:
        columns = [column.to_pylist() for column in self.table.columns]
        return list(zip(*columns, strict=True))

    def fetchone(self) -> tuple | None:
        rows = FetchedResult(self.table.slice(0, 1)).fetchall()
        return rows[0] if rows else None

    def df(self):
        return self.pl().to_pandas()


@dataclass
class _Pending:
    """What a transaction will write to one table."""

    partitions: list[dict] = field(default_factory=list)
    frames: list[pl.DataFrame] = field(default_factory=list)


class SparkConnection:
    """One Spark Connect session; writes between `begin transaction` and `commit` are held
    and written at `commit` (module docstring). What reaches the server goes through
    `_run`, `_fetch`, `_command`, `table_columns`, `_view` and `close`:
    `spark_thrift_connection.ThriftConnection` is this class over a Spark Thrift Server."""

    def __init__(self, session) -> None:
        self.session = session
        self._pending: dict[str, _Pending] | None = None
        self._views = 0
        self._dynamic_overwrite = False  # the session's overwrite mode checked

    def execute(self, sql: str, params: list | tuple | None = None) -> SparkResult:
        control = transaction_control(sql)
        if control == "begin":
            self._pending = {}
            return SparkResult(None)
        if control == "commit":
            pending, self._pending = self._pending or {}, None
            for table, writes in pending.items():
                self._write(table, writes)
            return SparkResult(None)
        if control == "rollback":
            self._pending = None
            return SparkResult(None)
        return self._run(sql, list(params) if params else None)

    def _run(self, sql: str, args: list | None):
        """The statement's result (its rows read when asked: `SparkResult`)."""
        with spark_errors():
            frame = self.session.sql(sql, args=args) if args else self.session.sql(sql)
        return SparkResult(frame)

    def _fetch(self, sql: str, args: list | None = None) -> pa.Table:
        """The statement's rows, fetched whole (pyspark's errors as they are)."""
        frame = self.session.sql(sql, args=args) if args else self.session.sql(sql)
        return frame.toArrow()

    def _command(self, sql: str) -> None:
        """Run a statement whose rows are not read (an insert)."""
        self.session.sql(sql)

    def version(self) -> str:
        """The server's Spark version (`4.3.0`)."""
        return str(self.session.version)

    def query_polars(self, sql: str, params: list | None = None) -> pl.DataFrame:
        return self.execute(sql, params).pl()

    def column_type(self, duckdb_type: str) -> str:
        return spark_type(duckdb_type)

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        """(name, Spark type) of `table`'s columns, in its order."""
        with spark_errors():
            schema = self.session.table(table).schema
        return [(f.name, f.dataType.simpleString()) for f in schema.fields]

    def replace_partition(self, table: str, spec: Mapping[str, object]) -> None:
        """Replace the partition `spec` of `table` with the rows appended to it in this
        transaction (none: it is emptied), at `commit`; outside a transaction, empty it now."""
        if self._pending is None:
            self._write(table, _Pending([dict(spec)], []))
            return
        self._pending.setdefault(table, _Pending()).partitions.append(dict(spec))

    def append_frame(self, table: str, frame: pl.DataFrame) -> None:
        """Insert every row of `frame` into `table`, columns matched by name (at `commit`
        within a transaction)."""
        if self._pending is not None:
            self._pending.setdefault(table, _Pending()).frames.append(frame)
        else:
            self._write(table, _Pending([], [frame]))

    def _write(self, table: str, writes: _Pending) -> None:
        with spark_errors():
            self._write_rows(table, writes)

    def _write_rows(self, table: str, writes: _Pending) -> None:
        columns = self.table_columns(table)
        frames = [f for f in writes.frames if f.height]
        rows = pl.concat(frames, how="diagonal_relaxed") if frames else None
        if writes.partitions:
            self._require_dynamic_overwrite()
        for spec in writes.partitions:
            part = rows.filter(matching(rows, spec)) if rows is not None else None
            if part is not None and part.height:
                self._command(overwrite_sql(table, spec, columns, self._view(part)))
            else:
                self._command(drop_partition_sql(table, spec))
            if rows is not None:
                rows = rows.filter(~matching(rows, spec))
        if rows is not None and rows.height:
            view = self._view(rows)
            self._command(insert_sql(table, columns, view))

    def _require_dynamic_overwrite(self) -> None:
        """Refuse in words to overwrite a partition in a session whose partition overwrite
        mode is not `dynamic`: there `overwrite_sql` would replace every partition."""
        if self._dynamic_overwrite:
            return
        found = self._fetch(f"set {OVERWRITE_MODE}")  # one row: (key, value)
        mode = str(found.column(found.num_columns - 1)[0].as_py()).lower() if found.num_rows else ""
        if mode != "dynamic":
            raise SparkWarehouseError(
                f"the Spark session's {OVERWRITE_MODE} is {mode or 'unset'}, not dynamic: "
                "a partition overwrite would replace every partition of the table; set it to "
                "dynamic on the server (the deployment's own server has it)"
            )
        self._dynamic_overwrite = True

    def _view(self, frame: pl.DataFrame) -> str:
        self._views += 1
        name = f"_kpi_frame_{self._views}"
        self.session.createDataFrame(frame.to_arrow()).createOrReplaceTempView(name)
        return name

    def close(self) -> None:
        self.session.stop()


# --- I/O at the edges ---------------------------------------------------------------


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def new_session(port: int):
    """A Spark Connect session of its own on the server at `port` (not pyspark's default
    session: closing it leaves other sessions of the process alone)."""
    return spark.session_builder(spark.remote_url(port)).create()


def local_endpoint(paths: SparkPaths, port: int) -> spark.SparkEndpoint:
    """The deployment's own server in local mode on `port`, its tables under `paths`."""
    return spark.SparkEndpoint(
        spark.LOCAL_MASTER, port, str(paths.warehouse_dir), spark.remote_url(port)
    )


def deployment_session(paths: SparkPaths, endpoint: spark.SparkEndpoint):
    """A session on the deployment's Spark: on an `sc://` endpoint it does not own
    (`foreign_session`), else on its own server on the endpoint's port, started first when
    none is running (it keeps running, like a database server; `local[*]` or the endpoint's
    standalone master). Refused in words, without connecting, when the port is held by
    something the deployment did not start; refused after connecting when the server there
    keeps its tables elsewhere."""
    if not endpoint.owned:
        return foreign_session(endpoint)
    port = endpoint.port
    if not spark.port_open(port):
        with spark.starting_alone(paths):  # another command may be starting it right now
            if not spark.port_open(port):
                spark.start_server(paths, port, master=endpoint.master, tables=endpoint.tables)
    recorded = spark.recorded_server(paths)
    problem = foreign_listener_problem(paths, port, recorded, _alive((recorded or {}).get("pid")))
    if problem:
        raise SparkUnavailableError(problem)
    session = new_session(port)
    served = session.conf.get("spark.sql.warehouse.dir")
    if not warehouse_dir_matches(served, endpoint.tables):
        session.stop()
        raise SparkUnavailableError(
            f"the Spark server on port {port} keeps its tables in {served}, not in this "
            f"deployment's {endpoint.tables}: set KPI_SPARK_PORT to a free port, or stop "
            "it (kpi spark stop) after a change of KPI_SPARK_WAREHOUSE_DIR"
        )
    return session


def foreign_session(endpoint: spark.SparkEndpoint, timeout: float = 10.0):
    """A session of its own on the `sc://` endpoint the deployment does not own (never
    started nor stopped here), with the pipeline's session settings (`spark.SESSION_CONF`:
    its server's defaults are its owner's). Refused in words when the endpoint does not
    answer or refuses the session (a wrong token, say); its parameters are never shown."""
    builder = spark.session_builder(endpoint.remote)
    if refusal := spark.connection_refusal(*spark.endpoint_address(endpoint.remote), timeout):
        raise SparkUnavailableError(
            f"the Spark Connect endpoint {endpoint.shown} (KPI_WAREHOUSE) does not answer "
            f"({refusal}): check that it runs and that this machine reaches its host and port"
        )
    try:
        return builder.config(map=spark.SESSION_CONF).create()
    except Exception as err:  # pyspark's errors share no base class across its clients
        raise SparkUnavailableError(
            f"the Spark Connect endpoint {endpoint.shown} (KPI_WAREHOUSE) refused a "
            f"session: {refusal_words(err, endpoint.remote, endpoint.shown)}; check its "
            "token or parameters in KPI_WAREHOUSE"
        ) from None


def refusal_words(err: BaseException, remote: str, shown: str) -> str:
    """One line saying why a Spark Connect endpoint refused: a gRPC error's status and
    details (`UNAUTHENTICATED: ...`), else the error's first line; the endpoint's URL, which
    may carry a token, replaced by `shown`, and its parameters' values by `***`."""
    code, details = getattr(err, "code", None), getattr(err, "details", None)
    if callable(code) and callable(details):
        status = code()
        text = f"{getattr(status, 'name', status)}: {details()}"
    else:
        lines = str(err).strip().splitlines()
        text = lines[0] if lines else type(err).__name__
    text = text.replace(remote, shown)
    for value in spark.parameter_values(remote):
        text = text.replace(value, "***")
    return text


def foreign_endpoint_problem(location: str) -> str | None:
    """Why the Spark endpoint the deployment does not own (`sc://`, `thrift://`) cannot be
    used now (it does not answer, or refuses a session), in words; None when a session
    opens, or for the deployment's own server (started by whoever connects first)."""
    endpoint = spark.current_endpoint(SparkPaths(spark.spark_dir_of(location)).root)
    if endpoint.owned:
        return None
    try:
        with connect(location):
            return None
    except SparkUnavailableError as err:
        return str(err)


@contextmanager
def connect(location: str, port: int | None = None) -> Iterator[SparkConnection]:
    """A connection to the deployment's Spark (`spark:<folder>`): the endpoint
    `KPI_WAREHOUSE` names (`spark.current_endpoint`; its own server on `KPI_SPARK_PORT`, or
    `port` when given; a Spark Thrift Server: `spark_thrift_connection`)."""
    paths = SparkPaths(spark.spark_dir_of(location))
    endpoint = spark.current_endpoint(paths.root)
    if endpoint.thrift:
        from kpi_pipeline.warehouse.spark_thrift_connection import thrift_connection

        with thrift_connection(endpoint) as connection:
            yield connection
        return
    if port is not None and endpoint.owned:
        endpoint = replace(endpoint, port=port, remote=spark.remote_url(port))
    session = deployment_session(paths, endpoint)
    connection = SparkConnection(session)
    try:
        yield connection
    finally:
        connection.close()
