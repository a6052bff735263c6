"""The daily partition every stage is keyed on: one calendar day in the reporting timezone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from dagster import DailyPartitionsDefinition

from kpi_pipeline.settings import Settings


def daily_partitions(settings: Settings) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(
        start_date=settings.partitions_start, timezone=settings.timezone, end_offset=0
    )


def partition_range(settings: Settings) -> tuple[dt.date, dt.date]:
    """The first and last day that can be built: from the history's start to the last
    complete day in the reporting timezone."""
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    return dt.date.fromisoformat(settings.partitions_start), today - dt.timedelta(days=1)


def days_in(partition_keys: list[str] | tuple[str, ...]) -> list[dt.date]:
    """The partition keys of a run (one day, or a backfill range) as dates, in order."""
    return sorted(dt.date.fromisoformat(key) for key in partition_keys)


# The window's bounds reach dbt as environment variables, read when a model runs (see the
# `window_bound` macro), not as `--vars`: any change of `--vars` makes dbt parse the whole
# project again, and the window changes every day.
DBT_WINDOW_BOUNDS = ("min_date", "first_partition", "max_date")


def dbt_window_env_name(bound: str) -> str:
    """The variable the `window_bound` macro reads a bound from: KPI_DBT_<BOUND>."""
    return f"KPI_DBT_{bound.upper()}"


def dbt_window(first_day: dt.date, last_day: dt.date, lookback_days: int = 0) -> dict[str, str]:
    """The dbt window of a run over [first_day, last_day]: max_date is exclusive; the window
    starts `lookback_days` earlier so late data restates the recent days' facts, but only
    days already loaded are restated (`first_partition`: see the `date_spine` macro)."""
    return {
        "min_date": (first_day - dt.timedelta(days=lookback_days)).isoformat(),
        "first_partition": first_day.isoformat(),
        "max_date": (last_day + dt.timedelta(days=1)).isoformat(),
    }


def dbt_window_env(window: dict[str, str]) -> dict[str, str]:
    """The window as the environment variables the `window_bound` macro reads."""
    return {dbt_window_env_name(bound): value for bound, value in window.items()}


def dbt_kpis_env(available: tuple[str, ...] | None) -> dict[str, str | None]:
    """The KPIs the models compute (`deployed_kpis` macro); None: every KPI."""
    return {"KPI_DBT_KPIS": ",".join(available) if available is not None else None}


def dbt_deployment_vars(timezone: str, currency: str) -> dict[str, Any]:
    """The dbt vars that stay the same from run to run of a deployment: the reporting
    timezone and currency, and `cross_checks`, the severities and tolerance of the
    cross-checks (quality.yml), which the dbt tests under dbt_project/tests/ read."""
    from kpi_pipeline.quality import config  # (the gate's configuration imports pandas)

    return {
        "timezone": timezone,
        "reporting_currency": currency,
        **config.load_quality_config().dbt_vars(),
    }
