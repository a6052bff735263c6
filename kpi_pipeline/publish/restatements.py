"""The restatement ledger: when a day is published again, which KPI rows changed since the
previous version and why (a source file added, removed or re-sent, a changed definition in
kpis.yml, a changed target), found from the two versions' rows and manifests. Pure: the
publish step, the CLI and the warehouse table read and write around it."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from kpi_pipeline.deployment import GROUPS
from kpi_pipeline.kpis.catalogue import Catalogue, Kpi

KEY = ("kpi_id", "dimension", "dimension_value")
COMPARED = ("value", "target", "status")
# a value recomputed in another order may differ in its last bits; that is no restatement
REL_TOLERANCE = 1e-12

FILE_ADDED, FILE_REMOVED, FILE_CHANGED = "file_added", "file_removed", "file_changed"
DEFINITION, MODEL_SQL, TARGET, UNKNOWN = "definition", "model_sql", "target", "unknown"
_DAY_FOLDER = re.compile(r"^dt=\d{4}-\d{2}-\d{2}$")
_DATE_LITERAL = re.compile(r"'\d{4}-\d{2}-\d{2}'")
TARGET_FIELDS = ("target", "targets")
# declared fields that change no number of a snapshot: left out of the definition digest,
# so editing them is never given as the cause of a restated value
WORDING_FIELDS = ("name", "description", "objective", "owner", "chain", "range")


# ---- what a manifest records so that a later version can be compared with it ----


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _entries(document: Mapping[str, Any], key: str) -> dict[str, dict[str, Any]]:
    return {str(e["id"]): e for e in document.get(key) or [] if isinstance(e, dict) and "id" in e}


def definition_hashes(document: Mapping[str, Any], catalogue: Catalogue) -> dict[str, Any]:
    """Per KPI of `catalogue` (kpis.yml parsed; `document` the same file as YAML): the digest
    of its declaration without its target(s), together with its metrics' and their semantic
    models' declarations (`definition`); the digest of its target declaration (`target`);
    and the landing-zone sources its metrics are measured from (`sources`, groups such as
    `crm` spelt out), so a file change is only a cause of the KPIs it feeds."""
    kpis, metrics, models = (_entries(document, k) for k in ("kpis", "metrics", "semantic_models"))
    found: dict[str, Any] = {}
    for kpi in catalogue.kpis.values():
        declared = kpis.get(kpi.id, {})
        used = kpi.formula.metrics()
        on = sorted({catalogue.metrics[m].on for m in used if m in catalogue.metrics})
        sources = {
            s
            for m in used
            if m in catalogue.metrics
            for group in catalogue.metrics[m].sources
            for s in GROUPS.get(group, (group,))
        }
        found[kpi.id] = {
            "definition": _digest(
                {
                    "kpi": {
                        k: v
                        for k, v in declared.items()
                        if k not in TARGET_FIELDS and k not in WORDING_FIELDS
                    },
                    "metrics": {m: metrics.get(m) for m in sorted(used)},
                    "semantic_models": {s: models.get(s) for s in on},
                }
            ),
            "target": _digest({k: declared.get(k) for k in TARGET_FIELDS}),
            "sources": sorted(sources),
        }
    return found


def sql_digest(compiled_sql: str | None) -> str | None:
    """Digest of a model's compiled SQL with its date literals blanked out: the SQL embeds
    the run's date window, which must not count as a change of the model."""
    if compiled_sql is None:
        return None
    return hashlib.sha256(_DATE_LITERAL.sub("'<day>'", compiled_sql).encode()).hexdigest()


# ---- comparing two versions ----


@dataclass(frozen=True)
class RowChange:
    """One KPI row (kpi_id, dimension, dimension_value) whose value, target or status
    differs between two versions; `old` or `new` is None for a row added or removed."""

    kpi_id: str
    dimension: str
    dimension_value: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def value_changed(self) -> bool:
        return not _same((self.old or {}).get("value"), (self.new or {}).get("value"))

    @property
    def target_changed(self) -> bool:
        return (self.old or {}).get("target") != (self.new or {}).get("target")


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=0.0)
    return a == b


