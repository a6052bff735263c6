"""Fresh deployments for the benchmark, with sample extracts at a scale."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kpi_pipeline.bench.ga4_format import convert_ga4_to_parquet
from kpi_pipeline.sample.generator import SampleSummary, generate_sample
from kpi_pipeline.scoped_env import scoped_environ
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse.spark import SPARK

# Variables that would point a deployment elsewhere than its data dir.
PATH_VARIABLES = ("KPI_DATA_DIR", "KPI_LANDING_DIR", "KPI_WAREHOUSE", "KPI_SNAPSHOT_DIR")
BENCH_PII_KEY = "benchmark-key-not-a-secret"
# A 10 M-event day (`--scale 670`) is one GA4 file over the 10 M-row default of
# KPI_MAX_FILE_ROWS; the benchmark's deployments take files up to this many rows.
BENCH_MAX_FILE_ROWS = "100000000"


def fresh_dir(root: Path) -> Path:
    """`root`, emptied: every measurement starts from nothing."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    return root


@contextmanager
def deployment_env(
    root: Path, landing: Path | None = None, spark_port: int | None = None
) -> Iterator[Settings]:
    """This process's environment pointed at a deployment under `root` (landing zone,
    warehouse, snapshots, Dagster home), as `kpi run` would see it; restored on exit.
    `landing`: another deployment's landing zone read instead of `root/landing` (the same
    files for two warehouses); `spark_port`: the warehouse a local Spark (`KPI_WAREHOUSE=
    spark`, its server on that port) instead of `root/warehouse.duckdb`."""
    overrides: dict[str, str | None] = {name: None for name in PATH_VARIABLES}
    overrides |= {
        "KPI_DATA_DIR": str(root),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "KPI_PII_KEY": os.environ.get("KPI_PII_KEY", BENCH_PII_KEY),
        "KPI_MAX_FILE_ROWS": os.environ.get("KPI_MAX_FILE_ROWS", BENCH_MAX_FILE_ROWS),
    }
    if landing is not None:
        overrides["KPI_LANDING_DIR"] = str(landing)
    if spark_port is not None:
        overrides |= {"KPI_WAREHOUSE": SPARK, "KPI_SPARK_PORT": str(spark_port)}
    with scoped_environ(overrides):
        yield Settings.from_env()


def write_extracts(
    landing: Path,
    first: dt.date,
    last: dt.date,
    scale: float,
    seed: int = 42,
    ga4_format: str = "ndjson",
) -> SampleSummary:
    """Sample extracts of every source for `first..last` at `scale`, GA4's export as
    `ga4_format` (the sample writes NDJSON; `parquet`: each day's converted by DuckDB)."""
    summary = generate_sample(first, last, landing, scale=scale, seed=seed)
    if ga4_format == "parquet":
        day = first
        while day <= last:
            convert_ga4_to_parquet(landing, day)
            day += dt.timedelta(days=1)
    return summary


def days_before(day: dt.date, count: int) -> tuple[dt.date, dt.date]:
    """The `count` days ending the day before `day`."""
    return day - dt.timedelta(days=count), day - dt.timedelta(days=1)
