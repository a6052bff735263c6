"""The exit codes of every `kpi` command, one meaning each (README: Exit codes)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status tells a scheduler or a shell script."""

    # the command did what it was asked (a run: its days were published, or already were)
    OK = 0
    # the quality gate blocked the run: nothing published, nothing sent (a check command:
    # what it checks is not in order, e.g. `kpi inspect` found an extract missing)
    BLOCKED = 1
    # bad input, a refused query, a failed step or any other error: nothing published
    ERROR = 2
    # the warehouse stayed busy (another run, or a reader) for longer than KPI_LOCK_TIMEOUT
    BUSY = 3
    # the snapshots were published, but sending the report to the stakeholders failed
    DELIVERY_FAILED = 4
