"""Personal data never leaves the raw layer in clear: emails are keyed-hashed, names dropped."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

PII_KEY_ENV = "KPI_PII_KEY"


def pii_key(key_file: Path) -> bytes:
    """The hashing key: `KPI_PII_KEY` from the environment, else a random key kept beside the
    warehouse (created on first use, readable by its owner only)."""
    from_env = os.environ.get(PII_KEY_ENV)
    if from_env:
        return from_env.encode()
    if not key_file.exists():
        log.warning("%s is not set; generating a local key at %s", PII_KEY_ENV, key_file)
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip().encode()


def keyed_hash(value: str | None, key: bytes) -> str | None:
    """HMAC-SHA256 of a normalised identifier (trimmed, lower-case); None stays None."""
    if value is None or not value.strip():
        return None
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()
