"""A report that cannot be sent does not unpublish a day: `kpi run` says the snapshot is
published and not delivered, and exits 4 (issue 13, finding 7)."""

from __future__ import annotations

import socket

import pytest

from kpi_pipeline.exit_codes import ExitCode
from kpi_pipeline.publish.snapshot import version_folders
from tests.faults.conftest import DAY
from tests.faults.site import Site

pytestmark = pytest.mark.faults


def closed_port() -> int:
    """A loopback port nobody listens on: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_failed_delivery_exits_4_and_says_published(site: Site) -> None:
    hook = f"http://127.0.0.1:{closed_port()}/services/secret-path"

    done = site.kpi("run", "--date", str(DAY), KPI_REPORT_WEBHOOK_URL=hook)

    assert done.returncode == ExitCode.DELIVERY_FAILED == 4, done.stdout + done.stderr
    assert "published, not delivered" in done.stderr
    assert f"the snapshot of {DAY} is published (v1)" in done.stderr
    assert "not published:" not in done.stderr
    assert "secret-path" not in done.stdout + done.stderr  # a webhook's path is its secret
    assert sorted(version_folders(site.snapshots / str(DAY))) == [1]
    assert "Traceback" not in done.stderr
