"""GA4 sample: sessions and their events, rendered as BigQuery-export NDJSON lines.

The sessions "of" a day are drawn from that day's random stream: one converting session
per order placed that day (its ``purchase`` event at the order's ``placed_at``) plus
browsing sessions. A few browsing sessions start at 23:5x and run past midnight, and a
converting session placed just after midnight may have started the evening before, so
the file of day ``D`` collects the events dated ``D`` of the sessions of ``D - 1``,
``D`` and ``D + 1``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from kpi_pipeline.sample.arrays import group_starts, grouped_cumsum, position_in_group
from kpi_pipeline.sample.clock import (
    US_PER_DAY,
    US_PER_SECOND,
    Stream,
    day_rng,
    day_start_us,
    diurnal_offsets_us,
    format_ts,
)
from kpi_pipeline.sample.seasonality import day_factors
from kpi_pipeline.sample.vocabulary import (
    BROWSE_CHANNEL_WEIGHTS,
    CAMPAIGN_NAMES,
    CAMPAIGN_POOLS,
    CAMPAIGNS,
    CHANNEL_INDEX,
    CHANNELS,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DEVICE_WEIGHTS,
    DEVICES,
    HOUR_WEIGHTS,
    NOT_SET,
    ORGANIC_CAMPAIGN,
    REFERRAL_CAMPAIGN,
)

SESSIONS_PER_DAY = 5_000.0
MIN_BROWSE_SESSIONS = 8
CROSS_MIDNIGHT_PER_DAY = 10.0  # at scale 1, on top of one guaranteed session
MAX_CROSS_MIDNIGHT_LEAD_US = 590 * US_PER_SECOND  # such sessions start at 23:50:10 or later
PAGE_VIEW_P = 0.55  # page views per session ~ geometric, mean 1.8
ADD_TO_CART_RATE = 0.08
RETURNING_USER_SHARE = 0.30
EVENT_GAP_MEAN_US = 45 * US_PER_SECOND
PURCHASE_GAP_MEAN_US = 90 * US_PER_SECOND
EVENT_NAMES = ("session_start", "page_view", "add_to_cart", "purchase")
AD_POOLS = ("google", "meta")  # pools whose clicks are billed in the ads extract

# Campaign codes: ad campaigns first, then GA4 placeholders, the newsletter, none.
_PLACEHOLDERS = (ORGANIC_CAMPAIGN, REFERRAL_CAMPAIGN, NOT_SET)
NEWSLETTER_CODE = len(CAMPAIGN_NAMES) + len(_PLACEHOLDERS)
NO_CAMPAIGN_CODE = NEWSLETTER_CODE + 1
DIRECT = CHANNEL_INDEX["direct"]
WEB_CHANNELS = np.array([c.web for c in CHANNELS])


@dataclass(frozen=True)
class SessionDay:
    """Events of the sessions started on one day and their ad-campaign session counts.

    Kept compact (codes and indexes, no rendered lines): a day at 10 M events holds
    about 20 bytes an event here against some 600 as rendered text, and a day's file
    needs the sessions of three days. Lines are rendered a chunk at a time on writing.
    """

    day: dt.date
    events: pl.DataFrame  # event_us, code (index in EVENT_NAMES), owner (session index)
    # one row per session: what its events' lines repeat (codes into the vocabularies)
    sessions: pl.DataFrame
    campaign_sessions: dict[str, int]


def newsletter_campaign(day: dt.date) -> str:
    """Campaign name of the weekly newsletter issue current on ``day``."""
    year, week, _ = day.isocalendar()
    return f"newsletter_{year}_w{week:02d}"


def _campaign_vocabulary(day: dt.date) -> pl.Series:
    return pl.Series(
        [*CAMPAIGN_NAMES, *_PLACEHOLDERS, newsletter_campaign(day), None], dtype=pl.String
    )


def campaign_codes(rng: np.random.Generator, channels: np.ndarray) -> np.ndarray:
    """Campaign code of each session given its channel (paid ones pick an ad campaign)."""
    codes = np.full(channels.size, NO_CAMPAIGN_CODE, dtype=np.int64)
    for index, channel in enumerate(CHANNELS):
        mask = channels == index
        if channel.campaign is None or not mask.any():
            continue
        if channel.campaign in CAMPAIGN_POOLS:
            members, weights = CAMPAIGN_POOLS[channel.campaign]
            picks = rng.choice(len(members), size=int(mask.sum()), p=weights)
            codes[mask] = np.asarray(members)[picks]
        elif channel.campaign == "newsletter":
            codes[mask] = NEWSLETTER_CODE
        else:
            codes[mask] = len(CAMPAIGN_NAMES) + _PLACEHOLDERS.index(channel.campaign)
    return codes


def _ad_campaign_sessions(channels: np.ndarray, codes: np.ndarray) -> dict[str, int]:
    """Sessions per ad campaign, only for channels billed in the ads extract."""
    billed = np.isin(channels, [i for i, c in enumerate(CHANNELS) if c.campaign in AD_POOLS])
    counts = np.bincount(codes[billed], minlength=len(CAMPAIGN_NAMES))
    return {campaign.name: int(counts[i]) for i, campaign in enumerate(CAMPAIGNS)}


def _strings(values: tuple[str | None, ...]) -> pl.Series:
    return pl.Series(values, dtype=pl.String)


def _kv(key: str, column: str) -> pl.Expr:
    return pl.concat_str(
        pl.lit(f',{{"key":"{key}","value":{{"string_value":"'), pl.col(column), pl.lit('"}}')
    )


def event_line() -> pl.Expr:
    """Expression rendering each event row as one GA4 BigQuery-export JSON line.

    INT64 fields are JSON strings; ``source``/``medium``/``campaign`` params only when
    present; ``ecommerce`` only on purchases. All rendered values are plain ASCII
    without quotes or backslashes, so no escaping is needed.
    """
    params = pl.concat_str(
        pl.lit('[{"key":"ga_session_id","value":{"int_value":"'),
        pl.col("ga_session_id").cast(pl.String),
        pl.lit('"}}'),
        _kv("source", "source").fill_null(""),
        _kv("medium", "medium").fill_null(""),
        _kv("campaign", "campaign").fill_null(""),
        pl.lit("]"),
    )
    ecommerce = pl.concat_str(
        pl.lit(',"ecommerce":{"purchase_revenue":'),
        pl.col("revenue").cast(pl.String),
        pl.lit(',"transaction_id":"'),
        pl.col("transaction_id"),
        pl.lit('"}'),
    ).fill_null("")
    return pl.concat_str(
        pl.lit('{"event_date":"'),
        format_ts("event_us", "%Y%m%d"),
        pl.lit('","event_timestamp":"'),
        pl.col("event_us").cast(pl.String),
        pl.lit('","event_name":"'),
        pl.col("event_name"),
        pl.lit('","user_pseudo_id":"'),
        pl.col("user_pseudo_id"),
        pl.lit('","event_params":'),
        params,
        pl.lit(',"traffic_source":{"name":"'),
        pl.col("ts_name"),
        pl.lit('","medium":"'),
        pl.col("ts_medium"),
        pl.lit('","source":"'),
        pl.col("ts_source"),
        pl.lit('"},"geo":{"country":"'),
        pl.col("country"),
        pl.lit('"},"device":{"category":"'),
        pl.col("device"),
        pl.lit('"}'),
        ecommerce,
        pl.lit("}"),
    ).alias("line")


def _event_offsets(
    rng: np.random.Generator, counts: np.ndarray, purchase: np.ndarray, slow: np.ndarray
) -> np.ndarray:
    """Microseconds from the session start to each event (0 for the first)."""
    total = int(counts.sum())
    position = position_in_group(counts)
    owner = np.repeat(np.arange(counts.size), counts)
    gaps = rng.exponential(EVENT_GAP_MEAN_US, total).astype(np.int64) + 1_000
    gaps = np.where(position == 1, rng.integers(1_000, 1_500_000, total), gaps)
    gaps = np.where(purchase, rng.exponential(PURCHASE_GAP_MEAN_US, total).astype(np.int64), gaps)
    gaps = np.where(slow[owner] & (position >= 1), gaps + 20 * US_PER_SECOND, gaps)
    gaps[position == 0] = 0
    return grouped_cumsum(gaps, counts)


def build_session_day(seed: int, scale: float, day: dt.date, orders: pl.DataFrame) -> SessionDay:
    """Sessions started on ``day`` (one converting session per order placed that day)."""
    rng = day_rng(seed, day, Stream.SESSIONS)
    factors = day_factors(seed, day)
    d0 = day_start_us(day)
    n_conv = orders.height
    n_total = int(rng.poisson(SESSIONS_PER_DAY * scale * factors.sessions))
    n_browse = max(MIN_BROWSE_SESSIONS, n_total - n_conv)
    n_cross = min(n_browse, 1 + int(rng.poisson(CROSS_MIDNIGHT_PER_DAY * scale)))
    n = n_conv + n_browse
    index = np.arange(n)
    conv = index < n_conv
    cross = (index >= n_conv) & (index < n_conv + n_cross)

    # Where each session comes from, and the user's first touch.
    channel = np.concatenate(
        [
            orders["session_channel"].to_numpy(),
            rng.choice(len(CHANNELS), size=n_browse, p=BROWSE_CHANNEL_WEIGHTS),
        ]
    ).astype(np.int64)
    campaign = campaign_codes(rng, channel)
    returning = rng.random(n) < RETURNING_USER_SHARE
    acquired = np.concatenate([orders["acq_channel"].to_numpy(), channel[n_conv:]])
    acquired = np.where(
        ~conv & returning, rng.choice(len(CHANNELS), n, p=BROWSE_CHANNEL_WEIGHTS), acquired
    )
    acquired = np.where(WEB_CHANNELS[acquired], acquired, DIRECT)
    same_touch = np.where(conv, acquired == channel, ~returning)
    first_campaign = np.where(same_touch, campaign, campaign_codes(rng, acquired))
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS)
    device = rng.choice(len(DEVICES), size=n, p=DEVICE_WEIGHTS)

    # Events: session_start, page_view(s), sometimes add_to_cart, purchase if converting.
    page_views = rng.geometric(PAGE_VIEW_P, n)
    page_views = np.where(cross, np.maximum(page_views, 3), page_views)
    cart = conv | (rng.random(n) < ADD_TO_CART_RATE)
    counts = 1 + page_views + cart + conv
    owner = np.repeat(index, counts)
    position = position_in_group(counts)
    purchase = conv[owner] & (position == counts[owner] - 1)
    offsets = _event_offsets(rng, counts, purchase, cross)
    duration = offsets[group_starts(counts) + counts - 1]

    start = d0 + diurnal_offsets_us(rng, n, HOUR_WEIGHTS, whole_seconds=False)
    lead = np.clip(
        (rng.uniform(0.15, 0.85, n) * duration).astype(np.int64),
        US_PER_SECOND,
        MAX_CROSS_MIDNIGHT_LEAD_US,
    )
    start = np.where(cross, d0 + US_PER_DAY - lead, start)
    start[:n_conv] = orders["placed_us"].to_numpy() - duration[:n_conv]

    start_s = start // US_PER_SECOND
    first_visit = np.where(returning, start_s - rng.integers(3_600, 90 * 86_400, n), start_s)
    browse_ids = pl.select(
        pl.concat_str(
            pl.lit(pl.Series(rng.integers(100_000_000, 2_147_483_647, n_browse))),
            pl.lit("."),
            pl.lit(pl.Series(first_visit[n_conv:])),
        )
    ).to_series()
    user_ids = pl.concat([orders["user_pseudo_id"], browse_ids.cast(pl.String)])

    code = np.where(
        position == 0, 0, np.where(position <= page_views[owner], 1, np.where(purchase, 3, 2))
    )
    padding = pl.Series([None] * n_browse)
    sessions = pl.DataFrame(
        {
            "user_pseudo_id": user_ids,
            "ga_session_id": start_s,
            "channel": channel.astype(np.int16),
            "campaign": campaign.astype(np.int16),
            "first_campaign": first_campaign.astype(np.int16),
            "acquired": acquired.astype(np.int16),
            "country": country.astype(np.int16),
            "device": device.astype(np.int16),
            "revenue": pl.concat([orders["net_amount"], padding.cast(pl.Float64)]),
            "transaction_id": pl.concat([orders["order_id"], padding.cast(pl.String)]),
        }
    )
    events = pl.DataFrame(
        {
            "event_us": start[owner] + offsets,
            "code": code.astype(np.int8),
            "owner": owner.astype(np.int32),
        }
    )
    return SessionDay(day, events, sessions, _ad_campaign_sessions(channel, campaign))


def _where(mask: pl.Series, values: pl.Series, otherwise: int) -> pl.Series:
    return pl.select(pl.when(mask).then(values).otherwise(otherwise)).to_series()


def _only(mask: pl.Series, values: pl.Series) -> pl.Series:
    return pl.select(pl.when(mask).then(values)).to_series()


def render_events(session_day: SessionDay, events: pl.DataFrame) -> pl.Series:
    """The JSON lines of `events` (event_us, code, owner) of `session_day`, in order."""
    sessions = session_day.sessions[events["owner"]]
    code = events["code"].cast(pl.Int64)
    first_event = code == 0
    purchase = code == 3
    sources = _strings(tuple(c.source for c in CHANNELS))
    mediums = _strings(tuple(c.medium for c in CHANNELS))
    vocabulary = _campaign_vocabulary(session_day.day)
    channel = sessions["channel"].cast(pl.Int64)
    acquired = sessions["acquired"].cast(pl.Int64)
    frame = pl.DataFrame(
        {
            "event_us": events["event_us"],
            "event_name": _strings(EVENT_NAMES).gather(code),
            "user_pseudo_id": sessions["user_pseudo_id"],
            "ga_session_id": sessions["ga_session_id"],
            "source": sources.gather(_where(first_event, channel, DIRECT)),
            "medium": mediums.gather(_where(first_event, channel, DIRECT)),
            "campaign": vocabulary.gather(
                _where(first_event, sessions["campaign"].cast(pl.Int64), NO_CAMPAIGN_CODE)
            ),
            "ts_name": vocabulary.gather(sessions["first_campaign"].cast(pl.Int64)).fill_null(
                "(direct)"
            ),
            "ts_medium": mediums.gather(acquired).fill_null("(none)"),
            "ts_source": sources.gather(acquired).fill_null("(direct)"),
            "country": _strings(COUNTRIES).gather(sessions["country"].cast(pl.Int64)),
            "device": _strings(DEVICES).gather(sessions["device"].cast(pl.Int64)),
            "revenue": _only(purchase, sessions["revenue"]),
            "transaction_id": _only(purchase, sessions["transaction_id"]),
        }
    )
    return frame.select(event_line()).get_column("line")


# Events rendered and written at a time: bounds the rendered text at about 100 MB.
RENDER_CHUNK_EVENTS = 250_000


@dataclass(frozen=True)
class EventsExtract:
    """The events of ``events_YYYYMMDD.json`` in file order, rendered on writing."""

    session_days: tuple[SessionDay, ...]
    events: pl.DataFrame  # part (index in session_days), event_us, code, owner; in order

    @property
    def height(self) -> int:
        return self.events.height

    def lines(self, rows: pl.DataFrame | None = None) -> pl.Series:
        """The JSON lines of ``rows`` (default: all events), in their order."""
        rows = self.events if rows is None else rows
        rows = rows.with_row_index("_position")
        parts = []
        for index, session_day in enumerate(self.session_days):
            part = rows.filter(pl.col("part") == index)
            if part.height:
                lines = render_events(session_day, part)
                parts.append(part.select("_position").with_columns(line=lines))
        if not parts:
            return pl.Series("line", [], dtype=pl.String)
        return pl.concat(parts).sort("_position").get_column("line")

    def chunks(self, size: int = RENDER_CHUNK_EVENTS) -> Iterator[pl.Series]:
        """The lines a chunk of ``size`` events at a time."""
        for offset in range(0, self.height, size):
            yield self.lines(self.events.slice(offset, size))


def events_extract(day: dt.date, session_days: Sequence[SessionDay]) -> EventsExtract:
    """Events of ``events_YYYYMMDD.json``: events dated ``day``, in time order (ties in
    the order of their lines).

    ``session_days`` must be the sessions of the day before, the day and the day after.
    """
    d0 = day_start_us(day)
    events = pl.concat(
        [
            s.events.filter(
                pl.col("event_us").is_between(d0, d0 + US_PER_DAY, closed="left")
            ).select(pl.lit(index, dtype=pl.Int8).alias("part"), pl.all())
            for index, s in enumerate(session_days)
        ]
    )
    events = events.with_row_index("_row")
    # Ties (the same microsecond) are ordered by their rendered lines: render only those.
    tied = events.filter(pl.col("event_us").is_duplicated())
    ties = tied.select("_row", _tie=EventsExtract(tuple(session_days), tied).lines())
    ordered = (
        events.join(ties, on="_row", how="left")
        .sort("event_us", "_tie")
        .select("part", "event_us", "code", "owner")
    )
    return EventsExtract(tuple(session_days), ordered)
