{#- Generated from kpis.yml by kpi_pipeline/kpis/derive.py; do not edit by hand.
    The KPI catalogue as data for the macros of macros/kpi_facts.sql. -#}
{% macro kpi_catalogue() -%}
    {{ return(fromjson('{
 "semantic_models": {
  "sessions": {
   "relation": "int_ga4__sessions",
   "date": "session_date",
   "dimensions": {
    "channel": "channel",
    "country": "country",
    "source": "session_source"
   }
  },
  "orders": {
   "relation": "int_orders__orders",
   "date": "placed_date",
   "dimensions": {}
  },
  "order_attributions": {
   "relation": "int_orders__attribution",
   "date": "placed_date",
   "dimensions": {
    "campaign": "campaign"
   }
  },
  "acquisitions": {
   "relation": "int_customers__acquisitions",
   "date": "acquisition_date",
   "dimensions": {}
  },
  "ad_spend_lines": {
   "relation": "int_ads__spend",
   "date": "spend_date",
   "dimensions": {
    "campaign": "campaign",
    "channel": "channel"
   }
  },
  "marketing_costs": {
   "relation": "int_marketing__costs_daily",
   "date": "cost_date",
   "dimensions": {}
  },
  "social_posts": {
   "relation": "int_social__posts",
   "date": "post_date",
   "dimensions": {
    "source": "platform"
   }
  },
  "leads": {
   "relation": "int_crm__leads",
   "date": "created_date",
   "dimensions": {
    "source": "lead_source"
   }
  },
  "deals": {
   "relation": "int_crm__deals",
   "date": "closed_date",
   "dimensions": {}
  },
  "nps_responses": {
   "relation": "int_nps__responses",
   "date": "submitted_date",
   "dimensions": {}
  }
 },
 "metrics": {
  "sessions": {
   "semantic_model": "sessions",
   "agg": "count",
   "expr": null,
   "filter": null,
   "date": "session_date",
   "additive": true,
   "sources": {
    "ga4": [
     "ga4"
    ]
   }
  },
  "converting_sessions": {
   "semantic_model": "sessions",
   "agg": "count",
   "expr": null,
   "filter": "is_converted",
   "date": "session_date",
   "additive": true,
   "sources": {
    "ga4": [
     "ga4"
    ]
   }
  },
  "users": {
   "semantic_model": "sessions",
   "agg": "count_distinct",
   "expr": "user_pseudo_id",
   "filter": null,
   "date": "session_date",
   "additive": false,
   "sources": {
    "ga4": [
     "ga4"
    ]
   }
  },
  "purchasing_users": {
   "semantic_model": "sessions",
   "agg": "count_distinct",
   "expr": "user_pseudo_id",
   "filter": "is_converted",
   "date": "session_date",
   "additive": false,
   "sources": {
    "ga4": [
     "ga4"
    ]
   }
  },
  "organic_sessions": {
   "semantic_model": "sessions",
   "agg": "count",
   "expr": null,
   "filter": "channel = \'Organic Search\'",
   "date": "session_date",
   "additive": true,
   "sources": {
    "ga4": [
     "ga4"
    ]
   }
  },
  "ad_spend": {
   "semantic_model": "ad_spend_lines",
   "agg": "sum",
   "expr": "spend",
   "filter": "is_reporting_currency",
   "date": "spend_date",
   "additive": true,
   "sources": {
    "ads": [
     "ads"
    ]
   }
  },
  "other_marketing_costs": {
   "semantic_model": "marketing_costs",
   "agg": "sum",
   "expr": "daily_amount",
   "filter": "is_reporting_currency",
   "date": "cost_date",
   "additive": true,
   "sources": {}
  },
  "acquired_customers": {
   "semantic_model": "acquisitions",
   "agg": "count",
   "expr": null,
   "filter": null,
   "date": "acquisition_date",
   "additive": true,
   "sources": {
    "orders": [
     "orders"
    ]
   }
  },
  "attributed_revenue": {
   "semantic_model": "order_attributions",
   "agg": "sum",
   "expr": "net_amount",
   "filter": "is_paid and not is_cancelled",
   "date": "placed_date",
   "additive": true,
   "sources": {
    "orders": [
     "orders"
    ],
    "ga4": [
     "ga4"
    ]
   }
  },
  "social_engagements": {
   "semantic_model": "social_posts",
   "agg": "sum",
   "expr": "engagements",
   "filter": null,
   "date": "post_date",
   "additive": true,
   "sources": {
    "social": [
     "social"
    ]
   }
  },
  "social_impressions": {
   "semantic_model": "social_posts",
   "agg": "sum",
   "expr": "impressions",
   "filter": null,
   "date": "post_date",
   "additive": true,
   "sources": {
    "social": [
     "social"
    ]
   }
  },
  "leads_created": {
   "semantic_model": "leads",
   "agg": "count",
   "expr": null,
   "filter": null,
   "date": "created_date",
   "additive": true,
   "sources": {
    "crm": [
     "hubspot",
     "salesforce"
    ]
   }
  },
  "leads_converted": {
   "semantic_model": "leads",
   "agg": "count",
   "expr": null,
   "filter": "is_customer",
   "date": "created_date",
   "additive": true,
   "sources": {
    "crm": [
     "hubspot",
     "salesforce"
    ]
   }
  },
  "deals_won": {
   "semantic_model": "deals",
   "agg": "count",
   "expr": null,
   "filter": "outcome = \'won\'",
   "date": "closed_date",
   "additive": true,
   "sources": {
    "crm": [
     "hubspot",
     "salesforce"
    ]
   }
  },
  "deals_closed": {
   "semantic_model": "deals",
   "agg": "count",
   "expr": null,
   "filter": "outcome in (\'won\', \'lost\')",
   "date": "closed_date",
   "additive": true,
   "sources": {
    "crm": [
     "hubspot",
     "salesforce"
    ]
   }
  },
  "net_revenue": {
   "semantic_model": "orders",
   "agg": "sum",
   "expr": "net_amount",
   "filter": "not is_cancelled",
   "date": "placed_date",
   "additive": true,
   "sources": {
    "orders": [
     "orders"
    ]
   }
  },
  "orders": {
   "semantic_model": "orders",
   "agg": "count",
   "expr": null,
   "filter": "not is_cancelled",
   "date": "placed_date",
   "additive": true,
   "sources": {
    "orders": [
     "orders"
    ]
   }
  },
  "nps_promoters_minus_detractors": {
   "semantic_model": "nps_responses",
   "agg": "sum",
   "expr": "case respondent_type when \'promoter\' then 1 when \'detractor\' then -1 else 0 end",
   "filter": null,
   "date": "submitted_date",
   "additive": true,
   "sources": {
    "nps": [
     "nps"
    ]
   }
  },
  "nps_responses": {
   "semantic_model": "nps_responses",
   "agg": "count",
   "expr": null,
   "filter": null,
   "date": "submitted_date",
   "additive": true,
   "sources": {
    "nps": [
     "nps"
    ]
   }
  },
  "processing_hours": {
   "semantic_model": "orders",
   "agg": "sum",
   "expr": "processing_hours",
   "filter": "not is_cancelled",
   "date": "fulfilled_date",
   "additive": true,
   "sources": {
    "orders": [
     "orders"
    ]
   }
  },
  "fulfilled_orders": {
   "semantic_model": "orders",
   "agg": "count",
   "expr": null,
   "filter": "not is_cancelled",
   "date": "fulfilled_date",
   "additive": true,
   "sources": {
    "orders": [
     "orders"
    ]
   }
  }
 },
 "kpis": [
  {
   "id": "session_conversion_rate",
   "numerator": [
    [
     1,
     "converting_sessions"
    ]
   ],
   "denominator": [
    [
     1,
     "sessions"
    ]
   ],
   "dimensions": [
    "channel",
    "country"
   ],
   "additive": true,
   "chain": []
  },
  {
   "id": "user_conversion_rate",
   "numerator": [
    [
     1,
     "purchasing_users"
    ]
   ],
   "denominator": [
    [
     1,
     "users"
    ]
   ],
   "dimensions": [],
   "additive": false,
   "chain": []
  },
  {
   "id": "cost_per_acquisition",
   "numerator": [
    [
     1,
     "ad_spend"
    ]
   ],
   "denominator": [
    [
     1,
     "acquired_customers"
    ]
   ],
   "dimensions": [],
   "additive": true,
   "chain": []
  },
  {
   "id": "customer_acquisition_cost",
   "numerator": [
    [
     1,
     "ad_spend"
    ],
    [
     1,
     "other_marketing_costs"
    ]
   ],
   "denominator": [
    [
     1,
     "acquired_customers"
    ]
   ],
   "dimensions": [],
   "additive": true,
   "chain": []
  },
  {
   "id": "return_on_ad_spend",
   "numerator": [
    [
     1,
     "attributed_revenue"
    ]
   ],
   "denominator": [
    [
     1,
     "ad_spend"
    ]
   ],
   "dimensions": [
    "campaign"
   ],
   "additive": true,
   "chain": []
  },
  {
   "id": "marketing_roi",
   "numerator": [
    [
     1,
     "attributed_revenue"
    ],
    [
     -1,
     "ad_spend"
    ]
   ],
   "denominator": [
    [
     1,
     "ad_spend"
    ]
   ],
   "dimensions": [
    "campaign"
   ],
   "additive": true,
   "chain": []
  },
  {
   "id": "social_engagement_rate",
   "numerator": [
    [
     1,
     "social_engagements"
    ]
   ],
   "denominator": [
    [
     1,
     "social_impressions"
    ]
   ],
   "dimensions": [
    "source"
   ],
   "additive": true,
   "chain": []
  },
  {
   "id": "organic_traffic",
   "numerator": [
    [
     1,
     "organic_sessions"
    ]
   ],
   "denominator": [],
   "dimensions": [
    "source"
   ],
   "additive": true,
   "chain": []
  },
  {
   "id": "lead_to_customer_rate",
   "numerator": [
    [
     1,
     "leads_converted"
    ]
   ],
   "denominator": [
    [
     1,
     "leads_created"
    ]
   ],
   "dimensions": [
    "source"
   ],
   "additive": true,
   "chain": []
  },
  {
   "id": "deal_win_rate",
   "numerator": [
    [
     1,
     "deals_won"
    ]
   ],
   "denominator": [
    [
     1,
     "deals_closed"
    ]
   ],
   "dimensions": [],
   "additive": true,
   "chain": []
  },
  {
   "id": "net_revenue",
   "numerator": [
    [
     1,
     "net_revenue"
    ]
   ],
   "denominator": [],
   "dimensions": [],
   "additive": true,
   "chain": [
    {
     "name": "sessions",
     "numerator": "sessions",
     "denominator": null
    },
    {
     "name": "orders_per_session",
     "numerator": "orders",
     "denominator": "sessions"
    },
    {
     "name": "average_order_value",
     "numerator": "net_revenue",
     "denominator": "orders"
    }
   ]
  },
  {
   "id": "average_order_value",
   "numerator": [
    [
     1,
     "net_revenue"
    ]
   ],
   "denominator": [
    [
     1,
     "orders"
    ]
   ],
   "dimensions": [],
   "additive": true,
   "chain": []
  },
  {
   "id": "nps",
   "numerator": [
    [
     1,
     "nps_promoters_minus_detractors"
    ]
   ],
   "denominator": [
    [
     1,
     "nps_responses"
    ]
   ],
   "dimensions": [],
   "additive": true,
   "chain": []
  },
  {
   "id": "avg_order_processing_hours",
   "numerator": [
    [
     1,
     "processing_hours"
    ]
   ],
   "denominator": [
    [
     1,
     "fulfilled_orders"
    ]
   ],
   "dimensions": [],
   "additive": true,
   "chain": []
  }
 ]
}')) }}
{%- endmacro %}
