"""The pipeline's connection to a Spark Thrift Server (`KPI_WAREHOUSE=thrift://HOST:PORT`):
`SparkConnection` (its transactions held until `commit`, its partition statements) over a
PyHive cursor instead of a Spark Connect session.

What differs is at the edges: a statement's `?` placeholders become literals
(`spark_thrift.with_parameters`: the protocol has none), its rows are fetched whole and
typed as Spark Connect types them (`spark_thrift.arrow_result`), a table's columns come from
`describe table`, and a frame the pipeline writes is staged as Parquet in the staging folder
(`KPI_SPARK_STAGING_DIR`, which the server reads at the same path) and read by the server
through a temporary view over it; the view is dropped and its files removed once its
statements ran. PyHive and thrift are imported when a connection is opened (the `spark`
extra is optional); their errors become `SparkWarehouseError` / `SparkUnavailableError`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pyarrow as pa

from kpi_pipeline.warehouse import spark, spark_thrift
from kpi_pipeline.warehouse.spark import SparkUnavailableError, SparkWarehouseError
from kpi_pipeline.warehouse.spark_connection import FetchedResult, SparkConnection, _Pending


def thrift_message(err: BaseException) -> str:
    """The words of a PyHive / thrift error: the server's error message (one line, without
    Java's class names), else the error's first line."""
    response = err.args[0] if getattr(err, "args", None) else None
    status = getattr(response, "status", None)
    message = getattr(status, "errorMessage", None)
    if message:
        return spark_thrift.error_words(message)
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


@contextmanager
def thrift_errors() -> Iterator[None]:
    """PyHive's and thrift's errors as the warehouse's `SparkWarehouseError`, in the server's
    words, the error as its cause."""
    from pyhive.exc import Error as HiveError
    from thrift.Thrift import TException

    try:
        yield
    except (HiveError, TException) as err:
        raise SparkWarehouseError(thrift_message(err)) from err


def result_columns(cursor) -> list[spark_thrift.ResultColumn]:
    """The result's columns as the server describes them, with a decimal's precision and
    scale (PyHive's `description` has the type's name only): HiveServer2's
    GetResultSetMetadata for the cursor's operation."""
    from pyhive import hive
    from TCLIService import ttypes

    request = ttypes.TGetResultSetMetadataReq(cursor._operationHandle)
    response = cursor._connection.client.GetResultSetMetadata(request)
    hive._check_status(response)
    found = []
    for column in response.schema.columns:
        entry = column.typeDesc.types[0].primitiveEntry
        if entry is None:
            found.append(spark_thrift.ResultColumn(column.columnName, "STRING_TYPE"))
            continue
        qualifiers = (entry.typeQualifiers.qualifiers or {}) if entry.typeQualifiers else {}
        sizes = {key: value.i32Value for key, value in qualifiers.items()}
        found.append(
            spark_thrift.ResultColumn(
                column.columnName,
                ttypes.TTypeId._VALUES_TO_NAMES[entry.type],
                sizes.get("precision", 38),
                sizes.get("scale", 18),
            )
        )
    return found


class StatementTimedOut(SparkWarehouseError):
    """A statement ran past its time limit and was cancelled."""


def finished(cursor, timeout: float, every: float = 0.1) -> None:
    """Wait for the cursor's statement (started with `async_=True`) to end: cancel it and
    raise `StatementTimedOut` past `timeout` seconds; `SparkWarehouseError` in the server's
    words when it failed."""
    import threading
    import time

    from TCLIService.ttypes import TOperationState

    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        status = cursor.poll(get_progress_update=False)
        state = status.operationState
        if state == TOperationState.FINISHED_STATE:
            return
        if state in (TOperationState.ERROR_STATE, TOperationState.CANCELED_STATE):
            raise SparkWarehouseError(
                spark_thrift.error_words(status.errorMessage or "the statement failed")
            )
        if time.monotonic() > deadline:
            cursor.cancel()
            raise StatementTimedOut(f"the statement ran longer than {timeout:g} s")
        pause.wait(every)


