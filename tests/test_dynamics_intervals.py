"""Interval arithmetic (dynlatch.dynamics._intervals) against points: every enclosure holds the function's values at
points sampled in its interval, computed independently (mpmath at 50 digits for the outward roundings, which must
hold the exact value; numpy / finite differences for the plain ones, which hold the float values)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from dynlatch.dynamics import _intervals as iv

FUZZ = settings(max_examples=300, deadline=None, derandomize=True)
mpmath.mp.dps = 50

finite = st.floats(-30, 30, allow_nan=False)
interval = st.tuples(finite, finite).map(sorted)
HARD = {1: 0.2, 2: 1.0 / 6.0}


def _points(lo: float, hi: float, k: int = 41) -> np.ndarray:
    return np.unique(np.concatenate([np.linspace(lo, hi, k), [lo, hi]]))


def _gate(z, code):
    if code == 0:
        return 1 / (1 + mpmath.exp(-mpmath.mpf(z)))
    return min(max(HARD[code] * mpmath.mpf(z) + mpmath.mpf(1) / 2, 0), 1)


def _within(value, lo, hi) -> bool:
    return mpmath.mpf(lo) <= value <= mpmath.mpf(hi)


@FUZZ
@given(interval, interval)
def test_mul_holds_every_product_and_is_the_hull_of_the_end_products(a, b):
    lo, hi = iv.mul(a[0], a[1], b[0], b[1])
    ends = [x * y for x in a for y in b]
    assert (lo, hi) == (min(ends), max(ends))
    for x in _points(*a, 7):
        for y in _points(*b, 7):
            assert lo <= x * y <= hi


def test_an_undefined_product_is_the_whole_line():
    assert iv.mul(0.0, 1.0, 1.0, math.inf) == (-math.inf, math.inf)
    assert iv.mul_out(0.0, 1.0, 1.0, math.inf) == (-math.inf, math.inf)


def test_the_unbounded_product_takes_zero_times_infinity_as_zero():
    lo, hi = iv.mul_unbounded_out(0.0, 2.0, 1.0, math.inf)
    assert lo <= 0.0 and hi == math.inf


@FUZZ
@given(finite, finite, interval)
def test_affine_enclosures_hold_the_exact_values(offset, slope, h):
    plain = iv.affine_range(offset, slope, *h)
    out = iv.affine_out(offset, slope, *h)
    for x in _points(*h, 9):
        assert plain[0] <= offset + slope * x <= plain[1]
        assert _within(mpmath.mpf(offset) + mpmath.mpf(slope) * mpmath.mpf(x), *out)


@FUZZ
@given(interval, st.sampled_from([0, 1, 2]))
@example([-3.0, -3.0], 2)  # s z + 1/2 cancels: exactly 2.8e-17 with s = fl(1/6), 0 in floating point
@example([-2.5, -2.5], 1)  # and below the clip: exactly -2.8e-17 with s = fl(0.2), so the gate is 0
def test_gate_and_slope_enclosures_hold_the_values_and_derivatives(z, code):
    glo, ghi = iv.gate_out(*z, code)
    slo, shi = iv.gate_slope_range(*z, code)
    olo, ohi = iv.gate_slope_out(*z, code)
    for x in _points(*z):
        assert _within(_gate(x, code), glo, ghi)
        assert glo <= iv.gate_value(x, code) <= ghi
        if code == 0:
            d = mpmath.diff(lambda t: _gate(t, 0), mpmath.mpf(x))
        else:
            kink = 0.5 / HARD[code]
            if abs(abs(x) - kink) < 1e-9:
                continue  # Clarke derivative [0, s] there: checked below
            d = HARD[code] if abs(x) < kink else 0.0
        assert slo - 1e-15 <= d <= shi + 1e-15
        assert _within(d, olo, ohi)


def test_a_hard_gates_slope_across_a_kink_is_the_clarke_interval():
    for code, s in HARD.items():
        kink = 0.5 / s
        assert iv.gate_slope_range(kink - 0.1, kink + 0.1, code) == (0.0, s)
        assert iv.gate_slope_range(-kink + 0.1, kink - 0.1, code) == (s, s)
        assert iv.gate_slope_range(kink + 0.1, kink + 1.0, code) == (0.0, 0.0)
        assert iv.gate_slope_out(-0.5 * kink, kink * (1 - 1e-14), code) == (0.0, s)  # within the margin: not linear
        assert iv.gate_slope_range(-0.5 * kink, kink * (1 - 1e-14), code) == (s, s)  # the plain one has no margin


@FUZZ
@given(interval)
def test_tanh_and_its_slope_enclosures_hold_the_exact_values(z):
    tlo, thi = iv.tanh_out(*z)
    slo, shi = iv.sech2_range(*z)
    qlo, qhi = iv.one_minus_square_out(*iv.tanh_out(*z))
    for x in _points(*z):
        t = mpmath.tanh(mpmath.mpf(x))
        assert _within(t, tlo, thi)
        assert slo * (1 - 1e-15) <= float(1 - t * t) <= shi * (1 + 1e-15) + 1e-300
        assert _within(1 - t * t, qlo, qhi)


@FUZZ
@given(st.tuples(st.floats(-0.999, 0.999), st.floats(-0.999, 0.999)).map(sorted))
def test_artanh_enclosure_holds_the_exact_values(u):
    lo, hi = iv.artanh_out(*u)
    for x in _points(*u, 9):
        assert _within(mpmath.atanh(mpmath.mpf(x)), lo, hi)
    assert iv.artanh_out(-1.0, 1.0) == (-math.inf, math.inf)


@FUZZ
@given(interval, st.floats(1e-3, 10.0))
def test_tanh_of_a_ratio_enclosure_holds_the_exact_values(n, d_hi):
    lo, hi = iv.tanh_ratio_out(*n, d_hi)
    for x in _points(*n, 9):
        for d in (d_hi, d_hi / 3, d_hi / 100):
            assert _within(mpmath.tanh(mpmath.mpf(x) / mpmath.mpf(d)), lo, hi)


@FUZZ
@given(st.tuples(st.floats(-1, 1), st.floats(-1, 1)).map(sorted),
       st.tuples(st.floats(1e-3, 1), st.floats(1e-3, 1)).map(sorted))
def test_clipped_ratio_enclosure_holds_the_exact_values(h, o):
    lo, hi = iv.ratio_clipped_out(*h, *o)
    proved_empty = lo >= 1.0 or hi <= -1.0
    for x in _points(*h, 7):
        for y in _points(*o, 7):
            r = mpmath.mpf(x) / mpmath.mpf(y)
            if abs(r) < 1:
                assert not proved_empty and _within(r, lo, hi)


@pytest.mark.parametrize("x", [0.0, 1.0, -3.5, 1e300, -1e-300])
def test_outward_steps_move_strictly_outward(x):
    assert iv.down(x) < x < iv.up(x)


@FUZZ
@given(interval, interval, interval, interval)
def test_sums_of_products_hold_the_exact_values(a, b, c, d):
    lo, hi = iv.product_sum_out(*a, *b, *c, *d)
    for p in (a[0], a[1]):
        for q in (b[0], b[1]):
            for r in (c[0], c[1]):
                for s in (d[0], d[1]):
                    assert _within(mpmath.mpf(p) * q + mpmath.mpf(r) * s, lo, hi)
