"""The deployment's Dagster event log (orchestration/event_log.py: Dagster's SQLite storage
with its connections kept open) records what Dagster's own records, read back through
Dagster's public API: the same events, materialized and failed partitions, asset records,
and it survives a wipe and a second instance on the same files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    asset,
    define_asset_job,
)
from dagster._core.storage.partition_status_cache import AssetPartitionStatus

from kpi_pipeline.orchestration.event_log import PooledSqliteEventLogStorage
from kpi_pipeline.scoped_env import scoped_environ
from kpi_pipeline.settings import DAGSTER_YAML

DAYS = DailyPartitionsDefinition(start_date="2025-01-01")
BAD_DAY = "2025-01-04"


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.single_run())
def upstream(context) -> None:
    if BAD_DAY in context.partition_keys:
        raise ValueError("bad day")


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.single_run(), deps=[upstream])
def downstream() -> None:
    return None


DEFS = Definitions(
    assets=[upstream, downstream], jobs=[define_asset_job("j", AssetSelection.all())]
)


def run_range(instance: DagsterInstance, first: str, last: str):
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    return DEFS.resolve_job_def("j").execute_in_process(
        tags=tags, instance=instance, raise_on_error=False
    )


def history(home: Path, pooled: bool) -> dict:
    """Two runs (days 1-3 succeed, days 4-5 fail) in a Dagster home, as Dagster reads them."""
    if pooled:
        (home / "dagster.yaml").write_text(DAGSTER_YAML)
    with scoped_environ({"DAGSTER_HOME": str(home)}), DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage) == pooled
        good = run_range(instance, "2025-01-01", "2025-01-03")
        bad = run_range(instance, "2025-01-04", "2025-01-05")
        assert good.success and not bad.success
        keys = [f"2025-01-0{d}" for d in range(1, 6)]
        return {
            "events": [
                [
                    (r.event_log_entry.dagster_event_type, r.asset_key, r.partition_key)
                    for r in instance.get_records_for_run(run.run_id, limit=10_000).records
                ]
                for run in (good, bad)
            ],
            "materialized": {
                key.to_user_string(): sorted(instance.get_materialized_partitions(key))
                for key in (AssetKey("upstream"), AssetKey("downstream"))
            },
            "status": instance.get_status_by_partition(AssetKey("upstream"), keys, DAYS),
            "latest": instance.get_latest_materialization_event(
                AssetKey("downstream")
            ).dagster_event.partition,
            "records": sorted(
                r.asset_entry.asset_key.to_user_string() for r in instance.get_asset_records()
            ),
        }


def test_pooled_event_log_records_what_dagsters_own_records(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "pooled").mkdir()
    plain = history(tmp_path / "plain", pooled=False)
    pooled = history(tmp_path / "pooled", pooled=True)
    assert pooled == plain
    assert pooled["materialized"]["upstream"] == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert pooled["status"]["2025-01-04"] == AssetPartitionStatus.FAILED
    assert pooled["status"]["2025-01-01"] == AssetPartitionStatus.MATERIALIZED
    assert pooled["latest"] == "2025-01-03"


def test_a_second_instance_reads_and_a_wipe_empties(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML)
    with scoped_environ({"DAGSTER_HOME": str(tmp_path)}), DagsterInstance.get() as writer:
        run = run_range(writer, "2025-01-01", "2025-01-02")
        # another process (the webserver) on the same files while the writer's
        # connections are open
        with DagsterInstance.get() as reader:
            assert len(reader.get_records_for_run(run.run_id).records) > 0
            assert reader.get_materialized_partitions(AssetKey("upstream")) == {
                "2025-01-01",
                "2025-01-02",
            }
        writer.wipe()
        assert writer.get_materialized_partitions(AssetKey("upstream")) == set()
        assert run_range(writer, "2025-01-02", "2025-01-02").success
        assert writer.get_materialized_partitions(AssetKey("upstream")) == {"2025-01-02"}


def test_base_dir_defaults_to_dagsters_own(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    storage = PooledSqliteEventLogStorage.from_config_value(None, {})
    assert Path(storage._base_dir) == tmp_path / "history" / "runs"
    assert os.path.exists(tmp_path / "history" / "runs" / "index.db")
    storage.dispose()
