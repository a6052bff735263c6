"""The `kpi` CLI in a process of its own, running this checkout's code (whatever the venv's
editable install points at), for tests that need a real process: exit codes, stderr as a
user sees it, concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kpi_pipeline.settings import PROJECT_ROOT

CLI = "from kpi_pipeline.cli import main; main()"


def kpi_command(*args: str) -> list[str]:
    return [sys.executable, "-c", CLI, *args]


def kpi_env(**settings: str) -> dict[str, str]:
    """This process's environment with `settings` added, this checkout on PYTHONPATH."""
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, **settings, "PYTHONPATH": path}


def run_kpi(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """`kpi <args>` to its end (`env`: `kpi_env()` by default); its exit code and output."""
    return subprocess.run(
        kpi_command(*args),
        env=env if env is not None else kpi_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


@contextmanager
def run_in_background(
    folder: Path, *args: str
) -> Iterator[Callable[[], subprocess.CompletedProcess]]:
    """`kpi <args>` started in a process of its own (this environment), its output in files
    under `folder` (a pipe could fill and stall it); yields a function that waits for its
    end and returns it as a CompletedProcess. Killed on exit if still running."""
    folder.mkdir()
    with open(folder / "stdout", "w") as out, open(folder / "stderr", "w") as err:
        process = subprocess.Popen(kpi_command(*args), env=kpi_env(), stdout=out, stderr=err)

    def finished() -> subprocess.CompletedProcess:
        process.wait(timeout=1500)
        said = [(folder / name).read_text() for name in ("stdout", "stderr")]
        return subprocess.CompletedProcess(process.args, process.returncode, *said)

    try:
        yield finished
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
