"""`kpi bench` at a tiny scale: the benchmark code path end to end (no timing thresholds)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kpi_pipeline.bench.floors import SQL_FLOOR_KPIS, kpi_facts, load_raw_tables
from kpi_pipeline.bench.measurement import STAGES, PeakRss, StepSpan, stage_times, step_spans
from kpi_pipeline.bench.report import write_block


def test_step_spans_pair_start_and_end_and_sum_per_stage() -> None:
    events = [
        ("raw__orders", "start", 10.0),
        ("raw__orders", "end", 11.5),
        ("dbt_models", "start", 12.0),
        ("raw__orders_gx_raw_orders", "start", 11.5),
        ("raw__orders_gx_raw_orders", "end", 12.0),
        ("dbt_models", "end", 15.0),
        ("kpi_snapshot", "start", 15.0),  # never ended: left out
    ]
    spans = step_spans(events)
    assert StepSpan("raw__orders", 10.0, 11.5) in spans
    times = stage_times(spans)
    assert times.stages == {"ingest": 1.5, "transform": 3.0, "gate": 0.5, "publish": 0.0}
    assert set(times.steps) == {"raw__orders", "raw__orders_gx_raw_orders", "dbt_models"}


def test_peak_rss_sees_a_child_process() -> None:
    import subprocess
    import sys

    with PeakRss(interval=0.01) as alone:
        pass
    code = "b = bytearray(300 * 2**20); import time; time.sleep(1)"
    with PeakRss(interval=0.01) as with_child:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert with_child.peak_bytes > alone.peak_bytes + 200 * 2**20


def test_write_block_replaces_only_its_own_block(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nhand-written analysis\n")
    write_block(doc, "scale-1-days-1", "first\n")
    write_block(doc, "scale-10-days-1", "other\n")
    write_block(doc, "scale-1-days-1", "second\n")
    text = doc.read_text()
    assert "hand-written analysis" in text
    assert "second" in text and "first" not in text and "other" in text
    assert text.count("<!-- bench:scale-1-days-1 -->") == 1


def test_sql_floor_computes_the_kpis_by_hand(tmp_path: Path) -> None:
    """The floor's query on a hand-made day: two sessions (one converting), orders, NPS."""
    import duckdb

    day = dt.date(2025, 3, 1)
    folder = lambda source: tmp_path / source / f"dt={day}"  # noqa: E731
    for source in ("ga4", "orders", "nps", "social"):
        folder(source).mkdir(parents=True)
    t0 = int(dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC).timestamp() * 1e6)
    events = [
        ("u1", 1, "page_view", t0, "organic"),
        ("u1", 1, "purchase", t0 + 60_000_000, None),
        ("u2", 7, "page_view", t0, None),
    ]
    lines = []
    for user, session, name, ts, medium in events:
        params = [f'{{"key":"ga_session_id","value":{{"int_value":"{session}"}}}}']
        if medium:
            params.append(f'{{"key":"medium","value":{{"string_value":"{medium}"}}}}')
        lines.append(
            f'{{"event_timestamp":"{ts}","event_name":"{name}","user_pseudo_id":"{user}",'
            f'"event_params":[{",".join(params)}],"geo":{{"country":"France"}}}}'
        )
    (folder("ga4") / "events_20250301.json").write_text("\n".join(lines) + "\n")
    (folder("orders") / "orders.csv").write_text(
        "order_id,contact_id,placed_at,fulfilled_at,status,net_amount,currency\n"
        "O1,C1,2025-03-01T08:00:00Z,2025-03-01T10:00:00Z,fulfilled,30.00,USD\n"
        "O2,C2,2025-03-01T09:00:00Z,,cancelled,99.00,USD\n"
        "O3,C3,2025-03-01T11:00:00Z,2025-03-01T15:00:00Z,fulfilled,10.50,USD\n"
    )
    (folder("nps") / "responses.csv").write_text(
        "response_id,contact_id,submitted_at,score,comment\n"
        "R1,C1,2025-03-01T12:00:00Z,10,\nR2,C2,2025-03-01T12:00:00Z,3,\n"
        "R3,C3,2025-03-01T12:00:00Z,8,\n"
    )
    (folder("social") / "posts.csv").write_text(
        "date,platform,post_id,impressions,likes,comments,shares\n"
        "2025-03-01,facebook,p1,1000,10,5,5\n"
    )
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    io = load_raw_tables(con, tmp_path, day)
    assert io.rows == 3 + 3 + 3 + 1
    _, facts = kpi_facts(con, day)
    overall = {kpi: (n, d) for kpi, dim, _, n, d in facts if dim == "all"}
    assert set(overall) == set(SQL_FLOOR_KPIS)
    assert overall["session_conversion_rate"] == (1, 2)
    assert overall["user_conversion_rate"] == (1, 2)
    assert overall["organic_traffic"] == (1, None)
    assert overall["net_revenue"] == (40.5, None)
    assert overall["average_order_value"] == (40.5, 2)
    assert overall["avg_order_processing_hours"] == (6.0, 2)  # 2 h + 4 h
    assert overall["nps"] == (0, 3)  # one promoter, one detractor, one passive
    assert overall["social_engagement_rate"] == (20, 1000)


