"""Orders and NPS responses of the sample.

The orders placed on a day come from the contacts' planned orders (see ``crm``); their
details (amount, fulfilment, cancellation, survey answer) are drawn from the placing
day's random stream, so the life of an order is fixed the day it is placed and later
extracts only reveal it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl

from kpi_pipeline.sample.clock import (
    ISO_UTC,
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_SECOND,
    Stream,
    day_rng,
    day_start_us,
    format_ts,
    ymd,
)
from kpi_pipeline.sample.vocabulary import (
    CHANNELS,
    CONVERT_CHANNEL_WEIGHTS,
    DETRACTOR_COMMENTS,
    PASSIVE_COMMENTS,
    PROMOTER_COMMENTS,
)

ORDER_LOOKBACK_DAYS = 3  # an order changes at most this many days after it is placed
NPS_LOOKBACK_DAYS = 14  # a survey is answered at most this many days after the order
MEDIAN_NET_AMOUNT = 70.0
NET_AMOUNT_SIGMA = 0.55
REPEAT_BASKET_UPLIFT = 1.10
PROCESSING_SHAPE = 2.6
PROCESSING_SCALE_HOURS = 8.8
MIN_PROCESSING_HOURS = 2.0
MAX_PROCESSING_HOURS = 60.0
CANCEL_RATE = 0.03
NPS_RESPONSE_RATE = 0.31
SLOW_ORDER_HOURS = 30.0
# promoter, passive, detractor probabilities for fast / slow orders
FAST_NPS_MIX = (0.54, 0.31, 0.15)
SLOW_NPS_MIX = (0.38, 0.34, 0.28)
DETRACTOR_SCORE_WEIGHTS = (0.02, 0.02, 0.04, 0.07, 0.12, 0.26, 0.47)
COMMENT_RATE = 0.55

ORDER_COLUMNS = (
    "order_id",
    "contact_id",
    "placed_at",
    "fulfilled_at",
    "status",
    "net_amount",
    "currency",
)
NPS_COLUMNS = ("response_id", "contact_id", "submitted_at", "score", "comment")
CURRENCY = "USD"


def _weekday(ts_us: np.ndarray) -> np.ndarray:
    """Monday=0 .. Sunday=6 of epoch-microsecond timestamps (1970-01-01 was a Thursday)."""
    return (ts_us // US_PER_DAY + 3) % 7


def _fulfilment(rng: np.random.Generator, placed: np.ndarray) -> np.ndarray:
    """Fulfilment timestamps: 2-60 h after placement, nothing ships on Sundays."""
    hours = np.clip(
        rng.gamma(PROCESSING_SHAPE, PROCESSING_SCALE_HOURS, placed.size),
        MIN_PROCESSING_HOURS,
        MAX_PROCESSING_HOURS,
    )
    fulfilled = placed + (hours * US_PER_HOUR).astype(np.int64)
    sunday = fulfilled // US_PER_DAY * US_PER_DAY
    monday_morning = (
        sunday
        + US_PER_DAY
        + 7 * US_PER_HOUR
        + rng.integers(0, 4 * 3_600, placed.size) * US_PER_SECOND
    )
    # Too late on Monday for the 60 h promise: shipped on Saturday afternoon instead.
    saturday_rush = sunday - rng.integers(2 * 3_600, 10 * 3_600, placed.size) * US_PER_SECOND
    latest = placed + int(MAX_PROCESSING_HOURS * US_PER_HOUR)
    rescheduled = np.where(
        monday_morning <= latest,
        monday_morning,
        np.maximum(saturday_rush, placed + int(MIN_PROCESSING_HOURS * US_PER_HOUR)),
    )
    fulfilled = np.where(_weekday(fulfilled) == 6, rescheduled, fulfilled)
    return fulfilled - fulfilled % US_PER_SECOND


def _nps_scores(rng: np.random.Generator, slow: np.ndarray) -> np.ndarray:
    """Scores 0-10: slow orders make fewer promoters and more detractors."""
    n = slow.size
    u = rng.random(n)
    promoter_p = np.where(slow, SLOW_NPS_MIX[0], FAST_NPS_MIX[0])
    passive_p = np.where(slow, SLOW_NPS_MIX[1], FAST_NPS_MIX[1])
    promoter = rng.choice([9, 10], size=n, p=[0.45, 0.55])
    passive = rng.choice([7, 8], size=n)
    detractor = rng.choice(7, size=n, p=np.asarray(DETRACTOR_SCORE_WEIGHTS))
    return np.where(
        u < promoter_p, promoter, np.where(u < promoter_p + passive_p, passive, detractor)
    )


def _comments(rng: np.random.Generator, scores: np.ndarray) -> list[str | None]:
    """Free-text comments matching the score (often none)."""
    has_comment = rng.random(scores.size) < COMMENT_RATE
    picks = rng.integers(0, 1_000, scores.size)
    comments: list[str | None] = []
    for score, keep, pick in zip(scores, has_comment, picks, strict=True):
        pool = (
            PROMOTER_COMMENTS
            if score >= 9
            else PASSIVE_COMMENTS
            if score >= 7
            else DETRACTOR_COMMENTS
        )
        comments.append(pool[pick % len(pool)] if keep else None)
    return comments


def build_order_day(seed: int, day: dt.date, planned: pl.DataFrame) -> pl.DataFrame:
    """Orders placed on ``day`` from the planned orders falling on that day.

    Columns: order_id, contact_id, placed_us, fulfilled_us, cancelled_us, net_amount,
    is_first, session_channel, acq_channel, user_pseudo_id, nps_us, nps_score,
    nps_comment (nulls where not applicable).
    """
    rng = day_rng(seed, day, Stream.ORDERS)
    planned = planned.sort("placed_us", "contact_id")
    n = planned.height
    placed = planned["placed_us"].to_numpy()
    is_first = planned["is_first"].to_numpy()
    is_checkout = planned["is_checkout"].to_numpy()
    acq = planned["acq_channel"].to_numpy()

    amount = rng.lognormal(np.log(MEDIAN_NET_AMOUNT), NET_AMOUNT_SIGMA, n)
    amount = np.round(np.maximum(5.0, amount * np.where(is_first, 1.0, REPEAT_BASKET_UPLIFT)), 2)
    fulfilled = _fulfilment(rng, placed)
    cancelled = rng.random(n) < CANCEL_RATE
    cancel_at = placed + (rng.uniform(0.05, 0.95, n) * (fulfilled - placed)).astype(np.int64)
    cancel_at -= cancel_at % US_PER_SECOND
    responds = ~cancelled & (rng.random(n) < NPS_RESPONSE_RATE)
    nps_at = fulfilled + rng.integers(86_400, 10 * 86_400, n) * US_PER_SECOND
    slow = (fulfilled - placed) > SLOW_ORDER_HOURS * US_PER_HOUR
    scores = _nps_scores(rng, slow)
    comments = _comments(rng, scores)
    session_channel = np.where(
        is_first & is_checkout, acq, rng.choice(len(CHANNELS), size=n, p=CONVERT_CHANNEL_WEIGHTS)
    )
    stamp = ymd(day)
    return pl.DataFrame(
        {
            "order_id": [f"O-{stamp}-{i:05d}" for i in range(1, n + 1)],
            "contact_id": planned["contact_id"],
            "placed_us": placed,
            "fulfilled_us": np.where(cancelled, -1, fulfilled),
            "cancelled_us": np.where(cancelled, cancel_at, -1),
            "net_amount": amount,
            "is_first": is_first,
            "session_channel": session_channel.astype(np.int64),
            "acq_channel": acq.astype(np.int64),
            "user_pseudo_id": planned["user_pseudo_id"],
            "nps_us": np.where(responds, nps_at, -1),
            "nps_score": scores.astype(np.int64),
            "nps_comment": comments,
        },
        schema_overrides={"placed_us": pl.Int64, "nps_comment": pl.String},
    ).with_columns(
        pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c)
        for c in ("fulfilled_us", "cancelled_us", "nps_us")
    )


def orders_extract(day: dt.date, order_days: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """``orders.csv`` of ``day``: orders placed, fulfilled or cancelled that day.

    Each order is in its state at the end of ``day``. ``order_days`` must cover the
    ``ORDER_LOOKBACK_DAYS`` days before ``day`` and ``day`` itself.
    """
    d0 = day_start_us(day)
    d1 = d0 + US_PER_DAY

    def on_day(column: str) -> pl.Expr:
        return pl.col(column).is_between(d0, d1, closed="left").fill_null(False)

    fulfilled = (pl.col("fulfilled_us") < d1).fill_null(False)
    cancelled = (pl.col("cancelled_us") < d1).fill_null(False)
    return (
        pl.concat(order_days)
        .filter(on_day("placed_us") | on_day("fulfilled_us") | on_day("cancelled_us"))
        .sort("placed_us", "order_id")
        .select(
            "order_id",
            "contact_id",
            format_ts("placed_us", ISO_UTC).alias("placed_at"),
            pl.when(fulfilled).then(format_ts("fulfilled_us", ISO_UTC)).alias("fulfilled_at"),
            pl.when(fulfilled)
            .then(pl.lit("fulfilled"))
            .when(cancelled)
            .then(pl.lit("cancelled"))
            .otherwise(pl.lit("placed"))
            .alias("status"),
            "net_amount",
            pl.lit(CURRENCY).alias("currency"),
        )
    )


def nps_extract(day: dt.date, order_days: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """``responses.csv`` of ``day``: survey answers submitted that day (may be empty).

    ``order_days`` must cover the ``NPS_LOOKBACK_DAYS`` days before ``day`` and ``day``.
    """
    d0 = day_start_us(day)
    answered = (
        pl.concat(order_days)
        .filter(pl.col("nps_us").is_between(d0, d0 + US_PER_DAY, closed="left"))
        .sort("nps_us", "order_id")
    )
    stamp = ymd(day)
    return answered.select(
        pl.Series(
            "response_id",
            [f"R-{stamp}-{i:05d}" for i in range(1, answered.height + 1)],
            dtype=pl.String,
        ),
        "contact_id",
        format_ts("nps_us", ISO_UTC).alias("submitted_at"),
        pl.col("nps_score").alias("score"),
        pl.col("nps_comment").alias("comment"),
    )
