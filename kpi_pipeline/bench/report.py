"""The benchmark's results as Markdown: figures, ratios to the floors, targets held or not;
written into a marked block of a document so the hand-written analysis around it stays."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kpi_pipeline.bench.benchmark import BenchResult
from kpi_pipeline.bench.measurement import DBT_STEP, STAGES, RunMeasurement

GIB = 2**30
MIB = 2**20
GA4_FORMAT_NAMES = {
    "ndjson": "NDJSON, as the sample writes it (the I/O floor reads it with read_json)",
    "parquet": "Parquet, converted from the sample's NDJSON by DuckDB, the NDJSON removed "
    "(the I/O floor reads it with read_parquet)",
}


@dataclass(frozen=True)
class Target:
    name: str
    limit: str
    measured: str
    holds: bool | None  # None: not measured by this benchmark's options or scale


def ratio(seconds: float, floor: float) -> float | None:
    return seconds / floor if floor > 0 else None


def stage_ratios(result: BenchResult) -> dict[str, float | None]:
    """Each stage's time over its floor: ingest / I/O floor, transform / SQL floor; the
    gate, publish and the whole run over I/O + SQL floor (the least the day needs)."""
    floors = result.floors
    both = floors.io_seconds + floors.sql_seconds
    stages = result.main.stages
    return {
        "ingest": ratio(stages["ingest"], floors.io_seconds),
        "transform": ratio(stages["transform"], floors.sql_seconds),
        "gate": ratio(stages["gate"], both),
        "publish": ratio(stages["publish"], both),
        "end to end": ratio(result.main.wall_seconds, both),
    }


def fixed_overhead(result: BenchResult) -> float | None:
    """The empty day's wall time: what a run costs with nothing to do."""
    return result.empty.wall_seconds if result.empty else None


