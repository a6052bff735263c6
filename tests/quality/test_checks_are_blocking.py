"""Every gate check is blocking, and every raw table of the landing contract has one. (The
cross-checks are dbt tests, blocking checks of the dbt asset: see test_cross_checks.py.)"""

from __future__ import annotations

from pathlib import Path

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS, GA4_TABLE
from kpi_pipeline.partitions import daily_partitions
from kpi_pipeline.quality.checks import quality_checks
from kpi_pipeline.settings import Settings


def test_every_check_blocks_and_covers_every_raw_table(tmp_path: Path) -> None:
    settings = Settings.from_env({"KPI_DATA_DIR": str(tmp_path)})
    checks = quality_checks(daily_partitions(settings), settings, ["net_revenue"])
    specs = [spec for check in checks for spec in check.check_specs]
    assert specs and all(spec.blocking for spec in specs)
    names = {(spec.asset_key.to_user_string(), spec.name) for spec in specs}
    for table in [e.table for e in CSV_EXTRACTS] + [GA4_TABLE]:
        assert (f"raw/{table}", f"gx_raw_{table}") in names
    assert {n for a, n in names if a == "marts/fct_kpi_daily"} == {
        "gx_fct_kpi_daily",
        "anomalies_fct_kpi_daily",
        # ad spend may come from any ad export, but from at least one
        "gx_ad_spend_volume",
        # every source the deployment declares delivered a file each day
        "extracts_delivered",
    }
