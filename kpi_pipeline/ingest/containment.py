"""What the landing zone accepts: regular files inside it, within size limits.

A local landing zone is a folder other people and tools write to. Ingest (and the
landing-zone sensor) must never read through it what is not a delivered file: a symbolic
link to `/etc/shadow` or to another team's files, a named pipe (opening it for reading
blocks until someone writes), a device (`/dev/zero` never ends), a socket. Each entry is
classified from `lstat` and `realpath`, which read no file's content and open nothing;
what is refused is reported by name and never opened. Remote filesystems (S3, GCS,
memory) have no such entries: there only a folder named like a file is refused.

The limits bound what one file can make ingest hold or write: a cell over
`KPI_MAX_FIELD_BYTES` quarantines its row, a file over `KPI_MAX_FILE_ROWS` rows is refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass

MAX_FIELD_BYTES_ENV = "KPI_MAX_FIELD_BYTES"
MAX_FILE_ROWS_ENV = "KPI_MAX_FILE_ROWS"
DEFAULT_MAX_FIELD_BYTES = 64 * 1024
DEFAULT_MAX_FILE_ROWS = 10_000_000

OUTSIDE_LINK = "a symbolic link to a path outside the landing zone"
OUTSIDE_FOLDER = "a folder that leads outside the landing zone through a symbolic link"
BROKEN_LINK = "a symbolic link to nothing (its target does not exist or cannot be resolved)"
FOLDER = "a folder"


@dataclass(frozen=True)
class IngestLimits:
    """Per-cell and per-file bounds on what one delivered file may bring in."""

    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES
    max_file_rows: int = DEFAULT_MAX_FILE_ROWS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IngestLimits:
        env = os.environ if environ is None else environ
        return cls(
            max_field_bytes=_positive(env, MAX_FIELD_BYTES_ENV, DEFAULT_MAX_FIELD_BYTES),
            max_file_rows=_positive(env, MAX_FILE_ROWS_ENV, DEFAULT_MAX_FILE_ROWS),
        )


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").replace("_", "").replace(",", "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name}={env[name]!r}: expected a whole number of at least 1")
    return value


def kind_of(mode: int) -> str | None:
    """What a (non-link) entry is, in the user's words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a device (character device)"
    if stat.S_ISBLK(mode):
        return "a device (block device)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return FOLDER
    return "not a regular file"


def inside(path: str, root: str) -> bool:
    """`path` is `root` or below it (both already resolved)."""
    return os.path.commonpath([path, root]) == root


def refusal(path: str, real_root: str) -> str | None:
    """Why the local entry `path` may not be read (None: a regular file inside the zone).

    A symbolic link is allowed when its fully resolved target is a regular file inside
    `real_root` (the resolved landing root): a team may link a file within the zone.
    """
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "gone or unreadable (it could not be examined)"
    if not stat.S_ISLNK(mode):
        return kind_of(mode)
    target = os.path.realpath(path)
    if not inside(target, real_root):
        return OUTSIDE_LINK
    try:
        target_mode = os.stat(target).st_mode
    except OSError:
        return BROKEN_LINK
    what = kind_of(target_mode)
    return f"a symbolic link to {what}" if what else None


def folder_refusal(folder: str, real_root: str) -> str | None:
    """Why a day folder may not be listed: it resolves outside the landing zone."""
    return None if inside(os.path.realpath(folder), real_root) else OUTSIDE_FOLDER