@pytest.mark.e2e
def test_benchmark_at_a_tiny_scale(tmp_path: Path) -> None:
    from kpi_pipeline.bench.benchmark import BenchConfig, run_benchmark
    from kpi_pipeline.bench.report import block_name, render, stage_ratios, targets

    config = BenchConfig(scale=0.05, days=1, workdir=tmp_path / "bench")
    result = run_benchmark(config, "kpi bench --scale 0.05", log=lambda _: None)

    main = result.main
    assert main.success, main.reason
    assert main.rows_in > 0 and result.floors.rows == main.rows_in
    assert set(main.stages) == set(STAGES)
    assert all(main.stages[s] > 0 for s in STAGES)
    assert main.peak_rss_bytes > 0 and main.wall_seconds >= sum(main.stages.values())
    assert result.floors.io_seconds > 0 and result.floors.sql_seconds > 0
    # the floor's hand-written SQL agrees with the pipeline's facts on the same files
    assert result.floors.mismatches == []
    # after the warm-up day dbt reuses its parsed project: a new day's window is read at
    # run time, not parsed (macros/partition_window.sql)
    assert main.dbt["full parse"] == 0.0, main.dbt
    assert all(r is not None and r > 0 for r in stage_ratios(result).values())
    assert result.empty is not None and result.empty.rows_in == 0
    assert result.warehouse.ga4_events > 0 and result.warehouse.bytes_per_million_events
    assert {t.name for t in targets(result)} >= {"ingest / I/O floor", "transform / SQL floor"}

    doc = write_block(tmp_path / "benchmarks.md", block_name(result), render(result))
    text = doc.read_text()
    assert "<!-- bench:scale-0.05-days-1 -->" in text
    for stage in STAGES:
        assert f"| {stage} |" in text


def test_dbt_phases_of_the_last_invocation() -> None:
    import json

    from kpi_pipeline.bench.measurement import dbt_phases

    def line(invocation: str, code: str, ts: str, **data) -> str:
        info = {"invocation_id": invocation, "code": code, "ts": ts}
        return json.dumps({"data": data, "info": info})

    log = [
        line("old", "A001", "2026-01-01T10:00:00Z"),
        line("new", "A001", "2026-01-01T11:00:00.000Z"),
        line("new", "I024", "2026-01-01T11:00:01.000Z"),
        line("new", "W006", "2026-01-01T11:00:03.500Z"),
        line("new", "Q039", "2026-01-01T11:00:05.000Z", elapsed=5.25),
    ]
    phases = dbt_phases(log)
    assert phases == {"start and parse": 3.5, "nodes": 1.5, "command": 5.25, "full parse": 1.0}
    assert dbt_phases(log[:3]) == {}


def test_run_table_has_a_header_cell_per_value() -> None:
    from kpi_pipeline.bench.measurement import RunMeasurement
    from kpi_pipeline.bench.report import run_table

    run = RunMeasurement(
        "day", "2025-12-31", "2025-12-31", True, "published", 2.0, 2**20,
        dict.fromkeys(STAGES, 0.25), {}, 100, cpu_seconds=1.5,
    )  # fmt: skip
    header, rule, row = run_table([run])
    assert header.count("|") == rule.count("|") == row.count("|")
    assert "| 2.00 | 1.50 |" in row


# --- issue 16: GA4 as Parquet, replicated backfills, a 10 M-event day's generation ---

BENCH_TEST_DAY = dt.date(2025, 12, 31)


def _sample_day(landing: Path, scale: float = 0.05, day: dt.date = BENCH_TEST_DAY):
    from kpi_pipeline.sample.generator import generate_sample

    return generate_sample(day, day, landing, scale=scale)


