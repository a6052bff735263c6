"""`kpi sample`: realistic sample extracts for the landing zone."""

from __future__ import annotations

from pathlib import Path

import typer

from kpi_pipeline.cli.common import console, load_settings, parse_range


def sample(
    start: str = typer.Option(..., help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., help="Last day (inclusive), YYYY-MM-DD."),
    out: Path = typer.Option(None, help="Landing zone to write (default: KPI_LANDING_DIR)."),
    scale: float = typer.Option(
        1.0, help="Volume multiplier: 1 = ~5,000 sessions, 100 orders/day."
    ),
    seed: int = typer.Option(42, help="Random seed; the same seed writes the same files."),
) -> None:
    """Write realistic sample extracts into the landing zone.

    Example: kpi sample --start 2025-01-01 --end 2025-03-31 --out data/landing --scale 0.5
    """
    from kpi_pipeline.sample import generate_sample

    first, last = parse_range(start, end)
    target = out or load_settings().landing_dir
    summary = generate_sample(first, last, target, scale=scale, seed=seed)
    console.print(f"wrote sample extracts for {first} .. {last} to {target}")
    console.print(summary)
