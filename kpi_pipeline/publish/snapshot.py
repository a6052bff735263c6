"""Build a day's KPI snapshot aside, audit it, promote it atomically as a new version;
a published version never changes and `<day>/latest` points at the newest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from kpi_pipeline.faults import failpoint
from kpi_pipeline.kpis.catalogue import Kpi
from kpi_pipeline.publish.restatements import changes_since

# where each KPI is heading in its period (fct_kpi_pace), on its overall row
PACE_COLUMNS = {
    "period_grain": pl.String,
    "period_to_date_value": pl.Float64,
    "target_to_date": pl.Float64,  # the period target pro-rated to date (a plain sum)
    "period_target": pl.Float64,
    "projected_value": pl.Float64,
    "projected_low": pl.Float64,
    "projected_high": pl.Float64,
    "projected_status": pl.String,
}
SCHEMA = {
    "date": pl.Date,
    "kpi_id": pl.String,
    "kpi_name": pl.String,
    "family": pl.String,
    "unit": pl.String,
    "dimension": pl.String,
    "dimension_value": pl.String,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "value": pl.Float64,
    "target": pl.Float64,
    "status": pl.String,
    **PACE_COLUMNS,
}
SNAPSHOT_COLUMNS = tuple(SCHEMA)
TEXT_COLUMNS = tuple(name for name, kind in SCHEMA.items() if kind == pl.String)
KPIS_PARQUET = "kpis.parquet"
KPIS_CSV = "kpis.csv"
MANIFEST = "manifest.json"
REPORT = "report.html"
LATEST = "latest"
PUBLISHED = "published"
UNCHANGED = "unchanged"


@dataclass(frozen=True)
class PublishOutcome:
    day: dt.date
    folder: Path  # the version folder `<root>/<day>/v<N>/`
    outcome: str  # published | unchanged
    data_checksum: str
    rows: int
    version: int


def snapshot_frame(
    facts: pl.DataFrame,
    catalogue: dict[str, Kpi],
    attainment: Mapping[str, tuple[float | None, str]],
    pace: Mapping[str, Mapping[str, Any]] | None = None,
) -> pl.DataFrame:
    """The day's facts with the KPI's name, family, unit, target and status. Targets apply
    to the overall value; `attainment` gives each KPI's target and status of the day as
    fct_kpi_attainment holds them (the status rule lives there, once); `pace` each KPI's
    period to date and projection (fct_kpi_pace: PACE_COLUMNS), on its overall row."""
    unknown = sorted(set(facts["kpi_id"].to_list()) - set(catalogue))
    if unknown:
        raise ValueError(f"KPI facts hold ids missing from the catalogue: {', '.join(unknown)}")
    records = []
    for row in facts.sort("kpi_id", "dimension", "dimension_value").iter_rows(named=True):
        kpi = catalogue[row["kpi_id"]]
        overall = row["dimension"] == "all"
        target, status = attainment.get(kpi.id, (None, None)) if overall else (None, None)
        if overall and status is None:
            raise ValueError(f"fct_kpi_attainment holds no status of {kpi.id} on {row['kpi_date']}")
        heading = (pace or {}).get(kpi.id, {}) if overall else {}
        records.append(
            {
                "date": row["kpi_date"],
                "kpi_id": kpi.id,
                "kpi_name": kpi.name,
                "family": kpi.family,
                "unit": kpi.unit,
                "dimension": row["dimension"],
                "dimension_value": row["dimension_value"],
                "numerator": row["numerator"],
                "denominator": row["denominator"],
                "value": row["value"],
                "target": target,
                "status": status,
                **{name: heading.get(name) for name in PACE_COLUMNS},
            }
        )
    return pl.DataFrame(records, schema=SCHEMA, orient="row")


def status_table(frame: pl.DataFrame, catalogue: dict[str, Kpi]) -> str:
    """Markdown table of a snapshot's overall KPIs (family, value, target, status), for the
    Dagster UI's materialization metadata."""
    lines = ["| KPI | family | value | target | status |", "|---|---|---|---|---|"]
    for row in (
        frame.filter(pl.col("dimension") == "all").sort("family", "kpi_id").iter_rows(named=True)
    ):
        value = "-" if row["value"] is None else f"{row['value']:.6g}"
        target = "-" if row["target"] is None else f"{row['target']:.6g}"
        name = catalogue[row["kpi_id"]].name
        lines.append(f"| {name} | {row['family']} | {value} | {target} | {row['status']} |")
    return "\n".join(lines)


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe."""
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]"))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in TEXT_COLUMNS
    )


def csv_bytes(frame: pl.DataFrame) -> bytes:
    return spreadsheet_safe(frame).write_csv(float_precision=None).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def version_folders(day_folder: Path) -> dict[int, Path]:
    """The published versions of a day, by number (`v1`, `v2`, ...)."""
    if not day_folder.is_dir():
        return {}
    return {
        int(p.name[1:]): p
        for p in day_folder.iterdir()
        if p.is_dir() and not p.is_symlink() and re.fullmatch(r"v[1-9][0-9]*", p.name)
    }


def latest_folder(day_folder: Path) -> Path | None:
    """The version `latest` points to (None when the day was never published), in the form
    `version_folders` gives (`<day_folder>/v<N>`, links above the day folder not resolved:
    the registry compares the two)."""
    pointer = day_folder / LATEST
    if not pointer.is_symlink():
        return None
    return Path(os.path.normpath(day_folder / os.readlink(pointer)))


def move_latest(day_folder: Path, version: int) -> None:
    """Point `<day>/latest` at `v<version>`: a new symlink renamed over the old one (atomic)."""
    temporary = day_folder / f".latest-{uuid.uuid4().hex}"
    os.symlink(f"v{version}", temporary)
    try:
        os.replace(temporary, day_folder / LATEST)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(day_folder)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def audit_staged(staging: Path, frame: pl.DataFrame, data_checksum: str) -> None:
    """Read back what was written aside before promoting it; raise if anything differs."""
    manifest = json.loads((staging / MANIFEST).read_text())
    for name, checksum in manifest["files"].items():
        if sha256((staging / name).read_bytes()) != checksum:
            raise SnapshotAuditError(f"{staging / name}: checksum differs from the manifest")
    if sha256((staging / KPIS_CSV).read_bytes()) != data_checksum:
        raise SnapshotAuditError(f"{staging / KPIS_CSV}: not the CSV of the KPI rows")
    if not pl.read_parquet(staging / KPIS_PARQUET).equals(frame):
        raise SnapshotAuditError(f"{staging / KPIS_PARQUET}: rows differ from the KPI facts")


class SnapshotAuditError(RuntimeError):
    """A snapshot written aside does not read back as written; it is not promoted."""


class DamagedSnapshotError(RuntimeError):
    """A published version's files no longer read as they were published."""


