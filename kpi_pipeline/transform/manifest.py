"""Keep dbt's manifest in step with the models, so definitions load from any checkout."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

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


def ensure_manifest(project: DbtProject, dbt_executable: str) -> Path:
    """Parse the project (`dbt parse`) when the manifest is missing or older than a model."""
    if manifest_is_stale(project):
        DbtCliResource(project_dir=project, dbt_executable=dbt_executable).cli(
            ["parse", "--quiet"], target_path=project.target_path
        ).wait()
    return project.manifest_path
