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
