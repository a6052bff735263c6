"""Blocking Dagster asset checks: each raw table and the KPI facts against their GX suites.
The cross-checks of the facts against staging are dbt tests (dbt_project/tests/), which
dagster-dbt runs as blocking checks of `marts/fct_kpi_daily` in the dbt step."""

import datetime as dt
import inspect
from collections.abc import Iterator, Sequence

import pandas as pd
from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSpec,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    MetadataValue,
    Output,
    PartitionsDefinition,
    asset_check,
)

from kpi_pipeline.faults import failpoint
from kpi_pipeline.ingest.contracts import CSV_EXTRACTS, GA4_SOURCE, GA4_TABLE, CsvExtract
from kpi_pipeline.orchestration.dagster_private import AssetCheckEvaluationTargetMaterializationData
from kpi_pipeline.partitions import days_in
from kpi_pipeline.publish.snapshot import restated_days
from kpi_pipeline.quality.anomalies import anomaly_outcomes, compare_days, tripped_days
from kpi_pipeline.quality.attribution import FAILING_DAYS, validate_days, with_days
from kpi_pipeline.quality.chunks import merge_outcomes, window_chunks
from kpi_pipeline.quality.config import QualityConfig, load_quality_config
from kpi_pipeline.quality.deliveries import build_delivery_check, delivered
from kpi_pipeline.quality.evidence import check_result
from kpi_pipeline.quality.source_groups import source_group_checks
from kpi_pipeline.quality.suites import (
    SuiteOutcome,
    contract_suite,
    docs_index,
    load_suite_dict,
    suite_path,
)
from kpi_pipeline.settings import Settings
from kpi_pipeline.warehouse import WarehouseResource, dialect, is_postgres, is_spark
from kpi_pipeline.warehouse.pandas_frame import duckdb_frame, query_frame, spark_frame

# Nested GA4 columns are not validated row by row; their typed forms are checked in dbt.
RAW_COLUMNS_SKIPPED = {"event_params", "traffic_source", "geo", "device", "ecommerce"}
FACTS_KEY = AssetKey(["marts", "fct_kpi_daily"])
TEXT_TYPES = {"VARCHAR", "STRING"}  # DuckDB's text type, Spark's


def _window(days: list[dt.date]) -> tuple[dt.date, dt.date]:
    return days[0], days[-1]


def lag_days_sql(column: str, data_type: str, timezone: str, dialect: str = "duckdb") -> str:
    """Days between the extract day and a row's timestamp, in the reporting timezone; a
    text column holds epoch microseconds (GA4's `event_timestamp`). `dialect`: the
    warehouse's SQL (`warehouse.dialect`); Spark's timestamps are instants read in UTC, a
    day's difference `datediff`, as a BIGINT like DuckDB's and PostgreSQL's."""
    if dialect == "spark":
        return _spark_lag_days_sql(column, data_type, timezone)
    if data_type.upper() == "DATE":
        day = column
    elif data_type.upper().startswith("TIMESTAMP"):
        day = f"cast(timezone('{timezone}', {column}) as date)"
    else:
        micros = (
            f"case when {column} ~ '^-?[0-9]+$' then cast({column} as BIGINT) end"
            if dialect == "postgres"
            else f"try_cast({column} as BIGINT)"
        )
        moment = f"to_timestamp({micros} / 1000000.0)"
        day = f"cast(timezone('{timezone}', {moment}) as date)"
    return f"_extract_date - {day} as _lag_days__{column}"


def _spark_lag_days_sql(column: str, data_type: str, timezone: str) -> str:
    if data_type.upper() == "DATE":
        day = column
    else:
        moment = (
            column
            if data_type.upper().startswith("TIMESTAMP")
            else f"timestamp_micros(try_cast({column} as BIGINT))"
        )
        day = f"cast(from_utc_timestamp({moment}, '{timezone}') as date)"
    return f"cast(datediff(_extract_date, {day}) as BIGINT) as _lag_days__{column}"


LAG_PREFIX = "_lag_days__"


def lag_columns(table: str) -> list[str]:
    """The columns whose `_lag_days__<column>` the table's suite checks (its lookback)."""
    if not suite_path(f"raw_{table}").exists():
        return []
    columns = [
        e["kwargs"].get("column") or "" for e in load_suite_dict(f"raw_{table}")["expectations"]
    ]
    return [c.removeprefix(LAG_PREFIX) for c in columns if c.startswith(LAG_PREFIX)]


