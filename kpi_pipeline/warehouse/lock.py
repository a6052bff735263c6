"""One writer at a time, enforced by the operating system: a lock file held with `flock`.

A run holds `<data>/warehouse.lock` exclusively from its start to its end; `kpi query` and
`kpi show` hold it shared while they read. The kernel releases a lock when its holder dies,
however it dies (kill -9 included), so a crashed run never blocks the next one, and two runs
started at the same moment cannot both pass: one holds the lock, the other waits for it up
to `KPI_LOCK_TIMEOUT` seconds, saying what it waits for, then gives up as busy.

`flock` locks belong to an open file, not a process, so the lock is re-entrant here by
bookkeeping: the Dagster run inside `kpi run` takes the lock its own command already holds.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "warehouse.lock"
DEFAULT_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 0.2
_held: dict[tuple[str, int], int] = {}  # (path, mode) -> depth, for this process
_held_guard = threading.Lock()


class WarehouseBusyError(RuntimeError):
    """The warehouse stayed busy for longer than the lock timeout."""


@dataclass(frozen=True)
class Holder:
    """Who holds the writer lock: written into the lock file by the holder."""

    pid: int
    host: str
    command: str
    since: str

    def describe(self) -> str:
        return f"{self.command} (pid {self.pid} on {self.host}, since {self.since})"


def lock_path(artefacts_dir: Path) -> Path:
    """The deployment's lock file, beside the DuckDB warehouse (`Settings.lock_file`)."""
    return artefacts_dir / LOCK_FILE


def lock_timeout(environ: dict[str, str] | None = None) -> float:
    """`KPI_LOCK_TIMEOUT`: seconds to wait for the warehouse (0: do not wait)."""
    env = os.environ if environ is None else environ
    text = env.get("KPI_LOCK_TIMEOUT", str(DEFAULT_TIMEOUT_SECONDS))
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ValueError(
            f"KPI_LOCK_TIMEOUT={text!r} is not a number of seconds >= 0 (e.g. KPI_LOCK_TIMEOUT=600)"
        )
    return value


def read_holder(path: Path) -> Holder | None:
    """The writer recorded in the lock file, if any (a reader records nothing)."""
    try:
        data = json.loads(path.read_text() or "null")
        return Holder(**data) if data else None
    except (OSError, ValueError, TypeError):
        return None


def _writer(path: Path) -> str:
    holder = read_holder(path)
    return f"a run writing it: {holder.describe()}" if holder else "a run writing it"


def _writer_holds(descriptor: int) -> bool:
    """Whether a writer holds the lock open as `descriptor` (a shared lock is granted when
    only readers, or nobody, hold it; released again at once)."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(descriptor, fcntl.LOCK_UN)
    return False


def held_by_a_writer(path: Path) -> bool:
    """Whether some process holds the lock `path` as a writer (readers do not count)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        return _writer_holds(descriptor)
    finally:
        os.close(descriptor)


def _describe_blocker(path: Path, descriptor: int, exclusive: bool) -> str:
    """What holds the lock: a writer (named from the lock file) or readers."""
    if not exclusive or _writer_holds(descriptor):
        return _writer(path)
    return "readers (kpi query / kpi show) to finish"


def _acquire(
    path: Path, exclusive: bool, timeout: float, on_wait: Callable[[str], None] | None
) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    deadline = time.monotonic() + timeout
    told = False
    try:
        while True:
            try:
                fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
                return descriptor
            except BlockingIOError:
                pass
            blocker = _describe_blocker(path, descriptor, exclusive)
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    f"the warehouse is busy: waited {timeout:g} s for {blocker}"
                )
            if on_wait and not told:
                on_wait(f"waiting up to {timeout:g} s for {blocker}")
                told = True
            time.sleep(POLL_SECONDS)
    except BaseException:
        os.close(descriptor)
        raise


def _record_holder(descriptor: int, command: str) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "since": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps(holder).encode(), 0)


@contextmanager
def hold(
    path: Path,
    *,
    exclusive: bool = True,
    timeout: float | None = None,
    command: str = "a pipeline run",
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the warehouse lock `path` (exclusive for a writer, shared for a reader) for the
    block, waiting up to `timeout` seconds (default `KPI_LOCK_TIMEOUT`) and telling
    `on_wait` once what it waits for; `WarehouseBusyError` when the wait runs out.

    A reader where the deployment's folder does not exist holds nothing and creates
    nothing: there is no warehouse to read there, and no writer to wait for."""
    if not exclusive and not path.parent.is_dir():
        yield
        return
    key = (str(path.absolute()), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    with _held_guard:
        if _held.get(key) or (not exclusive and _held.get((key[0], fcntl.LOCK_EX))):
            _held[key] = _held.get(key, 0) + 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    descriptor = _acquire(path, exclusive, lock_timeout() if timeout is None else timeout, on_wait)
    with _held_guard:
        _held[key] = 1
    try:
        if exclusive:
            _record_holder(descriptor, command)
        yield
    finally:
        with _held_guard:
            _held[key] = 0
        if exclusive:
            os.ftruncate(descriptor, 0)
        os.close(descriptor)  # releases the flock


def held_by_this_process(path: Path) -> bool:
    with _held_guard:
        return bool(_held.get((str(path.absolute()), fcntl.LOCK_EX)))
