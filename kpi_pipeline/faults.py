"""Named fail points for the fault-injection tests (tests/faults/).

`KPI_FAILPOINTS=dbt` (a comma-separated list of names) makes the process kill itself with
SIGKILL when it reaches the fail point of that name: the crash happens exactly where the
test wants it, as `kill -9` from outside would leave it. Unset, a fail point is one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "KPI_FAILPOINTS"
# where a run can be killed: the stage each name stands for
POINTS = {
    "ingest": "ingest, inside a source's transaction, rows written, not committed",
    "raw_checks": "raw checks, between two Great Expectations suites of a raw table",
    "dbt": "transform, while `dbt build` runs (after its first node finished)",
    "mart_checks": "mart checks, between the two suites of fct_kpi_daily",
    "publish_staged": "publish, the version written aside, not yet renamed into place",
    "publish_promoted": "publish, the version renamed into place, `latest` not yet moved",
}


def failpoint(name: str) -> None:
    """Die here, at once and without cleanup, if `KPI_FAILPOINTS` names this point."""
    points = os.environ.get(ENV)
    if points and name in points.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
