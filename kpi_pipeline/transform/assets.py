"""dbt models as Dagster assets, built for the partition window as one dbt invocation."""

import json
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    PartitionsDefinition,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from kpi_pipeline.partitions import days_in, dbt_deployment_vars, dbt_window, dbt_window_env
from kpi_pipeline.scoped_env import scoped_environ
from kpi_pipeline.settings import Settings

TRANSFORM_GROUP = "transform"


class KpiDbtTranslator(DagsterDbtTranslator):
    """dbt models land in the `transform` group; sources keep their `raw/<table>` keys."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return TRANSFORM_GROUP

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return ["team:analytics-engineering"]


def dbt_build_args(vars_: Mapping[str, str]) -> list[str]:
    """`dbt build` over the window: models, seeds and their tests in DAG order."""
    return ["build", "--vars", json.dumps(dict(vars_), sort_keys=True)]


def build_dbt_assets(
    project: DbtProject, partitions: PartitionsDefinition, settings: Settings
) -> AssetsDefinition:
    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        dagster_dbt_translator=KpiDbtTranslator(),
        name="dbt_models",
    )
    def _dbt_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        days = days_in(context.partition_keys)
        window = dbt_window(days[0], days[-1], settings.lookback_days)
        context.log.info("dbt window %s", window)
        args = dbt_build_args(dbt_deployment_vars(settings.timezone, settings.reporting_currency))
        # One fixed target folder per deployment: dbt reuses its partial parse (the window
        # is in the environment, so the parsed project stays the same from day to day), and
        # runs (one at a time, see dagster.yaml) do not pile up a folder each.
        with scoped_environ(dbt_window_env(window)):
            invocation = dbt.cli(args, context=context, target_path=settings.dbt_target_dir)
        yield from invocation.stream()

    return _dbt_models