def read_manifest(folder: Path) -> dict[str, Any]:
    """A published version's manifest, or a DamagedSnapshotError saying what to do."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
        if not isinstance(manifest, dict) or "data_checksum" not in manifest:
            raise ValueError("no data_checksum")
        return manifest
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DamagedSnapshotError(
            f"{path} is damaged or missing ({type(err).__name__}); a published version is "
            "never rewritten: restore the folder from a backup, or move it out of "
            f"{folder.parent} so the day is published again as a new version"
        ) from None


def intact(folder: Path) -> bool:
    """The version's files all match the checksums of its manifest."""
    try:
        manifest = read_manifest(folder)
        return all(
            sha256((folder / name).read_bytes()) == checksum
            for name, checksum in manifest["files"].items()
        )
    except (DamagedSnapshotError, OSError, KeyError):
        return False


def restated_days(root: Path, days: list[dt.date], lookback_days: int) -> list[dt.date]:
    """The published days a run over `days` restates: its dbt window starts
    `lookback_days` before the first day, so a later extract that brought records of
    those days (a timezone ahead of the exports' cut, a late delivery) changes their facts;
    they are checked and published again with the run's days (a new version only when
    their data changed)."""
    first = min(days)
    earlier = [first - dt.timedelta(days=n) for n in range(lookback_days, 0, -1)]
    return [d for d in earlier if d not in days and latest_folder(root / d.isoformat())]


