"""Ads spend and social posts of the sample.

Ad clicks follow the GA4 sessions of each campaign (a few more clicks than sessions),
spend follows clicks. Google Ads finalises its numbers a day late: the extract of a day
restates the previous day's Google Ads rows. Social posts are reported on the day they
are published and updated (lifetime totals) the next day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import polars as pl

from kpi_pipeline.sample.clock import Stream, day_rng, ymd
from kpi_pipeline.sample.seasonality import day_factors
from kpi_pipeline.sample.vocabulary import CAMPAIGNS, SOCIAL_PLATFORMS

CURRENCY = "USD"
RESTATED_CHANNEL = "google_ads"
POSTS_PER_PLATFORM_MEAN = 1.5  # on top of one post a day per platform
FIRST_DAY_SHARE = (0.55, 0.80)  # share of lifetime reach seen on the publication day

SPEND_COLUMNS = ("date", "channel", "campaign", "spend", "currency", "impressions", "clicks")
POST_COLUMNS = ("date", "platform", "post_id", "impressions", "likes", "comments", "shares")


def build_ad_day(
    seed: int, scale: float, day: dt.date, campaign_sessions: Mapping[str, int]
) -> pl.DataFrame:
    """First-reported ad rows of ``day`` (one per campaign) plus restatement values.

    Columns: the ``spend.csv`` ones plus ``final_spend``, ``final_impressions`` and
    ``final_clicks`` (what the next day's extract reports for restated channels).
    """
    rng = day_rng(seed, day, Stream.ADS)
    cpc_level = day_factors(seed, day).cpc
    n = len(CAMPAIGNS)
    sessions = np.array([campaign_sessions.get(c.name, 0) for c in CAMPAIGNS], dtype=float)
    clicks = np.round(sessions * rng.uniform(1.05, 1.30, n)).astype(np.int64)
    clicks += rng.poisson(0.5, n)
    ctr = np.array([c.ctr for c in CAMPAIGNS]) * rng.lognormal(0.0, 0.15, n)
    impressions = np.maximum(
        np.round(clicks / ctr).astype(np.int64), clicks + rng.poisson(200 * scale + 5, n)
    )
    cpc = np.array([c.cpc for c in CAMPAIGNS]) * cpc_level * rng.lognormal(0.0, 0.08, n)
    spend = np.round(clicks * cpc, 2)

    late = rng.poisson(0.02 * clicks + 0.1)
    final_clicks = clicks + late
    final_impressions = impressions + rng.poisson(0.01 * impressions + 1)
    final_spend = np.round(spend + late * cpc * rng.uniform(0.9, 1.1, n), 2)
    return pl.DataFrame(
        {
            "date": [day.isoformat()] * n,
            "channel": [c.channel for c in CAMPAIGNS],
            "campaign": [c.name for c in CAMPAIGNS],
            "spend": spend,
            "currency": [CURRENCY] * n,
            "impressions": impressions,
            "clicks": clicks,
            "final_spend": final_spend,
            "final_impressions": final_impressions,
            "final_clicks": final_clicks,
        }
    )


def spend_extract(today: pl.DataFrame, yesterday: pl.DataFrame) -> pl.DataFrame:
    """``spend.csv``: the day's rows plus the restated Google Ads rows of the day before."""
    restated = yesterday.filter(pl.col("channel") == RESTATED_CHANNEL).select(
        "date",
        "channel",
        "campaign",
        pl.col("final_spend").alias("spend"),
        "currency",
        pl.col("final_impressions").alias("impressions"),
        pl.col("final_clicks").alias("clicks"),
    )
    return pl.concat([restated, today.select(SPEND_COLUMNS)])


def build_social_day(seed: int, scale: float, day: dt.date) -> pl.DataFrame:
    """Posts published on ``day``: lifetime metrics and the share seen on day one."""
    rng = day_rng(seed, day, Stream.SOCIAL)
    rows: list[dict[str, object]] = []
    for platform, prefix, reach, engagement in SOCIAL_PLATFORMS:
        for i in range(1 + int(rng.poisson(POSTS_PER_PLATFORM_MEAN))):
            impressions = max(10, round(rng.lognormal(np.log(reach * scale), 0.6)))
            likes = int(rng.binomial(impressions, engagement))
            rows.append(
                {
                    "date": day.isoformat(),
                    "platform": platform,
                    "post_id": f"{prefix}-{ymd(day)}-{i + 1:02d}",
                    "impressions": impressions,
                    "likes": likes,
                    "comments": int(rng.binomial(likes, 0.08)),
                    "shares": int(rng.binomial(likes, 0.10)),
                    "first_day_share": float(rng.uniform(*FIRST_DAY_SHARE)),
                }
            )
    return pl.DataFrame(rows)


def posts_extract(today: pl.DataFrame, yesterday: pl.DataFrame) -> pl.DataFrame:
    """``posts.csv``: yesterday's posts with lifetime totals, today's with day-one counts."""
    metrics = ("impressions", "likes", "comments", "shares")
    first_day = today.with_columns(
        (pl.col(m) * pl.col("first_day_share")).floor().cast(pl.Int64) for m in metrics
    )
    return pl.concat(
        [yesterday.select(POST_COLUMNS), first_day.select(POST_COLUMNS)], how="vertical_relaxed"
    )
