"""Interval arithmetic for the certified searches: enclosures of sums, products, gates, tanh and their slopes.

An *enclosure* of f over [lo, hi] is an interval holding f(h) for every h in [lo, hi]. The gates and tanh are
monotone, so their enclosures are their values at the ends; their slopes sigmoid' = s (1 - s) and tanh' = sech^2 are
even and decreasing in |z|, so theirs are their values at the points of the interval farthest from and nearest to 0
(at most 1/4 and 1); a hard sigmoid clip(s z + 0.5, 0, 1) has slope {s} inside its linear piece, {0} on a flat piece
and [0, s] across a kink (the Clarke generalised derivative, which the mean value inequality needs where the function
is only Lipschitz). Products use the four end products; an undefined one (0 * inf) makes the product (-inf, inf).

The functions come in two roundings, for the two searches that use them:

* **plain** (:func:`mul`, :func:`affine_range`, :func:`gate_slope_range`, :func:`sech2_range`): end points
  computed in ordinary floating point; the caller adds an evaluation allowance for the rounding (the one-unit
  finder's ``eta``, :mod:`dynlatch.dynamics._roots`);
* **outward** (``*_out``): every elementary result widened by a relative :data:`OUTWARD` plus :data:`TINY` (about
  5 ulp, covering the rounding of + - * / and of libm's exp / tanh), so the enclosure is rigorous up to that
  assumption on libm (the LSTM's 2-cycle box search, :mod:`dynlatch.dynamics._lstm_cycles`).

The point gate :func:`gate_value` (sigmoid 1 / (1 + exp(-z)), as ``torch.sigmoid``, or Keras' hard sigmoids) is
here too: the enclosures are its values at the ends.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..cells._compiled import hard_slope

INF = np.inf
OUTWARD = 1e-15  # relative outward widening of every elementary result
TINY = 1e-300


# -- points -----------------------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def gate_value(z: float, code: int) -> float:
    """The gate function (code 0 sigmoid 1 / (1 + exp(-z)), as torch.sigmoid; else clip(s z + 0.5, 0, 1))."""
    if code == 0:
        return 1.0 / (1.0 + np.exp(-z))
    v = hard_slope(code) * z + 0.5
    if v < 0.0:
        return 0.0
    if v > 1.0:
        return 1.0
    return v


@njit(cache=True, error_model="numpy")
def sigmoid_slope(z: float) -> float:
    """sigmoid'(z) = s (1 - s), from exp(-|z|) (no overflow)."""
    t = np.exp(-abs(z))
    return t / ((1.0 + t) * (1.0 + t))


@njit(cache=True, error_model="numpy")
def sech2(z: float) -> float:
    """tanh'(z) = sech^2 z, from exp(-2|z|) (no overflow)."""
    t = np.exp(-2.0 * abs(z))
    return 4.0 * t / ((1.0 + t) * (1.0 + t))


@njit(cache=True, error_model="numpy")
def near_far(lo: float, hi: float) -> tuple[float, float]:
    """|z| at the points of [lo, hi] nearest to and farthest from 0."""
    far = max(abs(lo), abs(hi))
    if lo <= 0.0 <= hi:
        return 0.0, far
    return min(abs(lo), abs(hi)), far


# -- plain enclosures (the caller allows for rounding) ----------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def mul(al: float, ah: float, bl: float, bh: float) -> tuple[float, float]:
    """Interval product; (-inf, inf) where it is undefined (0 * inf)."""
    p1 = al * bl
    p2 = al * bh
    p3 = ah * bl
    p4 = ah * bh
    if p1 != p1 or p2 != p2 or p3 != p3 or p4 != p4:
        return -INF, INF
    return min(min(p1, p2), min(p3, p4)), max(max(p1, p2), max(p3, p4))


@njit(cache=True, error_model="numpy")
def affine_range(offset: float, slope: float, lo: float, hi: float) -> tuple[float, float]:
    """Enclosure of offset + slope h over h in [lo, hi]."""
    a = slope * lo
    b = slope * hi
    return offset + min(a, b), offset + max(a, b)


