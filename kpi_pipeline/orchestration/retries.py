"""Retries for ingest: a remote landing zone (network share, object store) has blips."""

from __future__ import annotations

from dagster import Backoff, RetryPolicy

from kpi_pipeline.settings import Settings

INGEST_MAX_RETRIES = 3


def ingest_retry_policy(settings: Settings) -> RetryPolicy:
    """Three more attempts after `delay`, 2x `delay`, 4x `delay` seconds (KPI_INGEST_RETRY_DELAY).

    A file that breaks its contract is not retried: the ingest errors are `Failure`s with
    `allow_retries=False`, since reading the same bytes again cannot fix them.
    """
    return RetryPolicy(
        max_retries=INGEST_MAX_RETRIES,
        delay=settings.ingest_retry_delay_seconds,
        backoff=Backoff.EXPONENTIAL,
    )
