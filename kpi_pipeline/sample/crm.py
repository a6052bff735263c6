"""HubSpot sample: contacts (with their planned orders) and deals.

A contact is created on one day and its whole future is decided then, from that day's
random stream: lifecycle-stage changes, whether and when it buys (first order and repeat
orders, all within ``HORIZON_DAYS``). The extract of a day lists the contacts created or
modified that day in their state at the end of the day, so it only needs the contact
days of the previous ``HORIZON_DAYS`` (+1) days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from kpi_pipeline.sample.arrays import grouped_cumsum
from kpi_pipeline.sample.clock import (
    HUBSPOT_MINUTE,
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_SECOND,
    Stream,
    day_rng,
    day_start_us,
    diurnal_offsets_us,
    format_ts,
    ymd,
)
from kpi_pipeline.sample.seasonality import day_factors
from kpi_pipeline.sample.vocabulary import (
    CHANNELS,
    CLOSED_LOST,
    CLOSED_WON,
    CONVERT_CHANNEL_WEIGHTS,
    CUSTOMER_RANK,
    DEAL_COMPANIES,
    DEAL_PRODUCTS,
    EMAIL_DOMAIN_WEIGHTS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    HOUR_WEIGHTS,
    LAST_NAMES,
    LEAD_CHANNEL_WEIGHTS,
    LIFECYCLE_STAGES,
    OFFICE_HOUR_WEIGHTS,
    OPEN_DEAL_STAGES,
)

HORIZON_DAYS = 60
"""Everything planned for a contact or deal happens within this many days of creation."""

CONTACT_LOOKBACK_DAYS = HORIZON_DAYS + 1
CHECKOUTS_PER_DAY = 68.0  # contacts created at checkout (they buy right away)
LEADS_PER_DAY = 50.0  # sign-ups without a purchase
MIN_CHECKOUTS = 2
MIN_LEADS = 3
LEAD_CONVERSION = 0.24
LEAD_CONVERSION_MEAN_DAYS = 12.0
REPEAT_ORDERS_MEAN = 0.32
REPEAT_GAP_MIN_DAYS = 3
REPEAT_GAP_MEAN_DAYS = 16.0
LEAD_CHANGES_MEAN = 0.9
LEAD_CHANGE_GAP_MEAN_DAYS = 7.0
MAX_LEAD_RANK = LIFECYCLE_STAGES.index("opportunity")

DEALS_PER_DAY = 30.0
MIN_DEALS = 3
DEAL_STEP_GAP_MEAN_DAYS = 3.5
DEAL_OUTCOMES = ("won", "lost", "open")
DEAL_OUTCOME_WEIGHTS = (0.25, 0.35, 0.40)

CONTACT_COLUMNS = (
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Create Date",
    "Last Modified Date",
    "Lifecycle Stage",
    "Original Source",
)
DEAL_COLUMNS = (
    "Record ID",
    "Deal Name",
    "Deal Stage",
    "Pipeline",
    "Amount",
    "Create Date",
    "Close Date",
    "Last Modified Date",
)


@dataclass(frozen=True)
class ContactDay:
    """The contacts created on one day, their future changes and planned orders.

    ``contacts``: contact_id, first_name, last_name, email, created_us,
    original_source, acq_channel (index into ``CHANNELS``), user_pseudo_id.
    ``changes``: contact_id, ts_us, stage_rank (creation included).
    ``planned_orders``: contact_id, placed_us, is_first, is_checkout, acq_channel,
    user_pseudo_id.
    """

    contacts: pl.DataFrame
    changes: pl.DataFrame
    planned_orders: pl.DataFrame


@dataclass(frozen=True)
class DealDay:
    """The deals created on one day: attributes and every stage change."""

    deals: pl.DataFrame  # deal_id, deal_name, amount, created_us
    changes: pl.DataFrame  # deal_id, ts_us, stage, closed


def _emails(first: np.ndarray, last: np.ndarray, domain: np.ndarray, day: dt.date) -> list[str]:
    """``jane.doe73921@example.com``: a per-day number plus the index keeps them unique."""
    stamp = f"{day.toordinal() % 10_000:04d}"
    return [
        f"{FIRST_NAMES[f][1]}.{LAST_NAMES[la][1]}{stamp}{i + 1}@{EMAIL_DOMAINS[d]}"
        for i, (f, la, d) in enumerate(zip(first, last, domain, strict=True))
    ]


def _lead_changes(
    rng: np.random.Generator, ids: np.ndarray, created: np.ndarray, rank: np.ndarray, horizon: int
) -> pl.DataFrame:
    """Later lifecycle changes of leads (stages only move forward, up to opportunity)."""
    counts = rng.poisson(LEAD_CHANGES_MEAN, size=ids.size)
    owner = np.repeat(np.arange(ids.size), counts)
    gaps = US_PER_HOUR + (rng.exponential(LEAD_CHANGE_GAP_MEAN_DAYS, owner.size) * US_PER_DAY)
    ts = created[owner] + grouped_cumsum(gaps.astype(np.int64), counts)
    ts -= ts % US_PER_SECOND
    steps = grouped_cumsum((rng.random(owner.size) < 0.5).astype(np.int64), counts)
    new_rank = np.minimum(rank[owner] + steps, MAX_LEAD_RANK)
    keep = ts < horizon
    return pl.DataFrame(
        {"contact_id": ids[owner][keep], "ts_us": ts[keep], "stage_rank": new_rank[keep]},
        schema={"contact_id": pl.Int64, "ts_us": pl.Int64, "stage_rank": pl.Int64},
    )


def _repeat_orders(
    rng: np.random.Generator, first_placed: np.ndarray, d0: int
) -> tuple[np.ndarray, np.ndarray]:
    """(buyer index, placed_us) of repeat orders, within the horizon."""
    buyers = np.flatnonzero(first_placed >= 0)
    counts = rng.poisson(REPEAT_ORDERS_MEAN, size=buyers.size)
    owner = np.repeat(buyers, counts)
    gaps = REPEAT_GAP_MIN_DAYS + np.floor(rng.exponential(REPEAT_GAP_MEAN_DAYS, owner.size))
    first_day = (first_placed[owner] - d0) // US_PER_DAY
    day_index = first_day + grouped_cumsum(gaps.astype(np.int64), counts)
    placed = d0 + day_index * US_PER_DAY + diurnal_offsets_us(rng, owner.size, HOUR_WEIGHTS)
    keep = day_index <= HORIZON_DAYS
    return owner[keep], placed[keep]


def build_contact_day(seed: int, scale: float, day: dt.date) -> ContactDay:
    """Contacts created on ``day`` with their whole planned future."""
    rng = day_rng(seed, day, Stream.CONTACTS)
    factors = day_factors(seed, day)
    d0 = day_start_us(day)
    n_checkout = max(MIN_CHECKOUTS, int(rng.poisson(CHECKOUTS_PER_DAY * scale * factors.orders)))
    n_leads = max(MIN_LEADS, int(rng.poisson(LEADS_PER_DAY * scale * factors.leads)))

    # Checkout contacts are created (account sign-up) just before their first order.
    checkout_placed = d0 + np.maximum(
        diurnal_offsets_us(rng, n_checkout, HOUR_WEIGHTS), 300 * US_PER_SECOND
    )
    checkout_created = np.maximum(
        d0, checkout_placed - rng.integers(5, 90, n_checkout) * US_PER_SECOND
    )
    lead_created = d0 + diurnal_offsets_us(rng, n_leads, HOUR_WEIGHTS)
    created = np.concatenate([checkout_created, lead_created])
    is_checkout = np.arange(created.size) < n_checkout
    placed = np.concatenate([checkout_placed, np.full(n_leads, -1, dtype=np.int64)])
    order = np.argsort(created, kind="stable")
    created, is_checkout, placed = created[order], is_checkout[order], placed[order]
    n = created.size
    ids = int(ymd(day)) * 100_000 + np.arange(1, n + 1, dtype=np.int64)

    acq = np.where(
        is_checkout,
        rng.choice(len(CHANNELS), size=n, p=CONVERT_CHANNEL_WEIGHTS),
        rng.choice(len(CHANNELS), size=n, p=LEAD_CHANNEL_WEIGHTS),
    )
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    domain = rng.choice(len(EMAIL_DOMAINS), size=n, p=EMAIL_DOMAIN_WEIGHTS)
    pseudo_random = rng.integers(100_000_000, 2_147_483_647, n)
    first_visit = (created - rng.integers(0, 30 * 86_400, n) * US_PER_SECOND) // US_PER_SECOND
    user_ids = [f"{r}.{v}" for r, v in zip(pseudo_random, first_visit, strict=True)]
    initial_rank = np.where(is_checkout | (rng.random(n) < 0.4), 1, 0)

    # Leads: some buy later (first order 1..HORIZON-1 days after sign-up).
    lag = rng.geometric(1.0 / LEAD_CONVERSION_MEAN_DAYS, n)
    converts = ~is_checkout & (rng.random(n) < LEAD_CONVERSION) & (lag < HORIZON_DAYS)
    lead_placed = d0 + lag * US_PER_DAY + diurnal_offsets_us(rng, n, HOUR_WEIGHTS)
    first_placed = np.where(is_checkout, placed, np.where(converts, lead_placed, -1))
    repeat_owner, repeat_placed = _repeat_orders(rng, first_placed, d0)
    became_customer = first_placed + rng.integers(30, 120, n) * US_PER_SECOND

    horizon = d0 + (HORIZON_DAYS + 1) * US_PER_DAY
    leads = ~is_checkout
    buyers = first_placed >= 0
    changes = pl.concat(
        [
            pl.DataFrame(
                {"contact_id": ids, "ts_us": created, "stage_rank": initial_rank},
                schema={"contact_id": pl.Int64, "ts_us": pl.Int64, "stage_rank": pl.Int64},
            ),
            _lead_changes(rng, ids[leads], created[leads], initial_rank[leads], horizon),
            pl.DataFrame(
                {
                    "contact_id": ids[buyers],
                    "ts_us": became_customer[buyers],
                    "stage_rank": np.full(int(buyers.sum()), CUSTOMER_RANK),
                },
                schema={"contact_id": pl.Int64, "ts_us": pl.Int64, "stage_rank": pl.Int64},
            ),
        ]
    )
    contacts = pl.DataFrame(
        {
            "contact_id": ids,
            "first_name": [FIRST_NAMES[i][0] for i in first],
            "last_name": [LAST_NAMES[i][0] for i in last],
            "email": _emails(first, last, domain, day),
            "created_us": created,
            "original_source": [CHANNELS[i].hubspot_source for i in acq],
            "acq_channel": acq.astype(np.int64),
            "user_pseudo_id": user_ids,
        }
    )
    order_owner = np.concatenate([np.flatnonzero(buyers), repeat_owner])
    planned_orders = pl.DataFrame(
        {
            "contact_id": ids[order_owner],
            "placed_us": np.concatenate([first_placed[buyers], repeat_placed]),
            "is_first": np.arange(order_owner.size) < int(buyers.sum()),
            "is_checkout": np.concatenate(
                [is_checkout[buyers], np.zeros(repeat_owner.size, dtype=bool)]
            ),
            "acq_channel": acq[order_owner].astype(np.int64),
            "user_pseudo_id": pl.Series(user_ids, dtype=pl.String).gather(order_owner),
        }
    )
    return ContactDay(contacts=contacts, changes=changes, planned_orders=planned_orders)


def contacts_extract(day: dt.date, contact_days: Sequence[ContactDay]) -> pl.DataFrame:
    """HubSpot ``contacts.csv`` of ``day``: contacts created or modified that day.

    ``contact_days`` must cover the ``CONTACT_LOOKBACK_DAYS`` days up to ``day``.
    """
    d0 = day_start_us(day)
    d1 = d0 + US_PER_DAY
    changes = pl.concat([c.changes for c in contact_days]).filter(pl.col("ts_us") < d1)
    touched = changes.filter(pl.col("ts_us") >= d0).select("contact_id").unique()
    state = (
        changes.join(touched, on="contact_id", how="semi")
        .group_by("contact_id")
        .agg(pl.col("ts_us").max().alias("modified_us"), pl.col("stage_rank").max())
    )
    return (
        pl.concat([c.contacts for c in contact_days])
        .join(state, on="contact_id", how="inner")
        .sort("contact_id")
        .select(
            pl.col("contact_id").alias("Record ID"),
            pl.col("first_name").alias("First Name"),
            pl.col("last_name").alias("Last Name"),
            pl.col("email").alias("Email"),
            format_ts("created_us", HUBSPOT_MINUTE).alias("Create Date"),
            format_ts("modified_us", HUBSPOT_MINUTE).alias("Last Modified Date"),
            pl.col("stage_rank")
            .replace_strict(dict(enumerate(LIFECYCLE_STAGES)), return_dtype=pl.String)
            .alias("Lifecycle Stage"),
            pl.col("original_source").alias("Original Source"),
        )
    )


def _deal_timeline(
    rng: np.random.Generator, created: int, horizon: int
) -> list[tuple[int, str, bool]]:
    """Stage changes of one deal: [(ts_us, stage, closed)], creation first."""
    stage = int(rng.integers(0, 2))
    outcome = DEAL_OUTCOMES[int(rng.choice(3, p=DEAL_OUTCOME_WEIGHTS))]
    path: list[str] = []
    if outcome == "won":
        path = [s for s in OPEN_DEAL_STAGES[stage + 1 :] if rng.random() < 0.7] + [CLOSED_WON]
    else:
        steps = int(rng.integers(0, 3))
        path = list(OPEN_DEAL_STAGES[stage + 1 : stage + 1 + steps])
        if outcome == "lost":
            path.append(CLOSED_LOST)
    events = [(created, OPEN_DEAL_STAGES[stage], False)]
    ts = created
    for next_stage in path:
        gap = 2 * US_PER_HOUR + rng.exponential(DEAL_STEP_GAP_MEAN_DAYS) * US_PER_DAY
        ts = int(ts + gap)
        ts -= ts % US_PER_SECOND
        if ts >= horizon:
            break
        events.append((ts, next_stage, next_stage in (CLOSED_WON, CLOSED_LOST)))
    return events


def build_deal_day(seed: int, scale: float, day: dt.date) -> DealDay:
    """Deals created on ``day`` and their (already decided) stage changes."""
    rng = day_rng(seed, day, Stream.DEALS)
    factors = day_factors(seed, day)
    d0 = day_start_us(day)
    n = max(MIN_DEALS, int(rng.poisson(DEALS_PER_DAY * scale * factors.deals)))
    created = np.sort(d0 + diurnal_offsets_us(rng, n, OFFICE_HOUR_WEIGHTS))
    ids = 90_000_000_000_000 + int(ymd(day)) * 100_000 + np.arange(1, n + 1, dtype=np.int64)
    company = rng.integers(0, len(DEAL_COMPANIES), n)
    product = rng.integers(0, len(DEAL_PRODUCTS), n)
    amount = np.maximum(250.0, np.round(rng.lognormal(np.log(4_000.0), 0.7, n) / 50.0) * 50.0)
    horizon = d0 + (HORIZON_DAYS + 1) * US_PER_DAY
    rows: list[tuple[int, int, str, bool]] = []
    for deal_id, ts in zip(ids, created, strict=True):
        rows.extend((int(deal_id), *event) for event in _deal_timeline(rng, int(ts), horizon))
    deals = pl.DataFrame(
        {
            "deal_id": ids,
            "deal_name": [
                f"{DEAL_COMPANIES[c]} - {DEAL_PRODUCTS[p]}"
                for c, p in zip(company, product, strict=True)
            ],
            "amount": amount,
            "created_us": created,
        }
    )
    changes = pl.DataFrame(
        rows,
        schema={"deal_id": pl.Int64, "ts_us": pl.Int64, "stage": pl.String, "closed": pl.Boolean},
        orient="row",
    )
    return DealDay(deals=deals, changes=changes)


def deals_extract(day: dt.date, deal_days: Sequence[DealDay]) -> pl.DataFrame:
    """HubSpot ``deals.csv`` of ``day``: deals created or changed that day.

    ``deal_days`` must cover the ``CONTACT_LOOKBACK_DAYS`` days up to ``day``.
    """
    d0 = day_start_us(day)
    d1 = d0 + US_PER_DAY
    changes = pl.concat([d.changes for d in deal_days]).filter(pl.col("ts_us") < d1)
    touched = changes.filter(pl.col("ts_us") >= d0).select("deal_id").unique()
    state = (
        changes.join(touched, on="deal_id", how="semi")
        .sort("deal_id", "ts_us")
        .group_by("deal_id")
        .agg(
            pl.col("ts_us").last().alias("modified_us"),
            pl.col("stage").last(),
            pl.col("closed").last(),
        )
    )
    return (
        pl.concat([d.deals for d in deal_days])
        .join(state, on="deal_id", how="inner")
        .sort("deal_id")
        .select(
            pl.col("deal_id").alias("Record ID"),
            pl.col("deal_name").alias("Deal Name"),
            pl.col("stage").alias("Deal Stage"),
            pl.lit("default").alias("Pipeline"),
            pl.col("amount").alias("Amount"),
            format_ts("created_us", HUBSPOT_MINUTE).alias("Create Date"),
            pl.when(pl.col("closed"))
            .then(format_ts("modified_us", HUBSPOT_MINUTE))
            .alias("Close Date"),
            format_ts("modified_us", HUBSPOT_MINUTE).alias("Last Modified Date"),
        )
    )
