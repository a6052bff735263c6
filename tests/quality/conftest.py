"""Fixtures of the quality tests: a local SMTP endpoint."""

from tests.publish.servers import mailbox  # noqa: F401 (fixture)
