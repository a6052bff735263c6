"""Where things live and how the pipeline is configured: read once from the environment."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kpi_pipeline.deployment import Deployment, load_deployment, parse_sources
from kpi_pipeline.orchestration.parallel_ingest import VARIABLE as PARALLELISM_VARIABLE
from kpi_pipeline.orchestration.parallel_ingest import parse_parallelism
from kpi_pipeline.warehouse.duckdb_file import DEFAULT_MEMORY_LIMIT, memory_limit
from kpi_pipeline.warehouse.location import warehouse_location_problem
from kpi_pipeline.warehouse.lock import lock_path
from kpi_pipeline.warehouse.postgres import (
    dbt_target_env,
    is_postgres_url,
    url_password,
    url_without_password,
)
from kpi_pipeline.warehouse.spark import (
    SPARK,
    SparkEndpoint,
    SparkPaths,
    is_spark_warehouse,
    spark_endpoint,
    spark_location,
)
from kpi_pipeline.warehouse.spark import dbt_target_env as spark_dbt_target_env

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
KPI_CATALOGUE_PATH = PROJECT_ROOT / "kpis.yml"
DEPLOYMENT_PATH = PROJECT_ROOT / "deployment.yml"
DEFAULT_DATA_DIR = Path("data")
DEFAULT_PARTITIONS_START = "2024-01-01"
# dbt's telemetry, off in every dbt process the pipeline starts (Dagster's: DAGSTER_YAML)
DBT_TELEMETRY_OFF = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
# The Dagster instance of a new deployment (written once; an existing file is left alone).
DAGSTER_YAML = """telemetry:
  enabled: false
# One writer at a time to the DuckDB warehouse: runs queue up.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
# Dagster's SQLite event log with its connections kept open (3x fewer milliseconds an event).
event_log_storage:
  module: kpi_pipeline.orchestration.event_log
  class: PooledSqliteEventLogStorage
  config: {}
