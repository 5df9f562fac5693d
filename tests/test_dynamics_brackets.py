"""Bracketing root finders (dynlatch.dynamics._brackets) against roots known independently: the Dottie number
cos(x) = x and sqrt(2) from mpmath at 50 digits, and a label change placed exactly."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from numba import njit

from dynlatch.dynamics._brackets import bisect, bisect_sign_change, illinois

mpmath.mp.dps = 50
DOTTIE = float(mpmath.findroot(lambda x: mpmath.cos(x) - x, 0.7))
SQRT2 = float(mpmath.sqrt(2))


@njit(cache=True)
def _cos_gap(x, scale):
    return scale * (math.cos(x) - x)


@njit(cache=True)
def _square_gap(x, c):
    return x * x - c


def _adjacent_or_equal(x: float, root: float) -> bool:
    return abs(x - root) <= 2 * math.ulp(root)


@pytest.mark.parametrize("scale", [1.0, -3.0])
def test_compiled_bisection_reaches_the_root_to_adjacent_floats(scale):
    sign_a = 1 if scale > 0 else -1  # cos(0) - 0 = 1
    assert _adjacent_or_equal(bisect_sign_change(_cos_gap, (scale,), 0.0, 1.0, sign_a), DOTTIE)


def test_illinois_reaches_the_root_to_adjacent_floats():
    x = illinois(_square_gap, (2.0,), 1.0, 2.0, -1.0, 2.0)
    assert _adjacent_or_equal(x, SQRT2)
    assert illinois(_square_gap, (2.25,), 0.0, 3.0, -2.25, 6.75) == 1.5  # an exact root is returned as it is


def test_vectorised_bisection_finds_every_bracketed_root():
    c = np.array([2.0, 3.0, 0.25, 9.0])
    sign_a = np.sign(0.0 - c)

    def side(mid):
        g = mid * mid - c
        return np.where(g == 0, 0, np.where(np.sign(g) == sign_a, -1, 1))

    a, b = bisect(side, np.zeros(4), np.full(4, 4.0), iterations=80)
    np.testing.assert_allclose(0.5 * (a + b), [SQRT2, float(mpmath.sqrt(3)), 0.5, 3.0], rtol=0, atol=1e-15)
    assert a[3] == b[3] == 3.0  # the exact root collapses its bracket


def test_vectorised_bisection_stops_at_the_tolerance():
    step = 0.3141592653589793
    calls = []

    def side(mid):
        calls.append(float(mid))
        return -1 if mid < step else 1

    a, b = bisect(side, 0.0, 1.0, tol=1e-6)
    assert float(a) <= step <= float(b) and 0.5e-6 < float(b - a) <= 1e-6
    assert len(calls) == math.ceil(math.log2(1.0 / 1e-6))


def test_vectorised_bisection_needs_a_bound():
    with pytest.raises(ValueError, match="iterations or a positive tol"):
        bisect(lambda m: -1, 0.0, 1.0)
