"""The benchmark: fresh deployments, the daily job measured on them, the floors on the same
files, the empty day, the history effect and an optional long backfill."""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

from kpi_pipeline.bench.comparison import SnapshotComparison, compare_published
from kpi_pipeline.bench.floors import SQL_FLOOR_KPIS, measure_floors
from kpi_pipeline.bench.generation import days_before, deployment_env, fresh_dir, write_extracts
from kpi_pipeline.bench.measurement import PeakRss, RunMeasurement, measure_run, tree_rss
from kpi_pipeline.bench.replication import (
    DiskEstimate,
    estimate_disk,
    replicate_days,
    require_disk,
)
from kpi_pipeline.warehouse.duckdb_file import memory_limit

# A fixed day, so every benchmark generates the same files; a year of partitions before it.
BENCH_DAY = dt.date(2025, 12, 31)
BASELINE_HISTORY_DAYS = 30
# History is written at scale / 4: within the volume anomaly checks' warn band (2.5x-10x),
# so the measured day is still published, at a quarter of the cost of full-scale history.
HISTORY_SCALE_DIVISOR = 4
WARM_UP_DAYS_BEFORE = 7
PACKAGES = (
    "dagster",
    "dagster-dbt",
    "dbt-core",
    "dbt-duckdb",
    "duckdb",
    "polars",
    "great-expectations",
    "pandas",
    "psutil",
)
SPARK_PACKAGES = ("pyspark", "dbt-spark")


# `kpi bench --warehouse`: DuckDB alone, or DuckDB and a local Spark on the same files
DUCKDB = "duckdb"
SPARK = "spark"
WAREHOUSES = (DUCKDB, SPARK)
# the options that measure DuckDB-only deployments (history, backfills), refused with Spark
NOT_ON_SPARK = ("--history-days", "--backfill-days", "--replicate")


class MeasuredRunFailedError(Exception):
    """The daily job failed on the benchmark's day: its figures would measure a failure."""


@dataclass(frozen=True)
class BenchConfig:
    scale: float = 1.0
    days: int = 1
    workdir: Path = Path("data/bench")
    # 0: no history comparison; N: a day after N days of history against one after 30
    history_days: int = 0
    # 0: none; N: an N-day backfill at `scale` as one run
    backfill_days: int = 0
    empty_day: bool = True
    # a day a week before the measured ones, run first and not measured: the measured day is
    # then a daily run of a deployment that has run before (dbt's partial parse, Dagster's
    # and GX's stores exist), not the first run ever. A week before, so that no session
    # crosses midnight into the measured day and the floor's facts still hold.
    warm_up: bool = True
    last_day: dt.date = BENCH_DAY
    # GA4's export as the sample writes it (ndjson) or converted to Parquet (parquet)
    ga4_format: str = "ndjson"
    # the backfill's days copied from one generated day (dates shifted, ids tagged) instead
    # of each generated: a year at a million events a day without a year of generation
    replicate: bool = False
    # duckdb: the runs on DuckDB; spark: the same runs also on a local Spark, same files
    warehouse: str = DUCKDB

    @property
    def first_day(self) -> dt.date:
        return self.last_day - dt.timedelta(days=self.days - 1)

    @property
    def history_scale(self) -> float:
        return self.scale / HISTORY_SCALE_DIVISOR


@dataclass
class Floors:
    io_seconds: float
    sql_seconds: float
    rows: int
    kpis: tuple[str, ...] = SQL_FLOOR_KPIS
    # overall facts where the floor's query and marts.fct_kpi_daily differ
    mismatches: list[str] = field(default_factory=list)


@dataclass
class Warehouse:
    bytes: int
    ga4_events: int

    @property
    def bytes_per_million_events(self) -> float | None:
        return self.bytes / self.ga4_events * 1e6 if self.ga4_events else None


