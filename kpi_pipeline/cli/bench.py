"""`kpi bench`: measure the daily job at a scale against DuckDB-alone floors."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.markdown import Markdown

from kpi_pipeline.cli.common import console, fail
from kpi_pipeline.exit_codes import ExitCode


def bench(
    scale: float = typer.Option(1.0, help="Sample volume (1 = ~5,000 sessions/day)."),
    days: int = typer.Option(1, help="Days measured, as one run."),
    workdir: Path = typer.Option(
        Path("data/bench"), help="Scratch folder; its deployments are emptied first."
    ),
    history_days: int = typer.Option(
        0, help="Also time a day after this many days of history against one after 30."
    ),
    backfill_days: int = typer.Option(0, help="Also time a backfill of this many days."),
    replicate: bool = typer.Option(
        False,
        help="Write the backfill's days as copies of one generated day (dates shifted, ids "
        "tagged) instead of generating each; the disk it needs is checked first.",
    ),
    ga4_format: str = typer.Option(
        "ndjson", help="GA4's export as the sample writes it (ndjson) or as Parquet (parquet)."
    ),
    empty_day: bool = typer.Option(True, help="Also time an empty day (fixed overhead)."),
    warm_up: bool = typer.Option(
        True, help="First run a day a week before, unmeasured, as a deployment's daily run would."
    ),
    report: Path = typer.Option(
        Path("docs/benchmarks.md"), help="Markdown file whose results block is (re)written."
    ),
    warehouse: str = typer.Option(
        "duckdb",
        help="duckdb, or spark: the same day(s) also run on a local Spark (its server started "
        "apart, then stopped), side by side with DuckDB, their published KPIs compared.",
    ),
) -> None:
    """Generate sample extracts at a scale into a fresh deployment, run the daily job on
    them, and measure per stage (wall time, rows/s, peak RSS of the process tree) against
    DuckDB alone reading the files (I/O floor) and computing the KPIs (SQL floor).

    Examples:
      kpi bench --scale 1
      kpi bench --scale 10 --days 1
      kpi bench --scale 1 --history-days 365 --backfill-days 365
      kpi bench --scale 67 --ga4-format parquet
      kpi bench --scale 67 --ga4-format parquet --backfill-days 365 --replicate --no-empty-day
      kpi bench --scale 1 --warehouse spark

    Exit code 2 when refused, e.g. a replicated backfill whose estimated disk is more than
    the work folder's file system has free, or --warehouse spark with a history or backfill
    option (nothing is run then).
    """
    from kpi_pipeline.bench.benchmark import (
        BenchConfig,
        MeasuredRunFailedError,
        run_benchmark,
        warehouse_refusal,
    )
    from kpi_pipeline.bench.ga4_format import GA4_FORMATS
    from kpi_pipeline.bench.replication import NotEnoughDiskError
    from kpi_pipeline.bench.report import block_name, render, write_block
    from kpi_pipeline.warehouse.spark import SparkUnavailableError

    if scale <= 0 or days < 1 or history_days < 0 or backfill_days < 0:
        raise fail(
            "--scale must be > 0, --days >= 1, --history-days and --backfill-days >= 0",
            "e.g. kpi bench --scale 1 --days 1",
        )
    if ga4_format not in GA4_FORMATS:
        raise fail(
            f"--ga4-format {ga4_format} is not one of {', '.join(GA4_FORMATS)}",
            "e.g. kpi bench --scale 67 --ga4-format parquet",
        )
    if replicate and not backfill_days:
        raise fail("--replicate copies a backfill's days", "add --backfill-days N, e.g. 365")
    if history_days and history_days <= 30:
        raise fail(f"--history-days {history_days} is not above the 30-day baseline", "use 365")
    config = BenchConfig(
        scale=scale,
        days=days,
        workdir=workdir.absolute(),
        history_days=history_days,
        backfill_days=backfill_days,
        empty_day=empty_day,
        warm_up=warm_up,
        ga4_format=ga4_format,
        replicate=replicate,
        warehouse=warehouse,
    )
    if problem := warehouse_refusal(config):
        raise fail(problem, "e.g. kpi bench --scale 1 --days 1 --warehouse spark")
    command = "kpi " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        result = run_benchmark(config, command, log=lambda m: console.print(f"[dim]{m}[/]"))
    except MeasuredRunFailedError as err:
        raise fail(
            str(err),
            "its failure report is under <workdir>/main/failures/ (main-spark/ on Spark); "
            "nothing was written to the report file",
            code=ExitCode.ERROR,
        ) from err
    except SparkUnavailableError as err:
        raise fail(
            f"Spark could not be used: {err}",
            "make install-spark (pyspark and Java 17+), or run without --warehouse spark",
            code=ExitCode.ERROR,
        ) from err
    except NotEnoughDiskError as err:
        raise fail(
            f"not started: {err}",
            "free space there, or point --workdir at a larger file system, or fewer days",
            code=ExitCode.ERROR,
        ) from err
    text = render(result)
    console.print(Markdown(text))
    written = write_block(report, block_name(result), text)
    console.print(f"results written to {written}")
    if result.spark and not result.spark.agree:
        raise fail(
            "DuckDB and Spark published different KPIs for the same files (above, and in "
            f"{written})",
            "compare <workdir>/main/snapshots/ with <workdir>/main-spark/snapshots/",
            code=ExitCode.ERROR,
        )
