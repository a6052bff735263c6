"""The dbt project as dagster-dbt sees it (this file defines only the `DbtProject`)."""

import sys
from pathlib import Path

from dagster_dbt import DbtProject

from kpi_pipeline.settings import DBT_PROJECT_DIR

# dbt of the same environment as this interpreter, whether or not it is on PATH, started
# through `kpi-dbt` so that it dies with the process that started it (dbt_child.py).
DBT_EXECUTABLE = str(Path(sys.executable).parent / "kpi-dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
