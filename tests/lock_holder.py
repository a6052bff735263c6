"""Another process holding the deployment's writer lock, as a run does, for as long as a
test needs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLDER = """
import sys
from pathlib import Path
from kpi_pipeline.warehouse.lock import hold
with hold(Path(sys.argv[1]), command=sys.argv[2], timeout=0):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def writer_lock_held(lock: Path, command: str = "the test's holder") -> Iterator[None]:
    """`lock` held exclusively by another process (named `command`) until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=600)
