"""Land a day's pulled records as files, the way an export is delivered.

`<landing>/<source>/dt=<day>/<Entity>.jsonl` holds the API's records, one JSON object a
line, in a stable order (by id) and a stable form (sorted keys), so a rerun of the same
window lands byte-identical files. `_pull_manifest.json` beside them records the window
and what each file holds; it is written last. Each file is written under a temporary
name and renamed: ingest never sees half a file (it reads only the final names).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsspec import AbstractFileSystem

from kpi_pipeline.ingest.landing import is_local, landing_fs
from kpi_pipeline.pull.cursor import write_atomically

MANIFEST_NAME = "_pull_manifest.json"


@dataclass(frozen=True)
class Window:
    """The changes a pull asks for: modified at or after `start`, before `end` (UTC)."""

    start: dt.datetime
    end: dt.datetime

    def as_dict(self) -> dict[str, str]:
        return {"from": _iso(self.start), "to": _iso(self.end)}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> Window:
        return cls(dt.datetime.fromisoformat(data["from"]), dt.datetime.fromisoformat(data["to"]))


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def jsonl(records: Iterable[Mapping[str, Any]]) -> bytes:
    """Records as JSON lines: sorted keys, UTF-8, one record a line."""
    return b"".join(
        json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        for r in records
    )


def day_folder(landing: str, source: str, day: dt.date) -> tuple[AbstractFileSystem, str]:
    fs, root = landing_fs(landing)
    return fs, f"{root.rstrip('/')}/{source}/dt={day.isoformat()}"


def _write(fs: AbstractFileSystem, path: str, content: bytes) -> None:
    if is_local(fs):
        write_atomically(_local(path), content)
        return
    folder, name = path.rsplit("/", 1)
    temporary = f"{folder}/.{name}.partial-{os.getpid()}"
    fs.pipe_file(temporary, content)
    fs.mv(temporary, path)


def _local(path: str) -> Path:
    return Path(path)


def read_manifest(landing: str, source: str, day: dt.date) -> dict[str, Any] | None:
    """The manifest of an earlier pull of this day, or None."""
    fs, folder = day_folder(landing, source, day)
    path = f"{folder}/{MANIFEST_NAME}"
    if not fs.exists(path):
        return None
    try:
        data = json.loads(fs.cat_file(path))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def land_day(
    landing: str,
    source: str,
    day: dt.date,
    window: Window,
    files: Mapping[str, list[Mapping[str, Any]]],
) -> dict[str, Any]:
    """Write each `name -> records` file, then the manifest; returns the manifest."""
    fs, folder = day_folder(landing, source, day)
    if not is_local(fs):
        fs.makedirs(folder, exist_ok=True)
    described = {}
    for name, records in sorted(files.items()):
        content = jsonl(records)
        _write(fs, f"{folder}/{name}", content)
        described[name] = {"records": len(records), "sha256": hashlib.sha256(content).hexdigest()}
    manifest = {
        "source": source,
        "day": day.isoformat(),
        "window": window.as_dict(),
        "files": described,
    }  # nothing of the run itself (time, calls): a rerun of the window lands the same bytes
    _write(fs, f"{folder}/{MANIFEST_NAME}", json.dumps(manifest, indent=2).encode() + b"\n")
    return manifest
