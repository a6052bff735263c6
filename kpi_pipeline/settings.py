"""Where things live and how the pipeline is configured: read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
KPI_CATALOGUE_PATH = PROJECT_ROOT / "kpis.yml"
DEFAULT_DATA_DIR = Path("data")
DEFAULT_PARTITIONS_START = "2024-01-01"


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
    # Orchestration: when the daily schedule fires, how far back the landing-zone sensor
    # looks, how long a file must be left alone before it counts, ingest retry backoff.
    schedule_time: str = "06:00"
    sensor_lookback_days: int = 7
    sensor_settle_seconds: int = 60
    ingest_retry_delay_seconds: float = 10.0

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's artefacts of the latest run (run results, partial parse), beside the warehouse."""
        return self.warehouse_path.parent / "dbt_target"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data = Path(env.get("KPI_DATA_DIR", str(DEFAULT_DATA_DIR)))
        return cls(
            landing_dir=Path(env.get("KPI_LANDING_DIR", str(data / "landing"))).absolute(),
            warehouse_path=Path(
                env.get("KPI_WAREHOUSE", str(data / "warehouse.duckdb"))
            ).absolute(),
            snapshot_dir=Path(env.get("KPI_SNAPSHOT_DIR", str(data / "snapshots"))).absolute(),
            dagster_home=Path(env.get("DAGSTER_HOME", str(data / "dagster_home"))).absolute(),
            timezone=env.get("KPI_TIMEZONE", "UTC"),
            reporting_currency=env.get("KPI_REPORTING_CURRENCY", "USD"),
            partitions_start=env.get("KPI_PARTITIONS_START", DEFAULT_PARTITIONS_START),
            kpi_catalogue_path=Path(env.get("KPI_CATALOGUE", str(KPI_CATALOGUE_PATH))).absolute(),
            schedule_time=env.get("KPI_SCHEDULE_TIME", "06:00"),
            sensor_lookback_days=int(env.get("KPI_SENSOR_LOOKBACK_DAYS", "7")),
            sensor_settle_seconds=int(env.get("KPI_SENSOR_SETTLE_SECONDS", "60")),
            ingest_retry_delay_seconds=float(env.get("KPI_INGEST_RETRY_DELAY", "10")),
        )


def prepare_environment(settings: Settings) -> None:
    """Create the data folders and switch telemetry off before Dagster or dbt start.

    Sets `DAGSTER_HOME`, `KPI_WAREHOUSE` (read by the dbt profile) and the telemetry
    switches in this process's environment so every child process inherits them.
    """
    for folder in (settings.landing_dir, settings.snapshot_dir, settings.dagster_home):
        folder.mkdir(parents=True, exist_ok=True)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    os.environ["KPI_WAREHOUSE"] = str(settings.warehouse_path)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    dagster_yaml = settings.dagster_home / "dagster.yaml"
    if not dagster_yaml.exists():
        dagster_yaml.write_text(
            "telemetry:\n  enabled: false\n"
            "# One writer at a time to the DuckDB warehouse: runs queue up.\n"
            "run_coordinator:\n"
            "  module: dagster.core.run_coordinator\n"
            "  class: QueuedRunCoordinator\n"
            "  config:\n    max_concurrent_runs: 1\n"
        )
