"""Ingest retries transient errors with backoff, not broken files; missing extracts warn."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dagster import AssetCheckSeverity, AssetKey, Backoff, DagsterEventType, DagsterInstance

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS
from kpi_pipeline.orchestration.freshness import (
    FRESHNESS_CHECK,
    ExpectedExtract,
    expected_extracts,
    freshness_result,
)
from kpi_pipeline.runner import run_days
from kpi_pipeline.sample import generate_sample
from tests.orchestration.conftest import DAY

ORDERS_STEP = "raw__orders"


def events_of(instance: DagsterInstance, run_id: str, kind: DagsterEventType) -> list:
    return [e.dagster_event for e in instance.all_logs(run_id, of_type=kind)]


def test_every_ingest_asset_retries_three_times_with_exponential_backoff(pipeline) -> None:
    job = pipeline.defs.resolve_job_def("daily_kpis")
    raw_steps = ["__".join(e.asset_key.path) for e in expected_extracts()]
    assert len(raw_steps) == len(CSV_EXTRACTS) + 1 and ORDERS_STEP in raw_steps
    for name in raw_steps:
        policy = job.graph.node_dict[name].definition.retry_policy
        assert (policy.max_retries, policy.backoff) == (3, Backoff.EXPONENTIAL), name
    assert job.graph.node_dict["dbt_models"].definition.retry_policy is None


@pytest.mark.e2e
def test_a_transient_read_error_is_retried_and_a_missing_extract_only_warns(
    pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Orders fail once (a network blip) and are read again; social posts, which no KPI
    uses and which arrived the day before, did not arrive: the day is published with a
    freshness warning naming it."""
    import kpi_pipeline.ingest.assets as ingest_assets

    generate_sample(DAY - dt.timedelta(days=1), DAY, pipeline.settings.landing_dir, scale=0.02)
    (pipeline.settings.landing_dir / "social" / f"dt={DAY}" / "posts.csv").unlink()
    real_load = ingest_assets.load_csv_day
    calls: list[tuple[str, dt.date]] = []

    def flaky_load(con, extract, landing, day, *args, **kwargs):
        calls.append((extract.table, day))
        if (extract.table, day) == ("orders", DAY) and calls.count(("orders", DAY)) == 1:
            raise OSError("Connection reset by peer (landing zone share)")
        return real_load(con, extract, landing, day, *args, **kwargs)

    monkeypatch.setattr(ingest_assets, "load_csv_day", flaky_load)
    with DagsterInstance.ephemeral() as instance:
        report = run_days(pipeline.defs, DAY, DAY, instance=instance)
        retried = events_of(instance, report.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
    assert report.success, report.reason()
    assert calls.count(("orders", DAY)) == 2
    assert [e.step_key for e in retried] == [ORDERS_STEP]
    assert (pipeline.settings.snapshot_dir / DAY.isoformat() / "latest" / "kpis.parquet").exists()
    freshness = [w for w in report.warned_checks if f":{FRESHNESS_CHECK}" in w]
    assert freshness == [
        f"raw/social_posts:{FRESHNESS_CHECK} (no social extract (posts.csv) for {DAY}; "
        "deliver it into the day's dt= folder (the sensor picks it up))"
    ]


@pytest.mark.e2e
def test_a_file_breaking_its_contract_fails_at_once_naming_the_file(pipeline) -> None:
    generate_sample(DAY, DAY, pipeline.settings.landing_dir, scale=0.02)
    orders = pipeline.settings.landing_dir / "orders" / f"dt={DAY}" / "orders.csv"
    orders.write_text("order_id,placed_at\nO-1,2025-06-02T10:00:00Z\n")
    with DagsterInstance.ephemeral() as instance:
        report = run_days(pipeline.defs, DAY, DAY, instance=instance)
        retried = events_of(instance, report.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
    assert not report.success
    assert retried == []
    [failure] = report.failed_steps
    assert failure.startswith(f"{ORDERS_STEP}: ")
    assert str(orders) in failure and "missing required column" in failure


def write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n")
    return path


def test_freshness_warns_with_the_missing_days_as_evidence(tmp_path: Path) -> None:
    extract = ExpectedExtract(AssetKey(["raw", "nps_responses"]), "nps", ("responses.csv",))
    days = [dt.date(2025, 6, 1), dt.date(2025, 6, 2), dt.date(2025, 6, 3)]
    write(tmp_path / "nps" / "dt=2025-06-01" / "responses.csv")
    write(tmp_path / "nps" / "dt=2025-06-03" / "other.csv")  # not the contract's file
    found = {d: sorted((tmp_path / "nps" / f"dt={d}").glob("responses.csv")) for d in days}
    result = freshness_result(tmp_path, extract, found)
    assert not result.passed
    assert result.severity == AssetCheckSeverity.WARN
    assert result.metadata["days_without_extract"].value == "2025-06-02, 2025-06-03"
    assert "no nps extract (responses.csv) for 2025-06-02, 2025-06-03" in result.description
    assert "| 2025-06-01 |" in result.metadata["evidence"].value
