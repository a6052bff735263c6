"""How long and how large a `kpi query` may get: a time limit that interrupts the running
query, and a memory limit for the engine and for the result fetched into this process."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kpi_pipeline.orchestration.query_guard import QueryError

DEFAULT_TIMEOUT_SECONDS = 60.0
MAX_TIMEOUT_SECONDS = 86_400.0  # a day: within PostgreSQL's statement_timeout and a timer's
DEFAULT_MEMORY_LIMIT = "1GB"
# DuckDB's units: KB..TB are powers of 1000, KiB..TiB powers of 1024
_UNITS = {"": 1, "b": 1}
_UNITS.update({u.lower(): 1000 ** (i + 1) for i, u in enumerate(("KB", "MB", "GB", "TB"))})
_UNITS.update({u.lower(): 1024 ** (i + 1) for i, u in enumerate(("KiB", "MiB", "GiB", "TiB"))})
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


@dataclass(frozen=True)
class QueryLimits:
    """The limits of one query; a QueryError on construction names a bad value."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_limit: str = DEFAULT_MEMORY_LIMIT

    def __post_init__(self) -> None:
        if not 0 < self.timeout_seconds <= MAX_TIMEOUT_SECONDS:
            raise QueryError(
                f"--timeout {self.timeout_seconds:g} is not a number of seconds above 0 and "
                f"up to {MAX_TIMEOUT_SECONDS:g}",
                "use e.g. --timeout 60",
            )
        memory_bytes(self.memory_limit)

    @property
    def memory_bytes(self) -> int:
        return memory_bytes(self.memory_limit)

    @property
    def timeout_text(self) -> str:
        return f"{self.timeout_seconds:g} s"


def memory_bytes(text: str) -> int:
    """`1GB`, `500MB`, `2GiB` as a number of bytes (DuckDB's units); a QueryError if not."""
    match = _SIZE.match(text.lower())
    unit = _UNITS.get(match.group(2)) if match else None
    size = int(float(match.group(1)) * unit) if match and unit else 0
    if size <= 0:
        raise QueryError(
            f"--memory-limit '{text}' is not a size",
            "use a number and a unit, e.g. --memory-limit 1GB or 500MB",
        )
    return size


def timeout_error(limits: QueryLimits) -> QueryError:
    return QueryError(
        f"the query ran longer than {limits.timeout_text} and was stopped",
        "add a filter or raise --timeout",
    )


def memory_error(limits: QueryLimits) -> QueryError:
    return QueryError(
        f"the query needed more memory than its limit ({limits.memory_limit}) and was stopped",
        "add a filter or an aggregate, or raise --memory-limit",
    )


def result_too_large_error(limits: QueryLimits) -> QueryError:
    return QueryError(
        f"the result is larger than the memory limit ({limits.memory_limit}) and was stopped",
        "add a filter, a limit or an aggregate, or raise --memory-limit",
    )


@contextmanager
def stop_after(
    seconds: float, stop: Callable[[], None], again_every: float | None = None
) -> Iterator[threading.Event]:
    """Call `stop` (DuckDB's interrupt, libpq's cancel, Spark Connect's interrupt of the
    session's operations) from a watcher thread once `seconds` have passed, and with
    `again_every` again at that interval until the block ends: Spark Connect's interrupt
    stops only the operations already running, so one that comes while the statement is
    not yet registered is lost (seen: a 2 s limit missed, the query finished). The yielded
    event says whether it fired, so that the error the interrupted query raises can be told
    apart from others. No engine has a wall-clock limit that covers a whole query and its
    fetching, so the client keeps one."""
    fired = threading.Event()
    done = threading.Event()

    def watch() -> None:
        if done.wait(seconds):
            return
        fired.set()
        stop()
        while again_every is not None and not done.wait(again_every):
            stop()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield fired
    finally:
        done.set()
        watcher.join()  # `stop` never runs on a connection about to be closed


def within_size(chunks: Iterable, size: Callable[[object], int], limit: int) -> list:
    """The chunks of a result while their total `size` stays within `limit` bytes; a
    ResultTooLarge as soon as it would not (the engines' memory limits do not count the
    rows handed over to this process)."""
    kept, total = [], 0
    for chunk in chunks:
        total += size(chunk)
        if total > limit:
            raise ResultTooLarge(total)
        kept.append(chunk)
    return kept


class ResultTooLarge(Exception):
    """The fetched rows outgrew the memory limit."""


def rows_size(rows: list[tuple]) -> int:
    """About the bytes a list of Python rows takes."""
    return sum(sys.getsizeof(row) + sum(sys.getsizeof(v) for v in row) for row in rows)