def counts_per_day(
    con, table: str, day_column: str, first: dt.date, last: dt.date, where: str = "true"
) -> dict[dt.date, int]:
    """Rows of `table` per `day_column` in [first, last] (days without rows are absent)."""
    return dict(
        con.execute(
            f"""select {day_column}, count(*) from {table}
                where {day_column} between ? and ? and {where} group by {day_column}""",
            [first, last],
        ).fetchall()
    )


def volume_frame(days: list[dt.date], counts: dict[dt.date, int], name: str) -> pd.DataFrame:
    """One row per day of `days` with its count (0 when missing)."""
    return pd.DataFrame({"day": pd.to_datetime(days), name: [int(counts.get(d, 0)) for d in days]})


def columns_read(suite: dict) -> set[str]:
    """The columns a suite's expectations read value by value (`column`, `column_A`,
    `column_list`, ...); a column only named by a column-set expectation need only exist."""
    found: set[str] = set()
    for expectation in suite.get("expectations", []):
        for key, value in expectation.get("kwargs", {}).items():
            if key.startswith("column") and key != "column_set":
                found.update([value] if isinstance(value, str) else value)
    return found


def raw_rows_frame(
    con, table: str, days: list[dt.date], tz: str = "UTC", read: set[str] | None = None
) -> pd.DataFrame:
    """The raw rows of the window's days, with `_lag_days__<column>`: days between the
    extract day and the column's day, for each such column the suite checks. With `read`
    (the columns the suite reads, see `columns_read`), every other column of the table is
    there, typed, without its values: a million GA4 events' file names and timestamps are
    not copied into pandas to be ignored. From DuckDB, the text columns come through Arrow
    (`warehouse/pandas_frame.py`: the same frame, half the CPU at a million events)."""
    first, last = _window(days)
    types = raw_column_types(con, table)
    kept = {"_extract_date"} | (set(types) if read is None else read)
    names = [name for name in types if name not in RAW_COLUMNS_SKIPPED]
    columns = [name if name in kept else f"cast(null as {types[name]}) as {name}" for name in names]
    lagged = [c for c in lag_columns(table) if c in types]
    lags = [lag_days_sql(c, types[c], tz, dialect(con)) for c in lagged]
    sql = f"select {', '.join(columns + lags)} from raw.{table} where _extract_date between ? and ?"
    if is_postgres(con):
        return con.execute(sql, [first, last]).df()
    texts = {name for name in names if name in kept and types[name].upper() in TEXT_TYPES}
    nulls = {name for name in names if name not in kept}
    names += [f"{LAG_PREFIX}{c}" for c in lagged]
    frame = spark_frame if is_spark(con) else duckdb_frame
    return frame(con, sql, [first, last], names, texts, nulls)


def raw_column_types(con, table: str) -> dict[str, str]:
    """Each column of `raw.<table>` and its type, in the table's order (Spark, which has no
    `information_schema`: its own type names, `string`, `timestamp`, ...)."""
    if is_spark(con):
        return dict(con.table_columns(f"raw.{table}"))
    return dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
    )


def raw_volume_frame(
    con, table: str, days: list[dt.date], counts: dict[dt.date, int]
) -> pd.DataFrame:
    """Rows per extract day of `table` (`counts`, covering `days`), for the days its source
    delivered a file: a day without one is the delivery check's (`extracts_delivered`),
    said in plain words."""
    first, last = _window(days)
    source = dict((t, s) for s, t in raw_tables_by_source())[table]
    came = delivered(con, first, last).get(source, set())
    return volume_frame([d for d in days if d in came], counts, "rows")


def checked_days(partition_keys: Sequence[str], settings: Settings) -> list[dt.date]:
    """The days the facts' checks cover: the run's, and the published days it restates,
    which are published again (a failure on one of those names a day outside the run, so
    every day of the run fails: `failed_partitions`)."""
    run_days = days_in(partition_keys)
    return restated_days(settings.snapshot_dir, run_days, settings.lookback_days) + run_days


