"""KPI pipeline."""
