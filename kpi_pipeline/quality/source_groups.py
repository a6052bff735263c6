"""Sources a deployment may deliver through any one of several exports: the day's ad spend
comes from the generic `spend.csv`, Google Ads, Meta Ads, or any mix of them. Each export
alone is optional; the group is not: a day needs rows in at least one of them."""

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetKey,
    PartitionsDefinition,
    asset_check,
)

from kpi_pipeline.partitions import days_in
from kpi_pipeline.quality.attribution import validate_days
from kpi_pipeline.quality.deliveries import delivered
from kpi_pipeline.quality.evidence import check_result
from kpi_pipeline.quality.suites import docs_index
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse import WarehouseResource, schema_tables


@dataclass(frozen=True)
class SourceGroup:
    name: str  # the check is `gx_<name>_volume`, its suite `expectations/<name>_volume.json`
    source: str  # the landing-zone source (deployment.yml) the tables come from
    tables: tuple[str, ...]  # raw tables, any of which may carry the day's rows
    # the asset the check gates: downstream of every table, and a direct parent of the
    # publication (a blocking check holds back only its asset's direct children)
    asset: AssetKey


AD_SPEND = SourceGroup(
    name="ad_spend",
    source="ads",
    tables=("ads_spend", "google_ads_campaigns", "meta_ads_campaigns"),
    asset=AssetKey(["marts", "fct_kpi_daily"]),
)
SOURCE_GROUPS = (AD_SPEND,)


def group_volume(counts: dict[str, dict[dt.date, int]], days: list[dt.date]) -> pd.DataFrame:
    """One row per day of the window: the day's rows summed over the group's tables, and
    which tables delivered them (for the evidence)."""
    rows = []
    for day in days:
        per_table = {t: n.get(day, 0) for t, n in counts.items()}
        rows.append(
            {
                "day": day,
                "rows": sum(per_table.values()),
                "tables": ", ".join(t for t, n in per_table.items() if n) or "none",
            }
        )
    return pd.DataFrame(rows, columns=["day", "rows", "tables"])


def rows_per_extract_day(
    con, tables: tuple[str, ...], first: dt.date, last: dt.date
) -> dict[str, dict[dt.date, int]]:
    """Rows per extract day of each of the tables that exist (a table no file ever created
    counts as empty)."""
    existing = schema_tables(con, "raw")
    counts: dict[str, dict[dt.date, int]] = {}
    for table in tables:
        if table not in existing:
            counts[table] = {}
            continue
        found = con.execute(
            f"select _extract_date, count(*) from raw.{table} "
            "where _extract_date between ? and ? group by _extract_date",
            [first, last],
        ).fetchall()
        counts[table] = {day: int(n) for day, n in found}
    return counts


def build_group_check(
    group: SourceGroup, partitions: PartitionsDefinition, settings: Settings
) -> AssetChecksDefinition:
    suite = f"{group.name}_volume"

    @asset_check(
        asset=group.asset,
        name=f"gx_{suite}",
        blocking=True,
        partitions_def=partitions,
        description=(
            f"Great Expectations suite `expectations/{suite}.json` on the rows per day across "
            f"{', '.join(f'`raw.{t}`' for t in group.tables)}: any one of these exports may "
            "carry the day, none at all is an error."
        ),
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        days = days_in(context.partition_keys)
        with warehouse.connection() as con:
            counts = rows_per_extract_day(con, group.tables, days[0], days[-1])
            # a day without a file is the delivery check's, said in plain words
            came = delivered(con, days[0], days[-1]).get(group.source, set())
        store = settings.artefacts_dir
        volume = group_volume(counts, [d for d in days if d in came])
        run = context.run.run_id  # Data Docs are rendered once per run (publish, or failure)
        outcome = validate_days(suite, volume, "day", days, store=store, run_name=run)
        return check_result([outcome], docs=docs_index(store))

    return _check


def source_group_checks(
    partitions: PartitionsDefinition, settings: Settings
) -> list[AssetChecksDefinition]:
    """The groups of a declared source (ad spend: when the deployment has `ads`)."""
    return [
        build_group_check(g, partitions, settings)
        for g in SOURCE_GROUPS
        if settings.deployment.has(g.source)
    ]
