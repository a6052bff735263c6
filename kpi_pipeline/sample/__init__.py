"""Deterministic sample data for the landing zone (``kpi sample``)."""

from kpi_pipeline.sample.generator import DatasetCount, SampleSummary, generate_sample

__all__ = ["DatasetCount", "SampleSummary", "generate_sample"]
