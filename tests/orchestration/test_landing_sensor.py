"""The landing-zone sensor: exactly the days whose files are new, changed or removed."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from dagster import DagsterInstance, Definitions, MaterializeResult, asset, build_sensor_context

from kpi_pipeline.jobs import daily_kpi_job
from kpi_pipeline.orchestration.landing_sensor import build_landing_sensor, day_of, modified_ns
from kpi_pipeline.partitions import daily_partitions
from kpi_pipeline.settings import Settings

NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)  # the sensor's clock in these tests
SETTLED = (NOW - dt.timedelta(hours=1)).timestamp()  # written an hour before the tick


def put(landing: Path, source: str, day: str, name: str, text: str, mtime: float = SETTLED):
    path = landing / source / f"dt={day}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


class Ticker:
    """Evaluates the sensor the way the daemon does: each tick gets the previous cursor."""

    def __init__(
        self, landing: Path | str, timezone: str = "UTC", snapshots: Path | None = None
    ) -> None:
        self.now = NOW
        self.settings = Settings.from_env(
            {
                "KPI_LANDING_DIR": str(landing),
                "KPI_SNAPSHOT_DIR": str(snapshots or Path(landing).parent / "snapshots"),
                "KPI_TIMEZONE": timezone,
                "KPI_SENSOR_LOOKBACK_DAYS": "7",
                "KPI_SENSOR_SETTLE_SECONDS": "60",
            }
        )
        job = daily_kpi_job()
        self.sensor = build_landing_sensor(job.name, self.settings, clock=lambda: self.now)

        @asset(partitions_def=daily_partitions(self.settings))
        def a_day() -> MaterializeResult:
            return MaterializeResult()

        # The project's job and sensor over the project's partitions (requests are checked
        # against them: a day that is not a partition would fail the tick).
        self.defs = Definitions(assets=[a_day], jobs=[job], sensors=[self.sensor])
        self.cursor: str | None = None
        self.instance = DagsterInstance.ephemeral()

    def context(self, cursor: str | None = None):
        return build_sensor_context(instance=self.instance, cursor=cursor, definitions=self.defs)

    def tick(self) -> list[str]:
        context = self.context(self.cursor)
        result = self.sensor.evaluate_tick(context)
        self.cursor = result.cursor
        return [r.partition_key for r in result.run_requests]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    put(landing, "orders", "2025-03-09", "orders.csv", "order_id\nO-1\n")
    put(landing, "hubspot", "2025-03-09", "contacts.csv", "Record ID\n1\n")
    put(landing, "nps", "2025-03-05", "responses.csv", "response_id\nr1\n")  # a late file
    put(landing, "ads", "2025-02-20", "spend.csv", "date\n")  # older than the lookback
    put(landing, "orders", "2025-03-10", "orders.csv", "order_id\n")  # today: not complete
    return landing


def test_first_tick_requests_each_affected_day_once_then_nothing(landing: Path) -> None:
    ticker = Ticker(landing)
    assert ticker.tick() == ["2025-03-05", "2025-03-09"]
    assert ticker.tick() == []
    assert set(json.loads(ticker.cursor)) == {
        "orders/dt=2025-03-09/orders.csv",
        "hubspot/dt=2025-03-09/contacts.csv",
        "nps/dt=2025-03-05/responses.csv",
    }


def test_files_already_in_a_published_snapshot_are_not_loaded_again(landing: Path) -> None:
    """A first tick (empty cursor) over a landing zone the pipeline already published."""
    snapshot = landing.parent / "snapshots" / "2025-03-09"
    snapshot.mkdir(parents=True)
    os.utime(snapshot, (SETTLED + 30, SETTLED + 30))  # published after the files arrived
    older = landing.parent / "snapshots" / "2025-03-05"
    older.mkdir()
    os.utime(older, (SETTLED - 30, SETTLED - 30))  # published before its file arrived
    ticker = Ticker(landing)
    assert ticker.tick() == ["2025-03-05"]
    put(landing, "orders", "2025-03-09", "orders.csv", "order_id\nO-9\n", mtime=SETTLED + 60)
    assert ticker.tick() == ["2025-03-09"]


def test_a_changed_file_requests_its_day_again_and_only_that_day(landing: Path) -> None:
    ticker = Ticker(landing)
    ticker.tick()
    put(landing, "nps", "2025-03-05", "responses.csv", "response_id\nr1\nr2\n")
    assert ticker.tick() == ["2025-03-05"]
    assert ticker.tick() == []


def test_a_file_touched_with_the_same_size_counts_as_changed(landing: Path) -> None:
    ticker = Ticker(landing)
    ticker.tick()
    put(landing, "orders", "2025-03-09", "orders.csv", "order_id\nO-2\n", mtime=SETTLED + 5)
    assert ticker.tick() == ["2025-03-09"]


def test_a_late_file_for_an_older_day_and_a_removed_file(landing: Path) -> None:
    ticker = Ticker(landing)
    ticker.tick()
    put(landing, "ga4", "2025-03-04", "events_20250304.json", "{}\n")
    (landing / "hubspot" / "dt=2025-03-09" / "contacts.csv").unlink()
    assert ticker.tick() == ["2025-03-04", "2025-03-09"]
    assert ticker.tick() == []


def test_a_file_still_being_written_waits_for_a_later_tick(landing: Path) -> None:
    ticker = Ticker(landing)
    ticker.tick()
    put(landing, "social", "2025-03-08", "posts.csv", "date\n", mtime=NOW.timestamp() - 10)
    assert ticker.tick() == []
    ticker.now = NOW + dt.timedelta(minutes=2)
    assert ticker.tick() == ["2025-03-08"]
    assert ticker.tick() == []


def test_days_follow_the_reporting_timezone(landing: Path) -> None:
    """At 23:30 UTC on 10 March, Tokyo is already on the 11th: its 10th is complete and
    requested; in UTC the 10th is still today and waits."""
    late_evening = dt.datetime(2025, 3, 10, 23, 30, tzinfo=dt.UTC)
    tokyo, utc = Ticker(landing, timezone="Asia/Tokyo"), Ticker(landing)
    tokyo.now = utc.now = late_evening
    assert tokyo.tick() == ["2025-03-05", "2025-03-09", "2025-03-10"]
    assert utc.tick() == ["2025-03-05", "2025-03-09"]


def test_an_empty_or_missing_landing_zone_requests_nothing(tmp_path: Path) -> None:
    ticker = Ticker(tmp_path / "absent")
    assert ticker.tick() == []


def test_run_keys_differ_when_a_file_changes(landing: Path) -> None:
    ticker = Ticker(landing)
    first = ticker.sensor.evaluate_tick(ticker.context())
    put(landing, "orders", "2025-03-09", "orders.csv", "order_id\nO-1\nO-2\n")
    second = ticker.sensor.evaluate_tick(ticker.context())
    keys = {r.partition_key: r.run_key for r in first.run_requests}
    again = {r.partition_key: r.run_key for r in second.run_requests}
    assert keys["2025-03-05"] == again["2025-03-05"]
    assert keys["2025-03-09"] != again["2025-03-09"]


@pytest.mark.parametrize(
    ("path", "day"),
    [
        ("orders/dt=2025-03-09/orders.csv", dt.date(2025, 3, 9)),
        ("orders/dt=2025-02-30/orders.csv", None),
        ("orders/2025-03-09/orders.csv", None),
        ("orders/dt=2025-03-09/nested/orders.csv", None),
    ],
)
def test_day_of_reads_only_hive_day_folders(path: str, day: dt.date | None) -> None:
    assert day_of(path) == day


def test_an_object_store_landing_zone_is_watched_through_fsspec(tmp_path: Path) -> None:
    """The same sensor on an fsspec URL (the in-memory filesystem standing in for s3://):
    new files, a changed file and a removed file each request exactly their day."""
    import uuid

    import fsspec

    url = f"memory://landing-{uuid.uuid4().hex}"
    fs, root = fsspec.core.url_to_fs(url)
    ticker = Ticker(url, snapshots=tmp_path / "snapshots")
    # the memory filesystem stamps files with the real time: tick an hour after it. The
    # files' days count back from the real date, not the tick's: between 23:00 and midnight
    # the tick falls on the next day, whose "yesterday" (the real today) is not yet one of
    # the job's partitions (they end at the real clock's last whole day)
    real_now = dt.datetime.now(dt.UTC)
    ticker.now = real_now + dt.timedelta(hours=1)
    today = real_now.date()

    def day(back: int) -> str:
        return (today - dt.timedelta(days=back)).isoformat()

    try:
        fs.pipe(f"{root}/orders/dt={day(1)}/orders.csv", b"order_id\nO-1\n")
        fs.pipe(f"{root}/nps/dt={day(4)}/responses.csv", b"response_id\nr1\n")
        fs.pipe(f"{root}/ads/dt={day(30)}/spend.csv", b"date\n")  # older than the lookback
        assert ticker.tick() == [day(4), day(1)]
        assert ticker.tick() == []
        fs.pipe(f"{root}/orders/dt={day(1)}/orders.csv", b"order_id\nO-1\nO-2\n")
        assert ticker.tick() == [day(1)]
        fs.rm(f"{root}/nps/dt={day(4)}/responses.csv")
        assert ticker.tick() == [day(4)]
        assert ticker.tick() == []
    finally:
        fs.rm(root, recursive=True)


@pytest.mark.parametrize(
    ("info", "seconds"),
    [
        ({"mtime": 1741600000.5}, 1741600000.5),  # local
        ({"LastModified": dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)}, 1741597200),  # S3
        ({"updated": "2025-03-10T09:00:00.000Z"}, 1741597200),  # GCS
        ({"size": 3}, 0),  # no time given: only the size tells a change
    ],
)
def test_modification_times_of_each_filesystem(info: dict, seconds: float) -> None:
    assert modified_ns(info) == int(seconds * 1_000_000_000)
