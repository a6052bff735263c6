"""The restatement ledger's pure parts (publish/restatements.py): which rows of two snapshot
versions differ, and why, on hand-made frames and manifests; the ledger table and the CLI on
versions published here."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl
import yaml
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.kpis.catalogue import load_catalogue, load_full_catalogue
from kpi_pipeline.publish.registry import RESTATEMENTS_TABLE, sync_restatements
from kpi_pipeline.publish.report import change_sentences
from kpi_pipeline.publish.restatements import (
    changed_rows,
    changes_since,
    definition_hashes,
    display_file,
    sql_digest,
)
from kpi_pipeline.publish.snapshot import SCHEMA, publish_snapshot
from kpi_pipeline.settings import KPI_CATALOGUE_PATH

DAY = dt.date(2025, 3, 3)
ORDERS = "/data/landing/orders/dt=2025-03-03/orders.csv"
GA4 = "/data/landing/ga4/dt=2025-03-03/events_20250303.json"


def frame(*rows: tuple) -> pl.DataFrame:
    """Rows of (kpi_id, dimension, dimension_value, value, target, status)."""
    records = [
        {
            "date": DAY,
            "kpi_id": k,
            "family": "financial",
            "dimension": d,
            "dimension_value": v,
            "numerator": value,
            "value": value,
            "target": target,
            "status": status,
        }
        for k, d, v, value, target, status in rows
    ]
    return pl.DataFrame(records, schema=SCHEMA)  # the columns not given: null


def manifest(
    version: int,
    files: dict[str, str],
    definitions: dict[str, tuple[str, str]] | None = None,
    sql: str = "sql-1",
) -> dict:
    """`files`: path -> checksum; `definitions`: kpi_id -> (definition, target) digests."""
    kpis = {
        k: {"definition": d, "target": t, "sources": ["orders"] if k != "sessions" else ["ga4"]}
        for k, (d, t) in (definitions or {}).items()
    }
    return {
        "version": version,
        "sources": {
            "files": [{"raw_table": "x", "file": f, "sha256": c} for f, c in files.items()],
            "window_files": [],
        },
        "definitions": {"fct_kpi_daily_sql": sql, "kpis": kpis},
    }


REVENUE = ("net_revenue", "all", "all", 100.0, 80.0, "on_track")
SESSIONS = ("sessions", "all", "all", 10.0, None, "no_target")
FILES = {ORDERS: "a1", GA4: "g1"}
DEFS = {"net_revenue": ("d1", "t1"), "sessions": ("s1", "t0")}


def causes(changes: dict) -> dict[tuple, list[str]]:
    return {
        (r["kpi_id"], r["dimension"], r["dimension_value"]): [c["kind"] for c in r["causes"]]
        for r in changes["rows"]
    }


def test_nothing_changed_is_empty() -> None:
    old = new = frame(REVENUE, SESSIONS)
    changes = changes_since(old, manifest(1, FILES, DEFS), new, manifest(2, FILES, DEFS))
    assert changes["rows"] == [] and changes["rows_changed"] == 0
    assert changes["files_changed"] == []
    assert (
        changed_rows(
            old, frame(("net_revenue", "all", "all", 100.0 + 1e-14, 80.0, "on_track"), SESSIONS)
        )
        == []
    )


def test_a_resent_file_is_the_cause_of_its_sources_kpis_only() -> None:
    old = frame(REVENUE, SESSIONS)
    new = frame(("net_revenue", "all", "all", 110.5, 80.0, "on_track"), SESSIONS)
    changes = changes_since(
        old, manifest(1, FILES, DEFS), new, manifest(2, {**FILES, ORDERS: "a2"}, DEFS)
    )
    [row] = changes["rows"]
    assert (row["old"]["value"], row["new"]["value"]) == (100.0, 110.5)
    assert row["causes"] == [
        {
            "kind": "file_changed",
            "file": "orders/dt=2025-03-03/orders.csv",
            "source": "orders",
            "old_sha256": "a1",
            "new_sha256": "a2",
        }
    ]
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    assert change_sentences(changes, catalogue, "USD") == (
        "Net revenue: 100.00 USD → 110.50 USD (orders/dt=2025-03-03/orders.csv was re-sent)",
    )


def test_late_file_added_and_a_new_breakdown_row() -> None:
    late = "/l/orders/dt=2025-03-04/orders.csv"
    old_manifest, new_manifest = manifest(1, FILES, DEFS), manifest(2, FILES, DEFS)
    new_manifest["sources"]["window_files"] = [{"file": late, "sha256": "l1"}]
    new = frame(REVENUE, ("net_revenue", "channel", "Email", 5.0, None, None), SESSIONS)
    changes = changes_since(frame(REVENUE, SESSIONS), old_manifest, new, new_manifest)
    [row] = changes["rows"]
    assert (row["dimension_value"], row["old"], row["new"]["value"]) == ("Email", None, 5.0)
    assert [(c["kind"], c["file"]) for c in row["causes"]] == [
        ("file_added", "orders/dt=2025-03-04/orders.csv")
    ]


def test_a_removed_row_and_a_removed_file() -> None:
    old = frame(REVENUE, ("net_revenue", "channel", "Email", 5.0, None, None), SESSIONS)
    changes = changes_since(
        old, manifest(1, FILES, DEFS), frame(REVENUE, SESSIONS), manifest(2, {GA4: "g1"}, DEFS)
    )
    assert causes(changes) == {("net_revenue", "channel", "Email"): ["file_removed"]}
    assert changes["rows"][0]["new"] is None


def test_a_target_change_alone() -> None:
    new = frame(("net_revenue", "all", "all", 100.0, 120.0, "off_track"), SESSIONS)
    old_frame = frame(REVENUE, SESSIONS)
    # the target column changed while the value did not (the declaration unchanged: a
    # target relative to last year, say)
    changes = changes_since(old_frame, manifest(1, FILES, DEFS), new, manifest(2, FILES, DEFS))
    assert causes(changes) == {("net_revenue", "all", "all"): ["target"]}
    # the declared target changed
    redeclared = {**DEFS, "net_revenue": ("d1", "t2")}
    changes = changes_since(
        old_frame, manifest(1, FILES, DEFS), new, manifest(2, FILES, redeclared)
    )
    assert causes(changes) == {("net_revenue", "all", "all"): ["target"]}
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    [sentence] = change_sentences(changes, catalogue, "USD")
    assert sentence == (
        "Net revenue: target 80.00 USD → 120.00 USD, status on_track → off_track "
        "(its target changed)"
    )


def test_a_definition_change_a_new_kpi_and_unknown() -> None:
    old = frame(REVENUE, SESSIONS)
    new = frame(
        ("net_revenue", "all", "all", 90.0, 80.0, "off_track"),
        ("orders_count", "all", "all", 3.0, None, "no_target"),
        ("sessions", "all", "all", 11.0, None, "no_target"),
    )
    redefined = {**DEFS, "net_revenue": ("d2", "t1"), "orders_count": ("o1", "t9")}
    changes = changes_since(old, manifest(1, FILES, DEFS), new, manifest(2, FILES, redefined))
    assert causes(changes) == {
        ("net_revenue", "all", "all"): ["definition"],
        ("orders_count", "all", "all"): ["definition"],  # a new KPI: no definition before
        ("sessions", "all", "all"): ["unknown"],  # no file, definition or target changed
    }


def test_sql_change_without_a_definition_change() -> None:
    new = frame(("net_revenue", "all", "all", 90.0, 80.0, "off_track"), SESSIONS)
    changes = changes_since(
        frame(REVENUE, SESSIONS),
        manifest(1, FILES, DEFS),
        new,
        manifest(2, FILES, DEFS, sql="sql-2"),
    )
    assert causes(changes) == {("net_revenue", "all", "all"): ["model_sql"]}


def test_definition_hashes_follow_the_declarations() -> None:
    text = KPI_CATALOGUE_PATH.read_text()
    base = definition_hashes(yaml.safe_load(text), load_full_catalogue(KPI_CATALOGUE_PATH))
    assert base["net_revenue"]["sources"] == ["orders"]
    assert set(base["lead_to_customer_rate"]["sources"]) == {"hubspot", "salesforce"}
    document = yaml.safe_load(text)
    [metric] = [m for m in document["metrics"] if m["id"] == "net_revenue"]
    metric["filter"] = "true"
    [entry] = [k for k in document["kpis"] if k["id"] == "nps"]
    entry["target"] = {"value": 99.0, "at_risk_tolerance": 0.1}
    changed = definition_hashes(document, load_full_catalogue(KPI_CATALOGUE_PATH))
    moved = {k for k in base if base[k]["definition"] != changed[k]["definition"]}
    assert moved == {"net_revenue", "average_order_value"}  # both use the metric
    assert {k for k in base if base[k]["target"] != changed[k]["target"]} == {"nps"}
    # the run's date window in the compiled SQL is no change of the model
    assert sql_digest("where d >= '2025-03-01'") == sql_digest("where d >= '2025-06-01'")
    assert sql_digest("select 1") != sql_digest("select 2")
    assert (
        display_file("s3://b/landing/ads/dt=2025-03-03/spend.csv") == "ads/dt=2025-03-03/spend.csv"
    )


def test_publish_writes_changes_the_ledger_and_the_diff(tmp_path: Path, cli_env: Path) -> None:
    root = cli_env / "snapshots"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    publish_snapshot(root, DAY, frame(REVENUE, SESSIONS), manifest(0, FILES, DEFS))
    assert sync_restatements(con, root, DAY) == 0
    runner = CliRunner()
    only = runner.invoke(app, ["snapshots", "diff", str(DAY)])
    assert only.exit_code == 1 and "one version only" in only.output
    missing = runner.invoke(app, ["snapshots", "--diff", "2025-03-09"])
    assert missing.exit_code == 1 and "no snapshot of 2025-03-09" in missing.output

    seen = {}
    new = frame(("net_revenue", "all", "all", 110.5, 80.0, "on_track"), SESSIONS)
    outcome = publish_snapshot(
        root,
        DAY,
        new,
        manifest(0, {**FILES, ORDERS: "a2"}, DEFS),
        lambda version, changes: seen.setdefault("changes", changes) and {},
    )
    assert outcome.version == 2
    written = json.loads((outcome.folder / "manifest.json").read_text())["changes"]
    assert written == seen["changes"] and written["rows_changed"] == 1
    assert sync_restatements(con, root, DAY) == 1
    assert sync_restatements(con, root, DAY) == 0  # idempotent
    unchanged = publish_snapshot(root, DAY, new, manifest(0, {**FILES, ORDERS: "a2"}, DEFS))
    assert unchanged.outcome == "unchanged" and sync_restatements(con, root, DAY) == 0
    assert con.execute(
        f"select from_version, to_version, kpi_id, old_value, new_value, causes "
        f"from {RESTATEMENTS_TABLE}"
    ).fetchall() == [
        (1, 2, "net_revenue", 100.0, 110.5, ["re-sent: orders/dt=2025-03-03/orders.csv"])
    ]

    table = runner.invoke(app, ["snapshots", "--diff", str(DAY)], terminal_width=200)
    assert table.exit_code == 0, table.output
    assert "v1 → v2, 1 KPI rows changed" in table.output and "Net revenue" in table.output
    as_csv = runner.invoke(app, ["snapshots", "diff", str(DAY), "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    header, line = as_csv.output.strip().splitlines()
    assert header.startswith("day,from_version,to_version,kpi_id")
    assert line.endswith("re-sent: orders/dt=2025-03-03/orders.csv")
    bad = runner.invoke(app, ["snapshots", "diff", str(DAY), "--from", "2", "--to", "1"])
    assert bad.exit_code == 2 and "not before" in bad.output
    absent = runner.invoke(app, ["snapshots", "diff", str(DAY), "--from", "7"])
    assert absent.exit_code == 1 and "no version 7" in absent.output
