"""What each landing-zone source must contain: files, columns and their types.

The column labels are those the upstream tool writes (HubSpot display labels, the
column names of our flat extracts); `name` is the warehouse column they load into.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a text cell is typed at ingest."""

    TEXT = "text"
    # A record, contact, order or response id: opaque text (Salesforce `0035e00000AbCdEAA1`,
    # `cus_Nf8Xq2`, `gid://shop/Customer/7`, a UUID, `42`); surrounding spaces trimmed,
    # case and leading zeros kept (`007` stays `007`), never read as a number.
    ID = "id"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    TIMESTAMP = "timestamp"  # ISO 8601 with a zone (Z or an offset)
    # HubSpot export, UTC: ISO 8601, `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DD`, US `MM/DD/YYYY[ HH:MM]`
    HUBSPOT_DATETIME = "hubspot_datetime"
    # true/false, 1/0, yes/no (any case); an empty cell is false only where the column says
    # so (`empty_is_false`: Salesforce Data Loader / `sf data export` write false as empty)
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Column:
    label: str
    name: str
    kind: Kind = Kind.TEXT
    required: bool = False  # a row without a value here cannot be loaded
    personal: bool = False  # personal data: hashed (if `hashed_name`) or dropped at ingest
    hashed_name: str | None = None
    # An event cannot happen after its extract was taken: such a row is quarantined at
    # ingest. Value ranges (spend >= 0, NPS 0-10) are left to the GX gate, which blocks
    # the day: see docs/landing_zone.md, "What happens to bad rows".
    not_after_extract_day: bool = False
    aliases: tuple[str, ...] = ()  # other labels exports use for the same column
    # a boolean column whose exporter writes false as an empty cell: empty reads as false
    # (the column itself stays required when `required`: without it nothing says true)
    empty_is_false: bool = False

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.label, *self.aliases)


@dataclass(frozen=True)
class CsvExtract:
    """One flat file of a source, loaded into `raw.<table>`.

    The day folder may hold `<file_name>` and/or `<file_name>.gz`; both are loaded (a
    file whose content was already loaded, on any day, is skipped: same checksum).
    """

    source: str
    file_name: str
    table: str
    columns: tuple[Column, ...]
    # groups of labels of which at least one column (and, per row, one value) is needed
    required_one_of: tuple[tuple[str, ...], ...] = ()
    # a money column whose header carries the currency, e.g. Meta's `Amount spent (EUR)`:
    # (money label, currency label) -> the currency column is filled from the header
    currency_in_label: tuple[str, str] | None = None
    parquet_name: str | None = None  # the same extract may arrive as Parquet under this name
    # an ad platform's own download around the table (title, date range, total rows):
    # "google_ads" or "meta_ads", see kpi_pipeline/ingest/report_layouts.py; "qualtrics"
    # (survey_layouts.py)
    report_layout: str | None = None
    # the records a pull landed from the tool's API (kpi_pipeline/pull/): JSON lines, each
    # record flattened (`jsonl_reader.py`) and matched to the columns by API field names
    jsonl_name: str | None = None

    @property
    def asset_name(self) -> str:
        return self.table

    @property
    def file_patterns(self) -> tuple[str, ...]:
        parquet = (self.parquet_name,) if self.parquet_name else ()
        pulled = (self.jsonl_name,) if self.jsonl_name else ()
        return (self.file_name, f"{self.file_name}.gz", *parquet, *pulled)


# The aliases in lower case are the HubSpot API's internal property names (CRM v3 records,
# as `kpi pull hubspot` lands them: `id` and the `properties` of each record).
HUBSPOT_CONTACTS = CsvExtract(
    source="hubspot",
    file_name="contacts.csv",
    table="hubspot_contacts",
    columns=(
        Column("Record ID", "record_id", Kind.ID, required=True, aliases=("id",)),
        Column("First Name", "first_name", personal=True, aliases=("firstname",)),
        Column("Last Name", "last_name", personal=True, aliases=("lastname",)),
        Column("Email", "email", personal=True, hashed_name="email_hash"),
        Column(
            "Create Date",
            "created_at",
            Kind.HUBSPOT_DATETIME,
            required=True,
            not_after_extract_day=True,
            aliases=("createdate",),
        ),
        Column(
            "Last Modified Date",
            "modified_at",
            Kind.HUBSPOT_DATETIME,
            required=True,
            not_after_extract_day=True,
            aliases=("lastmodifieddate",),
        ),
        Column("Lifecycle Stage", "lifecycle_stage", aliases=("lifecyclestage",)),
        Column("Original Source", "original_source", aliases=("hs_analytics_source",)),
        Column(
            "Became a Customer Date",
            "became_customer_at",
            Kind.HUBSPOT_DATETIME,
            aliases=("hs_lifecyclestage_customer_date",),
        ),
    ),
    jsonl_name="contacts.jsonl",
)

