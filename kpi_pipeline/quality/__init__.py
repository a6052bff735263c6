"""Quality gate: Great Expectations suites run as blocking Dagster asset checks."""
