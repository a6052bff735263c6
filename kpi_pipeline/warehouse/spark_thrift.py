"""A Spark Thrift Server as the warehouse (`KPI_WAREHOUSE=thrift://HOST:PORT`: Spark's
`HiveThriftServer2`, EMR's Spark Thrift Server, a cluster's), the pure part: the address, the
credentials read from the environment, the staging folder's check, the session settings as
the server takes them, `?` parameters as SQL literals and a result's columns as Arrow.

The I/O (PyHive's cursor, the staged Parquet files) is `spark_thrift_connection.py`; kept
free of PyHive imports (the `spark` extra is optional; the settings import this).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

THRIFT_SCHEME = "thrift://"
# HiveServer2's own default port
DEFAULT_PORT = 10000
# where the frames the pipeline writes are staged as Parquet for the server to read
STAGING_DIR_SETTING = "KPI_SPARK_STAGING_DIR"
# the server's user and authentication (hive.server2.authentication), from the environment
USER_SETTING = "KPI_SPARK_THRIFT_USER"
AUTH_SETTING = "KPI_SPARK_THRIFT_AUTH"
PASSWORD_SETTING = "KPI_SPARK_THRIFT_PASSWORD"
DEFAULT_USER = "kpi"
# PyHive's modes without Kerberos (GSSAPI needs a ticket and a library not installed here)
AUTH_MODES = ("NONE", "NOSASL", "LDAP", "CUSTOM")
PASSWORD_MODES = ("LDAP", "CUSTOM")
# Spark's Thrift Server ignores an OpenSession setting named plainly; it applies one named
# `set:hiveconf:<key>` to the session (measured on Spark 4.3: `spark.sql.ansi.enabled` given
# plainly stayed `true`, given with the prefix became `false`)
SESSION_PREFIX = "set:hiveconf:"

_THRIFT = re.compile(
    r"\Athrift://(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\])(?::(?P<port>\d{1,5}))?/?\Z"
)


def is_thrift(value: str) -> bool:
    """Whether a `KPI_WAREHOUSE` value names a Spark Thrift Server (well formed or not)."""
    return value.startswith(THRIFT_SCHEME)


def thrift_problem(value: str) -> str | None:
    """Why a `thrift://` `KPI_WAREHOUSE` is not a Thrift Server's address, or None."""
    match = _THRIFT.match(value)
    if match is None or not 1 <= int(match["port"] or DEFAULT_PORT) <= 65535:
        return (
            "KPI_WAREHOUSE is a thrift:// URL that is not a Spark Thrift Server's address: "
            f"give thrift://HOST:PORT (e.g. thrift://spark-thrift.internal:{DEFAULT_PORT}), "
            "nothing after the port; its user and password go in "
            f"{USER_SETTING} / {PASSWORD_SETTING}, never in the URL"
        )
    return None


def thrift_address(value: str) -> tuple[str, int]:
    """The host and port of a well-formed `thrift://` address (10000 when it names none)."""
    match = _THRIFT.match(value)
    if match is None:
        raise ValueError("not a Spark Thrift Server address")
    return match["host"].strip("[]"), int(match["port"] or DEFAULT_PORT)


def shown_thrift(value: str) -> str:
    """The address as messages show it: `thrift://HOST:PORT`."""
    host, port = thrift_address(value)
    return f"thrift://{host}:{port}"


@dataclass(frozen=True)
class ThriftAuth:
    """Who the pipeline is on the Thrift Server (PyHive's `username`, `auth`, `password`)."""

    user: str
    auth: str
    password: str | None = field(default=None, repr=False, compare=False)


def thrift_auth(environ: Mapping[str, str]) -> ThriftAuth:
    """The user (`KPI_SPARK_THRIFT_USER`, default `kpi`), the authentication
    (`KPI_SPARK_THRIFT_AUTH`: NONE, NOSASL, LDAP or CUSTOM, the server's
    `hive.server2.authentication`) and, for LDAP / CUSTOM only, the password
    (`KPI_SPARK_THRIFT_PASSWORD`); a ValueError in words otherwise (never the password)."""
    auth = environ.get(AUTH_SETTING, "NONE").strip().upper() or "NONE"
    if auth not in AUTH_MODES:
        raise ValueError(
            f"{AUTH_SETTING}={auth!r} is not an authentication this pipeline can use on a "
            f"Spark Thrift Server: give one of {', '.join(AUTH_MODES)} (the server's "
            "hive.server2.authentication); Kerberos is not supported"
        )
    password = environ.get(PASSWORD_SETTING) or None
    if (password is not None) != (auth in PASSWORD_MODES):
        raise ValueError(
            f"{PASSWORD_SETTING} is {'set' if password else 'not set'} but "
            f"{AUTH_SETTING} is {auth}: a password goes with LDAP or CUSTOM only; set both "
            "or neither"
        )
    return ThriftAuth(environ.get(USER_SETTING) or DEFAULT_USER, auth, password)


def staging_dir(setting: str, spark_dir: Path) -> Path:
    """`KPI_SPARK_STAGING_DIR`: where the frames the pipeline writes are staged as Parquet,
    a folder this process writes and the Thrift Server reads at the same path (a local path
    or a `file://` URL; default `<spark_dir>/staging`); a ValueError in words otherwise."""
    if not setting:
        return spark_dir / "staging"
    if setting.startswith("file://"):
        setting = setting.removeprefix("file://")
        if not setting.startswith("/"):
            raise ValueError(
                f"{STAGING_DIR_SETTING} is a file:// URL without an absolute path: give "
                "file:///path/to/folder or a plain path"
            )
    elif "://" in setting:
        raise ValueError(
            f"{STAGING_DIR_SETTING} is a {setting.split('://', 1)[0]}:// URL: give a local "
            "folder (a path or file:///path) that this machine writes and the Spark Thrift "
            "Server reads at the same path (a shared mount on a cluster)"
        )
    return Path(setting).absolute()


