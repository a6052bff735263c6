"""`kpi-dbt`: dbt as a child process that dies with its parent.

dagster-dbt starts `dbt build` as a subprocess. When the run's process is killed (kill -9,
the out-of-memory killer), nothing would stop that dbt: it would go on writing the
warehouse and hold DuckDB's file lock against the rerun. This launcher asks Linux to send
dbt SIGKILL when its parent dies (`prctl(PR_SET_PDEATHSIG)`, kept across `exec`), then
becomes the environment's `dbt`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PARENT_ENV = "KPI_DBT_PARENT_PID"
PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int) -> None:
    """SIGKILL this process when its parent dies; exit now if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if expected_parent and os.getppid() != expected_parent:
        os._exit(137)  # the parent died before the request: as if it had been delivered


def main() -> None:
    if sys.platform.startswith("linux"):
        die_with_parent(int(os.environ.get(PARENT_ENV) or 0))
    dbt = str(Path(sys.executable).parent / "dbt")
    os.execv(dbt, [dbt, *sys.argv[1:]])


if __name__ == "__main__":
    main()