"""


@dataclass(frozen=True)
class Settings:
    """Paths and choices of one deployment; every field has an environment variable."""

    landing_dir: Path
    warehouse_path: Path
    snapshot_dir: Path
    dagster_home: Path
    timezone: str
    reporting_currency: str
    partitions_start: str
    kpi_catalogue_path: Path
    # the landing zone as ingest reads it: a local folder or any fsspec URL (s3://..., memory://...)
    landing_url: str = ""
    # late data: each run also re-processes this many days before its first day
    lookback_days: int = 3
    # Orchestration: when the daily schedule fires, how far back the landing-zone sensor
    # looks, how long a file must be left alone before it counts, ingest retry backoff.
    schedule_time: str = "06:00"
    # when the pull job fetches yesterday's changes from the pulled APIs (KPI_PULL_TIME)
    pull_time: str = "05:00"
    sensor_lookback_days: int = 7
    sensor_settle_seconds: int = 60
    ingest_retry_delay_seconds: float = 10.0
    # PostgreSQL warehouse: KPI_WAREHOUSE=postgresql://user@host:port/db (password from the
    # URL or PGPASSWORD; kept here without it). Empty for the DuckDB file `warehouse_path`,
    # which is then only the anchor of the local folders beside it (dbt_target, gx, ...).
    warehouse_url: str = ""
    # the landing-zone sources this deployment has (deployment.yml / KPI_SOURCES)
    deployment: Deployment = field(default_factory=lambda: parse_sources(None, "default"))
    # the password the `KPI_WAREHOUSE` URL carried, handed to dbt's process only (`dbt_env`);
    # never shown (repr) nor compared. None: libpq's own `PGPASSWORD`, if any, applies.
    warehouse_password: str | None = field(default=None, repr=False, compare=False)
    # DuckDB's memory_limit for the pipeline's connections and dbt's (KPI_DUCKDB_MEMORY_LIMIT)
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT
    # KPI_WAREHOUSE=spark: a local Spark server whose metastore and tables live in
    # `warehouse_path` (<data>/spark), listening on this loopback port (KPI_SPARK_PORT);
    # spark://HOST:PORT: the same server running its work on that standalone cluster;
    # sc://HOST:PORT/;params: a Spark Connect endpoint the deployment does not own
    # (`spark_endpoint`: its URL, which may carry a token, is never shown)
    spark: bool = False
    spark_port: int = 0
    spark_endpoint: SparkEndpoint | None = None
    # how many of the daily job's steps run at once, each in a process of its own
    # (KPI_INGEST_PARALLELISM; 1: one after the other in the run's process; > 1 refused on
    # DuckDB: orchestration/parallel_ingest.py)
    ingest_parallelism: int = 1

    @property
    def warehouse_backend(self) -> str:
        """`postgres`, `spark` or `duckdb`: the dbt target (profiles.yml output) too."""
        if self.spark:
            return SPARK
        return "postgres" if self.warehouse_url else "duckdb"

    @property
    def warehouse_location(self) -> str:
        """What `kpi_pipeline.warehouse.connect` opens: the URL, the DuckDB file, or
        `spark:<data>/spark` (the local Spark's folder)."""
        if self.spark:
            return spark_location(self.warehouse_path)
        return self.warehouse_url or str(self.warehouse_path)

    @property
    def spark_paths(self) -> SparkPaths:
        """The local Spark's metastore, warehouse folder and server log (Spark only)."""
        return SparkPaths(self.warehouse_path)

    @property
    def spark_remote(self) -> str | None:
        """The `sc://` endpoint the deployment does not own (token included: for dbt's
        process only), None for a server of its own."""
        endpoint = self.spark_endpoint
        return endpoint.remote if endpoint is not None and not endpoint.owned else None

    @property
    def artefacts_dir(self) -> Path:
        """The local folder beside the warehouse for the pipeline's own files: dbt's target
        and docs, GX's stores and Data Docs, failure reports, the generated PII key."""
        return self.warehouse_path.parent

    @property
    def lock_file(self) -> Path:
        """The writer lock of this deployment's warehouse (`warehouse/lock.py`)."""
        return lock_path(self.artefacts_dir)

    @property
    def pull_cursor_file(self) -> Path:
        """The pulled sources' cursors (`kpi_pipeline/pull/cursor.py`), beside the warehouse."""
        return self.artefacts_dir / "pull_cursors.json"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's artefacts of the latest run (run results, partial parse), beside the warehouse."""
        return self.artefacts_dir / "dbt_target"

    def dbt_env(self) -> dict[str, str]:
        """The environment variables a dbt process of this deployment is given (profiles.yml
        reads them): the output (`KPI_DBT_TARGET`), the DuckDB file (`KPI_WAREHOUSE`) or the
        PostgreSQL connection (`KPI_PG_*`, `PGTZ`, and `PGPASSWORD` when the URL carried the
        password), telemetry off; on Spark the `spark` output and the local server's address
        (`SPARK_REMOTE`, `warehouse/spark.py`). Passed to the dbt subprocess only: this
        process's own environment is never written."""
        target = (
            spark_dbt_target_env(self.spark_port, self.spark_remote)
            if self.spark
            else dbt_target_env(self.warehouse_url)
        )
        env = {
            **DBT_TELEMETRY_OFF,
            "KPI_WAREHOUSE": self.warehouse_location,
            "KPI_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            **target,
        }
        if self.warehouse_password is not None:  # libpq (dbt-postgres) reads it from here
            env["PGPASSWORD"] = self.warehouse_password
        return env

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data = Path(env.get("KPI_DATA_DIR", str(DEFAULT_DATA_DIR)))
        landing = env.get("KPI_LANDING_DIR", str(data / "landing"))
        local_landing = Path(data / "landing" if "://" in landing else landing).absolute()
        warehouse = env.get("KPI_WAREHOUSE", str(data / "warehouse.duckdb"))
        if problem := warehouse_location_problem(warehouse):
            raise ValueError(problem)
        postgres = is_postgres_url(warehouse)
        spark = is_spark_warehouse(warehouse)
        backend = SPARK if spark else "postgres" if postgres else "duckdb"
        anchor = data / "postgres" if postgres else data / SPARK if spark else Path(warehouse)
        endpoint = spark_endpoint(env, anchor.absolute()) if spark else None
        return cls(
            landing_dir=local_landing,
            warehouse_path=anchor.absolute(),
            snapshot_dir=Path(env.get("KPI_SNAPSHOT_DIR", str(data / "snapshots"))).absolute(),
            dagster_home=dagster_home_of(env),
            timezone=env.get("KPI_TIMEZONE", "UTC"),
            reporting_currency=env.get("KPI_REPORTING_CURRENCY", "USD"),
            partitions_start=env.get("KPI_PARTITIONS_START")
            or earliest_landing_day(landing)
            or DEFAULT_PARTITIONS_START,
            kpi_catalogue_path=Path(env.get("KPI_CATALOGUE", str(KPI_CATALOGUE_PATH))).absolute(),
            landing_url=landing if "://" in landing else str(local_landing),
            lookback_days=_non_negative_int(env.get("KPI_LOOKBACK_DAYS", "3"), "KPI_LOOKBACK_DAYS"),
            schedule_time=env.get("KPI_SCHEDULE_TIME", "06:00"),
            pull_time=env.get("KPI_PULL_TIME", "05:00"),
            sensor_lookback_days=_non_negative_int(
                env.get("KPI_SENSOR_LOOKBACK_DAYS", "7"), "KPI_SENSOR_LOOKBACK_DAYS"
            ),
            sensor_settle_seconds=_non_negative_int(
                env.get("KPI_SENSOR_SETTLE_SECONDS", "60"), "KPI_SENSOR_SETTLE_SECONDS"
            ),
            ingest_retry_delay_seconds=float(env.get("KPI_INGEST_RETRY_DELAY", "10")),
            warehouse_url=url_without_password(warehouse) if postgres else "",
            warehouse_password=url_password(warehouse),
            duckdb_memory_limit=memory_limit(env),
            spark=spark,
            spark_port=endpoint.port if endpoint is not None else 0,
            spark_endpoint=endpoint,
            ingest_parallelism=parse_parallelism(env.get(PARALLELISM_VARIABLE), backend),
            deployment=load_deployment(
                Path(env.get("KPI_DEPLOYMENT_FILE", str(DEPLOYMENT_PATH))), env
            ),
        )


def dagster_home_of(env: Mapping[str, str]) -> Path:
    """The Dagster home of the deployment `env` describes: `DAGSTER_HOME`, else
    `$KPI_DATA_DIR/dagster_home`."""
    data = Path(env.get("KPI_DATA_DIR", str(DEFAULT_DATA_DIR)))
    return Path(env.get("DAGSTER_HOME", str(data / "dagster_home"))).absolute()


_DAY_FOLDER = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


def landing_days(landing: str) -> list[dt.date]:
    """The days of the `dt=YYYY-MM-DD` folders of every source in the landing zone (a local
    folder or an fsspec URL); empty for an empty or unreachable landing zone."""
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(landing)
        folders = fs.glob(f"{root.rstrip('/')}/*/dt=*")
    except (OSError, ValueError):
        return []
    days = []
    for folder in folders:
        match = _DAY_FOLDER.match(folder.rstrip("/").rsplit("/", 1)[-1])
        if match:
            try:
                days.append(dt.date.fromisoformat(match.group(1)))
            except ValueError:
                continue  # dt=2025-13-01: not a day; ingest never reads it either
    return days


def earliest_landing_day(landing: str) -> str | None:
    """Where a deployment's history starts unless KPI_PARTITIONS_START says otherwise."""
    days = landing_days(landing)
    return min(days).isoformat() if days else None


def latest_landing_day(landing: str) -> str | None:
    days = landing_days(landing)
    return max(days).isoformat() if days else None


def _non_negative_int(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{name}={text!r} is not a whole number of days >= 0 (e.g. {name}=3)")
    return value


def prepare_deployment(settings: Settings) -> None:
    """Create the data folders and the Dagster instance's `dagster.yaml` (telemetry off, one
    run at a time, the pooled event log) before Dagster or dbt start.

    Writes nothing into this process's environment: dbt's processes get theirs from
    `Settings.dbt_env`, Dagster's instance is opened from `settings.dagster_home`.
    """
    for folder in (settings.landing_dir, settings.snapshot_dir, settings.dagster_home):
        folder.mkdir(parents=True, exist_ok=True)
    settings.artefacts_dir.mkdir(parents=True, exist_ok=True)
    dagster_yaml = settings.dagster_home / "dagster.yaml"
    if not dagster_yaml.exists():
        dagster_yaml.write_text(DAGSTER_YAML)
