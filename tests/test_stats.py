"""Wilson score intervals, Newcombe differences and the rank AUC (dynlatch._stats) against hand-computed values,
published examples and their defining properties."""

import math

import numpy as np
import pytest

from dynlatch._stats import Z95, difference_interval, roc_auc, wilson_interval


def test_wilson_8_of_10_by_hand():
    # p = 0.8, z = 1.96: centre = (0.8 + 0.19208) / 1.38416 = 0.716738, half = 1.96 / 1.38416 * sqrt(0.016 + 0.009604)
    # = 1.416021 * 0.160012 = 0.226581  ->  (0.490157, 0.943319)  (the textbook 8/10: 0.4902 to 0.9433)
    assert wilson_interval(8, 10, z=1.96) == pytest.approx((0.490157, 0.943319), abs=1e-6)


@pytest.mark.parametrize("k, n", [(0, 10), (10, 10), (3, 7), (1, 30), (29, 30), (15, 30)])
def test_wilson_bounds_solve_the_score_equation(k, n):
    """The Wilson bounds are the p with |k/n - p| = z sqrt(p (1 - p) / n) (an independent characterisation)."""
    lo, hi = wilson_interval(k, n)
    for p in (lo, hi):
        if 1e-9 < p < 1 - 1e-9:  # (at k = 0 or n one bound is 0 or 1 itself)
            assert abs(k / n - p) == pytest.approx(Z95 * math.sqrt(p * (1 - p) / n), rel=1e-9)
    assert 0 <= lo <= k / n <= hi <= 1


def test_wilson_edge_cases_and_bad_counts():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == pytest.approx(1.0)
    for k, n in [(-1, 5), (6, 5), (1, -1)]:
        with pytest.raises(ValueError):
            wilson_interval(k, n)


def test_auc_hand_checked():
    # positives 0.35, 0.8; negatives 0.1, 0.4: pairs (0.35 > 0.1), (0.35 < 0.4), (0.8 > 0.1), (0.8 > 0.4) -> 3/4
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    # ties count 1/2: positives 1, 2; negative 1 -> (1/2 + 1) / 2
    assert roc_auc([1.0, 1.0, 2.0], [0, 1, 1]) == 0.75
    assert roc_auc([0.0, 1.0], [0, 1]) == 1.0 and roc_auc([1.0, 0.0], [0, 1]) == 0.0


def test_auc_equals_brute_force_probability_and_flips():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 5, size=40).astype(float)  # many ties
    y = rng.random(40) < 0.4
    pos, neg = s[y], s[~y]
    brute = np.mean([1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg])
    assert math.isclose(roc_auc(s, y), brute)
    assert math.isclose(roc_auc(-s, y), 1 - brute)


@pytest.mark.parametrize("scores, labels", [([1.0, 2.0], [1, 1]), ([1.0, np.nan], [0, 1]), ([1.0], [0, 1])])
def test_auc_rejects_bad_input(scores, labels):
    with pytest.raises(ValueError):
        roc_auc(scores, labels)


def test_difference_interval_newcombe_example():
    # Newcombe (1998), Stat. Med. 17:873, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339
    d, lo, hi = difference_interval(56, 70, 48, 80)
    assert math.isclose(d, 0.2)
    assert abs(lo - 0.0524) < 5e-4 and abs(hi - 0.3339) < 5e-4