@dataclass
class HistoryEffect:
    baseline_days: int
    history_days: int
    history_scale: float
    baseline: RunMeasurement
    with_history: RunMeasurement
    backfills: list[RunMeasurement]
    warehouse_bytes: dict[int, int]
    ga4_events: dict[int, int]

    @property
    def ratio(self) -> float:
        return self.with_history.wall_seconds / self.baseline.wall_seconds


@dataclass
class SparkSide:
    """The same runs on a local Spark (`--warehouse spark`): its server's start timed apart
    from the runs, the runs measured as DuckDB's are (the server's CPU and RSS included),
    and each day's published KPIs compared with DuckDB's."""

    port: int
    version: str
    # the server's JVM until its port listens, then the first statement (session, catalog)
    server_start_seconds: float
    first_statement_seconds: float
    server_start_rss_bytes: int
    startup_seconds: float
    startup_rss_bytes: int
    main: RunMeasurement
    warehouse_bytes: int
    comparisons: list[SnapshotComparison]
    empty: RunMeasurement | None = None

    @property
    def agree(self) -> bool:
        return all(c.agree for c in self.comparisons)


@dataclass
class BenchResult:
    config: BenchConfig
    command: str
    machine: dict[str, str]
    versions: dict[str, str]
    startup_seconds: float
    startup_rss_bytes: int
    main: RunMeasurement
    floors: Floors
    warehouse: Warehouse
    empty: RunMeasurement | None = None
    history: HistoryEffect | None = None
    backfill: RunMeasurement | None = None
    backfill_warehouse: Warehouse | None = None
    backfill_disk: DiskEstimate | None = None
    load_average: tuple[float, float] = (0.0, 0.0)
    spark: SparkSide | None = None


def machine_info() -> dict[str, str]:
    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "cpu": model,
        "os": f"{platform.system()} {platform.release()}",
    }


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def warehouse_facts(path: Path) -> Warehouse:
    from kpi_pipeline.warehouse import connect

    size = sum(p.stat().st_size for p in (path, Path(f"{path}.wal")) if p.exists())
    with connect(path) as con:
        events = con.execute("select count(*) from raw.ga4_events").fetchone()[0]
    return Warehouse(size, events)


def floor_mismatches(path: Path, facts: list[tuple], first: dt.date, last: dt.date) -> list[str]:
    """Overall facts (numerator, denominator) of the floor's KPIs where the pipeline's
    `marts.fct_kpi_daily` says otherwise (the floor only sees the day's own files)."""
    from kpi_pipeline.warehouse import connect

    if first != last:
        return []  # the floor runs per day; compared on one-day benchmarks only
    with connect(path) as con:
        rows = con.execute(
            "select kpi_id, numerator, denominator from marts.fct_kpi_daily "
            "where kpi_date = ? and dimension = 'all'",
            [first],
        ).fetchall()
    pipeline = {kpi: (n, d) for kpi, n, d in rows}
    problems = []
    for kpi, dimension, _, numerator, denominator in facts:
        if dimension != "all":
            continue
        theirs = pipeline.get(kpi)
        ours = (numerator, denominator)
        if theirs is None or any(
            (a is None) != (b is None) or (a is not None and abs(float(a) - float(b)) > 1e-6)
            for a, b in zip(ours, theirs, strict=True)
        ):
            problems.append(f"{kpi}: floor {ours}, pipeline {theirs}")
    return problems


def run_deployment(
    root: Path,
    runs: list[tuple[str, dt.date, dt.date, int]],
) -> tuple[list[RunMeasurement], float, int]:
    """Build the definitions of the deployment under `root` (timed: a `kpi run` process pays
    it each time), then run and measure each (label, first, last, rows) in order."""
    from dagster import DagsterInstance

    with deployment_env(root) as settings:
        with PeakRss() as rss:
            started = time.perf_counter()
            from kpi_pipeline.definitions import build_definitions

            defs = build_definitions(settings)
            startup = time.perf_counter() - started
        with DagsterInstance.get() as instance:
            measured = [
                measure_run(
                    defs, instance, first, last, label, rows, settings.dbt_target_dir / "dbt.log"
                )
                for label, first, last, rows in runs
            ]
    return measured, startup, rss.peak_bytes


