"""Two writers, or a writer and a reader, at the same time: one writer at a time by an OS
lock, the other waits (saying for what) or, past KPI_LOCK_TIMEOUT, exits 3 as busy; never
DuckDB's raw lock error (issue 13)."""

from __future__ import annotations

import duckdb
import pytest
from dagster import DagsterInstance, RunsFilter

from kpi_pipeline.exit_codes import ExitCode
from kpi_pipeline.publish.snapshot import version_folders
from kpi_pipeline.scoped_env import scoped_environ
from tests.faults.conftest import DAY
from tests.faults.site import HANG_GUARD_SECONDS, Site
from tests.lock_holder import writer_lock_held

pytestmark = pytest.mark.faults
RAW_LOCK_ERROR = "Could not set lock"


def read_until(stream, text: str) -> str:
    """Lines of `stream` up to the first containing `text` (the process says it waits)."""
    seen = []
    for line in stream:
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} never printed; got:\n{''.join(seen)}")


def run_records(site: Site):
    home = str(site.root / "dagster_home")
    with scoped_environ({"DAGSTER_HOME": home}), DagsterInstance.from_config(home) as instance:
        return list(instance.get_run_records(RunsFilter(job_name="daily_kpis")))


def test_two_runs_started_together_take_turns_and_publish_once(site: Site) -> None:
    runs_before = len(run_records(site))
    first = site.start("run", "--date", str(DAY))
    second = site.start("run", "--date", str(DAY))
    outputs = [p.communicate(timeout=HANG_GUARD_SECONDS) for p in (first, second)]

    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert not any(RAW_LOCK_ERROR in out + err for out, err in outputs)
    said = sorted(out for out, _ in outputs)
    assert sum("1 published" in out for out in said) == 1, said
    assert sum("1 unchanged" in out for out in said) == 1, said  # not "published" twice
    assert sorted(version_folders(site.snapshots / str(DAY))) == [1]
    records = sorted(
        run_records(site)[: len(run_records(site)) - runs_before], key=lambda r: r.start_time
    )
    assert len(records) == 2 and all(r.dagster_run.status.value == "SUCCESS" for r in records)
    # one writer at a time: the second run started only after the first had ended
    assert records[0].end_time <= records[1].start_time


def test_a_run_gives_up_as_busy_after_the_lock_timeout(site: Site) -> None:
    with writer_lock_held(site.root / "warehouse.lock"):
        busy = site.kpi("run", "--date", str(DAY), KPI_LOCK_TIMEOUT="0")

    assert busy.returncode == ExitCode.BUSY == 3
    assert "the warehouse is busy" in busy.stderr and "the test's holder" in busy.stderr
    assert "KPI_LOCK_TIMEOUT" in busy.stderr
    assert "Traceback" not in busy.stderr and RAW_LOCK_ERROR not in busy.stderr
    assert not (site.snapshots / str(DAY)).exists()


def test_a_run_waits_for_another_writer_then_runs(site: Site) -> None:
    with writer_lock_held(site.root / "warehouse.lock"):
        waiting = site.start("run", "--date", str(DAY), KPI_LOCK_TIMEOUT="600")
        said = read_until(waiting.stderr, "waiting up to 600 s")
        assert "the test's holder" in said
        assert not (site.snapshots / str(DAY)).exists()  # nothing ran meanwhile
    out, err = waiting.communicate(timeout=HANG_GUARD_SECONDS)

    assert waiting.returncode == 0, out + err
    assert sorted(version_folders(site.snapshots / str(DAY))) == [1]


def test_an_analyst_holding_the_warehouse_makes_the_run_wait_not_crash(site: Site) -> None:
    reader = duckdb.connect(str(site.warehouse), read_only=True)
    try:
        busy = site.kpi("run", "--date", str(DAY), KPI_LOCK_TIMEOUT="0")
        waiting = site.start("run", "--date", str(DAY), KPI_LOCK_TIMEOUT="600")
        said = read_until(waiting.stderr, "to close the warehouse")
    finally:
        reader.close()
    out, err = waiting.communicate(timeout=HANG_GUARD_SECONDS)

    assert busy.returncode == ExitCode.BUSY, busy.stdout + busy.stderr
    assert "is busy" in busy.stderr and "kept it open" in busy.stderr
    assert RAW_LOCK_ERROR not in busy.stdout + busy.stderr
    assert "waiting up to 600 s" in said
    assert waiting.returncode == 0, out + err
    assert sorted(version_folders(site.snapshots / str(DAY))) == [1]