def changed_rows(old: pl.DataFrame, new: pl.DataFrame) -> list[RowChange]:
    """The rows of two snapshot frames (snapshot_frame) whose value, target or status differ,
    added rows and removed rows included, in key order."""

    def by_key(frame: pl.DataFrame) -> dict[tuple, dict[str, Any]]:
        return {
            tuple(r[k] for k in KEY): {c: r[c] for c in COMPARED}
            for r in frame.select(*KEY, *COMPARED).iter_rows(named=True)
        }

    before, after = by_key(old), by_key(new)
    changes = []
    for key in sorted(before.keys() | after.keys(), key=lambda k: tuple(map(str, k))):
        was, now = before.get(key), after.get(key)
        if was is not None and now is not None and all(_same(was[c], now[c]) for c in COMPARED):
            continue
        changes.append(RowChange(*key, was, now))
    return changes


def _located(path: str) -> tuple[str | None, str]:
    """(source, shown name) of an extract file: the folder above its `dt=` folder, and the
    path from there on (`orders/dt=2025-03-03/orders.csv`, also of a URL)."""
    parts = path.replace("\\", "/").split("/")
    for index, part in enumerate(parts[1:], start=1):
        if _DAY_FOLDER.match(part):
            return parts[index - 1], "/".join(parts[index - 1 :])
    return None, path


def display_file(path: str) -> str:
    """`/data/landing/orders/dt=2025-03-03/orders.csv` -> `orders/dt=2025-03-03/orders.csv`."""
    return _located(path)[1]


def _source_files(manifest: Mapping[str, Any], window: bool) -> dict[str, str]:
    """file -> checksum of the extract files a manifest lists: the day's, and with `window`
    those of the days around it whose late records can restate it."""
    sources = manifest.get("sources") or {}
    listed = [*(sources.get("files") or []), *(sources.get("window_files") or [] if window else [])]
    return {f["file"]: f.get("sha256") for f in listed if isinstance(f, dict) and "file" in f}


def file_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The extract files added, removed or re-sent with other content between two manifests."""
    # a manifest written before `window_files` lists the day's files only: like with like
    window = all((m.get("sources") or {}).get("window_files") is not None for m in (old, new))
    before, after = _source_files(old, window), _source_files(new, window)
    found = []
    for path in sorted(before.keys() | after.keys()):
        was, now = before.get(path), after.get(path)
        if was == now:
            continue
        kind = FILE_ADDED if was is None else FILE_REMOVED if now is None else FILE_CHANGED
        found.append(
            {
                "kind": kind,
                "file": display_file(path),
                "source": _located(path)[0],
                "old_sha256": was,
                "new_sha256": now,
            }
        )
    return found


def _definitions(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    found = manifest.get("definitions")
    return found if isinstance(found, dict) else None


def causes_of(
    row: RowChange,
    files: list[dict[str, Any]],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Why `row` changed: the re-sent, late or removed files of the sources its KPI is
    measured from; its definition (or the SQL of the daily facts, when no KPI's definition
    changed) differing between the manifests; its target declaration differing, or its
    target alone changing. `unknown` when none of these is found."""
    causes: list[dict[str, Any]] = []
    was, now = _definitions(old), _definitions(new)
    old_kpi = ((was or {}).get("kpis") or {}).get(row.kpi_id)
    new_kpi = ((now or {}).get("kpis") or {}).get(row.kpi_id)
    sources = set((new_kpi or old_kpi or {}).get("sources") or [])
    for change in files:
        if not sources or change["source"] is None or change["source"] in sources:
            causes.append(change)
    if was is not None and now is not None:
        if (old_kpi or {}).get("definition") != (new_kpi or {}).get("definition"):
            causes.append({"kind": DEFINITION, "kpi_id": row.kpi_id})
        else:
            old_sql, new_sql = was.get("fct_kpi_daily_sql"), now.get("fct_kpi_daily_sql")
            any_kpi_changed = any(
                ((was.get("kpis") or {}).get(k) or {}).get("definition")
                != ((now.get("kpis") or {}).get(k) or {}).get("definition")
                for k in (was.get("kpis") or {}).keys() | (now.get("kpis") or {}).keys()
            )
            if old_sql and new_sql and old_sql != new_sql and not any_kpi_changed:
                causes.append({"kind": MODEL_SQL, "model": "fct_kpi_daily"})
    target_hash_changed = (
        old_kpi is not None
        and new_kpi is not None
        and old_kpi.get("target") != new_kpi.get("target")
    )
    target_only = row.old is not None and row.new is not None and not row.value_changed
    if target_hash_changed or (target_only and row.target_changed):
        causes.append({"kind": TARGET, "kpi_id": row.kpi_id})
    return causes or [{"kind": UNKNOWN}]


