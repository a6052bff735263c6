"""pyspark's client warnings about releasing an operation of a closed session are dropped,
even after Dagster's logging set-up turned pyspark's logger on; its other warnings show."""

from __future__ import annotations

import logging
import logging.config

from kpi_pipeline.warehouse.spark_client_log import CLIENT_LOGGER, quiet_closed_session_releases

RELEASE = (
    "ReleaseExecute failed with exception: <_InactiveRpcError of RPC that terminated with:\n"
    '\tstatus = StatusCode.INTERNAL\n\tdetails = "[INVALID_HANDLE.SESSION_CLOSED] The handle '
    '2d1f is invalid. Session was closed. SQLSTATE: 08003"\n>.'
)
OTHER = "Retrying the request: the server did not answer (UNAVAILABLE)"


def test_the_closed_session_releases_are_dropped_and_other_warnings_kept(caplog) -> None:
    logger = logging.getLogger(CLIENT_LOGGER)
    logger.disabled = True  # as pyspark leaves it without SPARK_CONNECT_LOG_LEVEL
    quiet_closed_session_releases()
    quiet_closed_session_releases()  # once per process, however many sessions
    # what Dagster's instance does: existing loggers are turned back on
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    assert not logger.disabled
    with caplog.at_level(logging.WARNING, logger=CLIENT_LOGGER):
        logger.warning(RELEASE)
        logger.warning(OTHER)
        logger.warning("ReleaseExecute failed with exception: UNAVAILABLE")
    said = [r.getMessage() for r in caplog.records if r.name == CLIENT_LOGGER]
    assert said == [OTHER, "ReleaseExecute failed with exception: UNAVAILABLE"]
    assert sum(type(f).__name__ == "ClosedSessionReleases" for f in logger.filters) == 1
