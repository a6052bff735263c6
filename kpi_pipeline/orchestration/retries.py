"""Retries for ingest: a remote landing zone (network share, object store) has blips."""

from __future__ import annotations

import functools
from collections.abc import Callable

from dagster import Backoff, Failure, RetryPolicy

from kpi_pipeline.ingest.errors import ExtractError
from kpi_pipeline.settings import Settings

INGEST_MAX_RETRIES = 3


def ingest_retry_policy(settings: Settings) -> RetryPolicy:
    """Three more attempts after `delay`, 2x `delay`, 4x `delay` seconds (KPI_INGEST_RETRY_DELAY).

    A file that breaks its contract is not retried (`contract_errors_not_retried`): reading
    the same bytes again cannot fix it.
    """
    return RetryPolicy(
        max_retries=INGEST_MAX_RETRIES,
        delay=settings.ingest_retry_delay_seconds,
        backoff=Backoff.EXPONENTIAL,
    )


def contract_errors_not_retried(compute: Callable) -> Callable:
    """Decorates an ingest asset's body: a file that breaks its contract fails the step at
    once (`Failure(allow_retries=False)`, the contract error as its cause), other errors
    (network, storage) go to the retry policy."""

    @functools.wraps(compute)
    def wrapper(*args, **kwargs):
        try:
            return compute(*args, **kwargs)
        except ExtractError as err:
            raise Failure(description=str(err), allow_retries=False) from err

    return wrapper
