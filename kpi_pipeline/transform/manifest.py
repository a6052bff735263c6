"""Keep dbt's manifest in step with the models, so definitions load from any checkout."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from dagster_dbt import DbtProject

from kpi_pipeline.transform.resource import KpiDbtCliResource

WATCHED = ("models", "macros", "seeds", "tests", "dbt_project.yml", "profiles.yml")


def newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in WATCHED:
        path = project_dir / name
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        for file in files:
            newest = max(newest, file.stat().st_mtime)
    return newest


def manifest_is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    return newest_source_mtime(Path(project.project_dir)) > manifest.stat().st_mtime


def ensure_manifest(
    project: DbtProject, dbt_executable: str, env: Mapping[str, str] | None = None
) -> Path:
    """Parse the project (`dbt parse`, its process given `env`: `Settings.dbt_env`) when the
    manifest is missing or older than a model.

    Safe when several processes load the definitions at once (test workers, `dagster dev`
    beside a CLI run): one parses under a file lock, into a folder of its own, and the
    manifest is moved into place atomically, so nobody reads a half-written one.
    """
    manifest = Path(project.manifest_path)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with (manifest.parent / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_is_stale(project):
            with tempfile.TemporaryDirectory(dir=manifest.parent, prefix=".parse-") as scratch:
                dbt = KpiDbtCliResource(project_dir=project, dbt_executable=dbt_executable)
                dbt.cli(["parse", "--quiet"], target_path=Path(scratch), env=env).wait()
                # MetricFlow (`mf`) reads the semantic manifest beside the manifest
                for name in ("semantic_manifest.json", "manifest.json"):
                    if (Path(scratch) / name).exists():
                        os.replace(Path(scratch) / name, manifest.parent / name)
    return manifest