def test_sample_ga4_file_is_the_same_in_any_render_chunk(tmp_path: Path, monkeypatch) -> None:
    """The export is rendered a chunk at a time (bounded memory at 10 M events): the file
    does not depend on the chunk, and its events are in time order, ties by their line."""
    import json

    from kpi_pipeline.sample import web

    whole = _sample_day(tmp_path / "whole", scale=0.5)
    monkeypatch.setattr(web, "RENDER_CHUNK_EVENTS", 997)
    chunked = _sample_day(tmp_path / "chunked", scale=0.5)
    name = f"ga4/dt={BENCH_TEST_DAY}/events_{BENCH_TEST_DAY:%Y%m%d}.json"
    text = (tmp_path / "whole" / name).read_bytes()
    assert whole.rows_of("ga4") > 3 * 997  # several chunks
    assert (tmp_path / "chunked" / name).read_bytes() == text
    assert chunked.rows == whole.rows
    lines = text.decode().splitlines()
    assert len(lines) == whole.rows_of("ga4")
    keys = [(int(json.loads(line)["event_timestamp"]), line) for line in lines]
    assert keys == sorted(keys)


def test_sample_ties_are_ordered_by_their_lines() -> None:
    """Two events of the same microsecond come in the order of their rendered lines, as
    when every line was rendered before sorting."""
    import polars as pl

    from kpi_pipeline.sample import web

    sessions = pl.DataFrame(
        {
            "user_pseudo_id": ["9.1", "1.1"],
            "ga_session_id": [1, 1],
            "channel": pl.Series([0, 0], dtype=pl.Int16),
            "campaign": pl.Series([0, 0], dtype=pl.Int16),
            "first_campaign": pl.Series([0, 0], dtype=pl.Int16),
            "acquired": pl.Series([0, 0], dtype=pl.Int16),
            "country": pl.Series([0, 0], dtype=pl.Int16),
            "device": pl.Series([0, 0], dtype=pl.Int16),
            "revenue": pl.Series([None, None], dtype=pl.Float64),
            "transaction_id": pl.Series([None, None], dtype=pl.String),
        }
    )
    t0 = int(dt.datetime(2025, 12, 31, 12, tzinfo=dt.UTC).timestamp() * 1e6)
    events = pl.DataFrame(
        {
            "event_us": [t0 + 5, t0, t0],
            "code": pl.Series([1, 0, 0], dtype=pl.Int8),
            "owner": pl.Series([0, 0, 1], dtype=pl.Int32),
        }
    )
    day = web.SessionDay(BENCH_TEST_DAY, events, sessions, {})
    lines = web.events_extract(BENCH_TEST_DAY, [day]).lines().to_list()
    assert [line.split('"user_pseudo_id":"')[1][:3] for line in lines] == ["1.1", "9.1", "9.1"]
    assert lines[:2] == sorted(lines[:2])


def test_ga4_parquet_keeps_the_export_and_loads_the_same_rows(tmp_path: Path) -> None:
    """`--ga4-format parquet`: the day's NDJSON becomes events_YYYYMMDD.parquet with the
    export's nested types, and the pipeline's reader gets the same raw rows from it."""
    import duckdb

    from kpi_pipeline.bench.ga4_format import convert_ga4_to_parquet, ga4_file, read_ga4_sql
    from kpi_pipeline.ingest.loaders import _ga4_json_select, _ga4_parquet_select

    landing = tmp_path / "landing"
    summary = _sample_day(landing)
    ndjson = ga4_file(landing, BENCH_TEST_DAY, "ndjson")
    kept = tmp_path / ndjson.name
    kept.write_bytes(ndjson.read_bytes())
    parquet = convert_ga4_to_parquet(landing, BENCH_TEST_DAY)
    assert parquet.name == "events_20251231.parquet" and not ndjson.exists()

    con = duckdb.connect()
    types = dict(
        con.execute(
            f"select column_name, column_type from (describe select * from {read_ga4_sql(parquet)})"
        ).fetchall()
    )
    assert types["event_timestamp"] == "BIGINT"
    assert "int_value BIGINT" in types["event_params"] and types["event_params"].endswith("[]")
    assert "dt" not in types  # the dt= folder is not a column of the export
    from_json = f"select {_ga4_json_select(str(kept))}"
    from_parquet = f"select {_ga4_parquet_select(con, str(parquet))}"
    assert con.execute(f"select count(*) from ({from_parquet})").fetchone()[0] == summary.rows_of(
        "ga4"
    )
    for a, b in ((from_json, from_parquet), (from_parquet, from_json)):
        assert con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0] == 0


def test_io_floor_reads_the_parquet_export(tmp_path: Path) -> None:
    import duckdb

    from kpi_pipeline.bench.ga4_format import convert_ga4_to_parquet

    landing = tmp_path / "landing"
    summary = _sample_day(landing)
    convert_ga4_to_parquet(landing, BENCH_TEST_DAY)
    con = duckdb.connect()
    io = load_raw_tables(con, landing, BENCH_TEST_DAY)
    assert io.rows == summary.rows
    assert con.execute("select count(*) from ga4_events").fetchone()[0] == summary.rows_of("ga4")


