"""What of the pipeline runs on Spark so far (issue 18), said once: ingest, dbt's models,
the quality gate's checks, publication, `kpi query` and the KPI readers (`kpi show`,
`kpi pace`, `kpi explain`, `kpi quarantine`, the values of `kpi list`) do, each tested on
its own; the daily job as one Dagster run (ingest to publication, not tested end to end on
Spark yet) does not yet, so the commands and the Dagster automation that would reach it
refuse `KPI_WAREHOUSE=spark` up front instead of failing halfway
(docs/warehouses.md#spark)."""

from __future__ import annotations

from kpi_pipeline.warehouse.spark import is_spark_location

NOT_YET_ON_SPARK = "the daily job as one Dagster run"
# what does
ON_SPARK = (
    "ingest, dbt's models, the quality gate's checks, publication, kpi query and the KPI "
    "readers (kpi show / pace / explain / quarantine / list)"
)
# where the reader is sent
DOCS = "docs/warehouses.md#spark"


def not_yet_on_spark(location: str, what: str) -> str | None:
    """Why `what` (a command, the schedule) cannot run on the warehouse `location`, in one
    line, or None when the warehouse is not Spark."""
    if not is_spark_location(str(location)):
        return None
    return (
        f"{what} is not supported with KPI_WAREHOUSE=spark yet: {NOT_YET_ON_SPARK} does not run "
        f"on Spark (only {ON_SPARK} do), {DOCS}"
    )
