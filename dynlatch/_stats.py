"""Small statistics for summaries."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.stats import rankdata

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


def difference_interval(k1: int, n1: int, k0: int, n0: int) -> tuple[float, float, float]:
    """Difference p1 - p0 of two proportions with Newcombe's (1998, method 10) hybrid Wilson 95% interval.

    Returns:
        (difference, low, high).
    """
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson_interval(k1, n1)
    l0, u0 = wilson_interval(k0, n0)
    d = p1 - p0
    return d, d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve by ranks: P(score of a random positive > score of a random negative), ties 1/2
    (the Mann-Whitney U statistic over n_pos n_neg, from mid-ranks; Hanley & McNeil 1982).

    Raises:
        ValueError: if the lengths differ, a score is not finite, or either class is empty.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError(f"scores and labels must be 1-D of equal length; got {s.shape} and {y.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    pos, neg = s[y], s[~y]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("labels must contain both classes")
    ranks = rankdata(np.concatenate([pos, neg]))  # mid-ranks: tied scores share their mean rank, a pair counts 1/2
    u = ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))