@pytest.mark.parametrize("ga4_format", ["ndjson", "parquet"])
def test_replicated_days_shift_dates_and_tag_ids(tmp_path: Path, ga4_format: str) -> None:
    import duckdb

    from kpi_pipeline.bench.ga4_format import convert_ga4_to_parquet, ga4_file, read_ga4_sql
    from kpi_pipeline.bench.replication import replicate_days

    landing = tmp_path / "landing"
    summary = _sample_day(landing)
    if ga4_format == "parquet":
        convert_ga4_to_parquet(landing, BENCH_TEST_DAY)
    days = [BENCH_TEST_DAY - dt.timedelta(days=n) for n in (2, 1, 0)]
    replicate_days(landing, BENCH_TEST_DAY, days, ga4_format, log=lambda _: None)

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    template = read_ga4_sql(ga4_file(landing, BENCH_TEST_DAY, ga4_format))
    for day in days[:2]:
        shift = (day - BENCH_TEST_DAY).days
        copy = read_ga4_sql(ga4_file(landing, day, ga4_format))
        rows, dates, users, inside = con.execute(
            f"""select count(*), list(distinct event_date),
                count(*) filter (where user_pseudo_id like '%-r0%'),
                count(*) filter (where cast(to_timestamp(event_timestamp / 1e6) as date) = ?)
                from {copy}""",
            [day],
        ).fetchone()
        assert rows == inside == users == summary.rows_of("ga4")
        assert dates == [f"{day:%Y%m%d}"]
        # the same events, shifted: timestamps and session ids by whole days
        moved = con.execute(
            f"""select count(*) from (
                select event_timestamp + {shift * 86_400_000_000} as ts, event_name,
                    event_params[1].value.int_value + {shift * 86_400} as sid
                from {template}
                except all
                select event_timestamp, event_name, event_params[1].value.int_value
                from {copy})"""
        ).fetchone()[0]
        assert moved == 0
    csv = "read_csv('{}', all_varchar = true, hive_partitioning = false)"
    orders = " union all ".join(
        "select order_id from " + csv.format(landing / "orders" / f"dt={d}" / "orders.csv")
        for d in days
    )
    total, distinct = con.execute(
        f"select count(*), count(distinct order_id) from ({orders})"
    ).fetchone()
    assert total == 3 * summary.rows_of("orders") and distinct == total
    nps = landing / "nps" / f"dt={days[0]}" / "responses.csv"
    submitted = con.execute(
        f"select distinct cast(submitted_at as timestamptz)::date from {csv.format(nps)}"
    ).fetchall()
    assert submitted == [(days[0],)]


def test_replicating_an_unknown_extract_is_refused(tmp_path: Path) -> None:
    from kpi_pipeline.bench.replication import ReplicationError, replicate_days

    landing = tmp_path / "landing"
    _sample_day(landing)
    (landing / "orders" / f"dt={BENCH_TEST_DAY}" / "refunds.csv").write_text("id\n1\n")
    with pytest.raises(ReplicationError, match=r"refunds\.csv"):
        replicate_days(landing, BENCH_TEST_DAY, [BENCH_TEST_DAY - dt.timedelta(days=1)], "ndjson")


def test_disk_estimate_from_the_template_day(tmp_path: Path) -> None:
    from kpi_pipeline.bench.replication import (
        MARGIN,
        WAREHOUSE_BYTES_PER_MILLION_EVENTS,
        NotEnoughDiskError,
        estimate_disk,
        require_disk,
    )

    landing = tmp_path / "landing"
    _sample_day(landing)
    size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
    estimate = estimate_disk(landing, BENCH_TEST_DAY, 365, 1_000_000)
    assert estimate.landing_bytes == 365 * size
    assert estimate.warehouse_bytes >= 365 * WAREHOUSE_BYTES_PER_MILLION_EVENTS
    assert estimate.needed_bytes >= (estimate.landing_bytes + estimate.warehouse_bytes) * MARGIN - 1
    short = type(estimate)(365, size, 1_000_000, estimate.needed_bytes - 1, landing)
    with pytest.raises(NotEnoughDiskError, match="365-day backfill needs about"):
        require_disk(short)
    require_disk(type(estimate)(365, size, 1_000_000, estimate.needed_bytes, landing))