def facts_partition_frames(con, days: list[dt.date]) -> tuple[pd.DataFrame, pd.DataFrame]:
    first, last = _window(days)
    rows = query_frame(
        con, "select * from marts.fct_kpi_daily where kpi_date between ? and ?", [first, last]
    )
    counts = counts_per_day(
        con, "marts.fct_kpi_daily", "kpi_date", first, last, where="dimension = 'all'"
    )
    return rows, volume_frame(days, counts, "overall_rows")


def volume_series(counts: dict[dt.date, int], first: dt.date, last: dt.date) -> dict:
    """Rows per extract day over [first, last] (`counts` covering them), 0 for a day
    without rows."""
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return {day: float(counts.get(day, 0)) for day in days}


def trailing_first(days: list[dt.date], config: QualityConfig) -> dt.date:
    """The first day the volume anomalies of `days` compare with."""
    return days[0] - dt.timedelta(days=config.trailing_days)


def volume_anomalies(
    con, table: str, days: list[dt.date], config: QualityConfig, counts: dict[dt.date, int]
) -> SuiteOutcome:
    """The days' rows against their trailing days' (`counts`: rows per extract day from
    `trailing_first` to the last day), from the table's first loaded day on."""
    first = trailing_first(days, config)
    loaded = con.execute(f"select min(_extract_date) from raw.{table}").fetchone()[0]
    series = volume_series(counts, max(first, loaded or days[0]), days[-1])
    comparisons = compare_days(
        series, days, config.trailing_days, config.min_history_days, config.min_baseline
    )
    thresholds = config.volume_thresholds(table)
    outcomes = anomaly_outcomes("rows", comparisons, thresholds)
    return with_days(
        SuiteOutcome(f"anomalies_raw_{table}", len(days), outcomes),
        tripped_days(comparisons, thresholds),
    )


def raw_suite(table: str) -> dict | None:
    """The stored suite, or, for a raw table that has none yet, one derived from its landing
    contract (columns present, required columns not null)."""
    if suite_path(f"raw_{table}").exists():
        return None
    extract = next((e for e in CSV_EXTRACTS if e.table == table), None)
    if not isinstance(extract, CsvExtract):
        raise FileNotFoundError(f"{suite_path(f'raw_{table}')}: no suite for raw.{table}")
    return contract_suite(f"raw_{table}", extract)


