"""Environment variables set for one block of code: for settings that a library (dbt's
process, Dagster's run creation) reads from the environment and nowhere else."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def scoped_environ(overrides: Mapping[str, str | None]) -> Iterator[None]:
    """`os.environ` with `overrides` set (None: unset), as it was again on exit. Steps run
    one at a time in a run's process, so nothing else reads the environment meanwhile."""
    saved = {name: os.environ.get(name) for name in overrides}
    for name, value in overrides.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
