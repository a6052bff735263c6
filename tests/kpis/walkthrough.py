"""The "Add a KPI" walk-through of docs/kpis.md, read from the page (one source for the
docs and the tests that run it): its YAML block, its `kpi` commands, its example error;
and a copy of the project to run them on."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kpi_pipeline.settings import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs" / "kpis.md"
SKIPPED = (".git", ".venv", "data", "target", "logs", "__pycache__", ".pytest_cache", "*.duckdb")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Walkthrough:
    kpi_block: str  # the YAML appended to kpis.yml
    commands: list[list[str]]  # each `kpi` command's arguments, in the page's order
    error_example: str  # the example error, as printed


def add_a_kpi(docs: Path = DOCS) -> Walkthrough:
    """The walk-through under '### Add a KPI' (up to the next heading)."""
    text = docs.read_text()
    section = text.split("\n### Add a KPI\n", 1)[1]
    section = re.split(r"^#{2,3} ", section, maxsplit=1, flags=re.MULTILINE)[0]
    blocks = _FENCE.findall(section)
    [kpi_block] = [body for lang, body in blocks if lang == "yaml"]
    [error_example] = [body for lang, body in blocks if lang == ""]
    commands = []
    for lang, body in blocks:
        for line in body.splitlines() if lang == "sh" else []:
            words = shlex.split(line, comments=True)
            assert words[0] == ".venv/bin/kpi", f"not a kpi command: {line}"
            commands.append(words[1:])
    return Walkthrough(kpi_block, commands, error_example.strip())


def copy_project(project: Path) -> Path:
    """A copy of the project (without data, the venv or build output) at `project`."""
    shutil.copytree(PROJECT_ROOT, project, ignore=shutil.ignore_patterns(*SKIPPED))
    return project


def kpi(project: Path, data: Path, *args: str) -> subprocess.CompletedProcess:
    """`kpi *args` run from the copy `project` (its code, its kpis.yml, its dbt project),
    everything it writes under `data`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPI_", "DAGSTER_", "DBT_"))}
    env |= {"PYTHONPATH": str(project), "KPI_DATA_DIR": str(data), "KPI_PII_KEY": "test-key"}
    return subprocess.run(
        [sys.executable, "-c", "from kpi_pipeline.cli import app; app()", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
