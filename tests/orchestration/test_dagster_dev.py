"""`dagster dev -w workspace.yaml` as a data engineer starts it: the asset graph grouped by
stage in a real browser, two runs requested together running one after the other, and a
clean stop."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from kpi_pipeline.ingest.contracts import CSV_EXTRACTS
from kpi_pipeline.settings import PROJECT_ROOT
from tests.orchestration.dagster_server import DagsterDev, chromium

pytestmark = pytest.mark.e2e

DAYS = [dt.date(2025, 6, 2), dt.date(2025, 6, 3)]
STAGES = ("ingest", "transform", "quality", "publish")
REPOSITORY = "__repository__@kpi_pipeline"
ASSETS_QUERY = """{
  assetNodes {
    assetKey { path }
    groupName
    description
    owners { __typename ... on TeamAssetOwner { team } }
    metadataEntries { label ... on MarkdownMetadataEntry { mdStr } }
  }
}"""
LAUNCH = """mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}"""
RUNS = """query Runs($ids: [String!]) {
  runsOrError(filter: {runIds: $ids}) {
    ... on Runs { results { runId status startTime endTime tags { key value } } }
  }
}"""
DOCS_RUNS = """{
  runsOrError(filter: {pipelineName: "dbt_docs"}) { ... on Runs { results { runId status } } }
}"""
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
AUTOMATION = """{
  repositoryOrError(
    repositorySelector: {repositoryLocationName: "kpi_pipeline", repositoryName: "__repository__"}
  ) {
    ... on Repository {
      schedules { name cronSchedule executionTimezone scheduleState { status } }
      sensors { name sensorState { status } }
    }
  }
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    from kpi_pipeline.sample import generate_sample
    from kpi_pipeline.settings import Settings, prepare_deployment

    root = tmp_path_factory.mktemp("deployment")
    env = {
        **os.environ,
        "KPI_DATA_DIR": str(root),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "KPI_PII_KEY": "test-key-not-a-secret",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    for name in ("KPI_LANDING_DIR", "KPI_WAREHOUSE", "KPI_SNAPSHOT_DIR"):
        env.pop(name, None)
    settings = Settings.from_env(env)
    prepare_deployment(settings)
    generate_sample(DAYS[0], DAYS[-1], settings.landing_dir, scale=0.02)
    dev = DagsterDev(env=env, log_path=root / "dagster_dev.log")
    dev.start()
    yield dev, settings
    if dev.process.poll() is None:
        dev.stop()


def loaded_assets(dev: DagsterDev) -> list[dict]:
    """The assets once the code location has loaded (the webserver answers before that)."""
    return dev.wait_for(
        lambda: dev.graphql(ASSETS_QUERY)["assetNodes"], timeout=120, what="code location"
    )


def test_assets_are_grouped_by_stage_with_descriptions_and_owners(server) -> None:
    dev, _ = server
    assets = loaded_assets(dev)
    by_group: dict[str, list[dict]] = {}
    for node in assets:
        by_group.setdefault(node["groupName"], []).append(node)
    assert set(STAGES) <= set(by_group)
    assert len(by_group["ingest"]) == len(CSV_EXTRACTS) + 1  # and GA4
    assert {"/".join(a["assetKey"]["path"]) for a in by_group["quality"]} == {
        "raw/_quarantine",
        "raw/_ingest_log",
    }
    [snapshot] = by_group["publish"]
    assert snapshot["assetKey"]["path"] == ["kpi_snapshot"]
    kpis = {e["label"]: e.get("mdStr") for e in snapshot["metadataEntries"]}["kpis"]
    assert "| net_revenue | Net revenue | financial |" in kpis
    assert ["marts", "fct_kpi_daily"] in [a["assetKey"]["path"] for a in by_group["transform"]]
    for stage in STAGES:
        for node in by_group[stage]:
            assert node["description"], node["assetKey"]
            assert any(o.get("team") for o in node["owners"]), node["assetKey"]


def test_schedule_and_sensors_are_on_in_the_deployment(server) -> None:
    dev, _ = server
    loaded_assets(dev)
    repository = dev.graphql(AUTOMATION)["repositoryOrError"]
    [schedule] = repository["schedules"]
    assert (schedule["name"], schedule["cronSchedule"], schedule["executionTimezone"]) == (
        "daily_kpis_schedule",
        "0 6 * * *",
        "UTC",
    )
    assert schedule["scheduleState"]["status"] == "RUNNING"
    sensors = {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}
    assert sensors["landing_zone_sensor"] == sensors["dbt_docs_after_success"] == "RUNNING"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium not installed")
def test_the_asset_graph_shows_every_asset_in_chromium(server, tmp_path: Path) -> None:
    dev, _ = server
    assets = loaded_assets(dev)
    dev.graphql("mutation { setNuxSeen }")  # no welcome dialog over the screenshot
    browser = shutil.which("chromium")
    for stage in STAGES:
        url = f"{dev.url}/locations/{REPOSITORY}/asset-groups/{stage}"
        profile = tmp_path / f"profile-{stage}"
        # the transform group is the largest graph: room for every node of it in view
        dom = chromium(browser, profile, "--dump-dom", url, size="3600,5400").stdout
        names = [a["assetKey"]["path"][-1] for a in assets if a["groupName"] == stage]
        missing = [name for name in names if name not in dom]
        assert not missing, f"{stage} graph lacks {missing}"
    overview = chromium(
        browser, tmp_path / "profile-all", "--dump-dom", f"{dev.url}/asset-groups"
    ).stdout
    assert all(stage in overview for stage in STAGES)

    shots = {
        "dagster_assets.png": f"{dev.url}/locations/{REPOSITORY}/asset-groups/transform",
        "dagster_asset_groups.png": f"{dev.url}/asset-groups",
    }
    for name, url in shots.items():
        shot = tmp_path / name
        chromium(browser, tmp_path / f"profile-{name}", f"--screenshot={shot}", url)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
        if os.environ.get("KPI_SAVE_SCREENSHOTS"):
            shutil.copy(shot, PROJECT_ROOT / "docs" / "images" / name)


def test_two_runs_requested_together_run_one_after_the_other(server) -> None:
    """Both runs write the one DuckDB file; the queue (max 1 run) makes them take turns."""
    dev, settings = server
    loaded_assets(dev)
    run_ids = []
    for day in DAYS:
        params = {
            "selector": {
                "repositoryLocationName": "kpi_pipeline",
                "repositoryName": "__repository__",
                "jobName": "daily_kpis",
            },
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": str(day)}]},
        }
        launched = dev.graphql(LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_ids.append(launched["run"]["runId"])

    running_together = []

    def finished():
        runs = dev.graphql(RUNS, {"ids": run_ids})["runsOrError"]["results"]
        if sum(r["status"] == "STARTED" for r in runs) > 1:
            running_together.append([r["runId"] for r in runs])
        return runs if all(r["status"] in TERMINAL for r in runs) else None

    runs = dev.wait_for(finished, timeout=400, what="both runs to finish", interval=1)
    assert [r["status"] for r in runs] == ["SUCCESS", "SUCCESS"], dev.log_tail()
    assert running_together == []
    first, second = sorted(runs, key=lambda r: r["startTime"])
    assert first["endTime"] <= second["startTime"]
    for day in DAYS:
        assert (settings.snapshot_dir / str(day) / "latest" / "kpis.parquet").exists()


def test_dbt_docs_are_regenerated_after_a_successful_run(server) -> None:
    """The run-status sensor queues the `dbt_docs` job after each successful daily run."""
    dev, settings = server

    def docs_done():
        runs = dev.graphql(DOCS_RUNS)["runsOrError"]["results"]
        finished = [r for r in runs if r["status"] in TERMINAL]
        return finished if finished and len(finished) == len(runs) else None

    runs = dev.wait_for(docs_done, timeout=300, what="the dbt docs runs", interval=1)
    assert {r["status"] for r in runs} == {"SUCCESS"}, dev.log_tail()
    site = settings.warehouse_path.parent / "dbt_docs" / "static_index.html"
    assert "fct_kpi_daily" in site.read_text()


def test_the_server_stops_cleanly_on_ctrl_c(server) -> None:
    dev, _ = server
    assert dev.stop() == 0, dev.log_tail()
    dev.wait_for(
        lambda: not dev.group_alive(), timeout=30, what="every process to exit", running=False
    )
    assert "Dagster services shut down" in dev.log_path.read_text()
