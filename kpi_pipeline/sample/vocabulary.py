"""Static reference data of the sample: channels, ad campaigns, names, places, texts.

Everything here is fictional. E-mail addresses only use the reserved ``example.com``
and ``example.org`` domains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def normalised(weights: tuple[float, ...]) -> np.ndarray:
    """Weights scaled to sum to 1 (for ``Generator.choice``)."""
    array = np.asarray(weights, dtype=float)
    return array / array.sum()


# --- Ad campaigns (ads/spend.csv) -------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    """An ad campaign: ``channel`` is the ads platform, costs are per click."""

    channel: str
    name: str
    cpc: float
    ctr: float


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign("google_ads", "gads_brand_search", 1.05, 0.11),
    Campaign("google_ads", "gads_generic_search", 3.10, 0.045),
    Campaign("google_ads", "gads_pmax_shopping", 2.30, 0.012),
    Campaign("meta_ads", "meta_prospecting_broad", 2.00, 0.011),
    Campaign("meta_ads", "meta_retargeting_cart", 1.50, 0.019),
    Campaign("meta_ads", "meta_lookalike_customers", 2.10, 0.010),
)
CAMPAIGN_NAMES: tuple[str, ...] = tuple(c.name for c in CAMPAIGNS)

# Campaign pools used by paid GA4 sessions: (campaign indexes, weights).
# Microsoft Ads campaigns are imported from Google Ads and keep their names, so
# bing / cpc sessions carry Google Ads search campaign names (their Microsoft spend
# is not part of the ads extract).
CAMPAIGN_POOLS: dict[str, tuple[tuple[int, ...], np.ndarray]] = {
    "google": ((0, 1, 2), normalised((0.35, 0.40, 0.25))),
    "bing": ((0, 1), normalised((0.5, 0.5))),
    "meta": ((3, 4, 5), normalised((0.5, 0.25, 0.25))),
}

# Placeholders GA4 writes in the campaign field of non-campaign traffic.
ORGANIC_CAMPAIGN = "(organic)"
REFERRAL_CAMPAIGN = "(referral)"
NOT_SET = "(not set)"


# --- Traffic channels (GA4 sessions, HubSpot Original Source) ---------------------


@dataclass(frozen=True)
class Channel:
    """A traffic origin: GA4 ``source``/``medium`` and how the campaign is chosen.

    ``campaign`` is a pool key of ``CAMPAIGN_POOLS``, a literal campaign value,
    ``"newsletter"`` (the weekly newsletter issue) or ``None`` (no params: direct).
    ``web`` is False for the offline acquisition of a contact (no GA4 session).
    """

    key: str
    source: str | None
    medium: str | None
    campaign: str | None
    hubspot_source: str
    web: bool = True


CHANNELS: tuple[Channel, ...] = (
    Channel("direct", None, None, None, "DIRECT_TRAFFIC"),
    Channel("google_organic", "google", "organic", ORGANIC_CAMPAIGN, "ORGANIC_SEARCH"),
    Channel("bing_organic", "bing", "organic", ORGANIC_CAMPAIGN, "ORGANIC_SEARCH"),
    Channel("duckduckgo_organic", "duckduckgo", "organic", ORGANIC_CAMPAIGN, "ORGANIC_SEARCH"),
    Channel("google_cpc", "google", "cpc", "google", "PAID_SEARCH"),
    Channel("bing_cpc", "bing", "cpc", "bing", "PAID_SEARCH"),
    Channel("facebook_paid_social", "facebook", "paid_social", "meta", "PAID_SOCIAL"),
    Channel("facebook_cpc", "facebook", "cpc", "meta", "PAID_SOCIAL"),
    Channel("instagram_paid_social", "instagram", "paid_social", "meta", "PAID_SOCIAL"),
    Channel("facebook_referral", "facebook", "referral", REFERRAL_CAMPAIGN, "SOCIAL_MEDIA"),
    Channel("l_facebook_referral", "l.facebook.com", "referral", REFERRAL_CAMPAIGN, "SOCIAL_MEDIA"),
    Channel("newsletter_email", "newsletter", "email", "newsletter", "EMAIL_MARKETING"),
    Channel("partner_referral", "partner-blog.example", "referral", REFERRAL_CAMPAIGN, "REFERRALS"),
    Channel("not_set", NOT_SET, NOT_SET, NOT_SET, "DIRECT_TRAFFIC"),
    Channel("offline", None, None, None, "OFFLINE", web=False),
)
CHANNEL_INDEX: dict[str, int] = {c.key: i for i, c in enumerate(CHANNELS)}


def _channel_weights(weights: dict[str, float]) -> np.ndarray:
    return normalised(tuple(weights.get(c.key, 0.0) for c in CHANNELS))


# fmt: off
# Sessions that do not convert.
BROWSE_CHANNEL_WEIGHTS = _channel_weights(
    {
        "direct": 0.17, "google_organic": 0.22, "bing_organic": 0.03,
        "duckduckgo_organic": 0.015, "google_cpc": 0.20, "bing_cpc": 0.03,
        "facebook_paid_social": 0.07, "facebook_cpc": 0.02, "instagram_paid_social": 0.06,
        "facebook_referral": 0.025, "l_facebook_referral": 0.02, "newsletter_email": 0.05,
        "partner_referral": 0.03, "not_set": 0.01,
    }
)
# Sessions that end with a purchase (brand search, e-mail and direct convert best).
CONVERT_CHANNEL_WEIGHTS = _channel_weights(
    {
        "direct": 0.20, "google_organic": 0.20, "bing_organic": 0.03,
        "duckduckgo_organic": 0.01, "google_cpc": 0.22, "bing_cpc": 0.03,
        "facebook_paid_social": 0.05, "facebook_cpc": 0.01, "instagram_paid_social": 0.04,
        "facebook_referral": 0.015, "l_facebook_referral": 0.01, "newsletter_email": 0.12,
        "partner_referral": 0.05, "not_set": 0.005,
    }
)
# Acquisition of contacts that sign up without buying (newsletter, lead magnets, fairs).
LEAD_CHANNEL_WEIGHTS = _channel_weights(
    {
        "direct": 0.10, "google_organic": 0.22, "bing_organic": 0.02,
        "duckduckgo_organic": 0.01, "google_cpc": 0.15, "bing_cpc": 0.02,
        "facebook_paid_social": 0.12, "facebook_cpc": 0.02, "instagram_paid_social": 0.10,
        "facebook_referral": 0.04, "l_facebook_referral": 0.03, "newsletter_email": 0.03,
        "partner_referral": 0.06, "offline": 0.08,
    }
)

# --- Time of day (UTC), weekdays --------------------------------------------------

HOUR_WEIGHTS = normalised(
    (0.35, 0.25, 0.18, 0.14, 0.13, 0.16, 0.28, 0.50, 0.75, 0.90, 1.00, 1.05,
     1.10, 1.05, 1.00, 1.00, 1.02, 1.08, 1.15, 1.25, 1.30, 1.20, 0.95, 0.60)
)
OFFICE_HOUR_WEIGHTS = normalised(
    (0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.30, 0.90, 1.00, 1.00, 0.90,
     0.60, 0.90, 1.00, 1.00, 0.90, 0.60, 0.30, 0.10, 0.05, 0.03, 0.02, 0.01)
)

# --- People, places, devices -------------------------------------------------------

# (display name, e-mail spelling)
FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Jane", "jane"), ("John", "john"), ("Emma", "emma"), ("Liam", "liam"),
    ("Olivia", "olivia"), ("Noah", "noah"), ("Ava", "ava"), ("Lucas", "lucas"),
    ("Mia", "mia"), ("Ethan", "ethan"), ("Sophia", "sophia"), ("Mason", "mason"),
    ("Isabella", "isabella"), ("James", "james"), ("Amelia", "amelia"), ("Benjamin", "benjamin"),
    ("Charlotte", "charlotte"), ("Elijah", "elijah"), ("Harper", "harper"), ("Henry", "henry"),
    ("Evelyn", "evelyn"), ("Alexander", "alexander"), ("Abigail", "abigail"), ("Daniel", "daniel"),
    ("Emily", "emily"), ("Matthew", "matthew"), ("Ella", "ella"), ("Samuel", "samuel"),
    ("Grace", "grace"), ("David", "david"), ("Chloé", "chloe"), ("Zoé", "zoe"),
    ("Léa", "lea"), ("Hugo", "hugo"), ("Lena", "lena"), ("Jonas", "jonas"),
    ("Sofía", "sofia"), ("Mateo", "mateo"), ("Aisha", "aisha"), ("Omar", "omar"),
    ("Priya", "priya"), ("Arjun", "arjun"), ("Mei", "mei"), ("Hiroshi", "hiroshi"),
    ("Renée", "renee"), ("Björn", "bjorn"), ("Siobhan", "siobhan"), ("Kwame", "kwame"),
)
LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Doe", "doe"), ("Smith", "smith"), ("Johnson", "johnson"), ("Williams", "williams"),
    ("Brown", "brown"), ("Jones", "jones"), ("Miller", "miller"), ("Davis", "davis"),
    ("Wilson", "wilson"), ("Taylor", "taylor"), ("Anderson", "anderson"), ("Thomas", "thomas"),
    ("Moore", "moore"), ("Martin", "martin"), ("Jackson", "jackson"), ("White", "white"),
    ("Harris", "harris"), ("Clark", "clark"), ("Lewis", "lewis"), ("Walker", "walker"),
    ("Young", "young"), ("King", "king"), ("Wright", "wright"), ("Scott", "scott"),
    ("Green", "green"), ("Baker", "baker"), ("Adams", "adams"), ("Nelson", "nelson"),
    ("O'Brien", "obrien"), ("Müller", "muller"), ("García", "garcia"), ("Dubois", "dubois"),
    ("Rossi", "rossi"), ("Nguyen", "nguyen"), ("Kowalski", "kowalski"), ("Novak", "novak"),
    ("Fernández", "fernandez"), ("Schmidt", "schmidt"), ("Tanaka", "tanaka"), ("Patel", "patel"),
    ("Okafor", "okafor"), ("Larsen", "larsen"), ("Van der Berg", "vanderberg"), ("Costa", "costa"),
)
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org")
EMAIL_DOMAIN_WEIGHTS = normalised((0.7, 0.3))

COUNTRIES: tuple[str, ...] = (
    "United States", "United Kingdom", "Canada", "Germany", "France", "Australia",
    "Netherlands", "Spain", "Italy", "Ireland", "Belgium", "Sweden", "Switzerland", "India",
    NOT_SET,
)
COUNTRY_WEIGHTS = normalised(
    (0.42, 0.11, 0.08, 0.07, 0.07, 0.05, 0.03, 0.03, 0.03, 0.02, 0.02, 0.02, 0.015, 0.02, 0.005)
)
DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")
DEVICE_WEIGHTS = normalised((0.58, 0.37, 0.05))

# fmt: on

# --- HubSpot ------------------------------------------------------------------------

# fmt: off
LIFECYCLE_STAGES: tuple[str, ...] = (
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
    "customer",
)
CUSTOMER_RANK = LIFECYCLE_STAGES.index("customer")
OPEN_DEAL_STAGES: tuple[str, ...] = (
    "appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
    "decisionmakerboughtin", "contractsent",
)
CLOSED_WON = "closedwon"
CLOSED_LOST = "closedlost"
DEAL_COMPANIES: tuple[str, ...] = (
    "Northwind Traders", "Contoso Retail", "Fabrikam Stores", "Globex Supplies", "Initech",
    "Umbrella Wellness", "Stark Hospitality", "Wayne Events", "Acme Corp", "Hooli Offices",
    "Vandelay Industries", "Soylent Foods", "Tyrell Boutique", "Pied Piper", "Blue Sun Cafés",
    "Monarch Hotels", "Oceanic Travel", "Wonka Confectionery", "Cyberdyne Labs", "Gekko & Co",
)
DEAL_PRODUCTS: tuple[str, ...] = (
    "Corporate gifting", "Wholesale restock", "Annual supply agreement", "Event merchandise",
    "Office welcome packs", "Seasonal bundle",
)

# fmt: on

# --- Social -------------------------------------------------------------------------

# (platform, post id prefix, typical lifetime impressions at scale 1, engagement rate)
SOCIAL_PLATFORMS: tuple[tuple[str, str, float, float], ...] = (
    ("facebook", "fb", 2_500.0, 0.030),
    ("instagram", "ig", 4_000.0, 0.045),
    ("linkedin", "li", 1_200.0, 0.020),
)

# --- NPS ----------------------------------------------------------------------------

# fmt: off
PROMOTER_COMMENTS: tuple[str, ...] = (
    "Fast delivery, great quality!", "Love the products, will order again.",
    "Excellent customer service.", "Très bien, merci !", "Exactly as described.",
    "My second order and still perfect.",
)
PASSIVE_COMMENTS: tuple[str, ...] = (
    "Good overall, delivery could be faster.", "Nice products but a bit pricey.",
    "OK experience.", "Packaging could be better.",
)
DETRACTOR_COMMENTS: tuple[str, ...] = (
    "Order took too long to arrive.", "Item arrived damaged.",
    "Customer support never answered my e-mail.", "Not worth the price.",
    "Wrong size sent, had to return it.",
)
# fmt: on