def test_disk_estimate_holds_duckdbs_spill_beyond_its_memory_limit(tmp_path: Path) -> None:
    """dbt's largest rebuild in a backfill (fct_kpi_period built whole) holds what the
    measured ratio says per GA4 event; what exceeds DuckDB's memory limit is spilled to disk
    and counted in the estimate; a backfill that fits in memory spills nothing."""
    from kpi_pipeline.bench.replication import (
        DBT_WORKING_BYTES_PER_MILLION_EVENTS,
        MARGIN,
        estimate_disk,
        memory_bytes,
    )

    landing = tmp_path / "landing"
    _sample_day(landing)
    year = estimate_disk(landing, BENCH_TEST_DAY, 365, 1_000_000, "4GB")
    assert year.memory_limit_bytes == 4 * 10**9
    assert year.spill_bytes == 365 * DBT_WORKING_BYTES_PER_MILLION_EVENTS - 4 * 10**9
    # a year at a million events a day: the last run spilled more than 22 GiB before the disk
    # was full (docs/benchmarks.md), so the spill room must be at least that
    assert year.spill_bytes > 22 * 2**30
    parts = year.landing_bytes + year.warehouse_bytes + year.spill_bytes
    assert year.needed_bytes == int(parts * MARGIN)
    assert "spill for dbt's largest rebuild" in year.describe()
    # more memory, less spill; a month at a tenth of the volume fits in memory
    roomier = estimate_disk(landing, BENCH_TEST_DAY, 365, 1_000_000, "16GiB")
    assert roomier.spill_bytes == year.spill_bytes + 4 * 10**9 - 16 * 2**30
    assert estimate_disk(landing, BENCH_TEST_DAY, 30, 100_000).spill_bytes == 0
    assert memory_bytes("512MiB") == 512 * 2**20 and memory_bytes("1.5 GB") == 1_500_000_000
    with pytest.raises(ValueError, match="not an amount of memory"):
        memory_bytes("lots")


