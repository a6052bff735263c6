"""`kpi-dbt` asks the kernel to kill dbt when the process that started it dies."""

from __future__ import annotations

import signal
import subprocess
import sys

import psutil

# A parent that starts a child through die_with_parent (as kpi-dbt starts dbt), then
# prints the child's pid and waits to be killed. The child is `sleep 600`: it would
# outlive the test if nothing killed it.
PARENT = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", '''
import os
from kpi_pipeline.transform.dbt_child import die_with_parent
die_with_parent(int(os.environ["EXPECTED_PARENT"]))
print("ready", flush=True)
os.execv("/bin/sleep", ["sleep", "600"])
'''], env={**os.environ, "EXPECTED_PARENT": str(os.getpid())}, stdout=subprocess.PIPE, text=True)
assert child.stdout.readline() == "ready\\n"
print(child.pid, flush=True)
sys.stdin.read()
"""


def test_the_child_dies_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    child = psutil.Process(int(parent.stdout.readline()))
    assert child.is_running()  # about to become (or already) `sleep 600`

    parent.send_signal(signal.SIGKILL)
    parent.wait()

    # waited for, not timed: a sleep of 600 s still running after 60 s was not killed
    gone, alive = psutil.wait_procs([child], timeout=60)
    assert alive == [] and gone == [child]


def test_the_launcher_runs_dbt_itself() -> None:
    from kpi_pipeline.transform.project import DBT_EXECUTABLE

    printed = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True)
    assert printed.returncode == 0 and "installed:" in printed.stdout
