"""Running the pipeline unattended: landing-zone sensor, ingest retries, freshness checks."""
