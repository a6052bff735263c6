"""kill -9 at each stage of a run, then a plain `kpi run`: nothing published is touched, no
partial version appears, no process is left behind, and the rerun publishes exactly what an
uninterrupted run publishes (issue 13)."""

from __future__ import annotations

import json
import signal

import pytest
from dagster import DagsterInstance, RunsFilter

from kpi_pipeline.faults import POINTS
from kpi_pipeline.publish.snapshot import intact, version_folders
from kpi_pipeline.scoped_env import scoped_environ
from tests.faults.conftest import BASE_DAY, DAY
from tests.faults.site import TAG, Site, leftover_processes, new_tag, tree_digest

pytestmark = pytest.mark.faults
DBT_NOT_FINISHED = {"ingest", "raw_checks", "dbt"}  # kills before dbt's build ended


def published_versions(site: Site) -> dict[int, dict[str, str]]:
    """Every file of every published version of the earlier day, by version."""
    folders = version_folders(site.snapshots / str(BASE_DAY))
    return {version: tree_digest(folder) for version, folder in folders.items()}


def run_statuses(site: Site) -> list[str]:
    home = str(site.root / "dagster_home")
    with scoped_environ({"DAGSTER_HOME": home}), DagsterInstance.from_config(home) as instance:
        return [r.dagster_run.status.value for r in instance.get_run_records(RunsFilter())]


@pytest.mark.parametrize("point", list(POINTS))
def test_a_run_killed_at_each_stage_recovers_with_a_plain_rerun(
    point: str, site: Site, clean_day_csv: bytes
) -> None:
    before = published_versions(site)
    dbt_results = site.root / "dbt_target" / "run_results.json"
    dbt_results_before = dbt_results.read_bytes()
    tag = new_tag()

    killed = site.kpi("run", "--date", str(DAY), KPI_FAILPOINTS=point, **{TAG: tag})

    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert leftover_processes(tag) == []
    if point in DBT_NOT_FINISHED:
        # dbt was killed with its parent, not left to finish its build (it writes its
        # results last)
        assert dbt_results.read_bytes() == dbt_results_before
    # the earlier day's published versions are intact (a publish killed after promoting a
    # version of it, restated by the day's extract, adds one: never a partial one)
    after_kill = published_versions(site)
    assert {v: after_kill[v] for v in before} == before
    day_folder = site.snapshots / str(DAY)
    assert all(intact(folder) for folder in version_folders(day_folder).values())
    assert "STARTED" in run_statuses(site)  # Dagster could not record its end

    rerun = site.kpi("run", "--date", str(DAY), **{TAG: tag})

    output = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, output
    assert "marked failed" in output and "is gone" in output
    assert leftover_processes(tag) == []
    # the earlier day's published version is byte-identical (the run may add a version of
    # it, restated by the day's extract, exactly as an uninterrupted run does)
    after = published_versions(site)
    assert {v: after[v] for v in before} == before
    base = version_folders(site.snapshots / str(BASE_DAY))
    assert all(intact(f) for f in base.values())
    assert (site.snapshots / str(BASE_DAY) / "latest").resolve() == base[max(base)]
    assert sorted(version_folders(day_folder)) == [1]  # never a duplicate version
    assert (day_folder / "latest").resolve() == day_folder / "v1"
    assert (day_folder / "latest" / "kpis.csv").read_bytes() == clean_day_csv
    assert not list(site.snapshots.glob(".staging-*"))
    assert not list(day_folder.glob(".latest-*"))
    statuses = run_statuses(site)
    assert "STARTED" not in statuses and statuses.count("FAILURE") == 1
    manifest = json.loads((day_folder / "latest" / "manifest.json").read_text())
    assert manifest["date"] == str(DAY) and manifest["version"] == 1


def test_a_deleted_latest_link_is_healed_not_republished(site: Site) -> None:
    first = site.kpi("run", "--date", str(DAY))
    assert first.returncode == 0, first.stdout + first.stderr
    day_folder = site.snapshots / str(DAY)
    published = tree_digest(day_folder / "v1")
    (day_folder / "latest").unlink()

    again = site.kpi("run", "--date", str(DAY))

    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(version_folders(day_folder)) == [1]
    assert (day_folder / "latest").resolve() == day_folder / "v1"
    assert tree_digest(day_folder / "v1") == published


def test_a_damaged_manifest_is_named_with_what_to_do(site: Site) -> None:
    manifest = site.snapshots / str(BASE_DAY) / "v1" / "manifest.json"
    manifest.write_text("{ not json")

    listed = site.kpi("snapshots", "show", str(BASE_DAY))
    rerun = site.kpi("run", "--date", str(BASE_DAY))

    assert listed.returncode == 2
    assert "manifest.json is damaged" in listed.stderr and "restore" in listed.stderr
    assert "Traceback" not in listed.stderr + rerun.stderr
    assert rerun.returncode == 2
    assert "manifest.json is damaged" in rerun.stderr
    assert manifest.read_text() == "{ not json"  # a published file is never rewritten


def test_a_damaged_dagster_store_says_what_to_do(site: Site) -> None:
    store = site.root / "dagster_home" / "history" / "runs.db"
    assert store.exists()
    store.write_bytes(b"this is not a database" * 100)

    listed = site.kpi("runs")

    assert listed.returncode == 2
    assert "run history" in listed.stderr and "is damaged" in listed.stderr
    assert "history.damaged" in listed.stderr
    assert "Traceback" not in listed.stderr
