"""The dbt CLI resource of the pipeline: dagster-dbt's, given dbt's environment explicitly
and without its per-run start-up work that this project does not use (measured in
docs/benchmarks.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from dagster_dbt import DbtCliInvocation

from kpi_pipeline.orchestration.dagster_private import DbtCliResourceWithoutStartupWork
from kpi_pipeline.scoped_env import scoped_environ
from kpi_pipeline.transform.dbt_child import PARENT_ENV


class KpiDbtCliResource(DbtCliResourceWithoutStartupWork):
    """dagster-dbt's `DbtCliResource` that skips the `dbt --version` subprocess and the
    in-process dbt adapter of every invocation (`orchestration/dagster_private.py`), and
    whose `cli` takes the environment variables of the dbt process."""

    def cli(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str | None] | None = None,
        **kwargs: Any,
    ) -> DbtCliInvocation:
        """`DbtCliResource.cli`, the dbt process given `env` on top of this process's
        environment (None: unset for dbt) and this process's id (`kpi-dbt` dies with it).

        dagster-dbt 0.29 builds the subprocess's environment from `os.environ` and takes no
        environment of its own, so `env` is in `os.environ` only while `DbtCliResource.cli`
        starts dbt (steps run one at a time in a run's process), and `os.environ` is as it
        was again before `cli` returns: nothing of it stays in this process."""
        overrides = {**(env or {}), PARENT_ENV: str(os.getpid())}
        with scoped_environ(overrides):
            return super().cli(args, **kwargs)