def session_configuration(conf: Mapping[str, str]) -> dict[str, str]:
    """Session settings as OpenSession hands them to a Spark Thrift Server (`SESSION_PREFIX`)."""
    return {f"{SESSION_PREFIX}{key}": value for key, value in conf.items()}


def sql_value(value: object) -> str:
    """A `?` parameter's value as Spark SQL literal text: null, a boolean, a whole or decimal
    number, a finite double, text, a date or a timestamp (an aware one in UTC)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"not a finite number: {value!r}")
        return f"{value!r}d"
    if isinstance(value, Decimal):
        return f"{value}bd"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return f"timestamp'{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"date'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise TypeError(f"not a parameter value: {type(value).__name__}")


# what `?` may hide in: quoted text and names, comments
_SKIPPED = re.compile(
    r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|`[^`]*`|--[^\n]*|/\*.*?\*/|\?", re.DOTALL
)


def with_parameters(sql: str, params: Sequence[object] | None) -> str:
    """`sql` with each `?` placeholder (outside text, names and comments) replaced by its
    parameter as a literal (`sql_value`): the Thrift protocol has no parameters."""
    values = list(params or [])
    position = 0

    def replace(match: re.Match) -> str:
        nonlocal position
        if match.group(0) != "?":
            return match.group(0)
        if position >= len(values):
            raise ValueError(f"the statement has more ? placeholders than {len(values)} values")
        position += 1
        return sql_value(values[position - 1])

    rendered = _SKIPPED.sub(replace, sql)
    if position != len(values):
        raise ValueError(f"the statement has {position} ? placeholders for {len(values)} values")
    return rendered


@dataclass(frozen=True)
class ResultColumn:
    """A result column as the Thrift Server describes it: its name, its type's id
    (`DECIMAL_TYPE`, ...) and a decimal's precision and scale."""

    name: str
    type_id: str
    precision: int = 38
    scale: int = 18


_SIMPLE = {
    "BOOLEAN_TYPE": pa.bool_(),
    "TINYINT_TYPE": pa.int8(),
    "SMALLINT_TYPE": pa.int16(),
    "INT_TYPE": pa.int32(),
    "BIGINT_TYPE": pa.int64(),
    "FLOAT_TYPE": pa.float32(),
    "DOUBLE_TYPE": pa.float64(),
    "BINARY_TYPE": pa.binary(),
    "NULL_TYPE": pa.null(),
}


def arrow_type(column: ResultColumn) -> pa.DataType:
    """The Arrow type a Spark Connect result gives the column (timestamps in UTC, the
    pipeline's session zone); nested values (arrays, maps, structs), which the Thrift
    Server sends as JSON text, stay text."""
    if column.type_id in _SIMPLE:
        return _SIMPLE[column.type_id]
    if column.type_id == "DECIMAL_TYPE":
        return pa.decimal128(column.precision, column.scale)
    if column.type_id == "DATE_TYPE":
        return pa.date32()
    if column.type_id.startswith("TIMESTAMP"):
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def _value(value: object, kind: pa.DataType) -> object:
    if value is None:
        return None
    if pa.types.is_date32(kind) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if pa.types.is_timestamp(kind) and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def arrow_result(columns: Sequence[ResultColumn], rows: Sequence[Sequence[object]]) -> pa.Table:
    """The rows a PyHive cursor fetched (dates and some timestamps as text, decimals as
    `Decimal`, timestamps naive in the session's zone, UTC) as the Arrow table of their
    columns' types; duplicate names kept."""
    types = [arrow_type(c) for c in columns]
    arrays = [
        pa.array([_value(row[i], kind) for row in rows], type=kind) for i, kind in enumerate(types)
    ]
    schema = pa.schema([pa.field(c.name, kind) for c, kind in zip(columns, types, strict=True)])
    return pa.Table.from_arrays(arrays, schema=schema)


def described_columns(rows: Sequence[Sequence[object]]) -> list[tuple[str, str]]:
    """A table's (name, Spark type) from `describe table`'s rows: those before the first
    blank or `#` line (the partition columns are among them, in the table's order)."""
    found: list[tuple[str, str]] = []
    for name, kind, *_ in rows:
        if not name or str(name).startswith("#"):
            break
        found.append((str(name), str(kind)))
    return found


def error_words(message: str) -> str:
    """One line of a Thrift Server's error message: Spark's own words without the Java
    class names and prefixes it is wrapped in, however deep (`org.apache.hive.service.cli.
    HiveSQLException: Error running query: [TABLE_OR_VIEW_NOT_FOUND]
    org.apache.spark.sql.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table ...`, as a
    statement's status gives it)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    text = lines[0] if lines else "the Spark Thrift Server refused the statement"
    while True:
        unwrapped = _unwrapped(text.removeprefix("Error running query: "))
        if unwrapped == text:
            return text
        text = unwrapped


def _unwrapped(text: str) -> str:
    wrapped = _WRAPPED.match(text)
    if wrapped is None:
        return text
    code, words = wrapped["code"] or "", wrapped["words"]
    return words if words.startswith(code.strip()) else code + words


# `[CODE] org.apache.spark.sql.AnalysisException: words` (the code may be absent or repeated)
_WRAPPED = re.compile(
    r"\A(?P<code>\[[A-Z_.]+\] )?(?:[a-z]+\.)+[A-Za-z]*(?:Exception|Error): (?P<words>.*)\Z"
)
