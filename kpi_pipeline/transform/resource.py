"""The dbt CLI resource of the pipeline: dagster-dbt's, without a `dbt --version` per run."""

from __future__ import annotations

from functools import cached_property
from importlib.metadata import version as package_version

from dagster_dbt import DbtCliResource
from packaging import version


class KpiDbtCliResource(DbtCliResource):
    """dagster-dbt asks the dbt executable for its version (`dbt --version`, a subprocess
    importing dbt: 1.5-2.5 s of CPU) once per run. Our executable is this environment's
    (`project.DBT_EXECUTABLE`), so the installed dbt-core package says the same."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(package_version("dbt-core"))
