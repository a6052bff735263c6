"""Independent plain-Python oracle for the daily KPIs.

This module recomputes the five KPIs of ``docs/kpis.md`` straight from the landing
zone (``docs/landing_zone.md``) with nothing but the standard library, so the tests
can compare the dbt models against a second, separately written implementation.
It deliberately uses no SQL engine, no dataframe library and no project code.

Entry point: :func:`compute_kpis`. :func:`channel_group` and
:func:`load_source_categories` are exposed for direct tests of the channel rules.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE_CATEGORIES = REPO_ROOT / "dbt_project" / "seeds" / "ga4_source_categories.csv"

KPI_SESSION_CONVERSION_RATE = "session_conversion_rate"
KPI_COST_PER_ACQUISITION = "cost_per_acquisition"
KPI_NET_REVENUE = "net_revenue"
KPI_NPS = "nps"
KPI_AVG_ORDER_PROCESSING_HOURS = "avg_order_processing_hours"

ALL = "all"
CHANNEL = "channel"

KpiKey = tuple[str, str, str]


@dataclass(frozen=True)
class KpiValue:
    """One KPI figure: ``value`` is ``numerator / denominator`` for ratios."""

    numerator: float | None
    denominator: float | None
    value: float | None


# --------------------------------------------------------------------------------------
# Landing zone reading
# --------------------------------------------------------------------------------------

_DT_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


def extract_dirs(landing: Path, source: str, as_of: dt.date) -> list[Path]:
    """Return ``<landing>/<source>/dt=D`` folders with ``D <= as_of``, oldest first."""
    root = Path(landing) / source
    if not root.is_dir():
        return []
    found: list[tuple[dt.date, Path]] = []
    for child in root.iterdir():
        match = _DT_DIR.match(child.name)
        if child.is_dir() and match:
            extract_day = dt.date.fromisoformat(match.group(1))
            if extract_day <= as_of:
                found.append((extract_day, child))
    return [path for _, path in sorted(found)]


def read_csv_rows(landing: Path, source: str, filename: str, as_of: dt.date) -> Iterator[dict]:
    """Yield the rows of ``filename`` of every extract up to ``as_of``, oldest extract first.

    Rows come in extract order then file order, so "last one wins" deduplication is a
    plain dict overwrite. ``utf-8-sig`` tolerates the BOM some exporters write.
    """
    for folder in extract_dirs(landing, source, as_of):
        path = folder / filename
        if not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from csv.DictReader(handle)


def latest_by_key(rows: Iterable[dict], key_columns: tuple[str, ...]) -> dict[tuple, dict]:
    """Deduplicate rows on ``key_columns``: the last row seen wins.

    Rows whose first key column is empty (no id, no date) cannot be matched and are
    dropped; the other key columns may be empty.
    """
    latest: dict[tuple, dict] = {}
    for row in rows:
        key = tuple((row.get(column) or "").strip() for column in key_columns)
        if key[0]:
            latest[key] = row
    return latest


def read_ga4_events(landing: Path, as_of: dt.date) -> Iterator[dict]:
    """Stream the GA4 events of every extract up to ``as_of``, one JSON object per line."""
    for folder in extract_dirs(landing, "ga4", as_of):
        for path in sorted(folder.glob("events_*.json")):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        yield json.loads(line)


# --------------------------------------------------------------------------------------
# Parsing helpers
# --------------------------------------------------------------------------------------


def zone(tz: str) -> dt.tzinfo:
    """The reporting timezone (``UTC`` does not need the tz database)."""
    return dt.UTC if tz.upper() == "UTC" else ZoneInfo(tz)


def parse_timestamp(text: str | None) -> dt.datetime | None:
    """Parse an ISO 8601 / HubSpot ``YYYY-MM-DD HH:MM`` timestamp, naive meaning UTC."""
    if text is None or not text.strip():
        return None
    value = dt.datetime.fromisoformat(text.strip())
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def local_date(moment: dt.datetime, tzinfo: dt.tzinfo) -> dt.date:
    """Calendar date of ``moment`` in the reporting timezone."""
    return moment.astimezone(tzinfo).date()


def parse_micros(value: str | int | float) -> dt.datetime:
    """GA4 ``event_timestamp``: microseconds since the epoch (JSON string or number)."""
    micros = int(value)
    seconds, remainder = divmod(micros, 1_000_000)
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC) + dt.timedelta(microseconds=remainder)


def parse_decimal(text: str | None) -> Decimal | None:
    """A decimal amount, ``None`` when empty or unreadable."""
    if text is None or not text.strip():
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def ratio(numerator: float, denominator: float, scale: float = 1.0) -> KpiValue:
    """A ratio KPI; the value is null when the denominator is 0."""
    value = None if denominator == 0 else scale * numerator / denominator
    return KpiValue(float(numerator), float(denominator), value)


# --------------------------------------------------------------------------------------
# GA4 default channel grouping
# --------------------------------------------------------------------------------------

_PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
_SHOP_CAMPAIGN = re.compile(r"^(.*(([^a-df-z]|^)shop|shopping).*)$")
_VIDEO_MEDIUM = re.compile(r"^(.*video.*)$")
_DISPLAY_MEDIUMS = {"display", "banner", "expandable", "interstitial", "cpm"}
_SOCIAL_MEDIUMS = {
    "social",
    "social-network",
    "social-media",
    "sm",
    "social network",
    "social media",
}
_REFERRAL_MEDIUMS = {"referral", "app", "link"}
_EMAIL_VALUES = {"email", "e-mail", "e_mail", "e mail"}


def load_source_categories(path: Path = DEFAULT_SOURCE_CATEGORIES) -> dict[str, str]:
    """Read Google's source category list: lower-cased ``source`` -> ``source_category``.

    The category is kept as written in the file (e.g. ``SOURCE_CATEGORY_SEARCH``).
    """
    categories: dict[str, str] = {}
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            source = (row.get("source") or "").strip().lower()
            category = (row.get("source_category") or "").strip()
            if source and category:
                categories[source] = category
    return categories


def _category(source: str, categories: dict[str, str]) -> str:
    """Short category of a lower-cased source (``SEARCH``, ``SOCIAL``...) or ``""``."""
    category = categories.get(source, "").upper()
    return category.removeprefix("SOURCE_CATEGORY_")


def channel_group(
    source: str | None,
    medium: str | None,
    campaign: str | None,
    categories: dict[str, str],
) -> str:
    """GA4's default channel group of a session, Google's rules in order, first match wins.

    ``source``/``medium``/``campaign`` are compared lower-case (campaign too: Google's
    rules ignore case). A missing source means ``(direct)``, a missing medium ``(none)``.
    ``categories`` is what :func:`load_source_categories` returns (keys lower-case).
    """
    source = (source or "").strip().lower() or "(direct)"
    medium = (medium or "").strip().lower() or "(none)"
    campaign = (campaign or "").strip().lower()
    category = _category(source, categories)
    paid = bool(_PAID_MEDIUM.match(medium))
    shop_campaign = bool(_SHOP_CAMPAIGN.match(campaign))

    rules: list[tuple[str, bool]] = [
        ("Direct", source == "(direct)" and medium in {"(none)", "(not set)"}),
        ("Cross-network", "cross-network" in campaign),
        ("Paid Shopping", (category == "SHOPPING" or shop_campaign) and paid),
        ("Paid Search", category == "SEARCH" and paid),
        ("Paid Social", category == "SOCIAL" and paid),
        ("Paid Video", category == "VIDEO" and paid),
        ("Display", medium in _DISPLAY_MEDIUMS),
        ("Paid Other", paid),
        ("Organic Shopping", category == "SHOPPING" or shop_campaign),
        ("Organic Social", category == "SOCIAL" or medium in _SOCIAL_MEDIUMS),
        ("Organic Video", category == "VIDEO" or bool(_VIDEO_MEDIUM.match(medium))),
        ("Organic Search", category == "SEARCH" or medium == "organic"),
        ("Referral", medium in _REFERRAL_MEDIUMS),
        ("Email", source in _EMAIL_VALUES or medium in _EMAIL_VALUES),
        ("Affiliates", medium == "affiliate"),
        ("Audio", medium == "audio"),
        ("SMS", source == "sms" or medium == "sms"),
        (
            "Mobile Push Notifications",
            medium.endswith("push")
            or "mobile" in medium
            or "notification" in medium
            or source == "firebase",
        ),
    ]
    return next((name for name, matched in rules if matched), "Unassigned")


# --------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------


@dataclass
class _Session:
    """What the oracle tracks per session while streaming events."""

    first_event: dt.datetime
    converted: bool = False
    source_at: dt.datetime | None = None
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None


def _param(event: dict, key: str) -> str | None:
    """Value of an ``event_params`` entry as text, whatever typed field carries it."""
    for param in event.get("event_params") or []:
        if param.get("key") == key:
            value = param.get("value") or {}
            for field in ("string_value", "int_value", "float_value", "double_value"):
                if value.get(field) is not None:
                    return str(value[field])
            return None
    return None


def build_sessions(landing: Path, as_of: dt.date) -> dict[tuple[str, str], _Session]:
    """Fold every known GA4 event into sessions keyed by (user_pseudo_id, ga_session_id)."""
    sessions: dict[tuple[str, str], _Session] = {}
    for event in read_ga4_events(landing, as_of):
        user = event.get("user_pseudo_id")
        session_id = _param(event, "ga_session_id")
        if user is None or session_id is None or event.get("event_timestamp") is None:
            continue
        at = parse_micros(event["event_timestamp"])
        key = (str(user), session_id)
        session = sessions.get(key)
        if session is None:
            session = sessions[key] = _Session(first_event=at)
        session.first_event = min(session.first_event, at)
        session.converted = session.converted or event.get("event_name") == "purchase"
        source = _param(event, "source")
        if source and (session.source_at is None or at < session.source_at):
            session.source_at = at
            session.source = source
            session.medium = _param(event, "medium")
            session.campaign = _param(event, "campaign")
    return sessions


def session_conversion_rate(
    sessions: dict[tuple[str, str], _Session],
    day: dt.date,
    tzinfo: dt.tzinfo,
    categories: dict[str, str],
) -> dict[KpiKey, KpiValue]:
    """Converting sessions / sessions of ``day``, overall and per channel."""
    totals: dict[str, list[int]] = {}
    overall = [0, 0]
    for session in sessions.values():
        if local_date(session.first_event, tzinfo) != day:
            continue
        channel = channel_group(session.source, session.medium, session.campaign, categories)
        for counts in (overall, totals.setdefault(channel, [0, 0])):
            counts[0] += int(session.converted)
            counts[1] += 1
    result = {(KPI_SESSION_CONVERSION_RATE, ALL, ALL): ratio(*overall)}
    for channel, counts in totals.items():
        result[(KPI_SESSION_CONVERSION_RATE, CHANNEL, channel)] = ratio(*counts)
    return result


# --------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Order:
    """Latest known version of an order."""

    order_id: str
    contact_id: str
    placed_at: dt.datetime | None
    fulfilled_at: dt.datetime | None
    cancelled: bool
    net_amount: Decimal | None


def load_orders(landing: Path, as_of: dt.date) -> list[_Order]:
    """Latest version of every order known from extracts up to ``as_of``."""
    rows = list(read_csv_rows(landing, "orders", "orders.csv", as_of))
    # several fulfilments (one row each, in any extract): processing time uses the first
    first_fulfilment: dict[str, dt.datetime] = {}
    for row in rows:
        at = parse_timestamp(row.get("fulfilled_at"))
        key = row["order_id"].strip()
        if at is not None and (key not in first_fulfilment or at < first_fulfilment[key]):
            first_fulfilment[key] = at
    return [
        _Order(
            order_id=row["order_id"].strip(),
            contact_id=(row.get("contact_id") or "").strip(),
            placed_at=parse_timestamp(row.get("placed_at")),
            fulfilled_at=first_fulfilment.get(row["order_id"].strip()),
            cancelled=(row.get("status") or "").strip().lower() == "cancelled",
            net_amount=parse_decimal(row.get("net_amount")),
        )
        for row in latest_by_key(rows, ("order_id",)).values()
    ]


def net_revenue(orders: list[_Order], day: dt.date, tzinfo: dt.tzinfo) -> dict[KpiKey, KpiValue]:
    """Sum of ``net_amount`` of the non-cancelled orders placed on ``day``."""
    total = sum(
        (
            order.net_amount
            for order in orders
            if not order.cancelled
            and order.net_amount is not None
            and order.placed_at is not None
            and local_date(order.placed_at, tzinfo) == day
        ),
        Decimal(0),
    )
    return {(KPI_NET_REVENUE, ALL, ALL): KpiValue(float(total), None, float(total))}


def customers_acquired(orders: list[_Order], day: dt.date, tzinfo: dt.tzinfo) -> set[str]:
    """Contacts whose first non-cancelled order was placed on ``day``."""
    first_order: dict[str, dt.datetime] = {}
    for order in orders:
        if order.cancelled or not order.contact_id or order.placed_at is None:
            continue
        known = first_order.get(order.contact_id)
        if known is None or order.placed_at < known:
            first_order[order.contact_id] = order.placed_at
    return {contact for contact, at in first_order.items() if local_date(at, tzinfo) == day}


def avg_order_processing_hours(
    orders: list[_Order], day: dt.date, tzinfo: dt.tzinfo
) -> dict[KpiKey, KpiValue]:
    """Mean ``fulfilled_at - placed_at`` in hours over non-cancelled orders fulfilled on ``day``."""
    hours = [
        (order.fulfilled_at - order.placed_at).total_seconds() / 3600
        for order in orders
        if not order.cancelled
        and order.fulfilled_at is not None
        and order.placed_at is not None
        and local_date(order.fulfilled_at, tzinfo) == day
    ]
    return {(KPI_AVG_ORDER_PROCESSING_HOURS, ALL, ALL): ratio(sum(hours), len(hours))}


# --------------------------------------------------------------------------------------
# Ad spend and CPA
# --------------------------------------------------------------------------------------


def ad_spend(landing: Path, day: dt.date, as_of: dt.date, currency: str) -> Decimal:
    """Spend dated ``day`` in ``currency``, after the date+channel+campaign dedup.

    Rows in any other currency are left out (never converted); the pipeline's gate
    reports them as an error.
    """
    rows = read_csv_rows(landing, "ads", "spend.csv", as_of)
    latest = latest_by_key(rows, ("date", "channel", "campaign"))
    total = Decimal(0)
    for (row_date, _channel, _campaign), row in latest.items():
        if dt.date.fromisoformat(row_date[:10]) != day:
            continue
        if (row.get("currency") or "").strip().upper() != currency.upper():
            continue
        total += parse_decimal(row.get("spend")) or Decimal(0)
    return total


def cost_per_acquisition(spend: Decimal, acquired: set[str]) -> dict[KpiKey, KpiValue]:
    """Ad spend of the day / customers acquired that day."""
    return {(KPI_COST_PER_ACQUISITION, ALL, ALL): ratio(float(spend), len(acquired))}


# --------------------------------------------------------------------------------------
# NPS
# --------------------------------------------------------------------------------------


def nps(landing: Path, day: dt.date, as_of: dt.date, tzinfo: dt.tzinfo) -> dict[KpiKey, KpiValue]:
    """100 * (promoters - detractors) / responses submitted on ``day``.

    Responses are deduplicated on ``response_id``; a score that is not an integer
    0-10 is ignored (the gate's business, not a response).
    """
    rows = read_csv_rows(landing, "nps", "responses.csv", as_of)
    promoters = detractors = responses = 0
    for row in latest_by_key(rows, ("response_id",)).values():
        submitted = parse_timestamp(row.get("submitted_at"))
        if submitted is None or local_date(submitted, tzinfo) != day:
            continue
        try:
            score = int((row.get("score") or "").strip())
        except ValueError:
            continue
        if not 0 <= score <= 10:
            continue
        responses += 1
        promoters += score >= 9
        detractors += score <= 6
    return {(KPI_NPS, ALL, ALL): ratio(promoters - detractors, responses, scale=100.0)}


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def compute_kpis(
    landing: Path,
    day: dt.date,
    tz: str = "UTC",
    source_categories: Path = DEFAULT_SOURCE_CATEGORIES,
    reporting_currency: str = "USD",
    *,
    as_of: dt.date | None = None,
) -> dict[KpiKey, KpiValue]:
    """All KPIs of ``day`` keyed by ``(kpi_id, dimension, dimension_value)``.

    Reads only extracts with ``dt <= as_of`` (``as_of`` defaults to ``day``: what the
    run of ``day`` knows). Passing a later ``as_of`` recomputes ``day`` with what is
    known later (e.g. an order cancelled afterwards).
    """
    as_of = day if as_of is None else as_of
    tzinfo = zone(tz)
    landing = Path(landing)
    categories = load_source_categories(source_categories)
    orders = load_orders(landing, as_of)

    kpis: dict[KpiKey, KpiValue] = {}
    kpis.update(session_conversion_rate(build_sessions(landing, as_of), day, tzinfo, categories))
    kpis.update(
        cost_per_acquisition(
            ad_spend(landing, day, as_of, reporting_currency),
            customers_acquired(orders, day, tzinfo),
        )
    )
    kpis.update(net_revenue(orders, day, tzinfo))
    kpis.update(nps(landing, day, as_of, tzinfo))
    kpis.update(avg_order_processing_hours(orders, day, tzinfo))
    return kpis
