"""Small statistics for summaries."""

from __future__ import annotations

import math

Z95 = 1.959963984540054
"""The standard normal quantile for a two-sided 95% interval."""


def wilson_interval(successes: int, trials: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927; Brown, Cai & DasGupta 2001).

    With p = k / n:  centre = (p + z^2 / 2n) / (1 + z^2 / n),
    half-width = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2).

    Args:
        successes: k, 0 <= k <= n.
        trials: n >= 0; for n = 0 the interval is (0, 1) (no information).
        z: normal quantile (default: 95%).

    Returns:
        (low, high), clipped to [0, 1].

    Raises:
        ValueError: if k or n is impossible.
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials; got successes={successes}, trials={trials}")
    if trials == 0:
        return 0.0, 1.0
    n, p = float(trials), successes / trials
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the ends (rounding would miss them)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high
