"""A long backfill run logs one "materialization planned" event per asset, a short run one
per asset and day (runner.run_environment, DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS):
checked on Dagster itself, so a Dagster upgrade that drops the setting fails here."""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetSelection,
    BackfillPolicy,
    DagsterEventType,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    asset,
    define_asset_job,
)

from kpi_pipeline.runner import (
    LONG_RUN_DAYS,
    RANGE_END_TAG,
    RANGE_START_TAG,
    run_environment,
)
from kpi_pipeline.scoped_env import scoped_environ

DAYS = DailyPartitionsDefinition(start_date="2025-01-01")


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.single_run())
def daily_thing() -> None:
    return None


def planned_events(first: dt.date, last: dt.date) -> list:
    job = define_asset_job("j", AssetSelection.all())
    defs = Definitions(assets=[daily_thing], jobs=[job])
    tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
    with DagsterInstance.ephemeral() as instance:
        with scoped_environ(run_environment(first, last)):
            result = defs.resolve_job_def("j").execute_in_process(tags=tags, instance=instance)
        assert result.success
        records = instance.get_records_for_run(
            result.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ).records
        materialized = instance.get_records_for_run(
            result.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ).records
        assert len(materialized) == (last - first).days + 1  # still one per day
        return [r.event_log_entry.dagster_event.event_specific_data for r in records]


def test_a_short_run_plans_each_day_a_long_run_once() -> None:
    first = dt.date(2025, 3, 1)
    short_last = first + dt.timedelta(days=LONG_RUN_DAYS - 1)
    short = planned_events(first, short_last)
    assert len(short) == LONG_RUN_DAYS
    assert {p.partition for p in short} == {
        (first + dt.timedelta(days=n)).isoformat() for n in range(LONG_RUN_DAYS)
    }

    long_last = first + dt.timedelta(days=LONG_RUN_DAYS)
    (planned,) = planned_events(first, long_last)
    assert planned.partition is None
    assert len(planned.partitions_subset.get_partition_keys()) == LONG_RUN_DAYS + 1


def test_run_environment_is_restored() -> None:
    import os

    with scoped_environ(run_environment(dt.date(2025, 1, 1), dt.date(2025, 12, 31))):
        assert os.environ["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] == "true"
    assert "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS" not in os.environ