def warehouse_refusal(config: BenchConfig) -> str | None:
    """Why `config` cannot run with its `--warehouse`, in the option's words; None when it
    can. The history and backfill measurements build DuckDB-only deployments of their own
    (and a year of days on local Spark would take hours on 2 cores)."""
    if config.warehouse not in WAREHOUSES:
        return f"--warehouse {config.warehouse} is not one of {', '.join(WAREHOUSES)}"
    if config.warehouse != SPARK:
        return None
    given = [
        option
        for option, value in zip(
            NOT_ON_SPARK, (config.history_days, config.backfill_days, config.replicate), strict=True
        )
        if value
    ]
    if given:
        verb = "measure" if len(given) > 1 else "measures"
        return (
            f"{' and '.join(given)} {verb} DuckDB deployments only; with --warehouse spark "
            "the benchmark runs the day(s) on DuckDB and on Spark, nothing else"
        )
    return None


def bench_spark_port(environ=None) -> int:
    """The loopback port of the benchmark's Spark server: `KPI_SPARK_PORT` when set, else
    one free now (another deployment's server may hold Spark's default, 15002)."""
    import socket

    from kpi_pipeline.warehouse.spark import spark_port

    env = os.environ if environ is None else environ
    if "KPI_SPARK_PORT" in env:
        return spark_port(env)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_spark_deployment(
    root: Path,
    landing: Path,
    runs: list[tuple[str, dt.date, dt.date, int]],
    port: int,
    log=print,
) -> tuple[list[RunMeasurement], dict, Path]:
    """The runs of `run_deployment` on a local Spark deployment under `root` reading
    `landing`: its server started first and timed apart (until its port listens, then a
    first statement), each run measured with the server's CPU and RSS, and the server
    stopped at the end, also on failure. Returns (runs, facts of the side, snapshot folder)."""
    from dagster import DagsterInstance

    from kpi_pipeline.definitions import build_definitions
    from kpi_pipeline.warehouse import connect
    from kpi_pipeline.warehouse.spark import start_server, stop_server

    with deployment_env(root, landing=landing, spark_port=port) as settings:
        log(f"starting the Spark server (loopback port {port}), timed apart from the runs")
        started = time.perf_counter()
        server = start_server(settings.spark_paths, port)
        try:
            listening = time.perf_counter() - started
            with connect(settings.warehouse_location) as con:
                con.execute("select 1").fetchall()
                version = con.version()
            first_statement = time.perf_counter() - started - listening
            server_rss = tree_rss(psutil.Process(server.process.pid))
            with PeakRss(server_pid=server.process.pid) as rss:
                started = time.perf_counter()
                defs = build_definitions(settings)
                startup = time.perf_counter() - started
            log("running the daily job on Spark (" + ", ".join(r[0] for r in runs) + ")")
            with DagsterInstance.get() as instance:
                measured = [
                    measure_run(
                        defs,
                        instance,
                        first,
                        last,
                        label,
                        rows,
                        settings.dbt_target_dir / "dbt.log",
                        server_pid=server.process.pid,
                    )
                    for label, first, last, rows in runs
                ]
        finally:
            log("stopping the Spark server")
            stop_server(server)
        facts = {
            "version": version,
            "server_start_seconds": listening,
            "first_statement_seconds": first_statement,
            "server_start_rss_bytes": server_rss,
            "startup_seconds": startup,
            "startup_rss_bytes": rss.own_peak_bytes,  # the server's apart
            "warehouse_bytes": folder_bytes(settings.spark_paths.warehouse_dir),
        }
        return measured, facts, settings.snapshot_dir


