"""Small numpy helpers for ragged (grouped) arrays."""

from __future__ import annotations

import numpy as np


def group_starts(counts: np.ndarray) -> np.ndarray:
    """Index of the first element of each group when groups of ``counts`` are laid out."""
    return np.cumsum(counts) - counts


def position_in_group(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each group, for groups laid out contiguously."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(group_starts(counts), counts)


def grouped_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group (groups laid out contiguously)."""
    if values.size == 0:
        return values.copy()
    running = np.cumsum(values)
    starts = group_starts(counts)
    before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0)
    return running - np.repeat(before, counts).astype(running.dtype)
