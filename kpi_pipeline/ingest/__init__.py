"""Ingest: landing-zone extracts into raw warehouse tables, with lineage and a quarantine."""
