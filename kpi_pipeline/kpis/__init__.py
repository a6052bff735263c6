"""The KPI catalogue (kpis.yml): definitions, targets and status."""
