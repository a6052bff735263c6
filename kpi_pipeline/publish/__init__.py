"""Publish: the day's immutable KPI snapshot for stakeholders."""
