"""Small statistics for summaries."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.stats import binomtest, rankdata

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


def _count(name: str, value: int) -> int:
    """``value`` as a non-negative int (bools and non-integral numbers are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a non-negative integer count; got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer count; got {value}")
    return int(value)


def mcnemar_exact(gained: int, lost: int) -> float:
    """Exact two-sided McNemar p-value from the discordant pairs of a paired comparison.

    Under the null hypothesis of equal marginal proportions each of the ``b + c`` discordant pairs falls either way with
    probability 1/2, so the test is the two-sided binomial test of ``b`` successes in ``b + c`` trials at 1/2
    (McNemar 1947; the exact, conditional form: Fagerland, Lydersen & Laake 2013, BMC Med. Res. Methodol. 13:91). By the
    symmetry of Binomial(m, 1/2) the p-value is ``min(1, 2 P(X <= min(b, c)))``; it is computed here with
    ``scipy.stats.binomtest(b, b + c, 0.5).pvalue``.

    Parameters
    ----------
    gained : int
        b, the pairs where the first configuration succeeds and the second fails (>= 0).
    lost : int
        c, the pairs where the second succeeds and the first fails (>= 0).

    Returns
    -------
    float
        The two-sided p-value; 1.0 when there are no discordant pairs (b + c = 0).

    Raises
    ------
    ValueError
        If a count is negative or not an integer.
    """
    b, c = _count("gained", gained), _count("lost", lost)
    if b + c == 0:
        return 1.0
    return float(min(1.0, binomtest(b, b + c, 0.5, alternative="two-sided").pvalue))


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, controlling the family-wise error rate.

    With the m p-values sorted ascending, p_(0) <= ... <= p_(m-1), the adjusted value of the i-th smallest (0-based) is
    ``min(1, max_{j <= i} (m - j) p_(j))`` (Holm 1979, Scand. J. Statist. 6:65-70; the adjusted-p form of Wright 1992,
    Biometrics 48:1005-1013); rejecting where the adjusted value is <= alpha is Holm's procedure at level alpha.

    Parameters
    ----------
    pvalues : array_like of float
        1-D p-values in [0, 1]. NaN entries are not members of the family: they stay NaN and do not count in m.

    Returns
    -------
    numpy.ndarray
        The adjusted p-values (float), in the input order.

    Raises
    ------
    ValueError
        If the input is not 1-D or a non-NaN entry is outside [0, 1].
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be 1-D; got shape {p.shape}")
    present = ~np.isnan(p)
    if ((p[present] < 0) | (p[present] > 1)).any():
        raise ValueError("p-values must lie in [0, 1] (or be NaN)")
    out = np.full(p.shape, np.nan)
    family = p[present]
    m = family.size
    if m == 0:
        return out
    order = np.argsort(family, kind="stable")
    scaled = (m - np.arange(m)) * family[order]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    out[present] = adjusted
    return out


def paired_difference_interval(
    both: int, first_only: int, second_only: int, neither: int, *, z: float = Z95
) -> tuple[float, float, float]:
    """Difference p1 - p2 of two paired proportions with Newcombe's (1998, method 10) hybrid score interval.

    Each of n units is scored twice (e.g. two configurations on the same items): ``both`` (e) succeed under both,
    ``first_only`` (f) under the first only, ``second_only`` (g) under the second only, ``neither`` (h) under neither;
    p1 = (e + f)/n, p2 = (e + g)/n and the difference is (f - g)/n. Newcombe, R. G. (1998), "Improved confidence
    intervals for the difference between binomial proportions based on paired data", Statistics in Medicine
    17:2635-2650, method 10: with [l1, u1] and [l2, u2] the Wilson score intervals of p1 and p2,

        low  = d - sqrt((p1 - l1)^2 - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)^2),
        high = d + sqrt((u1 - p1)^2 - 2 phi (u1 - p1)(p2 - l2) + (p2 - l2)^2),

    where phi = (eh - fg) / sqrt((e+f)(g+h)(e+g)(f+h)) is the correlation of the two outcomes, with the numerator
    replaced by max(eh - fg - n/2, 0) when eh > fg (the continuity-corrected phi that distinguishes method 10 from
    method 8; a negative eh - fg is left uncorrected), and phi = 0 when a margin is zero (the denominator vanishes).
    The same interval is ``moverpairci(type="wilson", corc=TRUE)`` in R's ratesci and the paired Newcombe
    square-and-add interval of Fagerland, Lydersen & Laake (2014, Statistics in Medicine 33:2850-2875).

    Parameters
    ----------
    both, first_only, second_only, neither : int
        The cells e, f, g, h of the paired 2x2 table (non-negative counts, n = e + f + g + h >= 1).
    z : float, optional
        Normal quantile (default: 95%).

    Returns
    -------
    tuple of float
        (difference, low, high), the limits clipped to [-1, 1].

    Raises
    ------
    ValueError
        If a count is negative or not an integer, or n = 0, or z is not positive and finite.
    """
    e, f = _count("both", both), _count("first_only", first_only)
    g, h = _count("second_only", second_only), _count("neither", neither)
    n = e + f + g + h
    if n == 0:
        raise ValueError("the paired table is empty (n = 0): there is no difference to estimate")
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be positive and finite; got {z}")
    p1, p2 = (e + f) / n, (e + g) / n
    l1, u1 = wilson_interval(e + f, n, z=z)
    l2, u2 = wilson_interval(e + g, n, z=z)
    margins = (e + f) * (g + h) * (e + g) * (f + h)
    if margins == 0:
        phi = 0.0
    else:
        numerator = float(e * h - f * g)
        if numerator > 0:
            numerator = max(numerator - n / 2, 0.0)
        phi = numerator / math.sqrt(margins)
    d = (f - g) / n
    dl1, du1, dl2, du2 = p1 - l1, u1 - p1, p2 - l2, u2 - p2
    below = math.sqrt(max(0.0, dl1 * dl1 - 2 * phi * dl1 * du2 + du2 * du2))
    above = math.sqrt(max(0.0, du1 * du1 - 2 * phi * du1 * dl2 + dl2 * dl2))
    return d, max(-1.0, d - below), min(1.0, d + above)


def bootstrap_auc_interval(
    scores: Sequence[float], labels: Sequence[bool], *, resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Stratified percentile-bootstrap interval for :func:`roc_auc`.

    Positives and negatives are resampled separately with replacement (keeping both class sizes, so every resample
    has both classes), each resample's AUC is the mid-rank Mann-Whitney statistic exactly as in :func:`roc_auc`, and
    the interval is the (1 - level)/2 and (1 + level)/2 quantiles of the resampled AUCs (the percentile interval:
    Efron & Tibshirani 1993, An Introduction to the Bootstrap, ch. 13; stratified resampling for the AUC: Carpenter
    & Bithell 2000, Statistics in Medicine 19:1141-1164, and pROC's ``ci.auc(method="bootstrap")``). Vectorised over
    resamples, in blocks of bounded memory.

    Parameters
    ----------
    scores : sequence of float
        Finite scores, higher meaning more likely positive.
    labels : sequence of bool
        True for the positive class; both classes must occur.
    resamples : int, optional
        Number of bootstrap resamples (>= 1; default 2000).
    level : float, optional
        Confidence level, in (0, 1) (default 0.95).
    seed : int, optional
        Seed of the ``numpy.random.default_rng`` generator; the result is a deterministic function of the inputs.

    Returns
    -------
    tuple of float
        (low, high).

    Raises
    ------
    ValueError
        As :func:`roc_auc` for bad scores or labels, or if ``resamples`` or ``level`` is out of range.
    """
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise ValueError(f"resamples must be a positive integer; got {resamples!r}")
    if not (isinstance(level, (int, float, np.floating)) and 0.0 < level < 1.0):
        raise ValueError(f"level must lie in (0, 1); got {level!r}")
    roc_auc(scores, labels)  # the same validation (shapes, finite scores, both classes)
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    pos, neg = s[y], s[~y]
    n_pos, n_neg = pos.size, neg.size
    rng = np.random.default_rng(seed)
    aucs = np.empty(int(resamples))
    block = max(1, 2_000_000 // (n_pos + n_neg))  # about 16 MB of ranks per block
    for start in range(0, aucs.size, block):
        k = min(block, aucs.size - start)
        sample = np.concatenate([pos[rng.integers(0, n_pos, size=(k, n_pos))],
                                 neg[rng.integers(0, n_neg, size=(k, n_neg))]], axis=1)
        ranks = rankdata(sample, axis=1)  # mid-ranks within each resample, as in roc_auc
        aucs[start:start + k] = (ranks[:, :n_pos].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    tail = (1.0 - level) / 2
    low, high = np.quantile(aucs, [tail, 1.0 - tail])
    return float(low), float(high)
