"""The dbt CLI resource of the pipeline: dagster-dbt's, without its per-run start-up work
that this project does not use (measured in docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as package_version

from dagster_dbt import DbtCliResource
from packaging import version


class KpiDbtCliResource(DbtCliResource):
    """dagster-dbt, on every run, asks the dbt executable for its version (`dbt --version`:
    a subprocess importing dbt, 1.5-3 s of CPU) and builds an in-process dbt adapter (about
    1 s) that only its opt-in `fetch_row_counts()` / `fetch_column_metadata()` use. Our
    executable is this environment's (`project.DBT_EXECUTABLE`), so the installed dbt-core
    package gives the version; and the assets only `.stream()` dbt's events. Call
    `fetch_row_counts()` one day and it adds nothing until the adapter comes back here."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(package_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None
