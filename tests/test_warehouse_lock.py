"""The writer lock: re-entrant within a process, exclusive across processes, readers shared;
its timeout setting read strictly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from kpi_pipeline.warehouse.lock import (
    WarehouseBusyError,
    held_by_this_process,
    hold,
    lock_timeout,
    read_holder,
)
from tests.lock_holder import writer_lock_held

TRY_LOCK = """
import sys
from pathlib import Path
from kpi_pipeline.warehouse.lock import WarehouseBusyError, hold
try:
    with hold(Path(sys.argv[1]), exclusive=sys.argv[2] == "writer", timeout=0):
        print("got it")
except WarehouseBusyError as err:
    print(err)
"""


def try_from_another_process(path: Path, role: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(path), role], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_writer_excludes_other_processes_and_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.lock"
    with hold(path, command="kpi run 2025-06-03", timeout=0):
        assert held_by_this_process(path)
        assert read_holder(path).command == "kpi run 2025-06-03"
        writer = try_from_another_process(path, "writer")
        reader = try_from_another_process(path, "reader")
        with hold(path, timeout=0):  # the run inside `kpi run` takes it again
            pass
    assert "busy" in writer and "kpi run 2025-06-03" in writer
    assert "busy" in reader and "kpi run 2025-06-03" in reader
    assert not held_by_this_process(path) and read_holder(path) is None
    assert try_from_another_process(path, "writer") == "got it"


def test_readers_share_and_keep_writers_out(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.lock"
    with hold(path, exclusive=False, timeout=0):
        assert try_from_another_process(path, "reader") == "got it"
        writer = try_from_another_process(path, "writer")
    assert "readers (kpi query / kpi show) to finish" in writer


def test_a_reader_where_there_is_no_deployment_creates_nothing(tmp_path: Path) -> None:
    """No data folder: nothing to read and no writer to wait for; a writer makes the folder."""
    path = tmp_path / "data" / "warehouse.lock"
    with hold(path, exclusive=False, timeout=0):
        assert not (tmp_path / "data").exists()
    assert list(tmp_path.iterdir()) == []
    with hold(path, timeout=0):
        assert path.is_file()


def test_a_wait_that_runs_out_says_busy(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.lock"
    told = []
    with writer_lock_held(path, "other"):
        expected = re.escape("waited 0.3 s for a run writing it: other")
        with (
            pytest.raises(WarehouseBusyError, match=expected),
            hold(path, timeout=0.3, on_wait=told.append),
        ):
            pass
    assert told == [told[0]] and "waiting up to 0.3 s" in told[0]


@pytest.mark.parametrize("text", ["-1", "soon", ""])
def test_a_bad_lock_timeout_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="KPI_LOCK_TIMEOUT="):
        lock_timeout({"KPI_LOCK_TIMEOUT": text})


def test_the_lock_timeout_defaults_to_ten_minutes() -> None:
    assert lock_timeout({}) == 600 and lock_timeout({"KPI_LOCK_TIMEOUT": "0"}) == 0