HUBSPOT_DEALS = CsvExtract(
    source="hubspot",
    file_name="deals.csv",
    table="hubspot_deals",
    columns=(
        Column("Record ID", "record_id", Kind.ID, required=True, aliases=("id",)),
        Column("Deal Name", "deal_name", aliases=("dealname",)),
        Column("Deal Stage", "deal_stage", required=True, aliases=("dealstage",)),
        Column("Pipeline", "pipeline"),
        Column("Amount", "amount", Kind.DECIMAL),
        Column(
            "Create Date",
            "created_at",
            Kind.HUBSPOT_DATETIME,
            required=True,
            not_after_extract_day=True,
            aliases=("createdate",),
        ),
        Column("Close Date", "closed_at", Kind.HUBSPOT_DATETIME, aliases=("closedate",)),
        Column("Currency", "currency", aliases=("deal_currency_code",)),
        Column(
            "Last Modified Date",
            "modified_at",
            Kind.HUBSPOT_DATETIME,
            required=True,
            not_after_extract_day=True,
            aliases=("hs_lastmodifieddate",),
        ),
        # the deal's contacts: ids separated by `;` (a pulled record's associations)
        Column(
            "Associated Contact IDs",
            "associated_contact_ids",
            aliases=("associations.contacts",),
        ),
    ),
    jsonl_name="deals.jsonl",
)

ADS_SPEND = CsvExtract(
    source="ads",
    file_name="spend.csv",
    table="ads_spend",
    columns=(
        Column("date", "spend_date", Kind.DATE, required=True, not_after_extract_day=True),
        Column("channel", "channel", required=True),
        Column("campaign", "campaign", required=True),
        Column("spend", "spend", Kind.DECIMAL, required=True),
        Column("currency", "currency", required=True),
        Column("impressions", "impressions", Kind.INTEGER),
        Column("clicks", "clicks", Kind.INTEGER),
    ),
)

# Google Ads campaign report: UI download labels, or API field names (cost in micros).
GOOGLE_ADS = CsvExtract(
    source="ads",
    file_name="google_ads.csv",
    table="google_ads_campaigns",
    columns=(
        Column(
            "Day",
            "spend_date",
            Kind.DATE,
            required=True,
            not_after_extract_day=True,
            aliases=("Date", "segments.date"),
        ),
        Column("Campaign", "campaign", required=True, aliases=("campaign.name",)),
        Column("Campaign ID", "campaign_id", aliases=("campaign.id",)),
        Column(
            "Currency code",
            "currency",
            required=True,
            aliases=("Currency", "customer.currency_code"),
        ),
        Column("Cost", "cost", Kind.DECIMAL, aliases=("metrics.cost",)),
        Column("Cost (micros)", "cost_micros", Kind.INTEGER, aliases=("metrics.cost_micros",)),
        Column(
            "Impressions", "impressions", Kind.INTEGER, aliases=("Impr.", "metrics.impressions")
        ),
        Column("Clicks", "clicks", Kind.INTEGER, aliases=("metrics.clicks",)),
        Column("Conversions", "conversions", Kind.DECIMAL, aliases=("metrics.conversions",)),
    ),
    required_one_of=(("Cost", "Cost (micros)"),),
    report_layout="google_ads",
)