@njit(cache=True, error_model="numpy")
def gate_slope_range(lo: float, hi: float, code: int, margin: float = 0.0) -> tuple[float, float]:
    """Enclosure of the gate's (Clarke) derivative over pre-activations [lo, hi]. A hard sigmoid's piece is taken as
    linear or flat only ``margin`` (relative to the kink's distance 0.5 / s from 0) inside it."""
    if code == 0:
        near, far = near_far(lo, hi)
        return sigmoid_slope(far), sigmoid_slope(near)
    s = hard_slope(code)
    e = 0.5 / s
    m = margin * e
    if hi <= -e - m or lo >= e + m:
        return 0.0, 0.0
    if lo >= -e + m and hi <= e - m:
        return s, s
    return 0.0, s


@njit(cache=True, error_model="numpy")
def sech2_range(lo: float, hi: float) -> tuple[float, float]:
    """Enclosure of tanh' = sech^2 over [lo, hi]."""
    near, far = near_far(lo, hi)
    return sech2(far), sech2(near)


# -- outward-rounded enclosures ---------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def down(x: float) -> float:
    """x moved down by the outward allowance."""
    return x - (abs(x) * OUTWARD + TINY)


@njit(cache=True, error_model="numpy")
def up(x: float) -> float:
    """x moved up by the outward allowance."""
    return x + (abs(x) * OUTWARD + TINY)


@njit(cache=True, error_model="numpy")
def mul_out(al: float, ah: float, bl: float, bh: float) -> tuple[float, float]:
    """Outward interval product."""
    lo, hi = mul(al, ah, bl, bh)
    return down(lo), up(hi)


@njit(cache=True, error_model="numpy")
def add_out(al: float, ah: float, bl: float, bh: float) -> tuple[float, float]:
    """Outward interval sum."""
    return down(al + bl), up(ah + bh)


@njit(cache=True, error_model="numpy")
def sub_out(al: float, ah: float, bl: float, bh: float) -> tuple[float, float]:
    """Outward interval difference [a] - [b]."""
    return down(al - bh), up(ah - bl)


@njit(cache=True, error_model="numpy")
def dot2_out(a: float, bl: float, bh: float, c: float, dl: float, dh: float) -> tuple[float, float]:
    """Outward enclosure of a [b] + c [d] for numbers a, c."""
    pl, ph = mul_out(a, a, bl, bh)
    ql, qh = mul_out(c, c, dl, dh)
    return add_out(pl, ph, ql, qh)


@njit(cache=True, error_model="numpy")
def product_sum_out(al: float, ah: float, bl: float, bh: float, cl: float, ch: float, dl: float, dh: float
                    ) -> tuple[float, float]:
    """Outward enclosure of [a][b] + [c][d]."""
    pl, ph = mul_out(al, ah, bl, bh)
    ql, qh = mul_out(cl, ch, dl, dh)
    return add_out(pl, ph, ql, qh)


@njit(cache=True, error_model="numpy")
def mul_unbounded_out(al: float, ah: float, bl: float, bh: float) -> tuple[float, float]:
    """Outward interval product allowing infinite ends, with 0 * inf = 0 (closed intervals of reals, unbounded)."""
    lo = INF
    hi = -INF
    for a in (al, ah):
        for b in (bl, bh):
            p = 0.0 if (a == 0.0 or b == 0.0) else a * b
            lo = min(lo, p)
            hi = max(hi, p)
    return down(lo) if np.isfinite(lo) else lo, up(hi) if np.isfinite(hi) else hi


@njit(cache=True, error_model="numpy")
def affine_out(offset: float, slope: float, lo: float, hi: float) -> tuple[float, float]:
    """Outward enclosure of offset + slope h over h in [lo, hi]."""
    if slope >= 0.0:
        pl, ph = down(slope * lo), up(slope * hi)
    else:
        pl, ph = down(slope * hi), up(slope * lo)
    return down(offset + pl), up(offset + ph)


