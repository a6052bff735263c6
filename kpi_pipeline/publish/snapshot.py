"""Build a day's KPI snapshot and promote it atomically; a published snapshot never changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from kpi_pipeline.kpis.catalogue import Kpi
from kpi_pipeline.kpis.status import kpi_status

SNAPSHOT_COLUMNS = (
    "date",
    "kpi_id",
    "family",
    "dimension",
    "dimension_value",
    "numerator",
    "denominator",
    "value",
    "target",
    "status",
)
TEXT_COLUMNS = ("kpi_id", "family", "dimension", "dimension_value", "status")
KPIS_PARQUET = "kpis.parquet"
KPIS_CSV = "kpis.csv"
MANIFEST = "manifest.json"
PUBLISHED = "published"
UNCHANGED = "unchanged"


class SnapshotConflictError(RuntimeError):
    """A different snapshot is already published for the day; it is never overwritten."""


@dataclass(frozen=True)
class PublishOutcome:
    day: dt.date
    folder: Path
    outcome: str  # published | unchanged
    data_checksum: str
    rows: int


def snapshot_frame(facts: pl.DataFrame, catalogue: dict[str, Kpi]) -> pl.DataFrame:
    """The day's facts with family, target and status; targets apply to the overall value."""
    unknown = sorted(set(facts["kpi_id"].to_list()) - set(catalogue))
    if unknown:
        raise ValueError(f"KPI facts hold ids missing from the catalogue: {', '.join(unknown)}")
    records = []
    for row in facts.sort("kpi_id", "dimension", "dimension_value").iter_rows(named=True):
        kpi = catalogue[row["kpi_id"]]
        overall = row["dimension"] == "all"
        records.append(
            {
                "date": row["kpi_date"],
                "kpi_id": kpi.id,
                "family": kpi.family,
                "dimension": row["dimension"],
                "dimension_value": row["dimension_value"],
                "numerator": row["numerator"],
                "denominator": row["denominator"],
                "value": row["value"],
                "target": kpi.target.value if overall else None,
                "status": kpi_status(row["value"], kpi) if overall else None,
            }
        )
    schema = {
        "date": pl.Date,
        "kpi_id": pl.String,
        "family": pl.String,
        "dimension": pl.String,
        "dimension_value": pl.String,
        "numerator": pl.Float64,
        "denominator": pl.Float64,
        "value": pl.Float64,
        "target": pl.Float64,
        "status": pl.String,
    }
    return pl.DataFrame(records, schema=schema, orient="row")


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


def publish_snapshot(
    root: Path, day: dt.date, frame: pl.DataFrame, manifest: dict[str, Any]
) -> PublishOutcome:
    """Write `<root>/<day>/` aside and rename it into place. If the day is already published
    with the same data, nothing changes; with different data, SnapshotConflictError."""
    final = root / day.isoformat()
    data = csv_bytes(frame)
    checksum = sha256(data)
    if final.exists():
        published = json.loads((final / MANIFEST).read_text())
        if published.get("data_checksum") == checksum:
            return PublishOutcome(day, final, UNCHANGED, checksum, frame.height)
        raise SnapshotConflictError(
            f"{final} is already published with other KPI values "
            f"(checksum {published.get('data_checksum', '?')[:12]}, now {checksum[:12]}); "
            "published snapshots are never overwritten. Versioned re-publication "
            "(v2, a `latest` pointer) is planned; until then move the old folder away to republish."
        )
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{day.isoformat()}-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        _write(staging / KPIS_CSV, data)
        frame.write_parquet(staging / KPIS_PARQUET)
        files = {name: sha256((staging / name).read_bytes()) for name in (KPIS_CSV, KPIS_PARQUET)}
        full_manifest = {
            **manifest,
            "date": day.isoformat(),
            "rows": frame.height,
            "data_checksum": checksum,
            "files": files,
        }
        _write(staging / MANIFEST, json.dumps(full_manifest, indent=2, default=str).encode())
        os.rename(staging, final)  # atomic on one filesystem; fails if `final` appeared meanwhile
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PublishOutcome(day, final, PUBLISHED, checksum, frame.height)