def measure_spark(
    config: BenchConfig,
    landing: Path,
    runs: list[tuple[str, dt.date, dt.date, int]],
    duckdb_snapshots: Path,
    log=print,
) -> SparkSide:
    """`--warehouse spark`: the DuckDB deployment's runs again on a local Spark, on its
    landing files, and the days' published KPIs compared with DuckDB's."""
    port = bench_spark_port()
    root = fresh_dir(config.workdir / "main-spark")
    measured, facts, snapshots = run_spark_deployment(root, landing, runs, port, log)
    if config.warm_up:
        measured = measured[1:]
    main = measured[0]
    if not main.success:
        raise MeasuredRunFailedError(
            f"the measured run on Spark ({main.label}) failed: {main.reason}"
        )
    days = [config.first_day + dt.timedelta(days=n) for n in range(config.days)]
    return SparkSide(
        port=port,
        main=main,
        empty=measured[1] if config.empty_day else None,
        comparisons=compare_published(duckdb_snapshots, snapshots, days),
        **facts,
    )


def measure_history(
    config: BenchConfig, days: int
) -> tuple[RunMeasurement, RunMeasurement, int, int]:
    """(backfill of `days` days at history scale, the benchmark day after it, warehouse
    bytes, GA4 events) in a deployment of its own."""
    root = fresh_dir(config.workdir / f"history-{days}")
    landing = root / "landing"
    first, last = days_before(config.last_day, days)
    history = write_extracts(
        landing, first, last, config.history_scale, ga4_format=config.ga4_format
    )
    day = write_extracts(
        landing, config.last_day, config.last_day, config.scale, ga4_format=config.ga4_format
    )
    (backfill, run), _, _ = run_deployment(
        root,
        [
            (f"backfill {days} days (scale {config.history_scale:g})", first, last, history.rows),
            (f"one day after {days} days", config.last_day, config.last_day, day.rows),
        ],
    )
    facts = warehouse_facts(root / "warehouse.duckdb")
    return backfill, run, facts.bytes, facts.ga4_events


def backfill_window(config: BenchConfig) -> tuple[dt.date, dt.date]:
    """The backfill's days: `backfill_days` ending on the benchmark's last day."""
    return days_before(config.last_day + dt.timedelta(days=1), config.backfill_days)


def prepare_replicated_backfill(config: BenchConfig, log=print) -> tuple[Path, int, DiskEstimate]:
    """The backfill deployment's landing zone: its last day generated, the disk the backfill
    needs estimated (`NotEnoughDiskError` when the file system has less free), then the
    other days written as copies. Returns (deployment root, rows in, the estimate)."""
    root = fresh_dir(config.workdir / f"backfill-{config.backfill_days}")
    landing = root / "landing"
    first, last = backfill_window(config)
    log(f"backfill: generating {last} at scale {config.scale:g}, the template of its days")
    template = write_extracts(landing, last, last, config.scale, ga4_format=config.ga4_format)
    # the backfill's dbt runs with the DuckDB memory limit of this environment (Settings)
    estimate = estimate_disk(
        landing, last, config.backfill_days, template.rows_of("ga4"), memory_limit()
    )
    log(estimate.describe())
    require_disk(estimate)
    days = [first + dt.timedelta(days=n) for n in range(config.backfill_days)]
    replicate_days(landing, last, days, config.ga4_format, log=log)
    return root, template.rows * config.backfill_days, estimate


