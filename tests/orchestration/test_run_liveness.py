"""Runs whose process is gone are found and marked failed; `kpi runs` shows them and
`kpi runs mark-failed` is the manual way out (issue 13)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from dagster import DagsterRun, DagsterRunStatus
from typer.testing import CliRunner

from kpi_pipeline.cli import app
from kpi_pipeline.orchestration.run_liveness import (
    ALIVE,
    GONE,
    HOST_TAG,
    PID_TAG,
    PROCESS_START_TAG,
    UNKNOWN,
    process_state,
    process_tags,
    recover_stale_runs,
)


def dead_process_tags() -> dict[str, str]:
    """The tags a run would carry if the process executing it had exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    tags = process_tags(process.pid)
    process.wait()
    return tags


def test_a_process_is_alive_gone_or_unknown() -> None:
    assert process_state(process_tags()) == ALIVE
    assert process_state(dead_process_tags()) == GONE
    # the pid now belongs to another process (it was reused): that run's process is gone
    assert process_state({**process_tags(), PROCESS_START_TAG: "12.00"}) == GONE
    assert process_state({**process_tags(), HOST_TAG: "another-host"}) == UNKNOWN
    assert process_state({}) == UNKNOWN


@pytest.fixture
def instance(cli_env: Path):
    from kpi_pipeline.cli.common import load_settings
    from kpi_pipeline.orchestration.dagster_private import open_instance_at

    with open_instance_at(load_settings().dagster_home) as instance:
        yield instance


def add_run(instance, run_id: str, tags: dict[str, str]) -> None:
    instance.add_run(
        DagsterRun(job_name="daily_kpis", run_id=run_id, status=DagsterRunStatus.STARTED, tags=tags)
    )


def test_only_runs_whose_process_is_gone_are_marked_failed(instance) -> None:
    add_run(instance, "dead0000-run", dead_process_tags())
    add_run(instance, "live0000-run", process_tags())
    add_run(instance, "else0000-run", {})

    notices = recover_stale_runs(instance)

    assert len(notices) == 1 and "dead0000" in notices[0] and "marked failed" in notices[0]
    status = {r: instance.get_run_by_id(r).status for r in ("dead0000-run", "live0000-run")}
    assert status == {
        "dead0000-run": DagsterRunStatus.FAILURE,
        "live0000-run": DagsterRunStatus.STARTED,
    }
    assert instance.get_run_by_id("else0000-run").status == DagsterRunStatus.STARTED
    assert recover_stale_runs(instance) == []  # once only


def test_kpi_runs_shows_the_state_of_each_process(instance) -> None:
    add_run(instance, "dead1111-run", dead_process_tags())
    add_run(instance, "live1111-run", process_tags())

    listed = CliRunner().invoke(app, ["runs"])

    assert listed.exit_code == 0, listed.output
    lines = {line.split()[1]: line for line in listed.output.splitlines() if "1111 " in line}
    assert "process gone" in lines["dead1111"]  # ids shortened, as mark-failed takes them
    assert "running" in lines["live1111"]


def test_mark_failed_frees_a_run_it_cannot_check_and_refuses_a_live_one(instance) -> None:
    add_run(instance, "else2222-run", {PID_TAG: "1", HOST_TAG: "elsewhere"})
    add_run(instance, "live2222-run", process_tags())
    runner = CliRunner()

    marked = runner.invoke(app, ["runs", "mark-failed", "else2222"])
    refused = runner.invoke(app, ["runs", "mark-failed", "live2222"])
    unknown = runner.invoke(app, ["runs", "mark-failed", "nope"])

    assert marked.exit_code == 0 and "marked failed" in marked.output
    assert instance.get_run_by_id("else2222-run").status == DagsterRunStatus.FAILURE
    assert refused.exit_code == 2 and "is still running" in refused.output
    assert instance.get_run_by_id("live2222-run").status == DagsterRunStatus.STARTED
    assert unknown.exit_code == 2 and "no run in progress matches 'nope'" in unknown.output


def test_process_tags_name_this_host_and_process() -> None:
    tags = process_tags()
    assert tags[HOST_TAG] == socket.gethostname()
    assert int(tags[PID_TAG]) == psutil.Process().pid