class ThriftConnection(SparkConnection):
    """`SparkConnection` on a PyHive connection to a Spark Thrift Server (`session` is
    PyHive's connection); frames written through Parquet files in `staging` (None: a
    reader's, which writes nothing)."""

    def __init__(self, session, staging: Path | None) -> None:
        super().__init__(session)
        self.staging = staging
        self._staged: list[tuple[str, Path]] = []

    def _fetch(self, sql: str, args: list | None = None, timeout: float | None = None) -> pa.Table:
        """The statement's rows, fetched whole and typed; `SparkWarehouseError` in the
        server's words when it fails, `StatementTimedOut` (the statement cancelled) when it
        runs longer than `timeout` seconds."""
        text = spark_thrift.with_parameters(sql, args)
        with thrift_errors():
            cursor = self.session.cursor()
            try:
                if timeout is None:
                    cursor.execute(text)
                else:
                    cursor.execute(text, async_=True)
                    finished(cursor, timeout)
                handle = cursor._operationHandle
                if handle is None or not handle.hasResultSet:
                    return pa.table({})
                columns = result_columns(cursor)
                return spark_thrift.arrow_result(columns, cursor.fetchall())
            finally:
                cursor.close()

    def _run(self, sql: str, args: list | None) -> FetchedResult:
        return FetchedResult(self._fetch(sql, args))

    def _command(self, sql: str) -> None:
        self._fetch(sql)

    def version(self) -> str:
        (text,) = self.execute("select version()").fetchone()
        return str(text).split()[0]

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        """(name, Spark type) of `table`'s columns, in its order (`describe table`)."""
        return spark_thrift.described_columns(self.execute(f"describe table {table}").fetchall())

    def _write(self, table: str, writes: _Pending) -> None:
        with thrift_errors():
            try:
                self._write_rows(table, writes)
            finally:
                self._unstage()

    def _view(self, frame: pl.DataFrame) -> str:
        """A temporary view over `frame` written as Parquet into the staging folder."""
        self._views += 1
        name = f"_kpi_frame_{self._views}"
        folder = self.staging / f"{name}-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        self._staged.append((name, folder))
        frame.write_parquet(folder / "part.parquet")
        path = spark_thrift.sql_value(str(folder))
        self._command(
            f"create or replace temporary view {name} using parquet options (path {path})"
        )
        return name

    def _unstage(self) -> None:
        """Remove the staged files and drop their views; a view that cannot be dropped (the
        session lost after a failed write) ends with its session, and its error does not
        hide the write's."""
        staged, self._staged = self._staged, []
        for name, folder in staged:
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(SparkWarehouseError):
                self._command(f"drop view if exists {name}")

    def close(self) -> None:
        self.session.close()


# --- I/O at the edges ---------------------------------------------------------------


def thrift_session(endpoint: spark.SparkEndpoint, conf: dict[str, str], timeout: float = 10.0):
    """A PyHive connection (a session of its own) to the Thrift Server `endpoint`, its
    session settings `conf`; its user and authentication from the environment
    (`spark_thrift.thrift_auth`). Refused in words when the server does not answer or
    refuses the session; the password is never shown."""
    try:
        from pyhive import hive
    except ImportError:
        raise SparkUnavailableError(
            "KPI_WAREHOUSE=thrift://... needs the spark extra with PyHive: make install-spark "
            "(or pip install 'kpi-pipeline[spark]')"
        ) from None
    host, port = spark_thrift.thrift_address(endpoint.remote)
    if refusal := spark.connection_refusal(host, port, timeout):
        raise SparkUnavailableError(
            f"the Spark Thrift Server {endpoint.shown} (KPI_WAREHOUSE) does not answer "
            f"({refusal}): check that it runs and that this machine reaches its host and port"
        )
    who = spark_thrift.thrift_auth(os.environ)
    try:
        return hive.connect(
            host=host,
            port=port,
            username=who.user,
            auth=who.auth,
            password=who.password,
            configuration=spark_thrift.session_configuration(conf),
        )
    except Exception as err:  # PyHive's, thrift's and SASL's errors share no base class
        words = thrift_message(err)
        if who.password:
            words = words.replace(who.password, "***")
        raise SparkUnavailableError(
            f"the Spark Thrift Server {endpoint.shown} (KPI_WAREHOUSE) refused a session: "
            f"{words}; check {spark_thrift.USER_SETTING}, {spark_thrift.AUTH_SETTING} and "
            f"{spark_thrift.PASSWORD_SETTING}"
        ) from None


@contextmanager
def thrift_connection(endpoint: spark.SparkEndpoint) -> Iterator[ThriftConnection]:
    """The pipeline's connection on the Thrift Server `endpoint`, its sessions with the
    pipeline's settings (`spark.SESSION_CONF`), closed on exit."""
    connection = ThriftConnection(
        thrift_session(endpoint, spark.SESSION_CONF), Path(endpoint.staging)
    )
    try:
        yield connection
    finally:
        connection.close()