def remove_leftovers(root: Path) -> list[Path]:
    """Remove what a killed publish left behind: hidden staging folders and temporary
    `latest` links. Call it only while holding the writer lock (no publish is running)."""
    if not root.is_dir():
        return []
    leftovers = [p for p in root.glob(".staging-*") if p.is_dir() and not p.is_symlink()]
    leftovers += [p for p in root.glob("????-??-??/.latest-*") if p.is_symlink()]
    for path in leftovers:
        if path.is_symlink():
            path.unlink()
        else:
            shutil.rmtree(path)
    return leftovers


def heal_latest(day_folder: Path) -> Path | None:
    """Point `latest` at the newest intact version when it is missing or points at an older
    one (a publish killed between promoting a version and moving `latest`): the version
    is already there, so it must not be published twice. Returns the version healed to."""
    versions = version_folders(day_folder)
    current = latest_folder(day_folder)
    known = current is not None and current.is_dir() and current.name[1:].isdigit()
    current_number = int(current.name[1:]) if known else 0
    newer = sorted((n for n in versions if n > current_number), reverse=True)
    for number in newer:
        if intact(versions[number]):
            move_latest(day_folder, number)
            return versions[number]
    return None


def _changes(
    previous: Path, published: dict[str, Any], frame: pl.DataFrame, manifest: dict[str, Any]
) -> dict[str, Any]:
    """The `changes` section since the version in `previous` (publish/restatements.py); a
    previous version whose rows no longer read says so instead of stopping the publish."""
    try:
        old = pl.read_parquet(previous / KPIS_PARQUET)
    except (OSError, pl.exceptions.PolarsError) as err:
        return {
            "since_version": published.get("version"),
            "rows_changed": None,
            "unreadable": f"{previous / KPIS_PARQUET}: {type(err).__name__}",
            "files_changed": [],
            "rows": [],
        }
    return changes_since(old, published, frame, manifest)


def publish_snapshot(
    root: Path,
    day: dt.date,
    frame: pl.DataFrame,
    manifest: dict[str, Any],
    render_extra: Callable[[int, dict[str, Any] | None], dict[str, bytes]] | None = None,
) -> PublishOutcome:
    """Publish the day's KPIs as a new version `<root>/<day>/v<N>/` unless the latest version
    already holds the same data (then nothing changes).

    The version is written into a hidden folder, audited (read back, checksums), renamed into
    place, and only then does `<day>/latest` move to it. A published version is never
    modified. The manifest gets `changes`: the rows that differ from the previous version and
    why (publish/restatements.py; None for a first version). `render_extra(version, changes)`
    returns further files of the version (the report)."""
    day_folder = root / day.isoformat()
    data = csv_bytes(frame)
    checksum = sha256(data)
    heal_latest(day_folder)
    current = latest_folder(day_folder)
    changes = None
    if current is not None:
        published = read_manifest(current)
        if published.get("data_checksum") == checksum:
            return PublishOutcome(
                day, current, UNCHANGED, checksum, frame.height, int(published["version"])
            )
        changes = _changes(current, published, frame, manifest)
    version = max(version_folders(day_folder), default=0) + 1
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{day.isoformat()}-{uuid.uuid4().hex}"
    staging.mkdir()
    final = day_folder / f"v{version}"
    try:
        _write(staging / KPIS_CSV, data)
        frame.write_parquet(staging / KPIS_PARQUET)
        for name, content in (render_extra(version, changes) if render_extra else {}).items():
            _write(staging / name, content)
        files = {p.name: sha256(p.read_bytes()) for p in sorted(staging.iterdir()) if p.is_file()}
        full_manifest = {
            **manifest,
            "date": day.isoformat(),
            "version": version,
            "rows": frame.height,
            "data_checksum": checksum,
            "files": files,
            "changes": changes,
        }
        _write(staging / MANIFEST, json.dumps(full_manifest, indent=2, default=str).encode())
        audit_staged(staging, frame, checksum)
        failpoint("publish_staged")
        day_folder.mkdir(exist_ok=True)  # only now: a day folder always holds a version
        os.rename(staging, final)  # atomic on one filesystem
        _fsync_dir(day_folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    failpoint("publish_promoted")
    move_latest(day_folder, version)
    return PublishOutcome(day, final, PUBLISHED, checksum, frame.height, version)
