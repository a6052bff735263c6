"""The guard of the test modules that need a Spark: `make test` installs the spark extra and CI
must run them, so without pyspark they fail on CI and are skipped elsewhere (a machine set up
with `make install` alone). The pipeline's modules import pyspark only where a session is
opened, so a module imports them first and calls this after its imports."""

from __future__ import annotations

import importlib.util
import os

import pytest


def require_spark_extra() -> None:
    if importlib.util.find_spec("pyspark") is not None:
        return
    if os.environ.get("CI") == "true":
        raise ImportError("pyspark is not installed, and CI must run the Spark tests")
    pytest.skip("the spark extra is not installed: make install-spark", allow_module_level=True)
