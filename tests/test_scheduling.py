"""`make test`'s sharing of modules between its workers (tests/scheduling.py): the Spark
server modules are one unit of work, every other module its own."""

from __future__ import annotations

from pathlib import Path

from tests.scheduling import SPARK_SERVER_MODULES, SPARK_UNIT, OneSparkServerAtATime, unit_of

ROOT = Path(__file__).resolve().parent.parent


def test_the_spark_server_modules_share_one_unit_and_the_others_keep_theirs() -> None:
    assert {unit_of(module) for module in SPARK_SERVER_MODULES} == {SPARK_UNIT}
    assert unit_of("tests/test_end_to_end.py") == "tests/test_end_to_end.py"
    assert unit_of("tests/test_spark_settings.py") == "tests/test_spark_settings.py"


def test_every_module_named_exists() -> None:
    """A renamed module would silently leave the unit (and run beside another server)."""
    assert all((ROOT / module).is_file() for module in SPARK_SERVER_MODULES)


def test_a_test_id_is_split_to_its_module_first() -> None:
    split = OneSparkServerAtATime._split_scope
    scheduler = object.__new__(OneSparkServerAtATime)  # no workers needed to split an id

    assert split(scheduler, "tests/test_spark_thrift.py::test_x[a::b]") == SPARK_UNIT
    assert split(scheduler, "tests/kpis/test_oracle.py::test_y") == "tests/kpis/test_oracle.py"