# Meta Ads Manager export; the spend header carries the account currency.
META_ADS = CsvExtract(
    source="ads",
    file_name="meta_ads.csv",
    table="meta_ads_campaigns",
    columns=(
        Column(
            "Day",
            "spend_date",
            Kind.DATE,
            required=True,
            not_after_extract_day=True,
            aliases=("Reporting starts", "date_start"),
        ),
        Column("Campaign name", "campaign", required=True, aliases=("campaign_name",)),
        Column("Campaign ID", "campaign_id", aliases=("campaign_id",)),
        Column("Amount spent", "spend", Kind.DECIMAL, required=True, aliases=("spend",)),
        Column("Currency", "currency", required=True, aliases=("account_currency",)),
        Column("Impressions", "impressions", Kind.INTEGER, aliases=("impressions",)),
        Column("Link clicks", "clicks", Kind.INTEGER, aliases=("Clicks (all)", "clicks")),
        Column("Results", "actions", Kind.DECIMAL, aliases=("actions",)),
    ),
    currency_in_label=("Amount spent", "Currency"),
    report_layout="meta_ads",
)

SOCIAL_POSTS = CsvExtract(
    source="social",
    file_name="posts.csv",
    table="social_posts",
    columns=(
        Column("date", "post_date", Kind.DATE, required=True, not_after_extract_day=True),
        Column("platform", "platform", required=True),
        Column("post_id", "post_id", Kind.ID, required=True),
        Column("impressions", "impressions", Kind.INTEGER),
        Column("likes", "likes", Kind.INTEGER),
        Column("comments", "comments", Kind.INTEGER),
        Column("shares", "shares", Kind.INTEGER),
        Column("reach", "reach", Kind.INTEGER),
        Column("saves", "saves", Kind.INTEGER),
    ),
)

NPS_RESPONSES = CsvExtract(
    source="nps",
    file_name="responses.csv",
    table="nps_responses",
    columns=(
        Column("response_id", "response_id", Kind.ID, required=True),
        Column("contact_id", "contact_id", Kind.ID),
        Column(
            "submitted_at",
            "submitted_at",
            Kind.TIMESTAMP,
            required=True,
            not_after_extract_day=True,
        ),
        Column("score", "score", Kind.INTEGER, required=True),
        Column("comment", "comment"),
    ),
    report_layout="qualtrics",  # a Qualtrics export is read as it is: survey_layouts.py
)

ORDERS = CsvExtract(
    source="orders",
    file_name="orders.csv",
    table="orders",
    columns=(
        Column("order_id", "order_id", Kind.ID, required=True),
        Column("contact_id", "contact_id", Kind.ID),
        Column("placed_at", "placed_at", Kind.TIMESTAMP, required=True, not_after_extract_day=True),
        Column("fulfilled_at", "fulfilled_at", Kind.TIMESTAMP, not_after_extract_day=True),
        Column("status", "status", required=True),
        Column("net_amount", "net_amount", Kind.DECIMAL, required=True),
        Column("currency", "currency", required=True),
    ),
    parquet_name="orders.parquet",
)

# Salesforce exports: Data Loader, `sf data export` / Bulk API and similar tools name
# columns by API field name (`IsWon`); a report export by field label (`Won`), accepted as
# aliases. These tools write false as an empty cell (`1` / empty), so an empty boolean
# is false; timestamps are UTC with a zone (`2024-01-22T20:36:47.000+0000`). Ids are
# 15- or 18-character Salesforce ids, kept as text.
SALESFORCE_LEADS = CsvExtract(
    source="salesforce",
    file_name="Lead.csv",
    table="salesforce_leads",
    columns=(
        Column("Id", "lead_id", Kind.ID, required=True, aliases=("Lead ID",)),
        Column("FirstName", "first_name", personal=True, aliases=("First Name",)),
        Column("LastName", "last_name", personal=True, aliases=("Last Name",)),
        Column("Email", "email", personal=True, hashed_name="email_hash"),
        Column("Phone", "phone", personal=True),
        Column(
            "CreatedDate",
            "created_at",
            Kind.TIMESTAMP,
            required=True,
            not_after_extract_day=True,
            aliases=("Created Date", "Create Date"),
        ),
        Column(
            "LastModifiedDate",
            "modified_at",
            Kind.TIMESTAMP,
            required=True,
            not_after_extract_day=True,
            aliases=("Last Modified Date",),
        ),
        Column("LeadSource", "lead_source", aliases=("Lead Source",)),
        Column("Status", "status", aliases=("Lead Status",)),
        Column(
            "IsConverted",
            "is_converted",
            Kind.BOOLEAN,
            required=True,
            empty_is_false=True,
            aliases=("Converted",),
        ),
        Column("ConvertedDate", "converted_date", Kind.DATE, aliases=("Converted Date",)),
        # a deleted lead (queryAll, `kpi pull salesforce`; Data Loader's "export all")
        Column("IsDeleted", "is_deleted", Kind.BOOLEAN, empty_is_false=True, aliases=("Deleted",)),
    ),
    jsonl_name="Lead.jsonl",
)

