"""The pipeline's dbt resource skips dagster-dbt's per-run `dbt --version` and adapter."""

from __future__ import annotations

import subprocess
from importlib.metadata import version

from kpi_pipeline.transform.project import DBT_EXECUTABLE, dbt_project
from kpi_pipeline.transform.resource import KpiDbtCliResource


def test_version_is_the_installed_dbt_and_no_adapter_is_built() -> None:
    resource = KpiDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
    printed = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True)
    assert str(resource._cli_version) == version("dbt-core")
    assert f"installed: {version('dbt-core')}" in printed.stdout
    assert resource._initialize_dbt_core_adapter(["build"]) is None
