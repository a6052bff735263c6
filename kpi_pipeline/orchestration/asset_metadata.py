"""What the Dagster UI shows about the assets beyond their code: the KPIs the published
snapshot holds, and the ingest's quality tables as its side outputs."""

from collections.abc import Mapping

from dagster import AssetKey, AssetsDefinition, AssetSpec, MetadataValue

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS, GA4_TABLE
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
QUARANTINE_KEY = AssetKey(["raw", "_quarantine"])
INGEST_LOG_KEY = AssetKey(["raw", "_ingest_log"])
QUALITY_TABLE_KEYS = frozenset({QUARANTINE_KEY, INGEST_LOG_KEY})


def ingest_keys() -> list[AssetKey]:
    """The ingest assets, `raw/<table>`, every one of which writes the quality tables."""
    return [AssetKey(["raw", e.table]) for e in CSV_EXTRACTS] + [AssetKey(["raw", GA4_TABLE])]


def quality_tables(warehouse_kind: str = "duckdb") -> list[AssetSpec]:
    """The ingest's quality records, shown in the `quality` group beside the checks: the
    quarantine (rows that could not be loaded, with the reason) and the ingest log (rows
    read = loaded + quarantined, per file). Drawn downstream of the ingest assets that write
    them, never upstream of the transform: dbt reads the ingest log (which days were loaded,
    which GA4 export is current) but the dbt assets' edges from it are dropped
    (`transform/assets.py`), since each model already follows the raw tables it reads.
    `warehouse_kind` (duckdb or postgres) is the kind the UI shows."""
    owners = ["team:data-engineering"]
    writers = ingest_keys()
    return [
        AssetSpec(
            key=QUARANTINE_KEY,
            deps=writers,
            group_name=QUALITY_GROUP,
            owners=owners,
            kinds={warehouse_kind},
            description="Rows that could not be loaded: source file, row, column and reason. "
            "Never dropped silently; fix the extract and re-deliver it.",
        ),
        AssetSpec(
            key=INGEST_LOG_KEY,
            deps=writers,
            group_name=QUALITY_GROUP,
            owners=owners,
            kinds={warehouse_kind},
            description="Per landing-zone file and day: rows read = rows loaded + rows "
            "quarantined, with the file's checksum.",
        ),
    ]
