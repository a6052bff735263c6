"""The landing-zone sensor: new, changed or removed files request a run of their day.

The cursor remembers, for every file of the lookback window, its size and modification
time when a run was last requested for it; a file is new or changed when its state
differs. Only the `dt=` days touched are requested, late files for older days included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from kpi_pipeline.ingest.containment import FOLDER, folder_refusal, refusal
from kpi_pipeline.ingest.landing import is_local, landing_fs
from kpi_pipeline.settings import Settings

LANDING_SENSOR = "landing_zone_sensor"
_DAY_FOLDER = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int


def day_of(relative_path: str) -> dt.date | None:
    """The extract day of `<source>/dt=YYYY-MM-DD/<file>`, or None for any other path."""
    parts = relative_path.split("/")
    match = _DAY_FOLDER.match(parts[1]) if len(parts) == 3 else None
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def modified_ns(info: Mapping[str, Any]) -> int:
    """A file's modification time in ns from fsspec's `info()`, whatever the filesystem
    calls it (local `mtime`, S3 `LastModified`, GCS `updated`, memory `created`); 0 when
    it gives none, so only the size tells a change."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "modified", "created"):
        value = info.get(key)
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
        if isinstance(value, dt.datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
        if isinstance(value, int | float):
            return int(value * 1_000_000_000)
    return 0


def scan_landing(
    landing: str | Path, first_day: dt.date, last_day: dt.date
) -> dict[str, FileState]:
    """Every file of the days [first_day, last_day], by path relative to the landing zone
    (a local folder or any fsspec URL, as ingest reads it)."""
    fs, root = landing_fs(landing)
    root = root.rstrip("/")
    if not fs.isdir(root):
        return {}

    def wanted(relative: str) -> bool:
        day = day_of(relative)
        return day is not None and first_day <= day <= last_day

    if is_local(fs):
        return dict(_local_states(root, wanted))
    states: dict[str, FileState] = {}
    for path, info in fs.glob(f"{root}/*/dt=*/*", detail=True).items():
        relative = path[len(root) :].lstrip("/")
        hidden = relative.rsplit("/", 1)[-1][:1] == "."
        if wanted(relative) and not hidden and info.get("type") == "file":
            states[relative] = FileState(int(info.get("size") or 0), modified_ns(info))
    return states


def _state(stat_result: os.stat_result) -> FileState:
    """As fsspec states a local file (`mtime` in float seconds): cursors stay comparable."""
    return FileState(stat_result.st_size, modified_ns({"mtime": stat_result.st_mtime}))


def _local_states(root: str, wanted: Callable[[str], bool]) -> Iterator[tuple[str, FileState]]:
    """The entries of a local landing zone's day folders, without opening any of them or
    looking outside the zone. A regular file (or a link to one inside the zone) counts
    with its own size and time; an entry ingest refuses (a link leading out, a FIFO, a
    device, a socket) counts with the entry's own `lstat`, so its day is run and fails
    with the refusal instead of being skipped in silence. A day folder leading outside
    the zone is not listed: it is one entry, `<source>/dt=<day>/`."""
    real_root = os.path.realpath(root)
    for source in _subfolders(root):
        source_path = f"{root}/{source}"
        if folder_refusal(source_path, real_root):
            continue  # ingest refuses its day folders by name when it runs them
        for day_folder in _subfolders(source_path):
            folder = f"{source_path}/{day_folder}"
            relative_folder = f"{source}/{day_folder}/"
            if not wanted(relative_folder):
                continue
            if folder_refusal(folder, real_root):
                yield relative_folder, _state(os.lstat(folder))
                continue
            for name in _names(folder):
                path = f"{folder}/{name}"
                what = refusal(path, real_root)
                try:
                    if what is None:
                        yield relative_folder + name, _state(os.stat(path))
                    elif what != FOLDER:
                        yield relative_folder + name, _state(os.lstat(path))
                except OSError:
                    continue  # removed while listed: the next tick sees it gone


def _names(folder: str) -> list[str]:
    """The entries of `folder` but hidden ones (none when it went away meanwhile)."""
    try:
        with os.scandir(folder) as entries:
            return [e.name for e in entries if not e.name.startswith(".")]
    except OSError:
        return []


def _subfolders(folder: str) -> list[str]:
    """The names of the folders in `folder` (links to folders included: whether they lead
    outside the zone is checked before they are listed)."""
    try:
        with os.scandir(folder) as entries:
            return [e.name for e in entries if e.is_dir()]
    except OSError:
        return []


def changed_paths(
    seen: Mapping[str, FileState],
    settled: Mapping[str, FileState],
    present: Iterable[str],
    window: Iterable[str],
) -> list[str]:
    """Settled paths that are new or changed since `seen`, and paths of the window that
    were seen before and are gone now (a removed file changes its day too)."""
    present = set(present)
    changed = [p for p, state in settled.items() if seen.get(p) != state]
    removed = [p for p in window if p in seen and p not in present]
    return sorted(changed + removed)


def encode_cursor(states: Mapping[str, FileState]) -> str:
    return json.dumps({p: [s.size, s.mtime_ns] for p, s in sorted(states.items())})


def decode_cursor(cursor: str | None) -> dict[str, FileState]:
    if not cursor:
        return {}
    try:
        return {p: FileState(int(v[0]), int(v[1])) for p, v in json.loads(cursor).items()}
    except (ValueError, TypeError, KeyError, IndexError):
        return {}  # an unreadable cursor: treat every file of the window as new


def run_key(day: dt.date, paths: list[str], current: Mapping[str, FileState]) -> str:
    """Unique per day and file states, so Dagster never launches the same request twice."""
    digest = hashlib.sha256(
        json.dumps(
            {p: [current[p].size, current[p].mtime_ns] if p in current else None for p in paths},
            sort_keys=True,
        ).encode()
    ).hexdigest()[:16]
    return f"landing:{day.isoformat()}:{digest}"


def published_since(snapshot_dir: Path, day: dt.date, states: list[FileState]) -> bool:
    """The day's snapshot was written after every one of these files: they were loaded."""
    try:
        published_ns = (snapshot_dir / day.isoformat()).stat().st_mtime_ns
    except FileNotFoundError:
        return False
    return all(state.mtime_ns <= published_ns for state in states)


def plan_tick(
    seen: Mapping[str, FileState],
    landing: str | Path,
    now: dt.datetime,
    settings: Settings,
) -> tuple[list[RunRequest], dict[str, FileState]]:
    """The run requests of one tick and the cursor to keep: a pure function of the files."""
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    last_day = today - dt.timedelta(days=1)  # today's partition is not complete yet
    first_day = max(
        today - dt.timedelta(days=settings.sensor_lookback_days),
        dt.date.fromisoformat(settings.partitions_start),
    )
    current = scan_landing(landing, first_day, last_day)
    settle_ns = settings.sensor_settle_seconds * 1_000_000_000
    now_ns = int(now.timestamp() * 1_000_000_000)
    # A file still being written (modified within the settle time) waits for a later tick.
    settled = {p: s for p, s in current.items() if now_ns - s.mtime_ns >= settle_ns}
    window = [p for p in seen if (d := day_of(p)) is not None and first_day <= d <= last_day]
    changed = changed_paths(seen, settled, current, window)
    by_day: dict[dt.date, list[str]] = {}
    for path in changed:
        by_day.setdefault(day_of(path), []).append(path)
    # Files the sensor has not seen yet (first tick, reset cursor) but that a published
    # snapshot already includes were loaded before: no run for them.
    for day, paths in list(by_day.items()):
        if all(p in settled and p not in seen for p in paths) and published_since(
            settings.snapshot_dir, day, [settled[p] for p in paths]
        ):
            del by_day[day]
    requests = [
        RunRequest(
            partition_key=day.isoformat(),
            run_key=run_key(day, paths, settled),
            tags={"kpi/trigger": "landing_zone", "kpi/files": str(len(paths))},
        )
        for day, paths in sorted(by_day.items())
    ]
    kept = {p: s for p, s in seen.items() if p in window and p in current}
    kept.update(settled)
    return requests, kept


def build_landing_sensor(
    job_name: str,
    settings: Settings,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    running: bool = True,
) -> SensorDefinition:
    @sensor(
        name=LANDING_SENSOR,
        job_name=job_name,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description=(
            f"Watches {settings.landing_url} and requests a run of each day whose files are "
            f"new, changed or removed, for the last {settings.sensor_lookback_days} days "
            "(KPI_SENSOR_LOOKBACK_DAYS); older days need a backfill."
        ),
    )
    def landing_zone_sensor(context: SensorEvaluationContext) -> SensorResult:
        requests, kept = plan_tick(
            decode_cursor(context.cursor), settings.landing_url, clock(), settings
        )
        if not requests:
            return SensorResult(
                skip_reason=SkipReason("no new or changed files in the landing zone"),
                cursor=encode_cursor(kept),
            )
        context.log.info("days to rebuild: %s", ", ".join(r.partition_key for r in requests))
        return SensorResult(run_requests=requests, cursor=encode_cursor(kept))

    return landing_zone_sensor
