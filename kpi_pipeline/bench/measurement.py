"""Measuring a run: peak RSS of the process tree (a sampling thread) and each stage's time
from the Dagster event log (step start to step end, summed per stage)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from kpi_pipeline.orchestration.progress import stage_of

# The benchmark's names of the job's stages (progress.py calls the gate "quality").
STAGE_NAMES = {
    "ingest": "ingest",
    "transform": "transform",
    "quality": "gate",
    "publish": "publish",
}
STAGES = tuple(STAGE_NAMES.values())
DBT_STEP = "dbt_models"


def tree_rss(process: psutil.Process, leave_out: psutil.Process | None = None) -> int:
    """RSS of a process and all its children (dbt may run in a subprocess), in bytes;
    `leave_out`'s tree not counted (a server this process started, counted apart)."""
    members = [process, *process.children(recursive=True)]
    if leave_out is not None:
        skipped = {leave_out.pid} | {child.pid for child in _children(leave_out)}
        members = [member for member in members if member.pid not in skipped]
    total = 0
    for member in members:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # a child that ended between the listing and the reading
    return total


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


def tree_cpu(process: psutil.Process) -> float:
    """User + system CPU seconds of a process and its live children: a running server's
    JVM, which `os.times()` leaves out (it counts only the children that have ended)."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        total += times.user + times.system
    return total


class PeakRss:
    """Context manager: a thread samples the process tree's RSS every `interval` seconds and
    keeps the peak (`peak_bytes`), also after exit. With `server_pid` (the Spark server:
    a child of this process when the benchmark started it, otherwise not) each sample is the
    tree without the server plus the server's own tree, so it is counted once wherever it
    runs, and the server's peak is kept apart (`server_peak_bytes`)."""

    def __init__(
        self, interval: float = 0.05, pid: int | None = None, server_pid: int | None = None
    ) -> None:
        self.interval = interval
        self.process = psutil.Process(pid or os.getpid())
        self.server = psutil.Process(server_pid) if server_pid else None
        self.peak_bytes = 0
        self.own_peak_bytes = 0  # the tree without the server
        self.server_peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True, name="peak-rss")

    def _take(self) -> None:
        server = tree_rss(self.server) if self.server else 0
        self.server_peak_bytes = max(self.server_peak_bytes, server)
        own = tree_rss(self.process, leave_out=self.server)
        self.own_peak_bytes = max(self.own_peak_bytes, own)
        self.peak_bytes = max(self.peak_bytes, own + server)

    def _sample(self) -> None:
        while True:
            self._take()
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self._take()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._take()


@dataclass(frozen=True)
class StepSpan:
    step_key: str
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class StageTimes:
    """Seconds per stage (steps run one after another in the job's process) and per step."""

    stages: dict[str, float] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)


def step_spans(events: Iterable[tuple[str, str, float]]) -> list[StepSpan]:
    """Spans of the steps from (step_key, kind, timestamp) events, kind being `start` or
    `end` (success, failure or skip). A step without an end is left out."""
    starts: dict[str, float] = {}
    spans = []
    for step_key, kind, timestamp in sorted(events, key=lambda e: e[2]):
        if kind == "start":
            starts[step_key] = timestamp
        elif step_key in starts:
            spans.append(StepSpan(step_key, starts.pop(step_key), timestamp))
    return spans


def stage_times(spans: Iterable[StepSpan]) -> StageTimes:
    totals: dict[str, float] = defaultdict(float)
    steps = {}
    for span in spans:
        totals[STAGE_NAMES[stage_of(span.step_key)]] += span.seconds
        steps[span.step_key] = span.seconds
    return StageTimes({s: totals.get(s, 0.0) for s in STAGES}, steps)


def run_step_events(instance, run_id: str) -> list[tuple[str, str, float]]:
    """(step_key, start|end, timestamp) of a finished run, from Dagster's event log."""
    from dagster import DagsterEventType

    kinds = {
        DagsterEventType.STEP_START: "start",
        DagsterEventType.STEP_SUCCESS: "end",
        DagsterEventType.STEP_FAILURE: "end",
        DagsterEventType.STEP_SKIPPED: "end",
    }
    return [
        (entry.step_key, kinds[entry.dagster_event_type], entry.timestamp)
        for entry in instance.all_logs(run_id, of_type=set(kinds))
        if entry.step_key
    ]