def changes_since(
    old_frame: pl.DataFrame,
    old_manifest: Mapping[str, Any],
    new_frame: pl.DataFrame,
    new_manifest: Mapping[str, Any],
) -> dict[str, Any]:
    """The manifest's `changes` section of a new version: the previous version's number,
    the files that changed, and every changed row with its old and new value, target and
    status and its causes."""
    files = file_changes(old_manifest, new_manifest)
    rows = []
    for row in changed_rows(old_frame, new_frame):
        rows.append(
            {
                "kpi_id": row.kpi_id,
                "dimension": row.dimension,
                "dimension_value": row.dimension_value,
                "old": row.old,
                "new": row.new,
                "causes": causes_of(row, files, old_manifest, new_manifest),
            }
        )
    return {
        "since_version": old_manifest.get("version"),
        "rows_changed": len(rows),
        "files_changed": files,
        "rows": rows,
    }


# ---- wording ----


# per kind of cause: (a short line for the ledger and the CLI, plain words for the report)
_WORDS = {
    FILE_CHANGED: ("re-sent: {file}", "{file} was re-sent"),
    FILE_ADDED: ("file added: {file}", "{file} arrived"),
    FILE_REMOVED: ("file removed: {file}", "{file} is no longer loaded"),
    DEFINITION: ("definition changed (kpis.yml)", "its definition in kpis.yml changed"),
    MODEL_SQL: ("SQL of {model} changed", "the SQL of {model} changed"),
    TARGET: ("target changed", "its target changed"),
}
_UNKNOWN = ("unknown", "cause unknown")


def _worded(cause: Mapping[str, Any], form: int) -> str:
    template = _WORDS.get(cause.get("kind"), _UNKNOWN)[form]
    return template.format(file=cause.get("file"), model=cause.get("model", "fct_kpi_daily"))


def cause_label(cause: Mapping[str, Any]) -> str:
    """A cause as one short line (the ledger table's `causes`, the CLI's table)."""
    return _worded(cause, 0)


def cause_sentence(cause: Mapping[str, Any]) -> str:
    """A cause in plain words, for the report."""
    return _worded(cause, 1)


def row_sentence(
    row: Mapping[str, Any], catalogue: Mapping[str, Kpi], format_value: Any, currency: str
) -> str:
    """`Net revenue: 12,340.00 USD → 12,415.50 USD (orders/dt=2025-03-03/orders.csv was
    re-sent)`; `format_value(value, unit, currency)` writes a value (report.format_value)."""
    kpi = catalogue.get(row["kpi_id"])
    name = kpi.name if kpi else row["kpi_id"]
    unit = kpi.unit if kpi else ""
    if row["dimension"] != "all":
        name += f" ({row['dimension']}: {row['dimension_value']})"
    old, new = row.get("old"), row.get("new")

    def shown(side: Mapping[str, Any] | None, field: str) -> str:
        return format_value(side.get(field) if side else None, unit, currency)

    if old is None:
        change = f"new, {shown(new, 'value')}"
    elif new is None:
        change = f"no longer reported (was {shown(old, 'value')})"
    elif _same(old.get("value"), new.get("value")):
        change = f"target {shown(old, 'target')} → {shown(new, 'target')}"
        if old.get("status") != new.get("status"):
            change += f", status {old.get('status')} → {new.get('status')}"
    else:
        change = f"{shown(old, 'value')} → {shown(new, 'value')}"
    causes = "; ".join(cause_sentence(c) for c in row.get("causes") or [{"kind": UNKNOWN}])
    return f"{name}: {change} ({causes})"


# ---- the warehouse ledger ----


def ledger_rows(changes: Mapping[str, Any], to_version: int) -> list[dict[str, Any]]:
    """One ledger row per changed KPI row of a version's `changes` section."""
    rows = []
    for row in changes.get("rows") or []:
        old, new = row.get("old") or {}, row.get("new") or {}
        rows.append(
            {
                "from_version": changes.get("since_version"),
                "to_version": to_version,
                "kpi_id": row["kpi_id"],
                "dimension": row["dimension"],
                "dimension_value": row["dimension_value"],
                "old_value": old.get("value"),
                "new_value": new.get("value"),
                "old_target": old.get("target"),
                "new_target": new.get("target"),
                "old_status": old.get("status"),
                "new_status": new.get("status"),
                "causes": [cause_label(c) for c in row.get("causes") or []],
            }
        )
    return rows
