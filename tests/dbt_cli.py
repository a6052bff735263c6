"""dbt run by hand in tests: this environment's dbt on the project, against one warehouse
file, with its target and logs under a test folder and no window from the environment."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from kpi_pipeline.partitions import DBT_WINDOW_BOUNDS, dbt_window_env_name
from kpi_pipeline.settings import DBT_PROJECT_DIR
from kpi_pipeline.transform.project import DBT_EXECUTABLE


def run_dbt(
    args: Sequence[str], warehouse: Path, root: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    window = {dbt_window_env_name(bound) for bound in DBT_WINDOW_BOUNDS}
    inherited = {k: v for k, v in os.environ.items() if k not in window}
    return subprocess.run(
        [
            DBT_EXECUTABLE,
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(root / "dbt_target"),
            "--log-path",
            str(root / "dbt_logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env={
            **inherited,
            "KPI_WAREHOUSE": str(warehouse),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        check=False,
    )