SALESFORCE_OPPORTUNITIES = CsvExtract(
    source="salesforce",
    file_name="Opportunity.csv",
    table="salesforce_opportunities",
    columns=(
        Column("Id", "opportunity_id", Kind.ID, required=True, aliases=("Opportunity ID",)),
        Column("Name", "opportunity_name", aliases=("Opportunity Name",)),
        Column(
            "CreatedDate",
            "created_at",
            Kind.TIMESTAMP,
            required=True,
            not_after_extract_day=True,
            aliases=("Created Date",),
        ),
        Column(
            "LastModifiedDate",
            "modified_at",
            Kind.TIMESTAMP,
            required=True,
            not_after_extract_day=True,
            aliases=("Last Modified Date",),
        ),
        Column("StageName", "stage_name", aliases=("Stage",)),
        Column(
            "IsWon", "is_won", Kind.BOOLEAN, required=True, empty_is_false=True, aliases=("Won",)
        ),
        Column(
            "IsClosed",
            "is_closed",
            Kind.BOOLEAN,
            required=True,
            empty_is_false=True,
            aliases=("Closed",),
        ),
        Column("Amount", "amount", Kind.DECIMAL),
        Column("CurrencyIsoCode", "currency", aliases=("Opportunity Currency",)),
        Column("CloseDate", "close_date", Kind.DATE, aliases=("Close Date",)),
        Column("CampaignId", "campaign_id", Kind.ID, aliases=("Campaign ID",)),
        Column("IsDeleted", "is_deleted", Kind.BOOLEAN, empty_is_false=True, aliases=("Deleted",)),
    ),
    jsonl_name="Opportunity.jsonl",
)

CSV_EXTRACTS: tuple[CsvExtract, ...] = (
    HUBSPOT_CONTACTS,
    HUBSPOT_DEALS,
    ADS_SPEND,
    SOCIAL_POSTS,
    NPS_RESPONSES,
    ORDERS,
    SALESFORCE_LEADS,
    SALESFORCE_OPPORTUNITIES,
    GOOGLE_ADS,
    META_ADS,
)

GA4_SOURCE = "ga4"
GA4_TABLE = "ga4_events"
# Daily (`events_YYYYMMDD`) and intraday (`events_intraday_YYYYMMDD`) tables, as NDJSON
# (optionally gzipped) or Parquet. Staging keeps the latest delivery of each table and
# drops an intraday table once the daily table of the same date has arrived.
GA4_FILE_GLOBS = ("events_*.json", "events_*.json.gz", "events_*.parquet")

# GA4's BigQuery export schema, as far as the pipeline reads it. INT64 fields arrive
# as JSON strings in real exports, so they are read as text and typed in staging.
GA4_JSON_COLUMNS: dict[str, str] = {
    "event_date": "VARCHAR",
    "event_timestamp": "VARCHAR",
    "event_name": "VARCHAR",
    "user_pseudo_id": "VARCHAR",
    "event_params": (
        "STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value VARCHAR,"
        " float_value DOUBLE, double_value DOUBLE))[]"
    ),
    "traffic_source": "STRUCT(name VARCHAR, medium VARCHAR, source VARCHAR)",
    "geo": "STRUCT(country VARCHAR)",
    "device": "STRUCT(category VARCHAR)",
    "ecommerce": "STRUCT(purchase_revenue DOUBLE, transaction_id VARCHAR)",
}

LINEAGE_COLUMNS_DDL = (
    "_extract_date DATE NOT NULL, _source_file VARCHAR NOT NULL,"
    " _row_number BIGINT NOT NULL, _loaded_at TIMESTAMPTZ NOT NULL"
)
