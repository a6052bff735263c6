"""Load the versioned GX suites under `expectations/` and validate a partition's rows."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from kpi_pipeline.settings import EXPECTATIONS_DIR

ERROR = "error"
WARN = "warn"
UNEXPECTED_SAMPLE_SIZE = 10  # failing values kept per expectation as evidence


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict with its evidence."""

    expectation: str
    column: str | None
    severity: str  # error | warn
    success: bool
    observed: Any = None
    expected: str = ""
    unexpected_count: int | None = None
    unexpected_sample: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows: int
    outcomes: list[ExpectationOutcome]
    # the days of the window whose data fails (quality/attribution.py); None: not known
    failing_days: tuple | None = None
    # the stored GX validation result (a file-backed run), rendered by `build_data_docs`
    result_key: Any = field(default=None, compare=False)

    @property
    def errors(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == ERROR]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == WARN]


def suite_path(name: str, folder: Path = EXPECTATIONS_DIR) -> Path:
    return folder / f"{name}.json"


def load_suite_dict(name: str, folder: Path = EXPECTATIONS_DIR) -> dict[str, Any]:
    path = suite_path(name, folder)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{path}: expectation suite '{name}' not found") from err


@cache
def _gx_batch_definition():
    # GX is slow to import (about 2 s): only a run that validates pays for it.
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("warehouse")
    return source.add_dataframe_asset("partition").add_batch_definition_whole_dataframe("rows")


DOCS_SITE = "kpi_gx_docs"
# The Data Docs index lists (and reads) only the newest results: about 16 runs' worth.
DOCS_INDEX_RESULTS = 200


@cache
def _gx_file_context(project_root: str):
    """A file-backed GX context under `<project_root>/gx/`: suites and validation results are
    stored there, and Data Docs are built to `<project_root>/gx_docs/`."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    Path(project_root).mkdir(parents=True, exist_ok=True)
    # check steps may run in parallel processes: one of them creates the project at a time
    with (Path(project_root) / ".gx.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _configure_file_context(
            gx.get_context(mode="file", project_root_dir=project_root),
            project_root,
            ProgressBarsConfig,
        )


def _configure_file_context(context, project_root: str, progress_bars_config):
    context.variables.progress_bars = progress_bars_config(globally=False)
    sites = context.variables.data_docs_sites or {}
    site_config = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(Path(project_root) / "gx_docs"),
        },
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "validation_results_limit": DOCS_INDEX_RESULTS,
        },
    }
    if DOCS_SITE not in sites:
        context.add_data_docs_site(site_name=DOCS_SITE, site_config=site_config)
    elif sites[DOCS_SITE] != site_config:  # a deployment made before the index limit
        context.update_data_docs_site(site_name=DOCS_SITE, site_config=site_config)
    try:
        source = context.data_sources.get("warehouse")
    except (KeyError, ValueError, LookupError):
        source = context.data_sources.add_pandas("warehouse")
    try:
        asset = source.get_asset("partition")
    except (KeyError, ValueError, LookupError):
        asset = source.add_dataframe_asset("partition")
    try:
        batch = asset.get_batch_definition("rows")
    except (KeyError, ValueError, LookupError):
        batch = asset.add_batch_definition_whole_dataframe("rows")
    return context, batch


def docs_index(project_root: Path) -> Path:
    return project_root / "gx_docs" / "index.html"


def build_data_docs(
    project_root: Path,
    outcomes: list[SuiteOutcome] | None = None,
    run_name: str | None = None,
) -> Path:
    """Render GX Data Docs; returns the index. With `outcomes` or `run_name` (the Dagster run
    id the results were validated under), only those results' and their suites' pages are
    rendered, with the index of the newest `DOCS_INDEX_RESULTS` results (nothing when there
    are none): a run's cost no longer grows with every result kept. Neither: everything."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    context, _ = _gx_file_context(str(project_root))
    keys = [o.result_key for o in outcomes or [] if o.result_key is not None]
    if run_name is not None:
        stored = context.validation_results_store.list_keys()
        keys += [k for k in stored if getattr(k.run_id, "run_name", None) == run_name]
    if (outcomes is not None or run_name is not None) and not keys:
        return docs_index(project_root)
    keys += [ExpectationSuiteIdentifier(name=k.expectation_suite_identifier.name) for k in keys]
    with (project_root / ".gx.lock").open("w") as lock:  # parallel check steps take turns
        fcntl.flock(lock, fcntl.LOCK_EX)
        context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=keys or None)
    return docs_index(project_root)