def _holds(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def targets(result: BenchResult) -> list[Target]:
    """The issue's targets against this run's figures."""
    scale10 = result.config.scale >= 10 and result.config.days == 1
    main = result.main
    ratios = stage_ratios(result)
    overhead = fixed_overhead(result)
    found = [
        Target(
            "scale 10, one day end to end",
            "<= 30 s",
            f"{main.wall_seconds:.1f} s at scale {result.config.scale:g}",
            _holds(main.wall_seconds, 30) if scale10 else None,
        ),
        Target(
            "fixed overhead (empty day)",
            "<= 10 s",
            "-" if overhead is None else f"{overhead:.1f} s",
            _holds(overhead, 10),
        ),
        Target(
            "scale 10, peak memory",
            "<= 2 GiB",
            f"{main.peak_rss_bytes / GIB:.2f} GiB at scale {result.config.scale:g}",
            _holds(main.peak_rss_bytes / GIB, 2) if scale10 else None,
        ),
        Target(
            "ingest / I/O floor",
            "<= 1.5x",
            _x(ratios["ingest"]),
            _holds(ratios["ingest"], 1.5),
        ),
        Target(
            "transform / SQL floor",
            "<= 2x",
            _x(ratios["transform"]),
            _holds(ratios["transform"], 2),
        ),
    ]
    if result.history:
        h = result.history
        found.append(
            Target(
                f"day after {h.history_days} days / after {h.baseline_days} days",
                "<= 1.2x",
                _x(h.ratio),
                _holds(h.ratio, 1.2),
            )
        )
    found += issue16_targets(result)
    if result.backfill:
        b = result.backfill
        # the earlier backfill targets are for scale 1; a 1 M-event day has its own (above)
        full = 1 <= result.config.scale < MILLION_EVENTS_SCALE and b.first_day <= b.last_day
        small = result.config.scale < MILLION_EVENTS_SCALE
        found += [
            Target(
                f"backfill {result.config.backfill_days} days, time",
                "<= 5 min (365 days, scale 1)",
                f"{'' if b.success else 'failed after '}{b.wall_seconds / 60:.1f} min",
                judged_backfill(b, b.wall_seconds, 300, full),
            ),
            Target(
                f"backfill {result.config.backfill_days} days, peak memory",
                "<= 4 GiB",
                f"{b.peak_rss_bytes / GIB:.2f} GiB",
                judged_backfill(b, b.peak_rss_bytes / GIB, 4, small),
            ),
        ]
    return found


# A GA4 day at full speed (issue 16): 1 M events a day is scale 67, 10 M scale 670.
MILLION_EVENTS_SCALE = 67
TEN_MILLION_EVENTS_SCALE = 670


def issue16_targets(result: BenchResult) -> list[Target]:
    """The targets of a GA4 day at 1 M (and 10 M) events, listed when the run is at that
    scale or measures GA4 as Parquet or a replicated backfill; judged only at the scale."""
    c = result.config
    if c.scale < MILLION_EVENTS_SCALE and c.ga4_format != "parquet" and not c.replicate:
        return []
    at_scale = c.scale >= MILLION_EVENTS_SCALE and c.days == 1
    ratios = stage_ratios(result)
    gate = ratio(result.main.stages["gate"], result.floors.io_seconds)
    peak = result.main.peak_rss_bytes / GIB
    here = f" at scale {c.scale:g}"
    found = [
        Target(
            "1 M events: the run / (I/O + SQL floor)",
            "<= 4x",
            _x(ratios["end to end"]) + here,
            _holds(ratios["end to end"], 4) if at_scale else None,
        ),
        Target(
            "1 M events: gate / I/O floor",
            "<= 1x",
            _x(gate) + here,
            _holds(gate, 1) if at_scale else None,
        ),
        Target(
            "1 M events: peak memory",
            "<= 2 GiB",
            f"{peak:.2f} GiB" + here,
            _holds(peak, 2) if at_scale else None,
        ),
    ]
    if c.ga4_format == "parquet":
        found.append(
            Target(
                "GA4 as Parquet: ingest / I/O floor (read_parquet)",
                "<= 1.5x",
                _x(ratios["ingest"]) + here,
                _holds(ratios["ingest"], 1.5) if at_scale else None,
            )
        )
    if c.scale >= TEN_MILLION_EVENTS_SCALE:
        found.append(
            Target(
                "10 M events (GA4 Parquet): completes, peak memory",
                "<= 16 GiB",
                f"{'published' if result.main.success else 'not published'}, {peak:.2f} GiB",
                result.main.success and peak <= 16 if c.ga4_format == "parquet" else None,
            )
        )
    if result.backfill and c.replicate:
        found += replicated_backfill_targets(c, result.backfill)
    return found


def judged_backfill(b: RunMeasurement, measured: float, limit: float, judged: bool) -> bool | None:
    """A backfill target's verdict: judged on a finished run; a failed run does not hold
    only when it was already past the limit, else it is not measured (it may have failed
    before its peak, or before its end)."""
    if not judged:
        return None
    if b.success:
        return measured <= limit
    return False if measured > limit else None


def replicated_backfill_targets(c, b: RunMeasurement) -> list[Target]:
    """The 365 days at 1 M events a day (GA4 as Parquet) as one run: its time and memory."""
    full = c.scale >= MILLION_EVENTS_SCALE and c.backfill_days >= 365 and c.ga4_format == "parquet"
    here = f" at scale {c.scale:g}"
    ended = "" if b.success else "failed after "
    peak = b.peak_rss_bytes / GIB
    return [
        Target(
            f"backfill {c.backfill_days} days at 1 M events a day (GA4 Parquet), time",
            "<= 60 min",
            f"{ended}{b.wall_seconds / 60:.1f} min{here}",
            judged_backfill(b, b.wall_seconds, 3600, full),
        ),
        Target(
            f"backfill {c.backfill_days} days at 1 M events a day, peak memory",
            "<= 8 GiB",
            f"{peak:.2f} GiB{here}{'' if b.success else ' until it failed'}",
            judged_backfill(b, peak, 8, full),
        ),
    ]


def backfill_lines(result: BenchResult) -> list[str]:
    """The backfill's run, its warehouse per day and (replicated) the disk estimated."""
    c = result.config
    out = ["", "Backfill:", "", *run_table([result.backfill])]
    if c.replicate:
        out += [
            "",
            f"Its landing zone: {c.last_day} generated at scale {c.scale:g}, the other "
            f"{c.backfill_days - 1} days copies of it (dates shifted, ids tagged per copy).",
        ]
    if result.backfill_disk:
        out += ["", f"Disk estimated before it started: {result.backfill_disk.describe()}."]
    w = result.backfill_warehouse
    if w:
        per_million = w.bytes_per_million_events
        out += [
            "",
            f"Warehouse after the backfill: {w.bytes / MIB:,.1f} MiB for {c.backfill_days} days"
            f" = {w.bytes / c.backfill_days / MIB:,.1f} MiB a day, "
            f"{w.ga4_events:,} GA4 events"
            + (f" = {per_million / MIB:,.0f} MiB per million events" if per_million else "")
            + " (fixed part included).",
        ]
    return out


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _s(value: float) -> str:
    return f"{value:.2f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _verdict(holds: bool | None) -> str:
    return {True: "holds", False: "**does not hold**", None: "not measured here"}[holds]


def _result(run: RunMeasurement) -> str:
    if run.success:
        return "published"
    return "blocked by the gate" if run.reason.startswith("blocked") else run.reason[:120]


def run_table(runs: list[RunMeasurement]) -> list[str]:
    lines = [
        "| run | result | wall s | CPU s | "
        + " | ".join(f"{s} s" for s in STAGES)
        + " | outside steps s | rows in | rows/s | peak RSS MiB |",
        "|---|---|---:|---:|" + "---:|" * len(STAGES) + "---:|---:|---:|---:|",
    ]
    for run in runs:
        stages = " | ".join(_s(run.stages[s]) for s in STAGES)
        lines.append(
            f"| {run.label} ({run.first_day}"
            + ("" if run.first_day == run.last_day else f" .. {run.last_day}")
            + f") | {_result(run)} | {_s(run.wall_seconds)} | {_s(run.cpu_seconds)} | "
            f"{stages} | {_s(run.overhead_seconds)} | {run.rows_in:,} | "
            f"{_rate(run.rows_per_second())} | {run.peak_rss_bytes / MIB:,.0f} |"
        )
    return lines


def slowest_steps(run: RunMeasurement, count: int = 8) -> list[str]:
    steps = sorted(run.steps.items(), key=lambda item: -item[1])[:count]
    return [", ".join(f"`{key}` {seconds:.2f} s" for key, seconds in steps)]


def dbt_lines(run: RunMeasurement) -> list[str]:
    """Where the transform step's time goes, from dbt's own log."""
    if not run.dbt:
        return []
    step = run.steps.get(DBT_STEP, 0.0)
    parse = "full parse" if run.dbt.get("full parse") else "partial parse"
    return [
        f"Transform step {step:.2f} s: dbt's command {run.dbt['command']:.2f} s (start-up and "
        f"{parse} {run.dbt['start and parse']:.2f} s, nodes {run.dbt['nodes']:.2f} s); the "
        f"other {step - run.dbt['command']:.2f} s are dagster-dbt's set-up, dbt's interpreter "
        "start and the event stream.",
        "",
    ]


def _side(name: str, duckdb: float | None, spark: float | None, fmt=_s, times: bool = True) -> str:
    """A row of the side-by-side table: DuckDB's figure, Spark's, and Spark's over DuckDB's."""
    shown = ["-" if v is None else fmt(v) for v in (duckdb, spark)]
    factor = ratio(spark, duckdb) if times and duckdb and spark is not None else None
    return f"| {name} | {shown[0]} | {shown[1]} | {_x(factor)} |"


def _mib(value: float) -> str:
    return f"{value / MIB:,.0f}"


def spark_lines(result: BenchResult) -> list[str]:
    """`--warehouse spark`: the same day on DuckDB and on local Spark side by side, the
    Spark server's start apart, the floors, and whether the two published the same KPIs."""
    spark = result.spark
    if spark is None:
        return []
    d, k = result.main, spark.main
    both = result.floors.io_seconds + result.floors.sql_seconds
    cores = result.machine.get("cores", "?")
    out = [
        "",
        "#### DuckDB and Spark local, the same files",
        "",
        f"Spark {spark.version} in local mode (`local[*]`, this machine's {cores} cores), a "
        f"Spark Connect server on loopback port {spark.port}; the pipeline and dbt-spark are "
        "its clients. Its start is not in the runs' figures: the JVM until its port "
        f"listened {spark.server_start_seconds:.1f} s, then the first statement (session, "
        f"Hive metastore) {spark.first_statement_seconds:.1f} s; its RSS then "
        f"{_mib(spark.server_start_rss_bytes)} MiB. The server is stopped at the end. "
        f"Process start-up before the runs (definitions): DuckDB {result.startup_seconds:.1f} s "
        f"(the imports included), Spark {spark.startup_seconds:.1f} s (after DuckDB's, in the "
        "same process).",
        "",
        "| the day | DuckDB | Spark local | Spark / DuckDB |",
        "|---|---:|---:|---:|",
        *(_side(f"{stage} s", d.stages[stage], k.stages[stage]) for stage in STAGES),
        _side("outside steps s", d.overhead_seconds, k.overhead_seconds),
        _side("**the run, wall s**", d.wall_seconds, k.wall_seconds),
        _side("the run, CPU s (Spark: the server's JVM included)", d.cpu_seconds, k.cpu_seconds),
        _side("of which the Spark server's CPU s", None, k.server_cpu_seconds, times=False),
        _side("rows/s (the run)", d.rows_per_second(), k.rows_per_second(), _rate, False),
        _side(
            "peak RSS MiB (Spark: the run's process tree + the server, sampled together)",
            d.peak_rss_bytes,
            k.peak_rss_bytes,
            _mib,
        ),
        _side("the Spark server's own peak RSS MiB", None, k.server_peak_rss_bytes, _mib, False),
        _side(
            "the run / (I/O + SQL floor)",
            ratio(d.wall_seconds, both),
            ratio(k.wall_seconds, both),
            _x,
            False,
        ),
    ]
    if result.empty and spark.empty:
        out.append(
            _side("the empty day, wall s", result.empty.wall_seconds, spark.empty.wall_seconds)
        )
    out += [
        "",
        f"Floors (DuckDB alone on the same files, in this process): I/O "
        f"{result.floors.io_seconds:.2f} s, SQL {result.floors.sql_seconds:.2f} s. Spark's "
        f"tables: {spark.warehouse_bytes / MIB:,.1f} MiB of files "
        f"(DuckDB's file {result.warehouse.bytes / MIB:,.1f} MiB).",
        "",
        "Published KPIs compared (the latest snapshot of each day, row by row; floats to "
        "1e-9 relative):",
        "",
        *(f"- {c.describe()}" for c in spark.comparisons),
        "",
        "Spark's runs:",
        "",
        *run_table([r for r in (k, spark.empty) if r]),
        "",
        *dbt_lines(k),
        "Slowest steps of the day on Spark: " + slowest_steps(k)[0],
        "",
        "The targets below are DuckDB's run's.",
    ]
    return out


def render(result: BenchResult) -> str:
    """The Markdown block of one benchmark run."""
    c = result.config
    main = result.main
    floors = result.floors
    ratios = stage_ratios(result)
    out = [
        f"### Scale {c.scale:g}, {c.days} day(s)"
        + (", DuckDB and Spark local" if result.spark else ""),
        "",
        f"Command: `{result.command}`  ",
        "Machine: "
        + ", ".join(f"{k} {v}" for k, v in result.machine.items())
        + f"; load average {result.load_average[0]:.2f} at the start, "
        f"{result.load_average[1]:.2f} at the end (the machine is shared)  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in result.versions.items()) + "  ",
        f"GA4 export measured: {GA4_FORMAT_NAMES[c.ga4_format]}",
        "",
        "| stage | seconds | rows/s | floor | ratio to floor |",
        "|---|---:|---:|---|---:|",
    ]
    floor_names = {
        "ingest": f"I/O {floors.io_seconds:.2f} s",
        "transform": f"SQL {floors.sql_seconds:.2f} s",
    }
    both = f"I/O + SQL {floors.io_seconds + floors.sql_seconds:.2f} s"
    for stage in STAGES:
        out.append(
            f"| {stage} | {_s(main.stages[stage])} | {_rate(main.rows_per_second(stage))} | "
            f"{floor_names.get(stage, both)} | {_x(ratios[stage])} |"
        )
    out += [
        f"| end to end (the run) | {_s(main.wall_seconds)} | {_rate(main.rows_per_second())} | "
        f"{both} | {_x(ratios['end to end'])} |",
        "",
        f"Rows in: {main.rows_in:,} (all sources, GA4 events counted one by one); the floors "
        f"read {floors.rows:,}. Peak RSS of the process tree during the run: "
        f"{main.peak_rss_bytes / MIB:,.0f} MiB. Process start-up before the run (imports, "
        f"definitions, dbt manifest check): {result.startup_seconds:.1f} s, "
        f"{result.startup_rss_bytes / MIB:,.0f} MiB.",
        "",
        *dbt_lines(main),
        "SQL floor KPIs: "
        + ", ".join(floors.kpis)
        + ". "
        + (
            "Its overall facts equal the pipeline's."
            if not floors.mismatches
            else "Differences from the pipeline: " + "; ".join(floors.mismatches)
        ),
        "",
        f"Warehouse: {result.warehouse.bytes / MIB:,.1f} MiB for "
        f"{result.warehouse.ga4_events:,} GA4 events"
        + (
            f" = {result.warehouse.bytes_per_million_events / MIB:,.0f} MiB per million events"
            " (fixed part included)."
            if result.warehouse.bytes_per_million_events
            else "."
        ),
        "",
        "Runs:",
        "",
        *run_table([r for r in (main, result.empty) if r]),
        "",
        "Slowest steps of the day: " + slowest_steps(main)[0],
    ]
    if result.empty:
        out += ["", "Slowest steps of the empty day: " + slowest_steps(result.empty)[0]]
    if result.history:
        h = result.history
        out += [
            "",
            f"History effect (history at scale {h.history_scale:g}, the day at scale {c.scale:g}):"
            f" the day after {h.history_days} days took {h.with_history.wall_seconds:.1f} s, "
            f"after {h.baseline_days} days {h.baseline.wall_seconds:.1f} s: {h.ratio:.2f}x.",
            "",
            *run_table([*h.backfills, h.baseline, h.with_history]),
        ]
        grown = h.ga4_events[h.history_days] - h.ga4_events[h.baseline_days]
        if grown > 0:
            marginal = (
                h.warehouse_bytes[h.history_days] - h.warehouse_bytes[h.baseline_days]
            ) / grown
            out += [
                "",
                f"Warehouse growth between the two: {marginal * 1e6 / MIB:,.0f} MiB per million "
                f"GA4 events ({h.warehouse_bytes[h.baseline_days] / MIB:,.1f} MiB for "
                f"{h.ga4_events[h.baseline_days]:,} events, "
                f"{h.warehouse_bytes[h.history_days] / MIB:,.1f} MiB for "
                f"{h.ga4_events[h.history_days]:,}).",
            ]
    if result.backfill:
        out += backfill_lines(result)
    out += spark_lines(result)
    out += [
        "",
        "| target | limit | measured | verdict |",
        "|---|---|---|---|",
        *(
            f"| {t.name} | {t.limit} | {t.measured} | {_verdict(t.holds)} |"
            for t in targets(result)
        ),
    ]
    return "\n".join(out) + "\n"


def block_name(result: BenchResult) -> str:
    c = result.config
    extras = "".join(
        f"-{name}{value}"
        for name, value in (("history", c.history_days), ("backfill", c.backfill_days))
        if value
    )
    extras += "-replicated" if c.replicate and c.backfill_days else ""
    extras += "-parquet" if c.ga4_format == "parquet" else ""
    extras += "-spark" if c.warehouse == "spark" else ""
    return f"scale-{c.scale:g}-days-{c.days}{extras}"


def write_block(path: Path, name: str, text: str) -> Path:
    """Put `text` between `<!-- bench:<name> -->` markers in `path`: replaced when the block
    exists, appended otherwise (the file is created when missing)."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{text}{end}"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated)
    return path
