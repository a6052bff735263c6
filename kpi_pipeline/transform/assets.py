"""dbt models as Dagster assets, built for the partition window as one dbt invocation."""

import json
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    PartitionsDefinition,
)
from dagster_dbt import DagsterDbtTranslator, DbtProject, dbt_assets

from kpi_pipeline.faults import failpoint
from kpi_pipeline.kpis.availability import deployment_availability
from kpi_pipeline.orchestration.asset_metadata import QUALITY_TABLE_KEYS
from kpi_pipeline.partitions import (
    days_in,
    dbt_deployment_vars,
    dbt_kpis_env,
    dbt_window,
    dbt_window_env,
)
from kpi_pipeline.settings import Settings
from kpi_pipeline.transform.resource import KpiDbtCliResource
from kpi_pipeline.warehouse import WarehouseResource, wait_until_free

TRANSFORM_GROUP = "transform"


class KpiDbtTranslator(DagsterDbtTranslator):
    """dbt models land in the `transform` group; sources keep their `raw/<table>` keys; the
    ingest's quality tables are not drawn as inputs of the models (see `get_asset_spec`)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return TRANSFORM_GROUP

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return ["team:analytics-engineering"]

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        """dbt's spec, without edges from the quality tables: the models read
        `source('raw', '_ingest_log')` (the days loaded, the current GA4 export) but the log
        is a side output of the ingest assets each of those models already follows, not an
        input of the transform (`orchestration/asset_metadata.quality_tables`)."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        if not any(dep.asset_key in QUALITY_TABLE_KEYS for dep in spec.deps):
            return spec
        deps = [dep for dep in spec.deps if dep.asset_key not in QUALITY_TABLE_KEYS]
        return spec.replace_attributes(deps=deps)


def dbt_build_args(vars_: Mapping[str, str]) -> list[str]:
    """`dbt build` over the window: models, seeds and their tests in DAG order."""
    return ["build", "--vars", json.dumps(dict(vars_), sort_keys=True)]


def build_dbt_assets(
    project: DbtProject, partitions: PartitionsDefinition, settings: Settings
) -> AssetsDefinition:
    kpis = deployment_availability(settings.kpi_catalogue_path, settings.deployment).available

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        dagster_dbt_translator=KpiDbtTranslator(),
        name="dbt_models",
    )
    def _dbt_models(
        context: AssetExecutionContext, dbt: KpiDbtCliResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        days = days_in(context.partition_keys)
        window = dbt_window(days[0], days[-1], settings.lookback_days)
        context.log.info("dbt window %s", window)
        args = dbt_build_args(dbt_deployment_vars(settings.timezone, settings.reporting_currency))
        # One fixed target folder per deployment: dbt reuses its partial parse (the window
        # is in dbt's environment, so the parsed project stays the same from day to day),
        # and runs (one at a time, see dagster.yaml) do not pile up a folder each.
        # an analyst's own DuckDB session, say
        wait_until_free(warehouse.path, on_wait=context.log.warning)
        deployment_env = dbt_kpis_env(None if settings.deployment.everything else kpis)
        # the warehouse, the window and the KPIs, given to dbt's process alone
        env = settings.dbt_env() | dbt_window_env(window) | deployment_env
        invocation = dbt.cli(args, context=context, target_path=settings.dbt_target_dir, env=env)
        for event in invocation.stream():
            yield event
            failpoint("dbt")

    return _dbt_models
