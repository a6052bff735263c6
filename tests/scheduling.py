"""How `make test` shares the modules between its two xdist workers (`-n 2 --dist loadfile
--no-loadscope-reorder`, `conftest.pytest_xdist_make_scheduler`).

By module, as xdist's `loadfile` does, in collection order (`conftest.LONGEST_FIRST`), with
one exception: the modules that start a Spark server of their own are one unit of work, so
one worker runs them one after another while the other worker runs the rest, and then
both share what is left. Two Spark servers at once on two cores (each a JVM of about
5.5 GiB that uses every core, beside dbt's threads) slowed each module to about twice its
time alone: the end-to-end module took 771-909 s in CI runs against 449-513 s alone."""

from __future__ import annotations

from xdist.scheduler import LoadFileScheduling

# the modules that start a local Spark server (or a standalone cluster, or a Thrift Server)
# (in the order they run: the longest first)
SPARK_SERVER_MODULES = (
    "tests/test_spark_pipeline.py",  # 449-513 s alone, 771-947 s beside another server
    "tests/test_spark_cluster.py",  # a standalone master and worker
    "tests/test_spark_thrift.py",  # a Spark Thrift Server
    "tests/test_spark_ingest.py",
    "tests/test_spark_query_guard.py",
)
SPARK_UNIT = "tests/test_spark_*.py (one Spark server at a time)"


def unit_of(module: str) -> str:
    """The unit of work a test module belongs to: itself, or the Spark server modules' one."""
    return SPARK_UNIT if module in SPARK_SERVER_MODULES else module


class OneSparkServerAtATime(LoadFileScheduling):
    """xdist's `loadfile` scheduling with `SPARK_SERVER_MODULES` as one unit of work."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(super()._split_scope(nodeid))
