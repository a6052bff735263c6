"""What the forkserver of parallel ingest (`orchestration/parallel_ingest.py`) loads once, so
that each step process forked from it starts with it loaded: the libraries (Great
Expectations for the raw checks too) and the definitions of the environment's deployment.

The forkserver is started by the run's process, at its first step process, with that
process's environment: `DEFINITIONS` are then the run's, and a step process takes them
instead of building them again (seconds of YAML and manifest reading on a 2-core machine).
A step process whose run's settings differ (a forkserver started for an earlier run of a
long-lived process, such as a test session) builds its own (`parallel_ingest.daily_job`).
Definitions that fail to build here are left to the step process, which then says why.
"""

from importlib import import_module

PRELOADED = (
    "great_expectations",
    "polars",
    "kpi_pipeline.ingest.assets",
    "kpi_pipeline.jobs",
    "kpi_pipeline.notify.failures",
    "kpi_pipeline.publish.assets",
    "kpi_pipeline.pull.assets",
    "kpi_pipeline.quality.checks",
    "kpi_pipeline.transform.assets",
    "kpi_pipeline.warehouse",
)
for _name in PRELOADED:
    import_module(_name)

try:
    DEFINITIONS = import_module("kpi_pipeline.definitions").defs
except Exception:  # the step process builds them again, and says why it cannot
    DEFINITIONS = None