def run_benchmark(config: BenchConfig, command: str = "", log=print) -> BenchResult:
    """Everything `kpi bench` measures, with `log` told what is being done. A replicated
    backfill's landing zone is prepared first: too little disk stops before any run."""
    load_start = os.getloadavg()[0]
    if problem := warehouse_refusal(config):
        raise ValueError(problem)
    if config.warehouse == SPARK:
        from kpi_pipeline.warehouse.spark import spark_home

        spark_home()  # the spark extra installed, or SparkUnavailableError before any work
    replicated = None
    if config.backfill_days and config.replicate:
        replicated = prepare_replicated_backfill(config, log)
    root = fresh_dir(config.workdir / "main")
    landing = root / "landing"
    log(
        f"generating {config.days} day(s) at scale {config.scale:g} into {landing} "
        f"(GA4 as {config.ga4_format})"
    )
    summary = write_extracts(
        landing, config.first_day, config.last_day, config.scale, ga4_format=config.ga4_format
    )
    empty_day = config.last_day + dt.timedelta(days=1)
    label = "day" if config.days == 1 else f"{config.days} days"
    runs = [(label, config.first_day, config.last_day, summary.rows)]
    if config.empty_day:
        runs.append(("empty day (no extracts)", empty_day, empty_day, 0))
    if config.warm_up:
        warm_up_day = config.first_day - dt.timedelta(days=WARM_UP_DAYS_BEFORE)
        warm = write_extracts(
            landing, warm_up_day, warm_up_day, config.scale, ga4_format=config.ga4_format
        )
        runs.insert(0, ("warm-up day (not measured)", warm_up_day, warm_up_day, warm.rows))
    log("running the daily job (" + ", ".join(r[0] for r in runs) + ")")
    measured, startup, startup_rss = run_deployment(root, runs)
    if config.warm_up:
        measured = measured[1:]
    main = measured[0]
    if not main.success:  # nothing to hold the floors against
        raise MeasuredRunFailedError(f"the measured run ({label}) failed: {main.reason}")
    warehouse_path = root / "warehouse.duckdb"
    log("measuring the floors (DuckDB alone on the same files)")
    io_seconds = sql_seconds = 0.0
    rows = 0
    mismatches: list[str] = []
    for offset in range(config.days):
        day = config.first_day + dt.timedelta(days=offset)
        io, sql, facts = measure_floors(landing, day)
        io_seconds += io.seconds
        sql_seconds += sql.seconds
        rows += io.rows
        if config.days == 1:
            mismatches = floor_mismatches(warehouse_path, facts, day, day)
    floors = Floors(io_seconds, sql_seconds, rows, mismatches=mismatches)
    result = BenchResult(
        config=config,
        command=command,
        machine=machine_info(),
        versions=versions(PACKAGES + SPARK_PACKAGES if config.warehouse == SPARK else PACKAGES),
        startup_seconds=startup,
        startup_rss_bytes=startup_rss,
        main=main,
        floors=floors,
        warehouse=warehouse_facts(warehouse_path),
        empty=measured[1] if config.empty_day else None,
    )
    if config.warehouse == SPARK:
        result.spark = measure_spark(config, landing, runs, root / "snapshots", log)
    if config.history_days:
        log(
            f"history effect: {BASELINE_HISTORY_DAYS} vs {config.history_days} days "
            f"of history at scale {config.history_scale:g}"
        )
        base_backfill, base, base_bytes, base_events = measure_history(
            config, BASELINE_HISTORY_DAYS
        )
        long_backfill, long, long_bytes, long_events = measure_history(config, config.history_days)
        result.history = HistoryEffect(
            BASELINE_HISTORY_DAYS,
            config.history_days,
            config.history_scale,
            base,
            long,
            [base_backfill, long_backfill],
            {BASELINE_HISTORY_DAYS: base_bytes, config.history_days: long_bytes},
            {BASELINE_HISTORY_DAYS: base_events, config.history_days: long_events},
        )
    if config.backfill_days:
        log(f"backfill of {config.backfill_days} days at scale {config.scale:g}")
        first, last = backfill_window(config)
        label = f"backfill {config.backfill_days} days"
        if replicated:
            broot, rows, result.backfill_disk = replicated
            label += " (replicated)"
        else:
            broot = fresh_dir(config.workdir / f"backfill-{config.backfill_days}")
            rows = write_extracts(
                broot / "landing", first, last, config.scale, ga4_format=config.ga4_format
            ).rows
        (result.backfill,), _, _ = run_deployment(broot, [(label, first, last, rows)])
        result.backfill_warehouse = warehouse_facts(broot / "warehouse.duckdb")
    result.load_average = (load_start, os.getloadavg()[0])
    return result