@dataclass
class RunMeasurement:
    """One measured run of the daily job."""

    label: str
    first_day: str
    last_day: str
    success: bool
    reason: str
    wall_seconds: float
    peak_rss_bytes: int
    stages: dict[str, float]
    steps: dict[str, float]
    rows_in: int
    # CPU seconds of the process and its finished children (dbt): less swayed than the wall
    # time by other work on a shared machine
    cpu_seconds: float = 0.0
    # dbt's own phases in the run's `dbt build` (from its dbt.log), see `dbt_phases`
    dbt: dict[str, float] = field(default_factory=dict)
    # on Spark: the server's JVM, a process apart, whose CPU and RSS are included above
    # (peak_rss_bytes is the run's tree plus the server, sampled together); its own share
    server_cpu_seconds: float = 0.0
    server_peak_rss_bytes: int = 0

    @property
    def overhead_seconds(self) -> float:
        """Wall time outside the steps: run start and end, step launch, event log writes."""
        return max(0.0, self.wall_seconds - sum(self.stages.values()))

    def rows_per_second(self, stage: str | None = None) -> float | None:
        seconds = self.wall_seconds if stage is None else self.stages.get(stage, 0.0)
        return self.rows_in / seconds if seconds > 0 else None


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its children that have ended."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _ts(line: dict) -> float:
    return dt.datetime.fromisoformat(line["info"]["ts"].replace("Z", "+00:00")).timestamp()


def dbt_phases(log_lines: Iterable[str]) -> dict[str, float]:
    """Seconds of the last dbt invocation in a JSON dbt.log: `start and parse` (from its
    first line to `Found N models`: adapter, project, full or partial parse), `nodes` (to the
    end of the command) and `command` (dbt's own total)."""
    lines = [json.loads(text) for text in log_lines if text.startswith("{")]
    if not lines:
        return {}
    invocation = lines[-1]["info"]["invocation_id"]
    lines = [line for line in lines if line["info"]["invocation_id"] == invocation]
    codes = {}
    for line in lines:
        codes.setdefault(line["info"]["code"], line)
    if "W006" not in codes or "Q039" not in codes:
        return {}
    started, parsed, ended = _ts(lines[0]), _ts(codes["W006"]), _ts(codes["Q039"])
    phases = {"start and parse": parsed - started, "nodes": ended - parsed}
    phases["command"] = float(codes["Q039"]["data"].get("elapsed", ended - started))
    phases["full parse"] = float("I024" in codes)  # 1: dbt could not reuse its partial parse
    return phases


def measure_run(
    defs,
    instance,
    first_day,
    last_day,
    label: str,
    rows_in: int,
    dbt_log: Path | None = None,
    server_pid: int | None = None,
) -> RunMeasurement:
    """Run the daily job over [first_day, last_day] (the production code path,
    `runner.run_days`) and measure wall time, peak RSS and stage times. `server_pid`: the
    Spark server the run computes on, its CPU and RSS counted with the run's."""
    from kpi_pipeline.runner import run_days

    server = psutil.Process(server_pid) if server_pid else None
    with PeakRss(server_pid=server_pid) as rss:
        started, cpu_before = time.perf_counter(), cpu_seconds()
        server_before = tree_cpu(server) if server else 0.0
        report = run_days(defs, first_day, last_day, instance=instance)
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu_before
        server_cpu = tree_cpu(server) - server_before if server else 0.0
    times = stage_times(step_spans(run_step_events(instance, report.run_id)))
    return RunMeasurement(
        label=label,
        first_day=first_day.isoformat(),
        last_day=last_day.isoformat(),
        success=report.success,
        reason=report.reason(),
        wall_seconds=wall,
        peak_rss_bytes=rss.peak_bytes,
        stages=times.stages,
        steps=times.steps,
        rows_in=rows_in,
        cpu_seconds=cpu + server_cpu,
        server_cpu_seconds=server_cpu,
        server_peak_rss_bytes=rss.server_peak_bytes,
        dbt=dbt_phases(dbt_log.read_text().splitlines())
        if dbt_log and dbt_log.exists() and DBT_STEP in times.steps
        else {},
    )
