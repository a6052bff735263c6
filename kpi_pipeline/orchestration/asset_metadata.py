"""KPI metadata shown on the published asset in the Dagster UI: what the snapshot holds."""

from collections.abc import Mapping

from dagster import AssetKey, AssetsDefinition, AssetSpec, MetadataValue

from kpi_pipeline.kpis.catalogue import Kpi


def kpi_metadata(catalogue: Mapping[str, Kpi]) -> dict[str, MetadataValue]:
    rows = "\n".join(
        f"| {k.id} | {k.name} | {k.family} | {k.unit} | {k.direction} | {k.target.describe()} "
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


QUALITY_GROUP = "quality"


def quality_tables(warehouse_kind: str = "duckdb") -> list[AssetSpec]:
    """The ingest's quality records, shown in the `quality` group beside the checks: the
    quarantine (rows that could not be loaded, with the reason) and the ingest log (rows
    read = loaded + quarantined, per file). Written by the ingest assets, read by dbt;
    `warehouse_kind` (duckdb or postgres) is the kind the UI shows."""
    owners = ["team:data-engineering"]
    return [
        AssetSpec(
            key=AssetKey(["raw", "_quarantine"]),
            group_name=QUALITY_GROUP,
            owners=owners,
            kinds={warehouse_kind},
            description="Rows that could not be loaded: source file, row, column and reason. "
            "Never dropped silently; fix the extract and re-deliver it.",
        ),
        AssetSpec(
            key=AssetKey(["raw", "_ingest_log"]),
            group_name=QUALITY_GROUP,
            owners=owners,
            kinds={warehouse_kind},
            description="Per landing-zone file and day: rows read = rows loaded + rows "
            "quarantined, with the file's checksum.",
        ),
    ]