def build_raw_check(
    table: str, partitions: PartitionsDefinition, settings: Settings
) -> AssetChecksDefinition:
    config = load_quality_config()
    generated = raw_suite(table)
    read = columns_read(generated or load_suite_dict(f"raw_{table}"))

    @asset_check(
        asset=AssetKey(["raw", table]),
        name=f"gx_raw_{table}",
        blocking=True,
        partitions_def=partitions,
        description=(
            f"Great Expectations suites `expectations/raw_{table}.json` (rows) and "
            f"`raw_{table}_volume.json` (rows per day) on the partition's extract; rows per "
            "day against the trailing median (quality.yml `anomalies.volume`)."
        ),
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        days = days_in(context.partition_keys)
        parameters = {"accepted_currencies": [settings.reporting_currency]}
        store = settings.artefacts_dir
        run = context.run.run_id  # Data Docs are rendered once per run (publish, or failure)

        def validate_rows(con, chunk: list[dt.date]) -> SuiteOutcome:
            rows = raw_rows_frame(con, table, chunk, settings.timezone, read)
            return validate_days(
                f"raw_{table}", rows, "_extract_date", chunk, parameters, generated, store, run
            )

        with warehouse.connection() as con:
            # rows per day over the trailing days and the run's, read once for both
            counts = counts_per_day(
                con, f"raw.{table}", "_extract_date", trailing_first(days, config), days[-1]
            )
            volume = raw_volume_frame(con, table, days, counts)
            anomalies = volume_anomalies(con, table, days, config, counts)
            # a long backfill: a part of the window at a time, never a year's rows in one frame
            rows = {d.date(): n for d, n in zip(volume["day"], volume["rows"], strict=True)}
            parts = window_chunks(days, rows=rows)
            outcomes = [merge_outcomes([validate_rows(con, c) for c in parts])]
        failpoint("raw_checks")
        if suite_path(f"raw_{table}_volume").exists():
            outcomes.append(
                validate_days(
                    f"raw_{table}_volume",
                    volume,
                    "day",
                    days,
                    parameters,
                    store=store,
                    run_name=run,
                )
            )
        return check_result([*outcomes, anomalies], docs=docs_index(store))

    return _check


def build_facts_check(
    partitions: PartitionsDefinition, kpi_ids: list[str], settings: Settings
) -> AssetChecksDefinition:
    @asset_check(
        asset=FACTS_KEY,
        name="gx_fct_kpi_daily",
        blocking=True,
        partitions_def=partitions,
        description=(
            "Great Expectations suites `expectations/fct_kpi_daily.json` (ids, each KPI's value "
            "range; derived from kpis.yml) and `fct_kpi_daily_volume.json` (every KPI present "
            "every day)."
        ),
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        days = checked_days(context.partition_keys, settings)
        with warehouse.connection() as con:
            rows, volume = facts_partition_frames(con, days)
        parameters = {"kpi_ids": kpi_ids, "kpi_count": len(kpi_ids)}
        store = settings.artefacts_dir
        run = context.run.run_id  # Data Docs are rendered once per run (publish, or failure)
        outcomes = [
            validate_days(
                "fct_kpi_daily", rows, "kpi_date", days, parameters, store=store, run_name=run
            ),
        ]
        failpoint("mart_checks")
        outcomes += [
            validate_days(
                "fct_kpi_daily_volume", volume, "day", days, parameters, store=store, run_name=run
            ),
        ]
        return check_result(outcomes, docs=docs_index(store))

    return _check


def facts_value_series(
    con, kpi_id: str, measure: str, first: dt.date, last: dt.date
) -> dict[dt.date, float | None]:
    return dict(
        con.execute(
            f"""select kpi_date, {measure} from marts.fct_kpi_daily
                where kpi_id = ? and dimension = 'all' and kpi_date between ? and ?""",
            [kpi_id, first, last],
        ).fetchall()
    )


def build_value_anomaly_check(partitions: PartitionsDefinition) -> AssetChecksDefinition:
    config = load_quality_config()

    @asset_check(
        asset=FACTS_KEY,
        name="anomalies_fct_kpi_daily",
        blocking=True,
        partitions_def=partitions,
        description=(
            "Each configured KPI figure (quality.yml `anomalies.values`) against the median "
            "of its trailing days: e.g. sessions falling to a third, spend tenfold."
        ),
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        days = days_in(context.partition_keys)
        first = days[0] - dt.timedelta(days=config.trailing_days)
        outcomes, tripped = [], []
        with warehouse.connection() as con:
            for spec in config.values:
                series = facts_value_series(con, spec.kpi, spec.measure, first, days[-1])
                comparisons = compare_days(
                    series, days, config.trailing_days, config.min_history_days, 0
                )
                outcomes += anomaly_outcomes(
                    f"{spec.kpi}.{spec.measure}", comparisons, spec.thresholds
                )
                tripped += tripped_days(comparisons, spec.thresholds)
        suite = SuiteOutcome("anomalies_fct_kpi_daily", len(days), outcomes)
        return check_result([with_days(suite, tripped)])

    return _check


def raw_tables() -> list[str]:
    """Every raw table the landing contract defines."""
    return [t for _, t in raw_tables_by_source()]


def raw_tables_by_source() -> list[tuple[str, str]]:
    """(source, raw table) of every file the landing contract defines."""
    return [(e.source, e.table) for e in CSV_EXTRACTS] + [(GA4_SOURCE, GA4_TABLE)]


def failed_partitions(result: AssetCheckResult, keys: Sequence[str]) -> set[str]:
    """The run's partitions a check result fails: none when it passed; the days it names
    (`failing_days`) among them; every one when it names none of them (it cannot tell), so
    a failed window always fails at least one day with the result's severity."""
    if result.passed:
        return set()
    named = result.metadata.get(FAILING_DAYS)
    failing = set(named.value or []) & set(keys) if isinstance(named, MetadataValue) else set()
    return failing or set(keys)


def latest_materializations(
    instance: DagsterInstance, asset_key: AssetKey, keys: Sequence[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """The latest materialization of each partition, the one a check of the partition
    evaluates (as Dagster records it for a one-partition step)."""
    found: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}

    def keep(records) -> None:
        for record in records:
            if record.partition_key not in found:
                found[record.partition_key] = AssetCheckEvaluationTargetMaterializationData(
                    storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
                )

    # the run materialized every partition just before: its events are the newest ones
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, asset_partitions=list(keys)), limit=len(keys)
    ).records
    keep(records)
    for key in set(keys) - set(found):
        filter_ = AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key])
        keep(instance.fetch_materializations(filter_, limit=1).records)
    return found


