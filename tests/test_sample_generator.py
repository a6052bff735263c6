"""Tests of the sample landing-zone generator (``kpi_pipeline.sample``)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from kpi_pipeline.sample import SampleSummary, generate_sample
from kpi_pipeline.sample.seasonality import day_factors

START = dt.date(2025, 3, 1)
END = dt.date(2025, 3, 3)
SCALE = 0.05
SEED = 7

CSV_CONTRACT: dict[tuple[str, str], list[str]] = {
    ("hubspot", "contacts.csv"): [
        "Record ID",
        "First Name",
        "Last Name",
        "Email",
        "Create Date",
        "Last Modified Date",
        "Lifecycle Stage",
        "Original Source",
    ],
    ("hubspot", "deals.csv"): [
        "Record ID",
        "Deal Name",
        "Deal Stage",
        "Pipeline",
        "Amount",
        "Create Date",
        "Close Date",
        "Last Modified Date",
    ],
    ("ads", "spend.csv"): [
        "date",
        "channel",
        "campaign",
        "spend",
        "currency",
        "impressions",
        "clicks",
    ],
    ("social", "posts.csv"): [
        "date",
        "platform",
        "post_id",
        "impressions",
        "likes",
        "comments",
        "shares",
    ],
    ("nps", "responses.csv"): ["response_id", "contact_id", "submitted_at", "score", "comment"],
    ("orders", "orders.csv"): [
        "order_id",
        "contact_id",
        "placed_at",
        "fulfilled_at",
        "status",
        "net_amount",
        "currency",
    ],
}
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
HUBSPOT_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
LIFECYCLE = {
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
}
ORIGINAL_SOURCES = {
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "PAID_SOCIAL",
    "SOCIAL_MEDIA",
    "EMAIL_MARKETING",
    "DIRECT_TRAFFIC",
    "REFERRALS",
    "OFFLINE",
}
OPEN_STAGES = {
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
}
PAID_MEDIUMS = {"cpc", "paid_social"}


# --- helpers ----------------------------------------------------------------------


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _folder(root: Path, source: str, day: dt.date) -> Path:
    return root / source / f"dt={day.isoformat()}"


def _ga4_path(root: Path, day: dt.date) -> Path:
    return _folder(root, "ga4", day) / f"events_{day:%Y%m%d}.json"


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def _events(root: Path, day: dt.date) -> list[dict]:
    with _ga4_path(root, day).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _params(event: dict) -> dict[str, dict]:
    return {p["key"]: p["value"] for p in event["event_params"]}


def _session_key(event: dict) -> tuple[str, str]:
    return event["user_pseudo_id"], _params(event)["ga_session_id"]["int_value"]


def _sessions(events: list[dict]) -> dict[tuple[str, str], list[dict]]:
    sessions: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for event in events:
        sessions[_session_key(event)].append(event)
    return sessions


def _session_origin(events: list[dict]) -> tuple[str, str, str | None] | None:
    """(source, medium, campaign) of the earliest event carrying a source param."""
    for event in sorted(events, key=lambda e: int(e["event_timestamp"])):
        params = _params(event)
        if "source" in params:
            campaign = params.get("campaign", {}).get("string_value")
            return (
                params["source"]["string_value"],
                params["medium"]["string_value"],
                campaign,
            )
    return None


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _ts(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


def _created_day(contact_id: str) -> dt.date:
    return dt.datetime.strptime(contact_id[:8], "%Y%m%d").date()


# --- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleSummary]:
    out = tmp_path_factory.mktemp("small")
    return out, generate_sample(START, END, out, scale=SCALE, seed=SEED)


@pytest.fixture(scope="module")
def long_tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.date, dt.date]:
    """79 days at scale 0.01: long enough for every referenced contact to be written."""
    out = tmp_path_factory.mktemp("long")
    start, end = dt.date(2025, 1, 1), dt.date(2025, 3, 20)
    generate_sample(start, end, out, scale=0.01, seed=3)
    return out, start, end


@pytest.fixture(scope="module")
def full_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.date]:
    out = tmp_path_factory.mktemp("full")
    day = dt.date(2025, 3, 12)  # a Wednesday
    generate_sample(day, day, out, scale=1.0, seed=SEED)
    return out, day


# --- determinism --------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(small, tmp_path: Path) -> None:
    root, _ = small
    generate_sample(START, END, tmp_path, scale=SCALE, seed=SEED)
    assert _snapshot(tmp_path) == _snapshot(root)


def test_other_seed_gives_other_files(small, tmp_path: Path) -> None:
    root, _ = small
    generate_sample(START, START, tmp_path, scale=SCALE, seed=SEED + 1)
    other = _snapshot(tmp_path)
    mine = _snapshot(root)
    assert len(other) == 7
    for name in other:
        if name.split("/")[0] in {"hubspot", "ga4", "ads", "orders", "social"}:
            assert other[name] != mine[name], name


@pytest.mark.parametrize(
    ("start", "end"),
    [(dt.date(2025, 2, 27), dt.date(2025, 3, 2)), (dt.date(2025, 3, 2), dt.date(2025, 3, 5))],
)
def test_files_of_a_day_do_not_depend_on_the_window(
    small, tmp_path: Path, start: dt.date, end: dt.date
) -> None:
    root, _ = small
    generate_sample(start, end, tmp_path, scale=SCALE, seed=SEED)
    mine, other = _snapshot(root), _snapshot(tmp_path)
    shared = [
        name
        for name in mine
        if any(f"dt={d.isoformat()}" in name for d in _days(max(start, START), min(end, END)))
    ]
    assert len(shared) == 7 * len(_days(max(start, START), min(end, END)))
    for name in shared:
        assert other[name] == mine[name], name


def test_regeneration_overwrites_only_requested_days(small, tmp_path: Path) -> None:
    generate_sample(START, END, tmp_path, scale=SCALE, seed=SEED)
    marker = _folder(tmp_path, "orders", START) / "orders.csv"
    marker.write_text("stale\n", encoding="utf-8")
    untouched = _folder(tmp_path, "orders", END) / "orders.csv"
    untouched.write_text("kept\n", encoding="utf-8")
    generate_sample(START, START, tmp_path, scale=SCALE, seed=SEED)
    assert marker.read_bytes() == (_folder(small[0], "orders", START) / "orders.csv").read_bytes()
    assert untouched.read_text(encoding="utf-8") == "kept\n"


# --- contract -----------------------------------------------------------------------


def test_every_file_and_column_of_the_contract(small) -> None:
    root, _ = small
    for day in _days(START, END):
        for (source, name), columns in CSV_CONTRACT.items():
            path = _folder(root, source, day) / name
            assert path.is_file(), path
            assert _header(path) == columns, path
        assert _ga4_path(root, day).is_file()
    written = {p.relative_to(root).parts[0] for p in root.rglob("*.*")}
    assert written == {"hubspot", "ga4", "ads", "social", "nps", "orders"}


def test_summary_counts_match_the_files(small) -> None:
    root, summary = small
    assert summary.days == 3
    assert summary.files == 7 * 3 == len([p for p in root.rglob("*") if p.is_file()])
    by_dataset = {(d.source, d.dataset): d.rows for d in summary.datasets}
    orders = sum(
        len(_read_csv(_folder(root, "orders", d) / "orders.csv")) for d in _days(START, END)
    )
    events = sum(len(_events(root, d)) for d in _days(START, END))
    assert by_dataset[("orders", "orders")] == orders
    assert by_dataset[("ga4", "events")] == events == summary.rows_of("ga4")


def test_ga4_events_have_the_bigquery_export_shape(small) -> None:
    root, _ = small
    for day in _days(START, END):
        events = _events(root, day)
        assert events
        for event in events:
            assert event["event_date"] == f"{day:%Y%m%d}"
            assert isinstance(event["event_timestamp"], str)
            stamp = dt.datetime.fromtimestamp(int(event["event_timestamp"]) / 1e6, dt.UTC)
            assert stamp.date() == day
            assert event["event_name"] in {"session_start", "page_view", "add_to_cart", "purchase"}
            assert re.fullmatch(r"\d+\.\d+", event["user_pseudo_id"])
            for param in event["event_params"]:
                assert set(param) == {"key", "value"}
                assert len(param["value"]) == 1
                ((kind, value),) = param["value"].items()
                assert kind in {"string_value", "int_value"}
                assert isinstance(value, str)
            params = _params(event)
            assert params["ga_session_id"]["int_value"].isdigit()
            assert set(event["traffic_source"]) == {"name", "medium", "source"}
            assert set(event["geo"]) == {"country"}
            assert event["device"]["category"] in {"mobile", "desktop", "tablet"}
            assert ("ecommerce" in event) == (event["event_name"] == "purchase")


def test_session_params_only_on_first_event_and_about_three_events_per_session(small) -> None:
    root, _ = small
    events = [e for d in _days(START, END) for e in _events(root, d)]
    sessions = _sessions(events)
    for session_events in sessions.values():
        ordered = sorted(session_events, key=lambda e: int(e["event_timestamp"]))
        assert all("source" not in _params(e) for e in ordered[1:])
    per_session = len(events) / len(sessions)
    assert 2.4 < per_session < 3.6


def test_csv_values_follow_the_contract(small) -> None:
    root, _ = small
    for day in _days(START, END):
        for row in _read_csv(_folder(root, "hubspot", day) / "contacts.csv"):
            assert row["Record ID"].isdigit()
            assert row["First Name"] and row["Last Name"]
            assert re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|org)", row["Email"])
            assert HUBSPOT_TS.match(row["Create Date"])
            assert row["Create Date"] <= row["Last Modified Date"]
            assert row["Last Modified Date"].startswith(day.isoformat())
            assert row["Lifecycle Stage"] in LIFECYCLE
            assert row["Original Source"] in ORIGINAL_SOURCES
        for row in _read_csv(_folder(root, "hubspot", day) / "deals.csv"):
            assert row["Pipeline"] == "default"
            assert float(row["Amount"]) > 0
            closed = row["Deal Stage"] in {"closedwon", "closedlost"}
            assert closed or row["Deal Stage"] in OPEN_STAGES
            assert (row["Close Date"] != "") == closed
            assert row["Last Modified Date"].startswith(day.isoformat())
        for row in _read_csv(_folder(root, "ads", day) / "spend.csv"):
            assert row["channel"] in {"google_ads", "meta_ads"}
            assert row["currency"] == "USD"
            assert float(row["spend"]) >= 0
            assert int(row["impressions"]) >= int(row["clicks"]) >= 0
            assert row["date"] in {day.isoformat(), (day - dt.timedelta(days=1)).isoformat()}
        spend = _read_csv(_folder(root, "ads", day) / "spend.csv")
        keys = [(r["date"], r["channel"], r["campaign"]) for r in spend]
        assert len(keys) == len(set(keys))
        for row in _read_csv(_folder(root, "social", day) / "posts.csv"):
            assert int(row["impressions"]) >= int(row["likes"])
        for row in _read_csv(_folder(root, "nps", day) / "responses.csv"):
            assert 0 <= int(row["score"]) <= 10
            assert ISO_Z.match(row["submitted_at"]) and row["submitted_at"].startswith(str(day))


def test_orders_lifecycle(long_tiny) -> None:
    root, start, end = long_tiny
    statuses: set[str] = set()
    versions: dict[str, list[dict[str, str]]] = defaultdict(list)
    for day in _days(start, end):
        for row in _read_csv(_folder(root, "orders", day) / "orders.csv"):
            statuses.add(row["status"])
            versions[row["order_id"]].append(row)
            assert ISO_Z.match(row["placed_at"])
            assert row["currency"] == "USD"
            assert (row["fulfilled_at"] != "") == (row["status"] == "fulfilled")
            placed = _ts(row["placed_at"])
            assert row["order_id"] == f"O-{placed:%Y%m%d}-{row['order_id'][-5:]}"
            if row["fulfilled_at"]:
                hours = (_ts(row["fulfilled_at"]) - placed).total_seconds() / 3600
                assert 2 <= hours <= 60
                assert _ts(row["fulfilled_at"]).date() == day
            elif row["status"] == "placed":
                assert placed.date() == day
    assert statuses == {"placed", "fulfilled", "cancelled"}
    multi = [v for v in versions.values() if len(v) > 1]
    assert multi, "orders should reappear when they change"
    for rows in versions.values():
        assert len({(r["placed_at"], r["net_amount"], r["contact_id"]) for r in rows}) == 1
    late_cancel = [
        v
        for v in versions.values()
        if v[-1]["status"] == "cancelled" and v[0]["status"] == "placed"
    ]
    assert late_cancel, "some orders should be cancelled after the day they were placed"


# --- internal consistency -------------------------------------------------------------


def test_purchases_match_orders_of_the_day(small) -> None:
    root, _ = small
    for day in _days(START, END):
        orders = {
            r["order_id"]: r
            for r in _read_csv(_folder(root, "orders", day) / "orders.csv")
            if _ts(r["placed_at"]).date() == day
        }
        purchases = [e for e in _events(root, day) if e["event_name"] == "purchase"]
        assert purchases
        ids = [p["ecommerce"]["transaction_id"] for p in purchases]
        assert len(ids) == len(set(ids))
        assert set(ids) == set(orders)
        for purchase in purchases:
            order = orders[purchase["ecommerce"]["transaction_id"]]
            assert purchase["ecommerce"]["purchase_revenue"] == pytest.approx(
                float(order["net_amount"]), abs=1e-9
            )
            placed = _ts(order["placed_at"]).replace(tzinfo=dt.UTC)
            assert int(purchase["event_timestamp"]) // 1_000_000 == int(placed.timestamp())


def test_order_and_nps_contacts_exist_in_earlier_contact_extracts(long_tiny) -> None:
    root, start, end = long_tiny
    known: set[str] = set()
    checked = 0
    for day in _days(start, end):
        known |= {r["Record ID"] for r in _read_csv(_folder(root, "hubspot", day) / "contacts.csv")}
        referenced = {
            r["contact_id"] for r in _read_csv(_folder(root, "orders", day) / "orders.csv")
        }
        referenced |= {
            r["contact_id"] for r in _read_csv(_folder(root, "nps", day) / "responses.csv")
        }
        for contact_id in referenced:
            assert _created_day(contact_id) <= day
            if _created_day(contact_id) >= start:
                assert contact_id in known, (day, contact_id)
                checked += 1
        if day == end:
            assert all(_created_day(c) >= start for c in referenced)
    assert checked > 100


def test_paid_session_campaigns_are_ad_campaigns(full_day) -> None:
    root, day = full_day
    spend = _read_csv(_folder(root, "ads", day) / "spend.csv")
    by_channel = defaultdict(set)
    for row in spend:
        by_channel[row["channel"]].add(row["campaign"])
    paid = [
        origin
        for origin in map(_session_origin, _sessions(_events(root, day)).values())
        if origin and origin[1] in PAID_MEDIUMS
    ]
    assert len(paid) > 500
    for source, _medium, campaign in paid:
        if source in {"google", "bing"}:
            assert campaign in by_channel["google_ads"]
        else:
            assert source in {"facebook", "instagram"}
            assert campaign in by_channel["meta_ads"]
    used = {campaign for *_, campaign in paid}
    assert used == by_channel["google_ads"] | by_channel["meta_ads"]


def test_sessions_exercise_the_default_channel_grouping(full_day) -> None:
    root, day = full_day
    origins = {
        (o[0], o[1]) if o else ("(direct)", "(none)")
        for o in map(_session_origin, _sessions(_events(root, day)).values())
    }
    expected = {
        ("(direct)", "(none)"),
        ("google", "cpc"),
        ("bing", "cpc"),
        ("google", "organic"),
        ("bing", "organic"),
        ("duckduckgo", "organic"),
        ("facebook", "paid_social"),
        ("facebook", "cpc"),
        ("instagram", "paid_social"),
        ("facebook", "referral"),
        ("l.facebook.com", "referral"),
        ("newsletter", "email"),
        ("partner-blog.example", "referral"),
        ("(not set)", "(not set)"),
    }
    assert expected <= origins


def test_some_sessions_cross_midnight(small) -> None:
    root, _ = small
    first_day: dict[tuple[str, str], str] = {}
    crossing = []
    for day in _days(START, END):
        for key in _sessions(_events(root, day)):
            if key in first_day:
                crossing.append((key, first_day[key], day))
            else:
                first_day[key] = day.isoformat()
    assert crossing
    for key, first, later in crossing:
        assert first == (later - dt.timedelta(days=1)).isoformat(), key


def test_every_source_has_rows_every_day_at_tiny_scale(long_tiny) -> None:
    root, start, end = long_tiny
    days = _days(start, end)
    nps_days = 0
    for day in days:
        for source, name in CSV_CONTRACT:
            rows = _read_csv(_folder(root, source, day) / name)
            if source == "nps":
                nps_days += bool(rows)
            else:
                assert len(rows) >= 2, (source, name, day)
        assert len(_events(root, day)) >= 20
    assert nps_days > len(days) / 3


def test_scale_one_volumes(full_day) -> None:
    root, day = full_day
    events = _events(root, day)
    sessions = {
        key
        for key, evs in _sessions(events).items()
        if min(int(e["event_timestamp"]) for e in evs) // 86_400_000_000
        == (day - dt.date(1970, 1, 1)).days
    }
    orders = [
        r
        for r in _read_csv(_folder(root, "orders", day) / "orders.csv")
        if r["placed_at"].startswith(day.isoformat())
    ]
    contacts = _read_csv(_folder(root, "hubspot", day) / "contacts.csv")
    created = [r for r in contacts if r["Create Date"].startswith(day.isoformat())]
    assert 4_000 <= len(sessions) <= 6_500
    assert 70 <= len(orders) <= 140
    assert 60 <= len(created) <= 150
    assert 2.5 <= len(events) / len(sessions) <= 3.5
    revenue = sum(float(r["net_amount"]) for r in orders if r["status"] != "cancelled")
    assert 5_000 <= revenue <= 12_000


def test_weekends_differ_from_weekdays() -> None:
    monday = dt.date(2025, 3, 3)
    week = [day_factors(SEED, monday + dt.timedelta(days=i)) for i in range(28)]
    weekday = [f for i, f in enumerate(week) if i % 7 < 5]
    weekend = [f for i, f in enumerate(week) if i % 7 >= 5]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    def conversion(fs: list) -> float:
        return mean([f.orders / f.sessions for f in fs])

    assert mean([f.sessions for f in weekend]) > mean([f.sessions for f in weekday])
    assert conversion(weekend) < conversion(weekday)
    assert mean([f.deals for f in weekend]) < 0.5 * mean([f.deals for f in weekday])


@pytest.mark.parametrize(
    ("start", "end", "scale", "seed"),
    [
        (END, START, 1.0, 1),
        (START, END, 0.0, 1),
        (START, END, float("nan"), 1),
        (START, END, 1.0, -1),
    ],
)
def test_invalid_arguments_are_rejected(
    tmp_path: Path, start: dt.date, end: dt.date, scale: float, seed: int
) -> None:
    with pytest.raises(ValueError):
        generate_sample(start, end, tmp_path, scale=scale, seed=seed)
    assert not any(tmp_path.iterdir())
