"""The PostgreSQL warehouse through psycopg2: `?` placeholders, frames loaded with COPY.

The URL the pipeline keeps carries no password, so it is never part of a config, a log line
or a file: a connection takes it from the `KPI_WAREHOUSE` URL it was configured with
(`environment_password`), else libpq (psycopg2 here, dbt-postgres in dbt) reads `PGPASSWORD`.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit, urlunsplit

import polars as pl
import psycopg2

URL_PREFIXES = ("postgresql://", "postgres://")
# `?` placeholders outside quoted literals; psycopg2 wants `%s` and `%` doubled
_PLACEHOLDER = re.compile(r"'[^']*'|\"[^\"]*\"|\?|%")


def is_postgres_url(location: str) -> bool:
    return location.startswith(URL_PREFIXES)


def url_password(location: str) -> str | None:
    """The password a `postgresql://` URL carries, if any."""
    if not is_postgres_url(location):
        return None
    password = urlsplit(location).password
    return unquote(password) if password is not None else None


def url_without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def environment_password(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The password of `url` (a URL kept without one) when the environment's `KPI_WAREHOUSE`
    is that URL with its password; None otherwise (libpq then reads `PGPASSWORD` itself).
    Read where a connection is made: the password is never copied into the environment."""
    configured = (os.environ if environ is None else environ).get("KPI_WAREHOUSE", "")
    password = url_password(configured)
    if password is None or url_without_password(configured) != url:
        return None
    return password


def dbt_target_env(url: str) -> dict[str, str]:
    """The environment that makes dbt (profiles.yml) use this warehouse: the `postgres`
    output and its connection for a URL, the `duckdb` output for an empty one."""
    if not url:
        return {"KPI_DBT_TARGET": "duckdb"}
    parts = urlsplit(url)
    return {
        "KPI_DBT_TARGET": "postgres",
        "PGTZ": "UTC",  # libpq's session time zone: dbt's sessions run in UTC as DuckDB's
        "KPI_PG_HOST": parts.hostname or "localhost",
        "KPI_PG_PORT": str(parts.port or 5432),
        "KPI_PG_USER": unquote(parts.username or "postgres"),
        "KPI_PG_DBNAME": unquote(parts.path.lstrip("/") or "postgres"),
    }


def to_pyformat(sql: str) -> str:
    """DuckDB-style `?` placeholders as psycopg2's `%s` (and a literal `%` as `%%`)."""

    def replace(match: re.Match) -> str:
        text = match.group(0)
        return "%s" if text == "?" else text.replace("%", "%%")

    return _PLACEHOLDER.sub(replace, sql)


def column_type(duckdb_type: str) -> str:
    kind = duckdb_type.strip().upper()
    if kind.startswith(("STRUCT", "MAP")) or kind.endswith("]"):
        return "JSONB"
    return {"DOUBLE": "DOUBLE PRECISION", "FLOAT": "REAL"}.get(kind, duckdb_type)


class Result:
    """A statement's result, read like DuckDB's: `fetchall`, `fetchone`, `pl`, `df`."""

    def __init__(self, cursor) -> None:
        self._cursor = cursor

    @property
    def returns_rows(self) -> bool:
        return self._cursor.description is not None

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone() if self._cursor.description else None

    def pl(self) -> pl.DataFrame:
        if not self.returns_rows:
            return pl.DataFrame()
        names = [column.name for column in self._cursor.description]
        rows = self._cursor.fetchall()
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)

    def df(self):
        return self.pl().to_pandas()


class PostgresConnection:
    """One psycopg2 connection in autocommit mode: `begin transaction` / `commit` /
    `rollback` statements work as they do in DuckDB."""

    def __init__(self, raw) -> None:
        self.raw = raw

    def execute(self, sql: str, params: list | tuple | None = None) -> Result:
        cursor = self.raw.cursor()
        cursor.execute(to_pyformat(sql), tuple(params or ()))
        return Result(cursor)

    def query_polars(self, sql: str, params: list | None = None) -> pl.DataFrame:
        return self.execute(sql, params).pl()

    def copy_frame(self, table: str, frame: pl.DataFrame) -> None:
        """All rows of `frame` into `table` with `COPY ... FROM STDIN` (CSV written by Polars:
        null is an empty field, an empty string a quoted one, as PostgreSQL's CSV reads them)."""
        if frame.is_empty():
            return
        names = ", ".join(f'"{name}"' for name in frame.columns)
        data = io.BytesIO(frame.write_csv(include_header=False).encode())
        with self.raw.cursor() as cursor:
            cursor.copy_expert(f"copy {table} ({names}) from stdin with (format csv)", data)

    def close(self) -> None:
        self.raw.close()


@contextmanager
def connect(url: str, read_only: bool = False) -> Iterator[PostgresConnection]:
    """A session in UTC; `read_only` makes every transaction of it read-only (the server
    refuses writes). The password: the URL's, else `KPI_WAREHOUSE`'s for this URL, else
    libpq's `PGPASSWORD`."""
    options = "-c TimeZone=UTC" + (" -c default_transaction_read_only=on" if read_only else "")
    password = None if url_password(url) is not None else environment_password(url)
    secret = {"password": password} if password is not None else {}
    raw = psycopg2.connect(url, options=options, **secret)
    raw.autocommit = True
    try:
        yield PostgresConnection(raw)
    finally:
        raw.close()
