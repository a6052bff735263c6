"""KPI metadata shown on the published asset in the Dagster UI: what the snapshot holds."""

from collections.abc import Mapping

from dagster import AssetsDefinition, MetadataValue

from kpi_pipeline.kpis.catalogue import Kpi


def kpi_metadata(catalogue: Mapping[str, Kpi]) -> dict[str, MetadataValue]:
    rows = "\n".join(
        f"| {k.id} | {k.name} | {k.family} | {k.unit} | {k.direction} | {k.target.value:g} "
        f"| {k.owner} |"
        for k in catalogue.values()
    )
    return {
        "kpi_count": MetadataValue.int(len(catalogue)),
        "kpis": MetadataValue.md(
            "| id | KPI | family | unit | direction | target | owner |\n"
            "|---|---|---|---|---|---|---|\n" + rows
        ),
    }


def with_kpi_metadata(asset: AssetsDefinition, catalogue: Mapping[str, Kpi]) -> AssetsDefinition:
    """The same asset, its definition metadata listing the catalogue's KPIs and targets."""
    return asset.with_attributes(metadata_by_key={asset.key: kpi_metadata(catalogue)})
