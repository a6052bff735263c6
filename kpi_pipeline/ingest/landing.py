"""Find the files of one source and extract day in the landing zone (Hive-style folders).

The landing zone is a local folder or any fsspec URL (`s3://bucket/landing`,
`memory://landing` in tests): listing and reading go through fsspec.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import fsspec
from fsspec import AbstractFileSystem


@dataclass(frozen=True)
class LandingFile:
    """One delivered file: its filesystem and its path there."""

    fs: AbstractFileSystem
    path: str

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def is_local(self) -> bool:
        return "file" in _protocols(self.fs)

    @property
    def url(self) -> str:
        """The path for a local file, else `<protocol>://<path>` (as DuckDB reads it)."""
        return self.path if self.is_local else f"{_protocols(self.fs)[0]}://{self.path}"

    def read_bytes(self) -> bytes:
        return self.fs.cat_file(self.path)

    def checksum(self) -> str:
        """SHA-256 of the stored bytes, read in blocks (GA4 files can be gigabytes)."""
        digest = hashlib.sha256()
        with self.fs.open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def __str__(self) -> str:
        return self.url


def _protocols(fs: AbstractFileSystem) -> tuple[str, ...]:
    return (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)


def landing_fs(landing: str | Path) -> tuple[AbstractFileSystem, str]:
    """The filesystem of the landing zone and its root path there."""
    return fsspec.core.url_to_fs(str(landing))


def extract_files(
    landing: str | Path, source: str, day: dt.date, pattern: str | tuple[str, ...]
) -> list[LandingFile]:
    """The day's files matching `pattern`(s), sorted; empty when the extract has not arrived."""
    fs, root = landing_fs(landing)
    folder = f"{root.rstrip('/')}/{source}/dt={day.isoformat()}"
    if not fs.isdir(folder):
        return []
    patterns = (pattern,) if isinstance(pattern, str) else pattern
    found = {path for p in patterns for path in fs.glob(f"{folder}/{p}")}
    return [LandingFile(fs, path) for path in sorted(found)]


def readable_by_duckdb(con: duckdb.DuckDBPyConnection, file: LandingFile) -> str:
    """The name DuckDB reads `file` by; a non-local filesystem is registered with it once."""
    if not file.is_local and not con.filesystem_is_registered(_protocols(file.fs)[0]):
        con.register_filesystem(file.fs)
    return file.url


def content_checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
