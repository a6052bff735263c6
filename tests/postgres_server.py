"""A throwaway PostgreSQL server for tests: Debian's binaries, a temp cluster, a free
loopback port, trust authentication; stopped and removed at the end."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ports import free_port

SUPERUSER = "kpi"
DATABASE = "kpi"


def server_binaries() -> Path | None:
    """The newest `/usr/lib/postgresql/<version>/bin` holding initdb and pg_ctl, if any."""
    found = [
        Path(d)
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists()
    ]
    return max(found, key=lambda p: int(p.parent.name), default=None) if found else None


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: CI (root) runs the binaries as `postgres`."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server(binaries: Path) -> Iterator[str]:
    """Start a cluster in a new folder of the system temp dir (pytest's own is private to
    root, which the `postgres` user cannot enter), create the database and yield its URL
    (`postgresql://kpi@127.0.0.1:<port>/kpi`); stop the server and remove the folder on exit."""
    root = Path(tempfile.mkdtemp(prefix="kpi-postgres-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()

    def run(program: str, *args: str) -> None:
        done = subprocess.run(
            _as_server_user([str(binaries / program), *args]),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            log = root / "server.log"
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stderr.strip()}"
                + (f"\nserver log:\n{log.read_text()}" if log.exists() else "")
            )

    # C collation: text sorts bytewise, as in DuckDB; no dependency on installed locales
    run(
        "initdb",
        "-D",
        str(data),
        "-U",
        SUPERUSER,
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start")
    try:
        run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, DATABASE)
        yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