def partition_evaluations(
    context: AssetCheckExecutionContext, spec: AssetCheckSpec, result: AssetCheckResult
) -> Iterator[AssetCheckResult | AssetCheckEvaluation | Output]:
    """The check's result as Dagster records it per partition.

    A one-day run returns the result: Dagster records it for the run's partition. A run
    over several days (a single-run backfill) gets one evaluation per day, failed on the
    days the result fails (`failed_partitions`) and passed on the others, each with the
    window's evidence: Dagster 1.13 records an `AssetCheckResult` of a multi-partition step
    without a partition, so the per-day rows it planned for the check would stay "planned"
    and read as Skipped (Failed, once the run failed) in the UI's check list while the
    check's own page shows the result. A failed blocking day still fails the step, and
    nothing downstream of the check runs."""
    keys = sorted(context.partition_keys)
    if len(keys) == 1:
        yield result
        return
    yield Output(None)  # the check's own output: what its asset's children wait for
    failing = failed_partitions(result, keys)
    targets = latest_materializations(context.instance, spec.asset_key, keys)
    window = MetadataValue.text(f"{keys[0]} .. {keys[-1]} ({len(keys)} days)")
    metadata = {k: v for k, v in result.metadata.items() if k != FAILING_DAYS}
    for key in keys:
        failed = key in failing
        if failed:
            description = f"{key}: {result.description}"
        elif failing:
            description = f"{key} passed; failed on {', '.join(sorted(failing))}"
        else:
            description = result.description
        yield AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=not failed,
            metadata={
                **metadata,
                **({FAILING_DAYS: MetadataValue.json([key])} if failed else {}),
                "window": window,
            },
            target_materialization_data=targets.get(key),
            severity=result.severity,
            description=description,
            blocking=spec.blocking,
            partition=key,
        )


def per_partition(check: AssetChecksDefinition) -> AssetChecksDefinition:
    """The same check (spec, resources, function), its result recorded for each partition of
    the run (`partition_evaluations`); a check without partitions is returned as it is."""
    [spec] = check.check_specs
    if spec.partitions_def is None:
        return check
    if spec.additional_deps or spec.automation_condition or spec.metadata:
        raise ValueError(f"{spec.key}: per_partition does not carry over this spec's extras")
    function = check.op.compute_fn.decorated_fn
    resources = list(inspect.signature(function).parameters)[1:]  # after the context

    @asset_check(
        asset=spec.asset_key,
        name=spec.name,
        description=spec.description,
        blocking=spec.blocking,
        partitions_def=spec.partitions_def,
        required_resource_keys=set(resources),
    )
    def _per_partition(context: AssetCheckExecutionContext):
        result = function(context, **{name: getattr(context.resources, name) for name in resources})
        yield from partition_evaluations(context, spec, result)

    return _per_partition


def gate_checks(
    partitions: PartitionsDefinition, settings: Settings, kpi_ids: list[str]
) -> list[AssetChecksDefinition]:
    """The gate of this deployment: the raw checks of the sources it declares, the KPI facts'
    checks for the KPIs it computes (`kpi_ids`), and that every declared source delivered;
    each as its function returns it (`quality_checks` records it per partition)."""
    declared = [t for s, t in raw_tables_by_source() if settings.deployment.has(s)]
    return [build_raw_check(t, partitions, settings) for t in declared] + [
        build_facts_check(partitions, kpi_ids, settings),
        build_value_anomaly_check(partitions),
        build_delivery_check(partitions, settings),
        *source_group_checks(partitions, settings),
    ]


def quality_checks(
    partitions: PartitionsDefinition, settings: Settings, kpi_ids: list[str]
) -> list[AssetChecksDefinition]:
    """The gate's checks (`gate_checks`), each recorded per partition of a run."""
    return [per_partition(c) for c in gate_checks(partitions, settings, kpi_ids)]
