"""Wilson score intervals (dynlatch._stats) against hand-computed values and their defining property."""

import math

import pytest

from dynlatch._stats import Z95, wilson_interval


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
