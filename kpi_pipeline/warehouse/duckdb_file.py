"""The DuckDB warehouse: one file, one writer at a time, connections opened per use."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb
import polars as pl

from kpi_pipeline.warehouse.lock import POLL_SECONDS, WarehouseBusyError, lock_timeout

log = logging.getLogger(__name__)
_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")

# What the pipeline's own DuckDB connections (ingest, checks, publish) and dbt's may hold in
# memory before DuckDB spills to disk. DuckDB's own default is 80 % of the machine, and its
# buffer pool keeps what it has read up to that: a year's backfill grew to 8.6 GiB in the GA4
# raw check alone (docs/benchmarks.md).
DEFAULT_MEMORY_LIMIT = "4GB"
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def memory_limit(environ: dict[str, str] | None = None) -> str:
    """`KPI_DUCKDB_MEMORY_LIMIT`: DuckDB's `memory_limit` for the pipeline's connections and
    dbt's (e.g. `4GB`, `512MB`); refused in words when it is not an amount of memory."""
    env = os.environ if environ is None else environ
    text = env.get("KPI_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    if not _MEMORY.match(text) or float(re.sub(r"[^\d.]", "", text)) <= 0:
        raise ValueError(
            f"KPI_DUCKDB_MEMORY_LIMIT={text!r} is not an amount of memory: give a number and "
            "a unit, e.g. KPI_DUCKDB_MEMORY_LIMIT=4GB or KPI_DUCKDB_MEMORY_LIMIT=512MB"
        )
    return text.strip()


def lock_conflict(err: duckdb.Error) -> str | None:
    """Who holds DuckDB's own file lock, from its "Could not set lock" error; None when the
    error is something else."""
    text = str(err)
    if "Could not set lock" not in text:
        return None
    match = _HOLDER.search(text)
    return f"{match.group(1)} (pid {match.group(2)})" if match else "another process"


def open_waiting(
    path: str,
    read_only: bool = False,
    on_wait: Callable[[str], None] | None = None,
    **kwargs,
) -> duckdb.DuckDBPyConnection:
    """`duckdb.connect`, waiting up to `KPI_LOCK_TIMEOUT` while another process (an analyst's
    own DuckDB session, say) holds the file, telling `on_wait` (default: the log) once what
    it waits for; `WarehouseBusyError` in plain words after that."""
    timeout = lock_timeout()
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, **kwargs)
        except duckdb.IOException as err:
            holder = lock_conflict(err)
            if holder is None:
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    f"the warehouse {path} is busy: {holder} kept it open for more than "
                    f"{timeout:g} s (KPI_LOCK_TIMEOUT)"
                ) from None
            if not told:
                (on_wait or log.warning)(
                    f"waiting up to {timeout:g} s for {holder} to close the warehouse"
                )
                told = True
            time.sleep(POLL_SECONDS)


@contextmanager
def connect(path: str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_waiting(path, read_only=read_only, config={"memory_limit": memory_limit()})
    try:
        con.execute("set TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def append_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    names = ", ".join(f'"{name}"' for name in frame.columns)
    con.register("_incoming", frame.to_arrow())
    try:
        con.execute(f"insert into {table} ({names}) select {names} from _incoming")
    finally:
        con.unregister("_incoming")
