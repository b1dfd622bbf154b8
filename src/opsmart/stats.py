"""Summary statistics shared by the commands that time things (bench, load)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], p: float) -> float:
    """The ``p``-quantile (0 ≤ p ≤ 1) of ``samples``, interpolated between the two nearest ranks.

    The same definition as PostgreSQL's ``percentile_cont`` (which the marts' p95
    columns use), so a p95 means one thing across the project.
    """
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= p <= 1:
        raise ValueError(f"percentile wants 0 <= p <= 1, got {p}")
    ordered = sorted(samples)
    position = p * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
