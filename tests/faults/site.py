"""A deployment driven the way an operator drives it: the `kpi` command in its own process,
which the tests kill, race and block from outside."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

KPI = str(Path(sys.executable).parent / "kpi")
TAG = "KPI_TEST_PROCESS_TAG"  # inherited by every process a `kpi` command starts
HANG_GUARD_SECONDS = 600  # a command still running then has hung: the test fails


@dataclass
class Site:
    root: Path

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KPI_", "DAGSTER_", "PYTEST_")) and k != "PGPASSWORD"
        }
        env.update(
            KPI_DATA_DIR=str(self.root),
            KPI_PII_KEY="test-key-not-a-secret",
            COLUMNS="200",
            **extra,
        )
        return env

    def start(self, *args: str, **extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [KPI, *args],
            env=self.env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def kpi(self, *args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [KPI, *args],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_SECONDS,
        )

    def copy(self, root: Path) -> Site:
        shutil.copytree(self.root, root, symlinks=True)
        return Site(root)


def new_tag() -> str:
    return uuid.uuid4().hex


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file (its SHA-256) and link (its target) under `folder`, by relative path."""
    digest = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            digest[key] = "-> " + os.readlink(path)
        elif path.is_file():
            digest[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def tagged_processes(tag: str) -> list[psutil.Process]:
    """Live processes started (directly or not) by a command run with `tag`."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(TAG) == tag and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def leftover_processes(tag: str) -> list[str]:
    """Processes of `tag` still alive once they had time to receive their parent's death
    signal (waited for, up to the hang guard: exiting is what is asserted, not speed)."""
    _, alive = psutil.wait_procs(tagged_processes(tag), timeout=60)
    return [f"{p.pid}: {' '.join(p.cmdline()[:3])}" for p in alive if p.is_running()]
