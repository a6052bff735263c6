{#-
  GA4's default channel grouping, rules in Google's documented order (first match wins):
  https://support.google.com/analytics/answer/9756891
  `source_category` comes from the ga4_source_categories seed (SOURCE_CATEGORY_*).
-#}
{% macro default_channel_group(source, medium, campaign, source_category) -%}
    {%- set paid = regexp_contains(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') -%}
    {%- set shop_campaign = regexp_contains(
        "lower(coalesce(" ~ campaign ~ ", ''))", '^(.*(([^a-df-z]|^)shop|shopping).*)$'
    ) -%}
    case
        when {{ source }} = '(direct)' and {{ medium }} in ('(none)', '(not set)') then 'Direct'
        when lower(coalesce({{ campaign }}, '')) like '%cross-network%' then 'Cross-network'
        when ({{ source_category }} = 'SOURCE_CATEGORY_SHOPPING' or {{ shop_campaign }}) and {{ paid }}
            then 'Paid Shopping'
        when {{ source_category }} = 'SOURCE_CATEGORY_SEARCH' and {{ paid }} then 'Paid Search'
        when {{ source_category }} = 'SOURCE_CATEGORY_SOCIAL' and {{ paid }} then 'Paid Social'
        when {{ source_category }} = 'SOURCE_CATEGORY_VIDEO' and {{ paid }} then 'Paid Video'
        when {{ medium }} in ('display', 'banner', 'expandable', 'interstitial', 'cpm') then 'Display'
        when {{ paid }} then 'Paid Other'
        when {{ source_category }} = 'SOURCE_CATEGORY_SHOPPING' or {{ shop_campaign }} then 'Organic Shopping'
        when {{ source_category }} = 'SOURCE_CATEGORY_SOCIAL'
            or {{ medium }} in ('social', 'social-network', 'social-media', 'sm', 'social network', 'social media')
            then 'Organic Social'
        when {{ source_category }} = 'SOURCE_CATEGORY_VIDEO' or {{ regexp_contains(medium, '^(.*video.*)$') }}
            then 'Organic Video'
        when {{ source_category }} = 'SOURCE_CATEGORY_SEARCH' or {{ medium }} = 'organic' then 'Organic Search'
        when {{ medium }} in ('referral', 'app', 'link') then 'Referral'
        when {{ source }} in ('email', 'e-mail', 'e_mail', 'e mail')
            or {{ medium }} in ('email', 'e-mail', 'e_mail', 'e mail') then 'Email'
        when {{ medium }} = 'affiliate' then 'Affiliates'
        when {{ medium }} = 'audio' then 'Audio'
        when {{ source }} = 'sms' or {{ medium }} = 'sms' then 'SMS'
        when {{ medium }} like '%push' or {{ medium }} like '%mobile%' or {{ medium }} like '%notification%'
            or {{ source }} = 'firebase' then 'Mobile Push Notifications'
        else 'Unassigned'
    end
{%- endmacro %}