def test_bench_refuses_a_replicated_backfill_without_the_disk(tmp_path: Path, monkeypatch) -> None:
    """Too little free space: exit code 2 and one line saying how much is needed, before
    any run (no main deployment written)."""
    import shutil
    from collections import namedtuple

    from typer.testing import CliRunner

    from kpi_pipeline.cli import app

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**9, 10**9 - 1000, 1000))
    result = CliRunner().invoke(
        app,
        [
            "bench", "--scale", "0.05", "--backfill-days", "365", "--replicate",
            "--workdir", str(tmp_path / "bench"), "--report", str(tmp_path / "b.md"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "not started" in result.output and "365-day backfill needs about" in result.output
    assert not (tmp_path / "bench" / "main").exists() and not (tmp_path / "b.md").exists()


def _daily_facts(warehouse: Path, kpis: tuple[str, ...] | None = None) -> dict:
    from kpi_pipeline.warehouse import connect

    with connect(warehouse) as con:
        rows = con.execute(
            "select kpi_date, kpi_id, numerator, denominator from marts.fct_kpi_daily "
            "where dimension = 'all' order by all"
        ).fetchall()
    return {(d, k): (n, m) for d, k, n, m in rows if kpis is None or k in kpis}


@pytest.mark.e2e
def test_parquet_run_has_the_facts_of_the_ndjson_run(tmp_path: Path) -> None:
    """The same day, GA4 delivered as Parquet or as NDJSON: the same KPI facts."""
    from kpi_pipeline.bench.benchmark import BenchConfig, run_benchmark

    facts = {}
    for ga4_format in ("ndjson", "parquet"):
        config = BenchConfig(
            scale=0.05,
            workdir=tmp_path / ga4_format,
            empty_day=False,
            warm_up=False,
            ga4_format=ga4_format,
        )
        result = run_benchmark(config, log=lambda _: None)
        assert result.main.success, result.main.reason
        assert result.floors.mismatches == []
        landing = tmp_path / ga4_format / "main" / "landing" / "ga4"
        assert [p.suffix for p in landing.rglob("events_*")] == [
            ".json" if ga4_format == "ndjson" else ".parquet"
        ]
        facts[ga4_format] = _daily_facts(tmp_path / ga4_format / "main" / "warehouse.duckdb")
    assert facts["parquet"] and facts["parquet"] == facts["ndjson"]


@pytest.mark.e2e
def test_replicated_backfill_publishes_each_day_with_the_generated_days_traffic(
    tmp_path: Path,
) -> None:
    """A 3-day backfill of copies of one generated day: each day published, the GA4 KPIs
    of every day those of the day generated and run alone (its events are the day's)."""
    from kpi_pipeline.bench.benchmark import BenchConfig, run_benchmark
    from kpi_pipeline.bench.report import render

    config = BenchConfig(
        scale=0.5,
        workdir=tmp_path,
        empty_day=False,
        warm_up=False,
        backfill_days=3,
        replicate=True,
        ga4_format="parquet",
    )
    result = run_benchmark(config, log=lambda _: None)
    assert result.backfill is not None and result.backfill.success, result.backfill.reason
    assert result.backfill_disk is not None and result.backfill_disk.enough
    assert result.backfill_warehouse and result.backfill_warehouse.ga4_events == 3 * (
        result.warehouse.ga4_events
    )
    traffic = ("session_conversion_rate", "user_conversion_rate", "organic_traffic")
    alone = _daily_facts(tmp_path / "main" / "warehouse.duckdb", traffic)
    backfill = _daily_facts(tmp_path / "backfill-3" / "warehouse.duckdb")
    days = [config.last_day - dt.timedelta(days=n) for n in (2, 1, 0)]
    assert sorted({d for d, _ in backfill}) == days  # every day has its facts
    for day in days:
        for kpi in traffic:
            assert backfill[(day, kpi)] == alone[(config.last_day, kpi)], (day, kpi)
    snapshots = tmp_path / "backfill-3" / "snapshots"
    assert all(any(snapshots.rglob(f"*{d}*")) for d in days)
    text = render(result)
    assert "Warehouse after the backfill" in text and "a day" in text
    assert "GA4 as Parquet: ingest / I/O floor" in text


def test_the_bench_deployment_takes_a_ten_million_event_file(tmp_path: Path, monkeypatch) -> None:
    """A 10 M-event day is one GA4 file over the 10 M-row default of KPI_MAX_FILE_ROWS: the
    benchmark's deployments raise it (a limit set by the user is kept)."""
    from kpi_pipeline.bench.generation import deployment_env
    from kpi_pipeline.ingest.containment import IngestLimits

    monkeypatch.delenv("KPI_MAX_FILE_ROWS", raising=False)
    with deployment_env(tmp_path):
        assert IngestLimits.from_env().max_file_rows == 100_000_000
    monkeypatch.setenv("KPI_MAX_FILE_ROWS", "5")
    with deployment_env(tmp_path):
        assert IngestLimits.from_env().max_file_rows == 5


@pytest.mark.e2e
def test_a_failed_measured_run_stops_the_bench_in_words(tmp_path: Path, monkeypatch) -> None:
    """The day's GA4 file over the row limit: the run fails, and the bench says so (exit 2)
    instead of measuring floors against a warehouse that has no facts; no report written."""
    from typer.testing import CliRunner

    from kpi_pipeline.cli import app

    monkeypatch.setenv("KPI_MAX_FILE_ROWS", "10")
    result = CliRunner().invoke(
        app,
        [
            "bench", "--scale", "0.05", "--no-warm-up", "--no-empty-day",
            "--workdir", str(tmp_path / "bench"), "--report", str(tmp_path / "b.md"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "the measured run (day) failed" in result.output
    assert "KPI_MAX_FILE_ROWS" in result.output
    assert not (tmp_path / "b.md").exists()


def test_a_failed_backfill_is_never_judged_to_hold() -> None:
    """The 365-day backfill that failed in dbt after 92.5 min (a full disk) had been judged
    to hold its memory target: a failed run may not have reached its peak."""
    from kpi_pipeline.bench.benchmark import BenchConfig
    from kpi_pipeline.bench.measurement import RunMeasurement
    from kpi_pipeline.bench.report import replicated_backfill_targets

    config = BenchConfig(scale=67, backfill_days=365, ga4_format="parquet", replicate=True)

    def backfill(success: bool, minutes: float, gib: float) -> RunMeasurement:
        return RunMeasurement(
            "backfill", "2025-01-01", "2025-12-31", success, "failed: dbt_models",
            minutes * 60, int(gib * 2**30), dict.fromkeys(STAGES, 0.0), {}, 1,
        )  # fmt: skip

    def verdicts(run: RunMeasurement) -> list:
        return [t.holds for t in replicated_backfill_targets(config, run)]

    failed_late = replicated_backfill_targets(config, backfill(False, 92.5, 5.96))
    assert [t.holds for t in failed_late] == [False, None]
    assert failed_late[0].measured == "failed after 92.5 min at scale 67"
    assert failed_late[1].measured == "5.96 GiB at scale 67 until it failed"
    assert verdicts(backfill(False, 30, 9.0)) == [None, False]
    assert verdicts(backfill(True, 50, 5.0)) == [True, True]
    assert verdicts(backfill(True, 61, 8.5)) == [False, False]


# --- issue 18: `kpi bench --warehouse spark`, DuckDB and Spark local side by side ---


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--history-days", "365"], "--history-days measures"),
        (["--backfill-days", "3"], "--backfill-days measures"),
        (["--backfill-days", "3", "--replicate"], "--backfill-days and --replicate measure"),
    ],
)
def test_bench_refuses_duckdb_only_options_with_spark(
    tmp_path: Path, args: list[str], named: str
) -> None:
    """History and backfills build DuckDB deployments of their own: with --warehouse spark
    they are refused in words (exit 2), before anything is generated."""
    from typer.testing import CliRunner

    from kpi_pipeline.cli import app

    result = CliRunner().invoke(
        app,
        ["bench", "--warehouse", "spark", *args, "--workdir", str(tmp_path / "bench"),
         "--report", str(tmp_path / "b.md")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"{named} DuckDB deployments only" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "bench").exists() and not (tmp_path / "b.md").exists()


def test_bench_refuses_an_unknown_warehouse(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kpi_pipeline.cli import app

    result = CliRunner().invoke(
        app, ["bench", "--warehouse", "snowflake", "--workdir", str(tmp_path / "bench")]
    )
    assert result.exit_code == 2, result.output
    assert "--warehouse snowflake is not one of duckdb, spark" in result.output
    assert not (tmp_path / "bench").exists()


def test_warehouse_refusal_lets_duckdb_keep_every_option() -> None:
    from kpi_pipeline.bench.benchmark import BenchConfig, warehouse_refusal

    duckdb = BenchConfig(history_days=365, backfill_days=365, replicate=True)
    assert warehouse_refusal(duckdb) is None
    assert warehouse_refusal(BenchConfig(warehouse="spark", days=3)) is None
    refused = warehouse_refusal(BenchConfig(warehouse="spark", history_days=365))
    assert refused and refused.startswith("--history-days measures DuckDB")


def test_bench_spark_port_is_kpi_spark_port_or_a_free_one() -> None:
    import socket

    from kpi_pipeline.bench.benchmark import bench_spark_port

    assert bench_spark_port({"KPI_SPARK_PORT": "16123"}) == 16123
    port = bench_spark_port({})
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free: nothing listens there
    with pytest.raises(ValueError, match="KPI_SPARK_PORT"):
        bench_spark_port({"KPI_SPARK_PORT": "80"})


def _snapshot(**changes):
    import polars as pl

    rows = {
        "date": [BENCH_TEST_DAY] * 3,
        "kpi_id": ["aov", "aov", "nps"],
        "dimension": ["all", "country", "all"],
        "dimension_value": ["all", "France", "all"],
        "numerator": [40.5, 30.0, 1.0],
        "denominator": [2.0, 1.0, 3.0],
        "value": [20.25, 30.0, 1 / 3],
        "status": ["on_track", None, "off_track"],
    }
    return pl.DataFrame({**rows, **changes})


def test_snapshots_agree_to_1e9_relative() -> None:
    """The engines differ in a float's last digits: such snapshots agree, and the largest
    relative difference is reported."""
    from kpi_pipeline.bench.comparison import compare_snapshots

    spark = _snapshot(value=[20.25 * (1 + 3e-12), 30.0, 1 / 3]).reverse()  # order ignored
    found = compare_snapshots("2025-12-31", _snapshot(), spark)
    assert found.agree and found.mismatches == []
    assert found.rows == 3 and found.values == 9
    assert 1e-12 < found.max_relative < 1e-11
    assert "the 3 KPI rows DuckDB and Spark published agree" in found.describe()


def test_snapshots_that_differ_are_reported_not_hidden() -> None:
    import polars as pl

    from kpi_pipeline.bench.comparison import compare_snapshots

    spark = _snapshot(value=[20.25 * (1 + 1e-6), 30.0, 1 / 3], status=["on_track", None, None])
    spark = pl.concat([spark, _snapshot().head(1).with_columns(kpi_id=pl.lit("roas"))])
    found = compare_snapshots("2025-12-31", _snapshot(), spark)
    assert not found.agree
    assert found.mismatches == [
        "roas/all/all only in Spark's snapshot",
        f"aov/all/all value: 20.25 against {20.25 * (1 + 1e-6)!r}",
        "nps/all/all status: 'off_track' against None",
    ]
    assert "**DuckDB and Spark published different KPIs** (3 differences)" in found.describe()
    missing = compare_snapshots("2025-12-31", _snapshot(), _snapshot().drop("status"))
    assert missing.mismatches == ["column status only in DuckDB's snapshot"]


def test_a_day_only_one_warehouse_published_is_a_mismatch(tmp_path: Path) -> None:
    from kpi_pipeline.bench.comparison import compare_published

    day = BENCH_TEST_DAY
    folder = tmp_path / "duckdb" / day.isoformat() / "latest"
    folder.mkdir(parents=True)
    _snapshot().write_parquet(folder / "kpis.parquet")
    other = dt.date(2025, 12, 30)
    [published, neither] = compare_published(tmp_path / "duckdb", tmp_path / "spark", [day, other])
    assert published.mismatches == ["Spark published nothing for the day"]
    assert not published.agree
    assert neither.rows == 0 and not neither.agree
    assert "no published KPI rows to compare" in neither.describe()


def _measured(label: str, wall: float, server_cpu: float = 0.0, server_rss: int = 0):
    from kpi_pipeline.bench.measurement import RunMeasurement

    return RunMeasurement(
        label, "2025-12-31", "2025-12-31", True, "published", wall, 2**30,
        {"ingest": wall / 4, "transform": wall / 2, "gate": wall / 8, "publish": wall / 16},
        {"dbt_models": wall / 2}, 15_000, cpu_seconds=wall, server_cpu_seconds=server_cpu,
        server_peak_rss_bytes=server_rss,
    )  # fmt: skip


def test_report_shows_duckdb_and_spark_side_by_side() -> None:
    """The block of a `--warehouse spark` bench: its own name, the stages of both runs and
    Spark's over DuckDB's, the server's start apart, its CPU and RSS said, the comparison."""
    from kpi_pipeline.bench.benchmark import (
        BenchConfig,
        BenchResult,
        Floors,
        SparkSide,
        Warehouse,
    )
    from kpi_pipeline.bench.comparison import compare_snapshots
    from kpi_pipeline.bench.report import block_name, render

    config = BenchConfig(warehouse="spark", empty_day=False)
    spark = SparkSide(
        port=16123, version="4.1.0", server_start_seconds=9.5, first_statement_seconds=14.0,
        server_start_rss_bytes=700 * 2**20, startup_seconds=3.0, startup_rss_bytes=2**28,
        main=_measured("day", 80.0, server_cpu=50.0, server_rss=1536 * 2**20),
        warehouse_bytes=5 * 2**20,
        comparisons=[compare_snapshots("2025-12-31", _snapshot(), _snapshot())],
    )  # fmt: skip
    result = BenchResult(
        config=config, command="kpi bench --warehouse spark", machine={"cores": "2"},
        versions={}, startup_seconds=2.0, startup_rss_bytes=2**28, main=_measured("day", 16.0),
        floors=Floors(0.5, 0.1, 15_000), warehouse=Warehouse(2**23, 10_000), spark=spark,
    )  # fmt: skip
    assert block_name(result) == "scale-1-days-1-spark"
    text = render(result)
    assert text.startswith("### Scale 1, 1 day(s), DuckDB and Spark local")
    assert "| transform s | 8.00 | 40.00 | 5.0x |" in text
    assert "| **the run, wall s** | 16.00 | 80.00 | 5.0x |" in text
    assert "| of which the Spark server's CPU s | - | 50.00 | - |" in text
    assert "| the Spark server's own peak RSS MiB | - | 1,536 | - |" in text
    assert "| the run / (I/O + SQL floor) | 26.7x | 133.3x | - |" in text
    assert "listened 9.5 s, then the first statement" in text and "14.0 s" in text
    assert "the 3 KPI rows DuckDB and Spark published agree" in text
    assert "Slowest steps of the day on Spark: `dbt_models` 40.00 s" in text
    for line in text.splitlines():
        if line.startswith("| the day |"):
            assert line.count("|") == 5
    assert render(BenchResult(**{**result.__dict__, "spark": None})).count("Spark") == 0


def test_peak_rss_counts_a_server_child_once() -> None:
    """The Spark server is a child of the bench's process (it started it) and is also
    sampled as the server: each sample counts it once, its own peak kept apart."""
    import subprocess
    import sys

    import psutil

    from kpi_pipeline.bench.measurement import tree_rss

    code = "b = bytearray(300 * 2**20); print('ready', flush=True); input()"
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        with PeakRss(interval=0.01, server_pid=child.pid) as rss:
            pass
        me, server = psutil.Process(), psutil.Process(child.pid)
        assert rss.server_peak_bytes > 250 * 2**20
        assert tree_rss(me, leave_out=server) < tree_rss(me) - 250 * 2**20
        assert (
            rss.own_peak_bytes < rss.peak_bytes < rss.own_peak_bytes + 1.5 * rss.server_peak_bytes
        )
    finally:
        child.communicate("\n")