def _result_key(result, suite_name: str, run_id):
    """The store key GX gave a validation result (suite, run, batch)."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    batch = result.meta.get("active_batch_definition") or {}
    return ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
        run_id=run_id,
        batch_identifier=f"{batch.get('datasource_name')}-{batch.get('data_asset_name')}",
    )


def suite_body(suite: dict[str, Any]) -> dict[str, Any]:
    """A suite's JSON without the ids GX gives it and its expectations when it stores them."""
    body = {k: v for k, v in suite.items() if k != "id"}
    body["expectations"] = [
        {k: v for k, v in e.items() if k != "id"} for e in suite.get("expectations", [])
    ]
    return body


def _validation_definition(context, batch_definition, suite_name: str, definition: dict):
    """The validation definition of `definition` in the file-backed store: the stored one
    when it already validates that suite on the partition's batch, else the suite and it
    added or updated. Writing them on every validation (the suite twice, the datasource's
    config, the validation definition) cost a fifth of a small suite's validation; reading
    them costs a millisecond. What is validated, and so each stored result, is the same; the
    expectations keep their ids from one run to the next."""
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite
    from great_expectations.exceptions import DataContextError

    suite = ExpectationSuite(**definition)
    try:
        stored = context.validation_definitions.get(suite_name)
    except (DataContextError, ValueError):  # none yet, or its suite is gone from the store
        stored = None
    if (
        stored is not None
        and stored.data.id == batch_definition.id
        and suite_body(stored.suite.to_json_dict()) == suite_body(suite.to_json_dict())
    ):
        return stored
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(
            name=suite_name, data=batch_definition, suite=context.suites.add_or_update(suite)
        )
    )


def _expected_text(kwargs: dict[str, Any]) -> str:
    shown = {
        k: v
        for k, v in kwargs.items()
        if k not in {"column", "batch_id", "result_format", "condition_parser"} and v is not None
    }
    return json.dumps(shown, default=str, sort_keys=True)


def validate_frame(
    suite_name: str,
    frame: pd.DataFrame,
    parameters: dict[str, Any] | None = None,
    folder: Path = EXPECTATIONS_DIR,
    suite: dict[str, Any] | None = None,
    store: Path | None = None,
    run_name: str | None = None,
) -> SuiteOutcome:
    """Run a stored suite (or the given suite dict) on a DataFrame (GX 1.x pandas datasource;
    see DEPENDENCIES.md). With `store`, the run goes through a file-backed GX context there
    (`<store>/gx/`), so its result is kept for the Data Docs (`build_data_docs`)."""
    from great_expectations.core import ExpectationSuite

    definition = suite or load_suite_dict(suite_name, folder)
    result_key = None
    if store is None:
        batch = _gx_batch_definition().get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            ExpectationSuite(**definition),
            result_format="SUMMARY",
            expectation_parameters=parameters or {},
        )
    else:
        context, batch_definition = _gx_file_context(str(store))
        validation = _validation_definition(context, batch_definition, suite_name, definition)
        stored = validation.suite
        from great_expectations.core.run_identifier import RunIdentifier

        run_id = RunIdentifier(run_name=run_name or suite_name, run_time=dt.datetime.now(dt.UTC))
        result = validation.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=parameters or {},
            result_format="SUMMARY",
            run_id=run_id,
        )
        result_key = _result_key(result, stored.name, run_id)
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        details = item.result or {}
        severity = ERROR if str(config.severity).lower().endswith("critical") else WARN
        sample = list(details.get("partial_unexpected_list") or [])[:UNEXPECTED_SAMPLE_SIZE]
        outcomes.append(
            ExpectationOutcome(
                expectation=config.type,
                column=config.kwargs.get("column"),
                severity=severity,
                success=bool(item.success),
                observed=details.get("observed_value"),
                expected=_expected_text(dict(config.kwargs)),
                unexpected_count=details.get("unexpected_count"),
                unexpected_sample=sample,
            )
        )
    return SuiteOutcome(suite_name, len(frame), outcomes, result_key=result_key)


def contract_suite(name: str, extract: Any) -> dict[str, Any]:
    """A suite derived from a landing contract (`CsvExtract`): its columns are present and
    its required columns are never null. Used for a raw table that has no stored suite."""
    kept = [c for c in extract.columns if not (c.personal and not c.hashed_name)]
    expectations: list[dict[str, Any]] = [
        {
            "type": "expect_table_columns_to_match_set",
            "kwargs": {
                "column_set": [c.hashed_name or c.name for c in kept],
                "exact_match": False,
            },
            "severity": "critical",
        }
    ]
    expectations += [
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": c.name},
            "severity": "critical",
        }
        for c in kept
        if c.required and not c.personal
    ]
    return {"name": name, "expectations": expectations, "meta": {"notes": "from the contract"}}
