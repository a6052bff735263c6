"""Start `dagster dev -w workspace.yaml` for a test, talk to it, and stop it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from kpi_pipeline.settings import PROJECT_ROOT
from tests.ports import free_port

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=20000",  # let the page's own requests finish before dumping
]


def _default_signals() -> None:
    # A non-interactive parent may leave SIGINT ignored; dagster dev must hear it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass
class DagsterDev:
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        """Start in a new process group and wait until the webserver answers."""
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster"),
                "dev",
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_signals,
        )
        self.wait_for(lambda: self._get("/server_info") is not None, timeout, "webserver up")

    def wait_for(
        self, condition, timeout: float, what: str, interval: float = 0.5, running: bool = True
    ):
        """Poll `condition` until it returns a truthy value; fail after `timeout` seconds
        (or at once if the server died while it should be `running`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if running and self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"dagster dev exited early: {self.log_tail()}")
            value = condition()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what}: {self.log_tail()}")

    def _get(self, path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return response.read()
        except (urllib.error.URLError, OSError):
            return None

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.url + "/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.loads(response.read())
        assert "errors" not in body, body["errors"]
        return body["data"]

    def stop(self, timeout: float = 60) -> int:
        """SIGINT to the whole group (webserver, daemon, code server), as Ctrl-C would."""
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                raise
        return self.process.returncode

    def group_alive(self) -> bool:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def chromium(
    binary: str, profile: Path, *args: str, size: str = "1600,1000"
) -> subprocess.CompletedProcess:
    """Headless Chromium; the graph draws only the nodes in view, hence `size`."""
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--window-size={size}", f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
