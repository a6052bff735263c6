"""Independent plain-Python oracle for the daily KPIs.

This module recomputes every KPI of ``docs/kpis.md`` straight from the landing
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
DEFAULT_MARKETING_COSTS = REPO_ROOT / "dbt_project" / "seeds" / "marketing_costs.csv"

KPI_SESSION_CONVERSION_RATE = "session_conversion_rate"
KPI_COST_PER_ACQUISITION = "cost_per_acquisition"
KPI_NET_REVENUE = "net_revenue"
KPI_NPS = "nps"
KPI_AVG_ORDER_PROCESSING_HOURS = "avg_order_processing_hours"
KPI_USER_CONVERSION_RATE = "user_conversion_rate"
KPI_CUSTOMER_ACQUISITION_COST = "customer_acquisition_cost"
KPI_RETURN_ON_AD_SPEND = "return_on_ad_spend"
KPI_MARKETING_ROI = "marketing_roi"
KPI_SOCIAL_ENGAGEMENT_RATE = "social_engagement_rate"
KPI_ORGANIC_TRAFFIC = "organic_traffic"
KPI_LEAD_TO_CUSTOMER_RATE = "lead_to_customer_rate"
KPI_DEAL_WIN_RATE = "deal_win_rate"
KPI_AVERAGE_ORDER_VALUE = "average_order_value"

ALL = "all"
CHANNEL = "channel"
CAMPAIGN = "campaign"
COUNTRY = "country"
SOURCE = "source"
NOT_SET = "(not set)"
PAID_CHANNELS = {
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
}

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
    country: str | None = None


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


def _country(event: dict) -> str | None:
    return (event.get("geo") or {}).get("country")


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
            session = sessions[key] = _Session(first_event=at, country=_country(event))
        elif at < session.first_event:
            session.country = _country(event)
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
    """Converting sessions / sessions of ``day``, overall, per channel and per country (that
    of the session's first event)."""
    totals: dict[tuple[str, str], list[int]] = {}
    overall = [0, 0]
    for session in sessions.values():
        if local_date(session.first_event, tzinfo) != day:
            continue
        channel = channel_group(session.source, session.medium, session.campaign, categories)
        keys = ((CHANNEL, channel), (COUNTRY, session.country or NOT_SET))
        for counts in (overall, *(totals.setdefault(key, [0, 0]) for key in keys)):
            counts[0] += int(session.converted)
            counts[1] += 1
    result = {(KPI_SESSION_CONVERSION_RATE, ALL, ALL): ratio(*overall)}
    for (dimension, value), counts in totals.items():
        result[(KPI_SESSION_CONVERSION_RATE, dimension, value)] = ratio(*counts)
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
# Users, organic traffic
# --------------------------------------------------------------------------------------


def user_conversion_rate(
    sessions: dict[tuple[str, str], _Session], days: set[dt.date], tzinfo: dt.tzinfo
) -> KpiValue:
    """Distinct users with a converting session / distinct users with a session, over
    ``days`` (distinct users are counted over the whole period, never summed per day)."""
    users: set[str] = set()
    purchasers: set[str] = set()
    for (user, _session_id), session in sessions.items():
        if local_date(session.first_event, tzinfo) in days:
            users.add(user)
            if session.converted:
                purchasers.add(user)
    return ratio(len(purchasers), len(users))


def organic_traffic(
    sessions: dict[tuple[str, str], _Session],
    day: dt.date,
    tzinfo: dt.tzinfo,
    categories: dict[str, str],
) -> dict[KpiKey, KpiValue]:
    """Sessions of ``day`` in the Organic Search channel group, overall and per source."""
    by_source: dict[str, int] = {}
    for session in sessions.values():
        if local_date(session.first_event, tzinfo) != day:
            continue
        if channel_group(session.source, session.medium, session.campaign, categories) != (
            "Organic Search"
        ):
            continue
        source = (session.source or "").strip().lower() or "(direct)"
        by_source[source] = by_source.get(source, 0) + 1
    total = float(sum(by_source.values()))
    result = {(KPI_ORGANIC_TRAFFIC, ALL, ALL): KpiValue(total, None, total)}
    for source, count in by_source.items():
        result[(KPI_ORGANIC_TRAFFIC, SOURCE, source)] = KpiValue(float(count), None, float(count))
    return result


# --------------------------------------------------------------------------------------
# Marketing costs, CAC, attribution (ROAS, ROI)
# --------------------------------------------------------------------------------------


def other_marketing_costs(
    day: dt.date, currency: str, path: Path = DEFAULT_MARKETING_COSTS
) -> Decimal:
    """Daily amounts of the marketing-cost rows valid on ``day`` in ``currency``."""
    total = Decimal(0)
    with Path(path).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            valid_from = dt.date.fromisoformat(row["valid_from"])
            valid_to = dt.date.fromisoformat(row["valid_to"])
            if valid_from <= day <= valid_to and row["currency"].upper() == currency.upper():
                total += Decimal(row["daily_amount"])
    return total


def customer_acquisition_cost(
    spend: Decimal, other_costs: Decimal, acquired: set[str]
) -> dict[KpiKey, KpiValue]:
    """All marketing spend (ads + other costs) / customers acquired that day."""
    return {
        (KPI_CUSTOMER_ACQUISITION_COST, ALL, ALL): ratio(float(spend + other_costs), len(acquired))
    }


def purchase_sessions(landing: Path, as_of: dt.date) -> dict[str, tuple[str, str]]:
    """order_id -> (user, ga_session_id) of its earliest purchase event (last click)."""
    earliest: dict[str, tuple[dt.datetime, tuple[str, str]]] = {}
    for event in read_ga4_events(landing, as_of):
        if event.get("event_name") != "purchase":
            continue
        order_id = (event.get("ecommerce") or {}).get("transaction_id")
        session_id = _param(event, "ga_session_id")
        if not order_id or session_id is None or event.get("user_pseudo_id") is None:
            continue
        at = parse_micros(event["event_timestamp"])
        known = earliest.get(order_id)
        if known is None or at < known[0]:
            earliest[order_id] = (at, (str(event["user_pseudo_id"]), session_id))
    return {order_id: key for order_id, (_, key) in earliest.items()}


def spend_by_campaign(
    landing: Path, day: dt.date, as_of: dt.date, currency: str
) -> dict[str, Decimal]:
    """Ad spend dated ``day`` in ``currency`` per campaign (all ad channels together)."""
    rows = read_csv_rows(landing, "ads", "spend.csv", as_of)
    totals: dict[str, Decimal] = {}
    for (row_date, _channel, campaign), row in latest_by_key(
        rows, ("date", "channel", "campaign")
    ).items():
        if dt.date.fromisoformat(row_date[:10]) != day:
            continue
        if (row.get("currency") or "").strip().upper() != currency.upper():
            continue
        totals[campaign] = totals.get(campaign, Decimal(0)) + (
            parse_decimal(row.get("spend")) or Decimal(0)
        )
    return totals


def attributed_revenue_by_campaign(
    orders: list[_Order],
    purchases: dict[str, tuple[str, str]],
    sessions: dict[tuple[str, str], _Session],
    day: dt.date,
    tzinfo: dt.tzinfo,
    categories: dict[str, str],
) -> dict[str, Decimal]:
    """Net amount of non-cancelled orders placed on ``day`` bought in a paid session."""
    totals: dict[str, Decimal] = {}
    for order in orders:
        if order.cancelled or order.placed_at is None or order.net_amount is None:
            continue
        if local_date(order.placed_at, tzinfo) != day:
            continue
        session = sessions.get(purchases.get(order.order_id, ("", "")))
        if session is None:
            continue
        channel = channel_group(session.source, session.medium, session.campaign, categories)
        if channel not in PAID_CHANNELS:
            continue
        campaign = session.campaign or NOT_SET
        totals[campaign] = totals.get(campaign, Decimal(0)) + order.net_amount
    return totals


def ad_returns(revenue: dict[str, Decimal], spend: dict[str, Decimal]) -> dict[KpiKey, KpiValue]:
    """ROAS = attributed revenue / ad spend and ROI = (revenue - spend) / spend, overall and
    per campaign (every campaign with spend or attributed revenue that day)."""
    result: dict[KpiKey, KpiValue] = {}
    keys = [(ALL, ALL)] + [(CAMPAIGN, c) for c in sorted(set(revenue) | set(spend))]
    for dimension, value in keys:
        if dimension == ALL:
            rev, cost = sum(revenue.values(), Decimal(0)), sum(spend.values(), Decimal(0))
        else:
            rev, cost = revenue.get(value, Decimal(0)), spend.get(value, Decimal(0))
        result[(KPI_RETURN_ON_AD_SPEND, dimension, value)] = ratio(float(rev), float(cost))
        result[(KPI_MARKETING_ROI, dimension, value)] = ratio(float(rev - cost), float(cost))
    return result


# --------------------------------------------------------------------------------------
# Social, CRM, average order value
# --------------------------------------------------------------------------------------


def _count(text: str | None) -> int:
    return int(text.strip()) if text and text.strip() else 0


def social_engagement_rate(landing: Path, day: dt.date, as_of: dt.date) -> dict[KpiKey, KpiValue]:
    """(likes + comments + shares) / impressions of the posts dated ``day`` (latest
    counts), overall and per platform (dimension ``source``)."""
    rows = [
        {**row, "platform": (row.get("platform") or "").strip().lower()}
        for row in read_csv_rows(landing, "social", "posts.csv", as_of)
    ]
    by_platform: dict[str, list[int]] = {}
    for row in latest_by_key(rows, ("post_id", "platform")).values():
        if dt.date.fromisoformat(row["date"][:10]) != day:
            continue
        counts = by_platform.setdefault(row["platform"], [0, 0])
        counts[0] += _count(row.get("likes")) + _count(row.get("comments"))
        counts[0] += _count(row.get("shares"))
        counts[1] += _count(row.get("impressions"))
    overall = [sum(c[0] for c in by_platform.values()), sum(c[1] for c in by_platform.values())]
    result = {(KPI_SOCIAL_ENGAGEMENT_RATE, ALL, ALL): ratio(*overall)}
    for platform, counts in by_platform.items():
        result[(KPI_SOCIAL_ENGAGEMENT_RATE, SOURCE, platform)] = ratio(*counts)
    return result


_SF_TRUE = {"true", "1", "yes", "t", "y"}
_SF_FALSE = {"", "false", "0", "no", "f", "n"}  # Data Loader writes false as an empty cell


def salesforce_bool(text: str | None) -> bool | None:
    """A Salesforce export's boolean: ``1`` / ``true`` / ``yes`` (any case) or, for false,
    ``0`` / ``false`` / ``no`` / empty; anything else is ``None`` (a row the pipeline
    quarantines)."""
    value = (text or "").strip().lower()
    return True if value in _SF_TRUE else False if value in _SF_FALSE else None


def salesforce_timestamp(text: str | None) -> dt.datetime | None:
    """ISO 8601 with a zone (``2024-01-22T20:36:47.000+0000``); ``None`` for anything else,
    a time without a zone included (the pipeline quarantines such a row)."""
    try:
        value = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def salesforce_records(
    landing: Path, file_name: str, as_of: dt.date, required_bools: tuple[str, ...]
) -> list[dict]:
    """Latest version of each Salesforce record (``Id``): the latest ``LastModifiedDate``,
    then the later extract, then the later row. Rows without an id, a zoned created and
    modified time or a readable boolean are skipped, as ingest quarantines them. API field
    names in any case (Data Loader writes ``ISWON``); the rows' keys are lower-cased."""
    latest: dict[str, tuple[dt.datetime, dict]] = {}
    for raw in read_csv_rows(landing, "salesforce", file_name, as_of):
        row = {(key or "").strip().lower(): value for key, value in raw.items()}
        record_id = (row.get("id") or "").strip()
        modified = salesforce_timestamp(row.get("lastmodifieddate"))
        created = salesforce_timestamp(row.get("createddate"))
        if not record_id or modified is None or created is None:
            continue
        if any(salesforce_bool(row.get(column.lower())) is None for column in required_bools):
            continue
        known = latest.get(record_id)
        if known is None or modified >= known[0]:
            latest[record_id] = (modified, row)
    return [row for _, row in latest.values()]


def lead_to_customer_rate(
    landing: Path, day: dt.date, as_of: dt.date, tzinfo: dt.tzinfo
) -> dict[KpiKey, KpiValue]:
    """Leads created on ``day`` that are now customers / leads created on ``day``, overall
    and per source (dimension ``source``): HubSpot contacts (lifecycle stage ``customer``,
    original source) and Salesforce leads (``IsConverted``, ``LeadSource``)."""
    rows = read_csv_rows(landing, "hubspot", "contacts.csv", as_of)
    by_source: dict[str, list[int]] = {}
    for row in latest_by_key(rows, ("Record ID",)).values():
        created = parse_timestamp(row.get("Create Date"))
        if created is None or local_date(created, tzinfo) != day:
            continue
        counts = by_source.setdefault((row.get("Original Source") or "").strip() or NOT_SET, [0, 0])
        counts[0] += (row.get("Lifecycle Stage") or "").strip().lower() == "customer"
        counts[1] += 1
    for row in salesforce_records(landing, "Lead.csv", as_of, ("IsConverted",)):
        created = salesforce_timestamp(row.get("createddate"))
        if created is None or local_date(created, tzinfo) != day:
            continue
        counts = by_source.setdefault((row.get("leadsource") or "").strip() or NOT_SET, [0, 0])
        counts[0] += bool(salesforce_bool(row.get("isconverted")))
        counts[1] += 1
    overall = [sum(c[0] for c in by_source.values()), sum(c[1] for c in by_source.values())]
    result = {(KPI_LEAD_TO_CUSTOMER_RATE, ALL, ALL): ratio(*overall)}
    for source, counts in by_source.items():
        result[(KPI_LEAD_TO_CUSTOMER_RATE, SOURCE, source)] = ratio(*counts)
    return result


def deal_win_rate(
    landing: Path, day: dt.date, as_of: dt.date, tzinfo: dt.tzinfo
) -> dict[KpiKey, KpiValue]:
    """Deals closed won on ``day`` / deals closed won or lost on ``day``: HubSpot deals by
    the default stage ids ``closedwon`` / ``closedlost`` (the day is the close date's),
    Salesforce opportunities by ``IsWon`` / ``IsClosed`` on their ``CloseDate`` (a date:
    no time zone), the stage name never read."""
    rows = read_csv_rows(landing, "hubspot", "deals.csv", as_of)
    won = closed = 0
    for row in latest_by_key(rows, ("Record ID",)).values():
        stage = (row.get("Deal Stage") or "").strip().lower()
        closed_at = parse_timestamp(row.get("Close Date"))
        if stage not in {"closedwon", "closedlost"} or closed_at is None:
            continue
        if local_date(closed_at, tzinfo) != day:
            continue
        closed += 1
        won += stage == "closedwon"
    for row in salesforce_records(landing, "Opportunity.csv", as_of, ("IsWon", "IsClosed")):
        is_won, is_closed = salesforce_bool(row.get("iswon")), salesforce_bool(row.get("isclosed"))
        if not (is_won or is_closed) or (row.get("closedate") or "").strip() != day.isoformat():
            continue
        closed += 1
        won += bool(is_won)
    return {(KPI_DEAL_WIN_RATE, ALL, ALL): ratio(won, closed)}


def average_order_value(
    orders: list[_Order], day: dt.date, tzinfo: dt.tzinfo
) -> dict[KpiKey, KpiValue]:
    """Net amount / number of the non-cancelled orders placed on ``day``."""
    placed = [
        order
        for order in orders
        if not order.cancelled
        and order.placed_at is not None
        and local_date(order.placed_at, tzinfo) == day
    ]
    total = sum((o.net_amount for o in placed if o.net_amount is not None), Decimal(0))
    return {(KPI_AVERAGE_ORDER_VALUE, ALL, ALL): ratio(float(total), len(placed))}


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

    sessions = build_sessions(landing, as_of)
    spend = ad_spend(landing, day, as_of, reporting_currency)
    acquired = customers_acquired(orders, day, tzinfo)

    kpis: dict[KpiKey, KpiValue] = {}
    kpis.update(session_conversion_rate(sessions, day, tzinfo, categories))
    kpis.update(cost_per_acquisition(spend, acquired))
    kpis.update(net_revenue(orders, day, tzinfo))
    kpis.update(nps(landing, day, as_of, tzinfo))
    kpis.update(avg_order_processing_hours(orders, day, tzinfo))
    kpis[(KPI_USER_CONVERSION_RATE, ALL, ALL)] = user_conversion_rate(sessions, {day}, tzinfo)
    kpis.update(organic_traffic(sessions, day, tzinfo, categories))
    kpis.update(
        customer_acquisition_cost(spend, other_marketing_costs(day, reporting_currency), acquired)
    )
    revenue = attributed_revenue_by_campaign(
        orders, purchase_sessions(landing, as_of), sessions, day, tzinfo, categories
    )
    kpis.update(ad_returns(revenue, spend_by_campaign(landing, day, as_of, reporting_currency)))
    kpis.update(social_engagement_rate(landing, day, as_of))
    kpis.update(lead_to_customer_rate(landing, day, as_of, tzinfo))
    kpis.update(deal_win_rate(landing, day, as_of, tzinfo))
    kpis.update(average_order_value(orders, day, tzinfo))
    return kpis


# --------------------------------------------------------------------------------------
# Periods (week, month, quarter, year) and attainment
# --------------------------------------------------------------------------------------

KPI_SCALE = {KPI_NPS: 100.0}
PLAIN_SUMS = {KPI_NET_REVENUE, KPI_ORGANIC_TRAFFIC}


def period_start(day: dt.date, grain: str) -> dt.date:
    """First day of the day, ISO week (Monday), month, quarter or year holding ``day``."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


def kpi_value(kpi_id: str, numerator: float, denominator: float | None) -> KpiValue:
    """A KPI from its components: plain sums are their numerator, ratios divide (null on 0)."""
    if kpi_id in PLAIN_SUMS:
        return KpiValue(numerator, None, numerator)
    return ratio(numerator, denominator or 0.0, KPI_SCALE.get(kpi_id, 1.0))


def roll_up(
    daily: dict[dt.date, dict[KpiKey, KpiValue]],
    days: Iterable[dt.date],
    sessions: dict[tuple[str, str], _Session] | None = None,
    tzinfo: dt.tzinfo = dt.UTC,
) -> dict[KpiKey, KpiValue]:
    """KPIs over ``days``: numerators and denominators summed, then divided. With
    ``sessions``, the user conversion rate counts the distinct users of all ``days``."""
    days = sorted(set(days))
    sums: dict[KpiKey, list[float]] = {}
    for day in days:
        for key, value in daily[day].items():
            acc = sums.setdefault(key, [0.0, 0.0])
            acc[0] += value.numerator or 0.0
            acc[1] += value.denominator or 0.0
    result = {key: kpi_value(key[0], num, den) for key, (num, den) in sums.items()}
    if sessions is not None and (KPI_USER_CONVERSION_RATE, ALL, ALL) in result:
        result[(KPI_USER_CONVERSION_RATE, ALL, ALL)] = user_conversion_rate(
            sessions, set(days), tzinfo
        )
    return result


def days_by_period(days: Iterable[dt.date], grain: str) -> dict[dt.date, list[dt.date]]:
    periods: dict[dt.date, list[dt.date]] = {}
    for day in sorted(days):
        periods.setdefault(period_start(day, grain), []).append(day)
    return periods


def year_earlier(day: dt.date, grain: str) -> dt.date:
    """The same day a year earlier: 52 weeks for weeks (same weekday), else the calendar
    date a year earlier (29 February -> 28 February)."""
    if grain == "week":
        return day - dt.timedelta(days=364)
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)
