"""pyspark's Spark Connect client log, without its harmless `ReleaseExecute` warnings.

pyspark keeps its client logger (`pyspark.sql.connect.logging`) off unless
`SPARK_CONNECT_LOG_LEVEL` is set, but Dagster's logging set-up (`dictConfig` with
`disable_existing_loggers=False`) turns every existing logger back on, so a run on Spark
printed pyspark's warnings in JSON: about one line in ten of `kpi bench --warehouse spark`
(158 of 1,481), nearly all of them "ReleaseExecute failed ... INVALID_HANDLE.SESSION_CLOSED":
the client releasing, in the background, an operation whose session it has already closed
(the server logs the same, docs/warehouses.md#the-servers-log). Those are dropped; any
other warning of the client still shows."""

from __future__ import annotations

import logging

CLIENT_LOGGER = "pyspark.sql.connect.logging"


class ClosedSessionReleases(logging.Filter):
    """Drops the client's "ReleaseExecute failed" records about a closed session."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("ReleaseExecute failed")
            and "INVALID_HANDLE.SESSION_CLOSED" in message
        )


def quiet_closed_session_releases() -> None:
    """Add the filter to pyspark's client logger, once per process."""
    logger = logging.getLogger(CLIENT_LOGGER)
    if not any(isinstance(f, ClosedSessionReleases) for f in logger.filters):
        logger.addFilter(ClosedSessionReleases())
