"""What `kpi_pipeline/orchestration/dagster_private.py` relies on, checked against the
installed Dagster and dagster-dbt: a failure names the symbol and the versions. After an
upgrade that fails here, re-read the module's reasons and adapt it (or use the public API
that replaced the private one)."""

from __future__ import annotations

import inspect
import re
import threading
from functools import cached_property
from importlib import import_module
from importlib.metadata import version
from pathlib import Path

import pytest
from sqlalchemy import text

from kpi_pipeline.orchestration import dagster_private

VERSIONS = f"dagster {version('dagster')}, dagster-dbt {version('dagster-dbt')}"
PACKAGE = Path(dagster_private.__file__).resolve().parents[1]


def require(condition: object, symbol: str, what: str) -> None:
    if not condition:
        pytest.fail(
            f"{symbol}: {what} ({VERSIONS}); kpi_pipeline/orchestration/dagster_private.py "
            "relies on it: see its docstring",
            pytrace=False,
        )


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def attribute(owner: object, name: str, symbol: str):
    require(hasattr(owner, name), symbol, "no longer exists")
    return getattr(owner, name)


def test_the_sqlite_event_log_storage_still_connects_through_connect(tmp_path: Path) -> None:
    module = import_module("dagster._core.storage.event_log")
    storage_class = attribute(module, "SqliteEventLogStorage", "dagster._core.storage.event_log")
    name = "SqliteEventLogStorage"
    require(
        parameters(storage_class.__init__)[:3] == ["self", "base_dir", "inst_data"],
        f"{name}.__init__",
        "no longer takes (base_dir, inst_data)",
    )
    connect = attribute(storage_class, "_connect", f"{name}._connect")
    require(parameters(connect) == ["self", "shard"], f"{name}._connect", "signature changed")
    initdb = attribute(storage_class, "_initdb", f"{name}._initdb")
    require(parameters(initdb)[:2] == ["self", "engine"], f"{name}._initdb", "signature changed")
    attribute(storage_class, "conn_string_for_shard", f"{name}.conn_string_for_shard")
    timeout = dagster_private.SQLITE_BUSY_TIMEOUT_SECONDS
    require(isinstance(timeout, int | float), "SQLITE_BUSY_TIMEOUT_SECONDS", "not a number")

    storage = storage_class(str(tmp_path / "plain"))
    try:
        require(
            isinstance(getattr(storage, "_db_lock", None), type(threading.Lock())),
            f"{name}._db_lock",
            "is no longer a threading.Lock",
        )
        require(
            isinstance(getattr(storage, "_initialized_dbs", None), set),
            f"{name}._initialized_dbs",
            "is no longer a set of shard names",
        )
    finally:
        storage.dispose()


def test_every_connection_of_the_storage_takes_the_shard_engine(tmp_path: Path) -> None:
    """Dagster's index and run connections still go through `_connect`: otherwise the
    override would be silently bypassed and connections no longer kept open."""
    from kpi_pipeline.orchestration.event_log import PooledSqliteEventLogStorage

    asked: list[str] = []

    class Counting(PooledSqliteEventLogStorage):
        def shard_engine(self, shard: str):
            asked.append(shard)
            return super().shard_engine(shard)

    storage = Counting(str(tmp_path))
    asked.clear()  # creating the index connects too
    try:
        with storage.index_connection() as conn:
            conn.execute(text("select 1"))
        with storage.run_connection("run-1") as conn:
            conn.execute(text("select 1"))
        require(
            asked == ["index", "run-1"],
            "SqliteEventLogStorage.index_connection/run_connection",
            f"no longer connect through `_connect` (engines asked for: {asked})",
        )
    finally:
        storage.dispose()


def test_dbt_cli_resource_still_has_the_start_up_work_it_skips() -> None:
    from dagster_dbt import DbtCliResource

    name = "DbtCliResource"
    cli_version = inspect.getattr_static(DbtCliResource, "_cli_version", None)
    require(cli_version is not None, f"{name}._cli_version", "no longer exists")
    require(
        isinstance(cli_version, cached_property | property),
        f"{name}._cli_version",
        "is no longer a (cached) property",
    )
    adapter = attribute(DbtCliResource, "_initialize_dbt_core_adapter", name)
    require(
        parameters(adapter) == ["self", "args"],
        f"{name}._initialize_dbt_core_adapter",
        "signature changed",
    )
    source = inspect.getsource(DbtCliResource.cli)
    require(
        "self._cli_version" in source and "self._initialize_dbt_core_adapter(" in source,
        f"{name}.cli",
        "no longer calls `_cli_version` / `_initialize_dbt_core_adapter`",
    )
    # the environment of the dbt process: still os.environ's (transform/resource.py sets it
    # around `cli`); a parameter for it would make that workaround unnecessary
    require(
        "os.environ" in source and "env" not in parameters(DbtCliResource.cli),
        f"{name}.cli",
        "takes dbt's environment otherwise than from os.environ now: pass `env` to it "
        "directly in transform/resource.py",
    )


def test_the_skipping_resource_answers_without_a_subprocess_or_an_adapter() -> None:
    from kpi_pipeline.transform.project import DBT_EXECUTABLE, dbt_project

    resource_class = dagster_private.DbtCliResourceWithoutStartupWork
    resource = resource_class(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
    assert str(resource._cli_version) == version("dbt-core")
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_the_target_materialization_data_of_a_check_evaluation() -> None:
    from dagster import AssetCheckEvaluation, AssetKey

    data_class = dagster_private.AssetCheckEvaluationTargetMaterializationData
    data = data_class(storage_id=1, run_id="r", timestamp=1.0)
    evaluation = AssetCheckEvaluation(
        asset_key=AssetKey("a"), check_name="c", passed=True, target_materialization_data=data
    )
    require(
        evaluation.target_materialization_data == data,
        "AssetCheckEvaluation.target_materialization_data",
        "no longer kept",
    )


def test_an_instance_opens_from_its_home(tmp_path: Path, monkeypatch) -> None:
    from dagster import DagsterInstance

    from kpi_pipeline.orchestration.event_log import PooledSqliteEventLogStorage
    from kpi_pipeline.settings import DAGSTER_YAML

    from_config = attribute(DagsterInstance, "from_config", "DagsterInstance.from_config")
    require(
        parameters(from_config)[:1] == ["config_dir"],
        "DagsterInstance.from_config",
        "no longer takes the folder of dagster.yaml first",
    )
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("KPI_DATA_DIR", str(tmp_path))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    with dagster_private.open_instance_at(home) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert instance.get_runs_count() == 0
    assert (home / "history" / "runs" / "index.db").exists()


def test_no_other_module_uses_dagsters_private_api() -> None:
    private = re.compile(r"\b(?:from|import)\s+dagster(?:_dbt)?\._|\bdagster_dbt\.core\b")
    found = [
        str(path.relative_to(PACKAGE.parent))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "dagster_private.py" and private.search(path.read_text())
    ]
    assert found == [], f"private Dagster imports outside dagster_private.py: {found}"
