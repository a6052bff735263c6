"""Fixtures of the publish tests: local SMTP and webhook endpoints."""

from tests.publish.servers import mailbox, webhook  # noqa: F401 (fixtures)
