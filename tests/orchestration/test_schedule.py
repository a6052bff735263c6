"""The daily schedule: yesterday's partition, at KPI_SCHEDULE_TIME in KPI_TIMEZONE."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dagster import (
    Definitions,
    MaterializeResult,
    asset,
    build_schedule_context,
    validate_run_config,
)

from kpi_pipeline.jobs import (
    DAILY_JOB,
    DAILY_SCHEDULE,
    ScheduleTimeError,
    daily_kpi_job,
    daily_kpi_schedule,
    parse_schedule_time,
)
from kpi_pipeline.partitions import daily_partitions
from kpi_pipeline.settings import Settings


def definitions_for(timezone: str, schedule_time: str) -> Definitions:
    """The project's job and schedule over one asset on the project's daily partitions."""
    settings = Settings.from_env({"KPI_TIMEZONE": timezone, "KPI_SCHEDULE_TIME": schedule_time})

    @asset(partitions_def=daily_partitions(settings))
    def a_day() -> MaterializeResult:
        return MaterializeResult()

    job = daily_kpi_job()
    return Definitions(
        assets=[a_day], jobs=[job], schedules=[daily_kpi_schedule(job, settings.schedule_time)]
    )


def requested_partition(defs: Definitions, at: dt.datetime) -> str:
    schedule = defs.resolve_schedule_def(DAILY_SCHEDULE)
    result = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=at))
    [request] = result.run_requests
    assert validate_run_config(defs.resolve_job_def(DAILY_JOB), request.run_config)
    return request.partition_key


def test_utc_default_builds_yesterday_at_six() -> None:
    defs = definitions_for("UTC", "06:00")
    schedule = defs.resolve_schedule_def(DAILY_SCHEDULE)
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "UTC"
    at = dt.datetime(2025, 3, 10, 6, 0, tzinfo=dt.UTC)
    assert requested_partition(defs, at) == "2025-03-09"


def test_configured_time_and_a_timezone_ahead_of_utc() -> None:
    """06:30 in Tokyo on 10 March is 21:30 UTC on 9 March: Tokyo's yesterday is the 9th,
    while a UTC-based schedule would have asked for the 8th."""
    defs = definitions_for("Asia/Tokyo", "06:30")
    schedule = defs.resolve_schedule_def(DAILY_SCHEDULE)
    assert schedule.cron_schedule == "30 6 * * *"
    assert schedule.execution_timezone == "Asia/Tokyo"
    at = dt.datetime(2025, 3, 10, 6, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert at.astimezone(dt.UTC).date() == dt.date(2025, 3, 9)
    assert requested_partition(defs, at) == "2025-03-09"


def test_a_timezone_behind_utc_across_a_dst_change() -> None:
    """Los Angeles switched to summer time on 9 March 2025 (a 23-hour day). 23:15 local on
    the 10th is already the 11th in UTC, where yesterday would be the 10th; in Los Angeles
    yesterday is the 9th."""
    defs = definitions_for("America/Los_Angeles", "23:15")
    at = dt.datetime(2025, 3, 10, 23, 15, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert at.astimezone(dt.UTC).date() == dt.date(2025, 3, 11)
    assert requested_partition(defs, at) == "2025-03-09"


@pytest.mark.parametrize("text", ["6", "24:00", "06:60", "six", ""])
def test_a_bad_schedule_time_names_the_setting(text: str) -> None:
    with pytest.raises(ScheduleTimeError, match=r"KPI_SCHEDULE_TIME .* use HH:MM"):
        parse_schedule_time(text)


def test_schedule_time_parses_hours_and_minutes() -> None:
    assert parse_schedule_time("06:00") == (6, 0)
    assert parse_schedule_time("7:05") == (7, 5)
    assert parse_schedule_time("23:59") == (23, 59)
