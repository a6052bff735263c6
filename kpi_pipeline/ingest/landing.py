"""Find the files of one source and extract day in the landing zone (Hive-style folders).

The landing zone is a local folder or any fsspec URL (`s3://bucket/landing`,
`memory://landing` in tests): listing and reading go through fsspec.

Only regular files inside the landing zone are read (`containment.py`). Every entry is
classified when it is found, before anything opens it; an entry that is refused is
still returned, marked, so that whatever would read it raises `LandingFileRefusedError`
naming it instead of opening it (and a freshness check still sees that something came).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import fsspec
from fsspec import AbstractFileSystem

from kpi_pipeline.ingest.containment import FOLDER, folder_refusal, refusal
from kpi_pipeline.ingest.errors import LandingFileRefusedError


@dataclass(frozen=True)
class LandingFile:
    """One delivered file: its filesystem and its path there; `refused` says what it is
    when it may not be read (a FIFO, a link out of the zone...), `relative` is its path
    inside the landing zone."""

    fs: AbstractFileSystem
    path: str
    refused: str | None = None
    relative: str = ""

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def is_local(self) -> bool:
        return is_local(self.fs)

    @property
    def url(self) -> str:
        """The path for a local file, else `<protocol>://<path>` (as DuckDB reads it)."""
        return self.path if self.is_local else f"{_protocols(self.fs)[0]}://{self.path}"

    def accept(self) -> LandingFile:
        """The file itself when it may be read; raises, without opening it, otherwise."""
        if self.refused:
            raise LandingFileRefusedError(self.relative or self.path, self.refused)
        return self

    def read_bytes(self) -> bytes:
        return self.fs.cat_file(self.accept().path)

    def checksum(self) -> str:
        """SHA-256 of the stored bytes, read in blocks (GA4 files can be gigabytes)."""
        digest = hashlib.sha256()
        with self.fs.open(self.accept().path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def __str__(self) -> str:
        return self.url


def _protocols(fs: AbstractFileSystem) -> tuple[str, ...]:
    return (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)


def is_local(fs: AbstractFileSystem) -> bool:
    return "file" in _protocols(fs)


def landing_fs(landing: str | Path) -> tuple[AbstractFileSystem, str]:
    """The filesystem of the landing zone and its root path there."""
    return fsspec.core.url_to_fs(str(landing))


def accepted(files: list[LandingFile]) -> list[LandingFile]:
    """`files` when every one may be read; else raises for the first refused one, so a
    source's day with a refused entry fails before any of its files is opened."""
    return [file.accept() for file in files]


def extract_files(
    landing: str | Path, source: str, day: dt.date, pattern: str | tuple[str, ...]
) -> list[LandingFile]:
    """The day's files matching `pattern`(s), sorted; empty when the extract has not arrived.

    Refused entries are included, marked (`LandingFile.refused`); a day folder leading
    outside a local landing zone is one refused entry and is not listed.
    """
    fs, root = landing_fs(landing)
    root = root.rstrip("/")
    relative_folder = f"{source}/dt={day.isoformat()}"
    folder = f"{root}/{relative_folder}"
    patterns = (pattern,) if isinstance(pattern, str) else pattern
    if is_local(fs):
        return _local_files(fs, root, relative_folder, patterns)
    if not fs.isdir(folder):
        return []
    found = {
        path: info for p in patterns for path, info in fs.glob(f"{folder}/{p}", detail=True).items()
    }
    return [
        LandingFile(
            fs,
            path,
            None if found[path].get("type") == "file" else FOLDER,
            path[len(root) :].lstrip("/"),
        )
        for path in sorted(found)
    ]


def _local_files(
    fs: AbstractFileSystem, root: str, relative_folder: str, patterns: tuple[str, ...]
) -> list[LandingFile]:
    """The matching entries of a local day folder, each classified from `lstat` (listing
    a folder and classifying its entries opens none of them)."""
    folder = f"{root}/{relative_folder}"
    if not os.path.lexists(folder):
        return []
    real_root = os.path.realpath(root)
    outside = folder_refusal(folder, real_root)
    if outside:
        return [LandingFile(fs, folder, outside, relative_folder)]
    if not os.path.isdir(folder):
        return []
    with os.scandir(folder) as entries:
        names = sorted(
            e.name for e in entries if any(fnmatch.fnmatchcase(e.name, p) for p in patterns)
        )
    return [
        LandingFile(
            fs,
            f"{folder}/{name}",
            refusal(f"{folder}/{name}", real_root),
            f"{relative_folder}/{name}",
        )
        for name in names
    ]


def readable_by_duckdb(con: duckdb.DuckDBPyConnection, file: LandingFile) -> str:
    """The name DuckDB reads `file` by; a non-local filesystem is registered with it once."""
    file.accept()
    if not file.is_local and not con.filesystem_is_registered(_protocols(file.fs)[0]):
        con.register_filesystem(file.fs)
    return file.url


def content_checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