@njit(cache=True, error_model="numpy")
def gate_out(lo: float, hi: float, code: int) -> tuple[float, float]:
    """Outward enclosure of gate(z) over [lo, hi], within [0, 1]. A hard gate whose argument s z + 1/2 is enclosed
    at or beyond a clip is exactly 0 or 1. The argument is enclosed by :func:`affine_out` (product, then sum, each
    rounded outward): near the lower clip s z and 1/2 cancel, and the product's rounding error, up to half an ulp of
    1/2, is then far larger than the result's own ulp (at z = -3, s = fl(1/6): exactly 2.8e-17, computed 0)."""
    if code != 0:
        vlo, vhi = affine_out(0.5, hard_slope(code), lo, hi)
        glo = 1.0 if vlo >= 1.0 else max(vlo, 0.0)
        ghi = 0.0 if vhi <= 0.0 else min(vhi, 1.0)
        return glo, ghi
    return max(down(gate_value(lo, code)), 0.0), min(up(gate_value(hi, code)), 1.0)


@njit(cache=True, error_model="numpy")
def gate_slope_out(lo: float, hi: float, code: int) -> tuple[float, float]:
    """Outward enclosure of the gate's (Clarke) derivative over [lo, hi]: a hard sigmoid's pieces are taken as linear
    or flat only 1e-12 of the kink's distance inside them, the sigmoid's slope <= 1/4 exactly."""
    slo, shi = gate_slope_range(lo, hi, code, 1e-12)
    if code != 0:
        return slo, shi
    return down(slo), (shi if lo < 0.0 < hi else up(shi))


@njit(cache=True, error_model="numpy")
def tanh_out(lo: float, hi: float) -> tuple[float, float]:
    """Outward enclosure of tanh over [lo, hi], within [-1, 1]."""
    return max(down(np.tanh(lo)), -1.0), min(up(np.tanh(hi)), 1.0)


@njit(cache=True, error_model="numpy")
def one_minus_square_out(lo: float, hi: float) -> tuple[float, float]:
    """Outward enclosure of 1 - t^2 for t in [lo, hi] within [-1, 1] (tanh' from the tanh's enclosure)."""
    if lo >= 0.0:
        ql, qh = lo * lo, hi * hi
    elif hi <= 0.0:
        ql, qh = hi * hi, lo * lo
    else:
        ql, qh = 0.0, max(lo * lo, hi * hi)
    return max(down(1.0 - up(qh)), 0.0), min(up(1.0 - down(ql)), 1.0)


@njit(cache=True, error_model="numpy")
def tanh_ratio_out(nl: float, nh: float, dh: float) -> tuple[float, float]:
    """Outward enclosure of tanh(n / d) for n in [nl, nh], d in (0, dh] (n / d unbounded as d -> 0)."""
    if nl > 0.0:
        return max(down(np.tanh(down(nl / dh))), -1.0), 1.0
    if nh < 0.0:
        return -1.0, min(up(np.tanh(up(nh / dh))), 1.0)
    return -1.0, 1.0


@njit(cache=True, error_model="numpy")
def ratio_clipped_out(hl: float, hh: float, ol: float, oh: float) -> tuple[float, float]:
    """Outward enclosure of the values of u = h / o in [-1, 1] for h in [hl, hh], o in [ol, oh] within [0, 1]: each
    end is moved into [-1, 1] from outside, so lo >= 1 or hi <= -1 says that no point of the box has |u| < 1."""
    if ol > 0.0:
        ul, uh = mul_out(hl, hh, down(1.0 / oh), up(1.0 / ol))
    else:
        ul = -1.0 if hl < 0.0 else 0.0
        uh = 1.0 if hh > 0.0 else 0.0
        if hl > 0.0 and oh > 0.0:
            ul = down(hl / oh)
        if hh < 0.0 and oh > 0.0:
            uh = up(hh / oh)
    return max(ul, -1.0), min(uh, 1.0)


@njit(cache=True, error_model="numpy")
def artanh_out(ul: float, uh: float) -> tuple[float, float]:
    """Outward enclosure of artanh over [ul, uh] within [-1, 1] (infinite at +-1)."""
    lo = -INF if ul <= -1.0 else down(np.arctanh(ul))
    hi = INF if uh >= 1.0 else up(np.arctanh(uh))
    return lo, hi
