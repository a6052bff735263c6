"""Write tiny landing-zone files by hand, in exactly the contract's formats."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

CSV_HEADERS = {
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


def folder(landing: Path, source: str, day: dt.date) -> Path:
    path = landing / source / f"dt={day.isoformat()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_csv(landing: Path, source: str, file_name: str, day: dt.date, rows: list[list]) -> Path:
    path = folder(landing, source, day) / file_name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADERS[(source, file_name)])
        writer.writerows(rows)
    return path


def micros(timestamp: str) -> str:
    moment = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return str(int(moment.timestamp() * 1_000_000))


def ga4_event(
    at: str,
    name: str,
    user: str,
    session_id: int,
    source: str | None = None,
    medium: str | None = None,
    campaign: str | None = None,
    transaction_id: str | None = None,
    revenue: float | None = None,
) -> dict:
    params = [{"key": "ga_session_id", "value": {"int_value": str(session_id)}}]
    for key, value in (("source", source), ("medium", medium), ("campaign", campaign)):
        if value is not None:
            params.append({"key": key, "value": {"string_value": value}})
    event = {
        "event_date": at[:10].replace("-", ""),
        "event_timestamp": micros(at),
        "event_name": name,
        "user_pseudo_id": user,
        "event_params": params,
        "geo": {"country": "France"},
        "device": {"category": "desktop"},
    }
    if transaction_id:
        event["ecommerce"] = {"purchase_revenue": revenue, "transaction_id": transaction_id}
    return event


def write_ga4(landing: Path, day: dt.date, events: list[dict]) -> Path:
    path = folder(landing, "ga4", day) / f"events_{day.strftime('%Y%m%d')}.json"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path
