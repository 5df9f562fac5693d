r"""Every 2-cycle of one-unit LSTMs, certified by interval branch-and-bound in the two unknowns (h1, h2).

A 2-cycle (h1, c1) -> (h2, c2) -> (h1, c1) of c' = f c + i g, h' = o tanh(c') (gates at the previous h, constant
input x) has c2 = f1 c1 + i1 g1 and c1 = f2 c2 + i2 g2 (index k: gates at h_k), so with D = 1 - f1 f2 > 0

.. math::
    c_1 = \frac{i_2 g_2 + f_2 i_1 g_1}{D}, \quad c_2 = \frac{i_1 g_1 + f_1 i_2 g_2}{D}, \qquad
    r(h_1, h_2) = \big(o_1 \tanh c_2 - h_2,\; o_2 \tanh c_1 - h_1\big) = 0, \quad h_1 \ne h_2

(Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000; every cycle has |h_k| < 1). Each gate is a
monotone function of an affine function of one of h1, h2, so interval enclosures of r and of its Jacobian over a box
are tight: c1, c2 are monotone in each of (i1 g1, i2 g2, f1, f2) separately (linear-fractional with D > 0), so
their range over the box of those four enclosures is read off its 16 vertices; the rest is the natural interval
extension, in the outward rounding of :mod:`dynlatch.dynamics._intervals` (every elementary result widened by a
relative 1e-15, about 5 ulp, covering the rounding of + - * / and of libm's exp / tanh), so the enclosures are
rigorous up to that assumption on libm.

**Search** (per model, in parallel over models, numba): depth-first over boxes of the half-plane h1 <= h2 of
[-1, 1]^2. Boxes are of two types: *diagonal squares* [a, b]^2 (they hold the fixed points, h1 = h2) and
*off-diagonal boxes* [a1, b1] x [a2, b2] with b1 < a2. A diagonal square of width w splits into the two overlapping
diagonal squares [a, m + w/8]^2, [m - w/8, b]^2 and the off-diagonal box [a, m - w/8] x [m + w/8, b] (together they
cover the square's half above the diagonal); an off-diagonal box is bisected along its longer edge. A box is

* *excluded* when 0 is outside the enclosure of r_1 or of r_2, or of their centred forms r(m) + J(B)(B - m) and
  Y r(m) + Y J(B)(B - m) (Y = J(m)^{-1}, m the centre; second-order tight, for nearly parallel zero curves);
* where D = 1 - f1 f2 reaches 0 on the box (both hard forget gates exactly 1 somewhere), r is replaced by
  *form B*: every cycle has |h1| < o2, |h2| < o1, so c1 = artanh(h1 / o2), c2 = artanh(h2 / o1) and the cycle
  equations are p = c2 - f1 c1 - i1 g1 = 0, q = c1 - f2 c2 - i2 g2 = 0, with no division by D (the same swap
  symmetry; unbounded artanh ends are kept as +-inf for the exclusion test; a box with f1 = f2 = 1 throughout and
  i1 g1 + i2 g2 bounded away from 0 holds no cycle);
* *resolved* by the Krawczyk test (Krawczyk 1969; Moore, Kearfott & Cloud, *Introduction to Interval Analysis*, 2009,
  sec. 8.2): Newton from the box centre gives z; B' is the box centred at z that contains the box (for a diagonal
  square a square centred on the diagonal);
  K = z - Y r(z) + (I - Y J(B'))(B' - z) with Y = J(z)^{-1} and J(B') the interval Jacobian (for hard sigmoids the
  hull of the one-sided slopes at a kink, a valid slope enclosure for these piecewise-linear gates). K inside the
  interior of B' proves B' holds exactly one root, which lies in K. If swap(K) also lies in B', that root equals its
  mirror image (h2, h1), so it is a fixed point and the box holds no 2-cycle; if K misses the diagonal, the root is a
  2-cycle, polished by Newton to |r| <= ``tol`` and recorded. K disjoint from B' proves B' root-free.
* otherwise split, until its longer edge is below ``min_width``; then it is reported *unresolved*.

**Guarantee.** For every model, every 2-cycle (h1 < h2) of the LSTM at input x is either returned as a certified
cycle (proved unique in a box, residual <= ``tol``) or lies in one of the returned unresolved boxes (each at most
``min_width`` wide; their reasons: ``CANDIDATE`` an off-diagonal box at a possibly non-simple cycle, e.g. a
tangency, or a continuum of cycles; ``NEAR_DIAGONAL`` a diagonal square at a non-hyperbolic fixed point (eigenvalue
+-1 of the map, a fold or flip) or a continuum of fixed points (a perfect integrator: hard f = 1 and i g = 0), near
which cycles with |h1 - h2| <= ``min_width`` may exist; ``SATURATED`` a box where 1 - f1 f2 reaches 0 and form B is
not valid on the whole box; ``BUDGET`` the per-model box budget ran out, the box being the hull of what was left;
past 64 boxes per model the last one grows to the hull of the rest). A model with no unresolved box has a complete,
certified list: every 2-cycle, each proved simple (isolated, nonsingular Jacobian).
Measured on 1000 random cells per gate function (weights N(0, 2^2) / N(0, 3^2), x = 0.3): every sigmoid cell
complete; with hard sigmoids about 7% incomplete, nearly all of them cells with a perfect-integrator region (continua
of fixed points or cycles), the rest at a fixed point squeezed between two gate kinks (slopes ~10^3).
Candidate cycles (Newton from an unresolved off-diagonal box reaching |r| <= ``tol``) are listed separately with
``certified`` False and multiplicity 2 (possibly non-simple).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numba import njit, prange

from .._activations import gate_code
from ._intervals import (
    OUTWARD, TINY, add_out, affine_out, artanh_out, dot2_out, down, gate_out, gate_slope_out, mul_out,
    mul_unbounded_out, one_minus_square_out, product_sum_out, ratio_clipped_out, sub_out, tanh_out, tanh_ratio_out, up,
)
from ._one_unit import gates

Tensor = torch.Tensor


CANDIDATE, NEAR_DIAGONAL, SATURATED, BUDGET = 1, 2, 4, 8
REASONS = {CANDIDATE: "candidate", NEAR_DIAGONAL: "near_diagonal", SATURATED: "saturated", BUDGET: "budget"}

DIAG, OFF = 0.0, 1.0
SMOOTH, DEGENERATE, EMPTY, PARTIAL = 0, 1, 2, 3
FORM_A, FORM_B = 0, 1
CAP_CYCLES = 64
CAP_BOXES = 64
STACK = 1024


@njit(cache=True)
def _side(off, sl, code, lo, hi, out, k):
    """Enclosures over h in [lo, hi] of i g, f, o and of their derivatives in h, written to out[k : k + 12]."""
    ailo, aihi = affine_out(off[0], sl[0], lo, hi)
    aflo, afhi = affine_out(off[1], sl[1], lo, hi)
    aclo, achi = affine_out(off[2], sl[2], lo, hi)
    aolo, aohi = affine_out(off[3], sl[3], lo, hi)
    ilo, ihi = gate_out(ailo, aihi, code)
    flo, fhi = gate_out(aflo, afhi, code)
    olo, ohi = gate_out(aolo, aohi, code)
    glo, ghi = tanh_out(aclo, achi)
    iglo, ighi = mul_out(ilo, ihi, glo, ghi)
    # derivatives: i' = gate'(a_i) U_i, g' = (1 - g^2) U_c, (i g)' = i' g + i g'
    s_lo, s_hi = gate_slope_out(ailo, aihi, code)
    iplo, iphi = mul_out(s_lo, s_hi, sl[0], sl[0])
    s_lo, s_hi = gate_slope_out(aflo, afhi, code)
    fplo, fphi = mul_out(s_lo, s_hi, sl[1], sl[1])
    s_lo, s_hi = gate_slope_out(aolo, aohi, code)
    oplo, ophi = mul_out(s_lo, s_hi, sl[3], sl[3])
    q_lo, q_hi = one_minus_square_out(glo, ghi)
    gplo, gphi = mul_out(q_lo, q_hi, sl[2], sl[2])
    t1lo, t1hi = mul_out(iplo, iphi, glo, ghi)
    t2lo, t2hi = mul_out(ilo, ihi, gplo, gphi)
    igplo, igphi = add_out(t1lo, t1hi, t2lo, t2hi)
    out[k + 0], out[k + 1] = iglo, ighi
    out[k + 2], out[k + 3] = flo, fhi
    out[k + 4], out[k + 5] = olo, ohi
    out[k + 6], out[k + 7] = igplo, igphi
    out[k + 8], out[k + 9] = fplo, fphi
    out[k + 10], out[k + 11] = oplo, ophi


@njit(cache=True)
def _eval_box(off, sl, code, lo1, hi1, lo2, hi2, s, out):
    """Enclosures over the box [lo1, hi1] x [lo2, hi2] of r (out[0:4]), its Jacobian (out[4:12], row-major) and
    c1, c2 (out[12:16]). ``s`` is scratch (24). Returns SMOOTH, DEGENERATE (1 - f1 f2 reaches 0: r only) or EMPTY
    (f1 = f2 = 1 on the whole box and i1 g1 + i2 g2 != 0: no cycle)."""
    _side(off, sl, code, lo1, hi1, s, 0)
    _side(off, sl, code, lo2, hi2, s, 12)
    ig1lo, ig1hi, f1lo, f1hi, o1lo, o1hi = s[0], s[1], s[2], s[3], s[4], s[5]
    ig2lo, ig2hi, f2lo, f2hi, o2lo, o2hi = s[12], s[13], s[14], s[15], s[16], s[17]
    pplo, pphi = mul_out(f1lo, f1hi, f2lo, f2hi)
    dlo, dhi = down(1.0 - min(pphi, 1.0)), up(1.0 - max(pplo, 0.0))
    if f1lo >= 1.0 and f2lo >= 1.0:  # both (hard) forget gates exactly 1 on the box
        dlo = dhi = 0.0
    if dlo > 0.0:
        c1lo = c2lo = np.inf
        c1hi = c2hi = -np.inf
        for v in range(16):
            ig1 = ig1hi if v & 1 else ig1lo
            ig2 = ig2hi if v & 2 else ig2lo
            f1 = f1hi if v & 4 else f1lo
            f2 = f2hi if v & 8 else f2lo
            d = 1.0 - f1 * f2
            c1 = (ig2 + f2 * ig1) / d
            c2 = (ig1 + f1 * ig2) / d
            c1lo, c1hi = min(c1lo, c1), max(c1hi, c1)
            c2lo, c2hi = min(c2lo, c2), max(c2hi, c2)
        g = max(abs(ig1lo), abs(ig1hi)) + max(abs(ig2lo), abs(ig2hi))
        err = 4.0 * OUTWARD * g * (1.0 / dlo + 1.0 / (dlo * dlo)) + TINY
        c1lo, c1hi = down(c1lo) - err, up(c1hi) + err
        c2lo, c2hi = down(c2lo) - err, up(c2hi) + err
        t1lo, t1hi = tanh_out(c1lo, c1hi)
        t2lo, t2hi = tanh_out(c2lo, c2hi)
        status = SMOOTH
    else:
        n2lo, n2hi = mul_out(f1lo, f1hi, ig2lo, ig2hi)
        n2lo, n2hi = add_out(ig1lo, ig1hi, n2lo, n2hi)
        n1lo, n1hi = mul_out(f2lo, f2hi, ig1lo, ig1hi)
        n1lo, n1hi = add_out(ig2lo, ig2hi, n1lo, n1hi)
        if dhi <= 0.0:  # f1 = f2 = 1 on the whole box: a cycle needs i1 g1 + i2 g2 = 0
            if n2lo > 0.0 or n2hi < 0.0:
                return EMPTY
            t1lo, t1hi, t2lo, t2hi = -1.0, 1.0, -1.0, 1.0
        else:
            t1lo, t1hi = tanh_ratio_out(n1lo, n1hi, dhi)
            t2lo, t2hi = tanh_ratio_out(n2lo, n2hi, dhi)
        c1lo = c2lo = -np.inf
        c1hi = c2hi = np.inf
        status = DEGENERATE
    # r = (o1 tanh c2 - h2, o2 tanh c1 - h1)
    alo, ahi = mul_out(o1lo, o1hi, t2lo, t2hi)
    out[0], out[1] = sub_out(alo, ahi, lo2, hi2)
    alo, ahi = mul_out(o2lo, o2hi, t1lo, t1hi)
    out[2], out[3] = sub_out(alo, ahi, lo1, hi1)
    out[12], out[13], out[14], out[15] = c1lo, c1hi, c2lo, c2hi
    if status != SMOOTH:
        return status
    # Jacobian: with A1 = (i g)'_1 + f'_1 c1, A2 = (i g)'_2 + f'_2 c2, s_k = 1 - tanh^2 c_k,
    # J = [[o1' t2 + o1 s2 A1 / D, o1 s2 f1 A2 / D - 1], [o2 s1 f2 A1 / D - 1, o2' t1 + o2 s1 A2 / D]]
    ig1plo, ig1phi, f1plo, f1phi, o1plo, o1phi = s[6], s[7], s[8], s[9], s[10], s[11]
    ig2plo, ig2phi, f2plo, f2phi, o2plo, o2phi = s[18], s[19], s[20], s[21], s[22], s[23]
    s1lo, s1hi = one_minus_square_out(t1lo, t1hi)
    s2lo, s2hi = one_minus_square_out(t2lo, t2hi)
    idlo, idhi = down(1.0 / dhi), up(1.0 / dlo)
    a1lo, a1hi = mul_out(f1plo, f1phi, c1lo, c1hi)
    a1lo, a1hi = add_out(ig1plo, ig1phi, a1lo, a1hi)
    a1lo, a1hi = mul_out(a1lo, a1hi, idlo, idhi)
    a2lo, a2hi = mul_out(f2plo, f2phi, c2lo, c2hi)
    a2lo, a2hi = add_out(ig2plo, ig2phi, a2lo, a2hi)
    a2lo, a2hi = mul_out(a2lo, a2hi, idlo, idhi)
    p1lo, p1hi = mul_out(o1lo, o1hi, s2lo, s2hi)  # o1 s2
    p2lo, p2hi = mul_out(o2lo, o2hi, s1lo, s1hi)  # o2 s1
    # J11
    xlo, xhi = mul_out(o1plo, o1phi, t2lo, t2hi)
    ylo, yhi = mul_out(p1lo, p1hi, a1lo, a1hi)
    out[4], out[5] = add_out(xlo, xhi, ylo, yhi)
    # J12
    ylo, yhi = mul_out(p1lo, p1hi, f1lo, f1hi)
    ylo, yhi = mul_out(ylo, yhi, a2lo, a2hi)
    out[6], out[7] = down(ylo - 1.0), up(yhi - 1.0)
    # J21
    ylo, yhi = mul_out(p2lo, p2hi, f2lo, f2hi)
    ylo, yhi = mul_out(ylo, yhi, a1lo, a1hi)
    out[8], out[9] = down(ylo - 1.0), up(yhi - 1.0)
    # J22
    xlo, xhi = mul_out(o2plo, o2phi, t1lo, t1hi)
    ylo, yhi = mul_out(p2lo, p2hi, a2lo, a2hi)
    out[10], out[11] = add_out(xlo, xhi, ylo, yhi)
    return SMOOTH


@njit(cache=True)
def _eval_box_b(off, sl, code, lo1, hi1, lo2, hi2, s, out):
    """Form B, for boxes where 1 - f1 f2 reaches 0: with c1 = artanh(h1 / o2), c2 = artanh(h2 / o1) (every cycle has
    |h1| < o2, |h2| < o1), the cycle equations are p = c2 - f1 c1 - i1 g1 = 0, q = c1 - f2 c2 - i2 g2 = 0, with no
    division by 1 - f1 f2 (and the same swap symmetry as r). Same outputs as :func:`_eval_box` (out[0:4] (p, q),
    out[4:12] their Jacobian, out[12:16] c1, c2); returns SMOOTH, EMPTY (no cycle point in the box), or PARTIAL
    (the enclosure of (p, q) only, with infinite ends, where |h1| < o2, |h2| < o1 is not proved on the box; ``s`` is
    scratch (24))."""
    _side(off, sl, code, lo1, hi1, s, 0)
    _side(off, sl, code, lo2, hi2, s, 12)
    ig1lo, ig1hi, f1lo, f1hi, o1lo, o1hi = s[0], s[1], s[2], s[3], s[4], s[5]
    ig2lo, ig2hi, f2lo, f2hi, o2lo, o2hi = s[12], s[13], s[14], s[15], s[16], s[17]
    ig1plo, ig1phi, f1plo, f1phi, o1plo, o1phi = s[6], s[7], s[8], s[9], s[10], s[11]
    ig2plo, ig2phi, f2plo, f2phi, o2plo, o2phi = s[18], s[19], s[20], s[21], s[22], s[23]
    # u_k = h_k / o_other on the cycle points of the box: |u| < 1 there, so clip to [-1, 1] (artanh -> +-inf)
    u1lo, u1hi = ratio_clipped_out(lo1, hi1, o2lo, o2hi)
    u2lo, u2hi = ratio_clipped_out(lo2, hi2, o1lo, o1hi)
    if u1lo >= 1.0 or u1hi <= -1.0 or u2lo >= 1.0 or u2hi <= -1.0:
        return EMPTY
    a1lo, a1hi = artanh_out(u1lo, u1hi)
    a2lo, a2hi = artanh_out(u2lo, u2hi)
    # p = A2 - F1 A1 - IG1, q = A1 - F2 A2 - IG2
    xlo, xhi = mul_unbounded_out(f1lo, f1hi, a1lo, a1hi)
    xlo, xhi = sub_out(a2lo, a2hi, xlo, xhi)
    out[0], out[1] = sub_out(xlo, xhi, ig1lo, ig1hi)
    xlo, xhi = mul_unbounded_out(f2lo, f2hi, a2lo, a2hi)
    xlo, xhi = sub_out(a1lo, a1hi, xlo, xhi)
    out[2], out[3] = sub_out(xlo, xhi, ig2lo, ig2hi)
    out[12], out[13], out[14], out[15] = a1lo, a1hi, a2lo, a2hi
    if not (o1lo > 0.0 and o2lo > 0.0 and np.isfinite(a1lo) and np.isfinite(a1hi) and np.isfinite(a2lo)
            and np.isfinite(a2hi)):
        return PARTIAL
    # W1 = 1 / (o2 (1 - u1^2)) = dA1/dh1, dA1/dh2 = -u1 o2' W1; likewise A2
    qlo, qhi = one_minus_square_out(u1lo, u1hi)
    qlo, qhi = mul_out(o2lo, o2hi, qlo, qhi)
    if qlo <= 0.0:
        return PARTIAL
    w1lo, w1hi = down(1.0 / qhi), up(1.0 / qlo)
    qlo, qhi = one_minus_square_out(u2lo, u2hi)
    qlo, qhi = mul_out(o1lo, o1hi, qlo, qhi)
    if qlo <= 0.0:
        return PARTIAL
    w2lo, w2hi = down(1.0 / qhi), up(1.0 / qlo)
    xlo, xhi = mul_out(u1lo, u1hi, o2plo, o2phi)
    d12lo, d12hi = mul_out(-xhi, -xlo, w1lo, w1hi)  # dA1/dh2
    xlo, xhi = mul_out(u2lo, u2hi, o1plo, o1phi)
    d21lo, d21hi = mul_out(-xhi, -xlo, w2lo, w2hi)  # dA2/dh1
    # dp/dh1 = dA2/dh1 - F1' A1 - F1 W1 - IG1'
    xlo, xhi = mul_out(f1plo, f1phi, a1lo, a1hi)
    ylo, yhi = mul_out(f1lo, f1hi, w1lo, w1hi)
    xlo, xhi = add_out(xlo, xhi, ylo, yhi)
    xlo, xhi = add_out(xlo, xhi, ig1plo, ig1phi)
    out[4], out[5] = sub_out(d21lo, d21hi, xlo, xhi)
    # dp/dh2 = W2 - F1 dA1/dh2
    xlo, xhi = mul_out(f1lo, f1hi, d12lo, d12hi)
    out[6], out[7] = sub_out(w2lo, w2hi, xlo, xhi)
    # dq/dh1 = W1 - F2 dA2/dh1
    xlo, xhi = mul_out(f2lo, f2hi, d21lo, d21hi)
    out[8], out[9] = sub_out(w1lo, w1hi, xlo, xhi)
    # dq/dh2 = dA1/dh2 - F2' A2 - F2 W2 - IG2'
    xlo, xhi = mul_out(f2plo, f2phi, a2lo, a2hi)
    ylo, yhi = mul_out(f2lo, f2hi, w2lo, w2hi)
    xlo, xhi = add_out(xlo, xhi, ylo, yhi)
    xlo, xhi = add_out(xlo, xhi, ig2plo, ig2phi)
    out[10], out[11] = sub_out(d12lo, d12hi, xlo, xhi)
    return SMOOTH


@njit(cache=True)
def _eval(off, sl, code, form, lo1, hi1, lo2, hi2, s, out):
    """Form A (r in h, :func:`_eval_box`) or form B (:func:`_eval_box_b`)."""
    if form == FORM_A:
        return _eval_box(off, sl, code, lo1, hi1, lo2, hi2, s, out)
    return _eval_box_b(off, sl, code, lo1, hi1, lo2, hi2, s, out)


# ------------------------------------------------------------------------------------------------------ the search
@njit(cache=True)
def _point(off, sl, code, form, z1, z2, s, out):
    """r, J (midpoints) and c1, c2 at (z1, z2); returns False where 1 - f1 f2 is not provably positive."""
    st = _eval(off, sl, code, form, z1, z1, z2, z2, s, out)
    return st == SMOOTH


@njit(cache=True, inline="always")
def _midpoint_jacobian(out):
    """(j11, j12, j21, j22, det) of the Jacobian at the midpoints of its interval entries ``out[4:12]`` (lo, hi
    pairs in the order d r1/d h1, d r1/d h2, d r2/d h1, d r2/d h2)."""
    j11 = 0.5 * (out[4] + out[5])
    j12 = 0.5 * (out[6] + out[7])
    j21 = 0.5 * (out[8] + out[9])
    j22 = 0.5 * (out[10] + out[11])
    return j11, j12, j21, j22, j11 * j22 - j12 * j21


@njit(cache=True)
def _newton(off, sl, code, form, z1, z2, iterations, tol, diagonal, s, out):
    """Newton on r from (z1, z2); returns (z1, z2, max |r| at the end, ok)."""
    res = np.inf
    for _ in range(iterations):
        if not _point(off, sl, code, form, z1, z2, s, out):
            return z1, z2, np.inf, False
        r1 = 0.5 * (out[0] + out[1])
        r2 = 0.5 * (out[2] + out[3])
        res = max(abs(r1), abs(r2))
        if res <= tol:
            return z1, z2, res, True
        j11, j12, j21, j22, det = _midpoint_jacobian(out)
        if not np.isfinite(det) or abs(det) < 1e-300:
            return z1, z2, res, False
        d1 = (j22 * r1 - j12 * r2) / det
        d2 = (j11 * r2 - j21 * r1) / det
        z1 -= d1
        z2 -= d2
        if diagonal:
            z1 = z2 = 0.5 * (z1 + z2)
        if not (np.isfinite(z1) and np.isfinite(z2)) or abs(z1) > 2.0 or abs(z2) > 2.0:
            return z1, z2, np.inf, False
    if not _point(off, sl, code, form, z1, z2, s, out):
        return z1, z2, np.inf, False
    res = max(abs(0.5 * (out[0] + out[1])), abs(0.5 * (out[2] + out[3])))
    return z1, z2, res, res <= tol


@njit(cache=True)
def _record_cycle(cyc, n, z1, z2, c1, c2, flag, res):
    """Append (h1 < h2, c1, c2, flag, residual) unless within 1e-9 of a recorded cycle; returns the new count."""
    if z1 > z2:
        z1, z2, c1, c2 = z2, z1, c2, c1
    for k in range(n):
        if abs(cyc[k, 0] - z1) <= 1e-9 and abs(cyc[k, 1] - z2) <= 1e-9:
            if flag < cyc[k, 4]:  # a certified find supersedes a candidate
                cyc[k, 4] = flag
            return n
    if n >= cyc.shape[0]:
        return n
    cyc[n, 0], cyc[n, 1], cyc[n, 2], cyc[n, 3], cyc[n, 4], cyc[n, 5] = z1, z2, c1, c2, flag, res
    return n + 1


@njit(cache=True)
def _record_box(boxes, n, lo1, hi1, lo2, hi2, reason):
    """Append an unresolved box; past the capacity the last row grows to the hull (reasons or-ed)."""
    if n < boxes.shape[0]:
        boxes[n, 0], boxes[n, 1], boxes[n, 2], boxes[n, 3], boxes[n, 4] = lo1, hi1, lo2, hi2, reason
        return n + 1
    k = boxes.shape[0] - 1
    boxes[k, 0] = min(boxes[k, 0], lo1)
    boxes[k, 1] = max(boxes[k, 1], hi1)
    boxes[k, 2] = min(boxes[k, 2], lo2)
    boxes[k, 3] = max(boxes[k, 3], hi2)
    boxes[k, 4] = float(int(boxes[k, 4]) | int(reason))
    return n + 1


@njit(cache=True)
def _krawczyk(off, sl, code, form, lo1, hi1, lo2, hi2, diagonal, tol, s, out, kb):
    """Try to resolve a box (module docstring). Returns 0 (undecided), 1 (no 2-cycle in the box) or 2 (its only root
    is a 2-cycle, written to kb[0:6] as h1, h2, c1, c2, residual, converged)."""
    w = max(hi1 - lo1, hi2 - lo2)
    z1, z2, _, _ = _newton(off, sl, code, form, 0.5 * (lo1 + hi1), 0.5 * (lo2 + hi2), 6, 0.0, diagonal, s, out)
    if not (np.isfinite(z1) and np.isfinite(z2)):
        return 0
    if z1 < lo1 - w or z1 > hi1 + w or z2 < lo2 - w or z2 > hi2 + w:
        return 0
    rho1 = 1.05 * max(z1 - lo1, hi1 - z1) + 1e-14
    rho2 = 1.05 * max(z2 - lo2, hi2 - z2) + 1e-14
    if diagonal:
        rho1 = rho2 = max(rho1, rho2)
    b1lo, b1hi, b2lo, b2hi = z1 - rho1, z1 + rho1, z2 - rho2, z2 + rho2
    if _eval(off, sl, code, form, z1, z1, z2, z2, s, out) != SMOOTH:
        return 0
    r1lo, r1hi, r2lo, r2hi = out[0], out[1], out[2], out[3]
    j11, j12, j21, j22, det = _midpoint_jacobian(out)
    if not np.isfinite(det) or abs(det) < 1e-300:
        return 0
    y11, y12, y21, y22 = j22 / det, -j12 / det, -j21 / det, j11 / det
    if _eval(off, sl, code, form, b1lo, b1hi, b2lo, b2hi, s, out) != SMOOTH:
        return 0
    # M = I - Y J(B')
    m11lo, m11hi = dot2_out(y11, out[4], out[5], y12, out[8], out[9])
    m12lo, m12hi = dot2_out(y11, out[6], out[7], y12, out[10], out[11])
    m21lo, m21hi = dot2_out(y21, out[4], out[5], y22, out[8], out[9])
    m22lo, m22hi = dot2_out(y21, out[6], out[7], y22, out[10], out[11])
    m11lo, m11hi = sub_out(1.0, 1.0, m11lo, m11hi)
    m12lo, m12hi = -m12hi, -m12lo
    m21lo, m21hi = -m21hi, -m21lo
    m22lo, m22hi = sub_out(1.0, 1.0, m22lo, m22hi)
    d1lo, d1hi = down(b1lo - z1), up(b1hi - z1)
    d2lo, d2hi = down(b2lo - z2), up(b2hi - z2)
    # K_i = z_i - (Y r(z))_i + sum_j M_ij (B'_j - z_j)
    yr1lo, yr1hi = dot2_out(y11, r1lo, r1hi, y12, r2lo, r2hi)
    yr2lo, yr2hi = dot2_out(y21, r1lo, r1hi, y22, r2lo, r2hi)
    k1lo, k1hi = product_sum_out(m11lo, m11hi, d1lo, d1hi, m12lo, m12hi, d2lo, d2hi)
    k2lo, k2hi = product_sum_out(m21lo, m21hi, d1lo, d1hi, m22lo, m22hi, d2lo, d2hi)
    k1lo, k1hi = sub_out(k1lo, k1hi, yr1lo, yr1hi)
    k2lo, k2hi = sub_out(k2lo, k2hi, yr2lo, yr2hi)
    k1lo, k1hi = add_out(k1lo, k1hi, z1, z1)
    k2lo, k2hi = add_out(k2lo, k2hi, z2, z2)
    if not (np.isfinite(k1lo) and np.isfinite(k1hi) and np.isfinite(k2lo) and np.isfinite(k2hi)):
        return 0
    if k1hi < b1lo or k1lo > b1hi or k2hi < b2lo or k2lo > b2hi:
        return 1  # K misses B': no root in B', which contains the box
    if not (b1lo < k1lo and k1hi < b1hi and b2lo < k2lo and k2hi < b2hi):
        return 0
    # exactly one root in B', inside K
    if k1lo <= k2hi and k2lo <= k1hi:  # K meets the diagonal
        if b1lo < k2lo and k2hi < b1hi and b2lo < k1lo and k1hi < b2hi:
            return 1  # swap(K) in B' too: the root is its own mirror image, a fixed point
        return 0
    p1, p2, res, ok = _newton(off, sl, code, form, z1, z2, 30, tol, False, s, out)
    if not ok or p1 < k1lo or p1 > k1hi or p2 < k2lo or p2 > k2hi:
        p1, p2 = 0.5 * (k1lo + k1hi), 0.5 * (k2lo + k2hi)
        _point(off, sl, code, form, p1, p2, s, out)
        res = max(abs(0.5 * (out[0] + out[1])), abs(0.5 * (out[2] + out[3])))
        ok = False
    kb[0], kb[1] = p1, p2
    kb[2], kb[3] = 0.5 * (out[12] + out[13]), 0.5 * (out[14] + out[15])
    kb[4], kb[5] = res, 1.0 if ok else 0.0
    return 2


@njit(cache=True)
def _centered_excludes(off, sl, code, form, lo1, hi1, lo2, hi2, s, out, out2):
    """Mean-value (centred) form: r(B) is inside r(m) + J(B) (B - m) (m the centre; ``out`` holds J(B)), and so is
    Y r(B) in Y r(m) + (Y J(B)) (B - m) for Y = J(m)^{-1}. True when 0 is outside either for a component
    (second-order tight, where the natural extension is only first-order)."""
    m1, m2 = 0.5 * (lo1 + hi1), 0.5 * (lo2 + hi2)
    if _eval(off, sl, code, form, m1, m1, m2, m2, s, out2) != SMOOTH:
        return False
    d1lo, d1hi = down(lo1 - m1), up(hi1 - m1)
    d2lo, d2hi = down(lo2 - m2), up(hi2 - m2)
    alo, ahi = product_sum_out(out[4], out[5], d1lo, d1hi, out[6], out[7], d2lo, d2hi)
    alo, ahi = add_out(alo, ahi, out2[0], out2[1])
    if alo > 0.0 or ahi < 0.0:
        return True
    alo, ahi = product_sum_out(out[8], out[9], d1lo, d1hi, out[10], out[11], d2lo, d2hi)
    alo, ahi = add_out(alo, ahi, out2[2], out2[3])
    if alo > 0.0 or ahi < 0.0:
        return True
    # preconditioned: Y r(B) is inside Y r(m) + (Y J(B)) (B - m), Y = J(m)^{-1} (for nearly parallel zero curves)
    j11, j12, j21, j22, det = _midpoint_jacobian(out2)
    if not np.isfinite(det) or abs(det) < 1e-300:
        return False
    y11, y12, y21, y22 = j22 / det, -j12 / det, -j21 / det, j11 / det
    for y1, y2 in ((y11, y12), (y21, y22)):
        p1lo, p1hi = dot2_out(y1, out[4], out[5], y2, out[8], out[9])  # (Y J)_i1
        p2lo, p2hi = dot2_out(y1, out[6], out[7], y2, out[10], out[11])  # (Y J)_i2
        alo, ahi = product_sum_out(p1lo, p1hi, d1lo, d1hi, p2lo, p2hi, d2lo, d2hi)
        qlo, qhi = dot2_out(y1, out2[0], out2[1], y2, out2[2], out2[3])
        alo, ahi = add_out(alo, ahi, qlo, qhi)
        if alo > 0.0 or ahi < 0.0:
            return True
    return False


@njit(cache=True)
def _search_one(off, sl, code, min_width, tol, max_boxes, cyc, boxes, counts):
    """Branch-and-bound for one model; counts = [cycles, unresolved boxes, boxes evaluated]."""
    stack = np.empty((STACK, 5))
    s = np.empty(24)
    out = np.empty(16)
    out2 = np.empty(16)
    kb = np.empty(6)
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3], stack[0, 4] = -1.0, 1.0, -1.0, 1.0, DIAG
    top = 1
    nc = nb = evals = 0
    while top > 0:
        top -= 1
        lo1, hi1, lo2, hi2, typ = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3], stack[top, 4]
        if evals >= max_boxes:
            nb = _record_box(boxes, nb, lo1, hi1, lo2, hi2, BUDGET)
            continue
        evals += 1
        diagonal = typ == DIAG
        st = _eval_box(off, sl, code, lo1, hi1, lo2, hi2, s, out)
        if st == EMPTY or out[0] > 0.0 or out[1] < 0.0 or out[2] > 0.0 or out[3] < 0.0:
            continue
        form = FORM_A
        if st == DEGENERATE:  # 1 - f1 f2 reaches 0: the equations in c (form B), valid where |h1| < o2, |h2| < o1
            stb = _eval_box_b(off, sl, code, lo1, hi1, lo2, hi2, s, out)
            if stb == EMPTY or out[0] > 0.0 or out[1] < 0.0 or out[2] > 0.0 or out[3] < 0.0:
                continue
            if stb == SMOOTH:
                st, form = SMOOTH, FORM_B
        if st == SMOOTH:
            if _centered_excludes(off, sl, code, form, lo1, hi1, lo2, hi2, s, out, out2):
                continue
            verdict = _krawczyk(off, sl, code, form, lo1, hi1, lo2, hi2, diagonal, tol, s, out, kb)
            if verdict == 1:
                continue
            if verdict == 2:
                nc = _record_cycle(cyc, nc, kb[0], kb[1], kb[2], kb[3], 0.0 if kb[5] > 0 else 2.0, kb[4])
                continue
        w = max(hi1 - lo1, hi2 - lo2)
        if w < min_width or top + 3 > STACK:
            if st == DEGENERATE:
                reason = SATURATED
            elif diagonal:
                reason = NEAR_DIAGONAL
            else:
                reason = CANDIDATE
                p1, p2, res, ok = _newton(off, sl, code, form, 0.5 * (lo1 + hi1), 0.5 * (lo2 + hi2), 40, tol, False, s,
                                          out)
                if ok and abs(p1 - p2) > 1e-8 and lo1 - w <= p1 <= hi1 + w and lo2 - w <= p2 <= hi2 + w:
                    nc = _record_cycle(cyc, nc, p1, p2, 0.5 * (out[12] + out[13]), 0.5 * (out[14] + out[15]), 1.0,
                                       res)
            nb = _record_box(boxes, nb, lo1, hi1, lo2, hi2, reason)
            continue
        if diagonal:
            m = 0.5 * (lo1 + hi1)
            e = 0.125 * (hi1 - lo1)
            for a, b, c, d, t in ((lo1, m + e, lo1, m + e, DIAG), (m - e, hi1, m - e, hi1, DIAG),
                                  (lo1, m - e, m + e, hi1, OFF)):
                stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3], stack[top, 4] = a, b, c, d, t
                top += 1
        elif hi1 - lo1 >= hi2 - lo2:
            m = 0.5 * (lo1 + hi1)
            stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3], stack[top, 4] = lo1, m, lo2, hi2, OFF
            stack[top + 1, 0], stack[top + 1, 1], stack[top + 1, 2], stack[top + 1, 3], stack[top + 1, 4] = (
                m, hi1, lo2, hi2, OFF)
            top += 2
        else:
            m = 0.5 * (lo2 + hi2)
            stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3], stack[top, 4] = lo1, hi1, lo2, m, OFF
            stack[top + 1, 0], stack[top + 1, 1], stack[top + 1, 2], stack[top + 1, 3], stack[top + 1, 4] = (
                lo1, hi1, m, hi2, OFF)
            top += 2
    counts[0], counts[1], counts[2] = min(nc, cyc.shape[0]), nb, evals


@njit(parallel=True, cache=True)
def _search(off, sl, code, min_width, tol, max_boxes, cyc, boxes, counts):
    for m in prange(off.shape[0]):
        _search_one(off[m], sl[m], code, min_width, tol, max_boxes, cyc[m], boxes[m], counts[m])


# ------------------------------------------------------------------------------------------------------- python API
@dataclass
class CycleSearch:
    """Result of :func:`lstm_cycle_search` (flat rows; see the module docstring for the guarantee).

    Attributes:
        model, h1, h2, c1, c2: one row per 2-cycle, h1 < h2 (the cycle (h1, c1) -> (h2, c2) -> (h1, c1)).
        certified: True where the cycle was proved unique in a box (and polished to the tolerance); False for a
            candidate from an unresolved box (possibly non-simple).
        multiplicity: 1 for certified cycles, 2 for candidates (possibly non-simple).
        residual: max |r| at the returned point.
        box_model, box (R, 4) [h1_lo, h1_hi, h2_lo, h2_hi], box_reason (names, "|"-joined): unresolved boxes.
        complete: (M,) True where a model has no unresolved box (its certified list is every 2-cycle).
        boxes_evaluated: (M,) boxes the search evaluated per model.
    """

    model: np.ndarray
    h1: np.ndarray
    h2: np.ndarray
    c1: np.ndarray
    c2: np.ndarray
    certified: np.ndarray
    multiplicity: np.ndarray
    residual: np.ndarray
    box_model: np.ndarray
    box: np.ndarray
    box_reason: np.ndarray
    complete: np.ndarray
    boxes_evaluated: np.ndarray


def _affine_parts(cell: Any, x: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and slopes (M, 4) of the gate pre-activations a_g(h) = offset + slope h, gates i, f, c, o."""
    g = gates(cell, x)
    off = np.ascontiguousarray(np.concatenate([gi.offset.detach().double().cpu().numpy() for gi in g], axis=1))
    sl = np.ascontiguousarray(np.concatenate([gi.slope.detach().double().cpu().numpy() for gi in g], axis=1))
    return off, sl


def _reason_names(code: int) -> str:
    return "|".join(name for bit, name in REASONS.items() if code & bit)


def lstm_cycle_search(cell: Any, x: Tensor, *, min_width: float = 1e-6, tol: float = 1e-12,
                      max_boxes: int = 20_000) -> CycleSearch:
    """Certified search for every 2-cycle of a batch of one-unit LSTMs at constant input ``x`` (M, 1, D).

    Args:
        cell: a one-unit LSTM (batched or single), any gate function.
        x: the constant input, (M, 1, D) float64.
        min_width: boxes narrower than this are reported unresolved instead of split.
        tol: Newton polishes certified cycles to max |r| <= tol.
        max_boxes: box budget per model (the rest is reported as one ``budget`` box).

    Returns:
        :class:`CycleSearch`.

    Raises:
        ValueError: for a cell that is not a one-unit LSTM, or bad ``x``, ``min_width``, ``tol``, ``max_boxes``.
    """
    if getattr(cell, "kind", None) != "lstm" or getattr(cell, "units", None) != 1:
        raise ValueError("cell must be a one-unit LSTM")
    if not (np.isfinite(min_width) and 0 < min_width < 1):
        raise ValueError(f"min_width must be in (0, 1); got {min_width}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be positive; got {tol}")
    if int(max_boxes) < 1:
        raise ValueError(f"max_boxes must be >= 1; got {max_boxes}")
    M = cell.models
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[0] != M or x.shape[1] < 1 \
            or x.shape[2] != cell.input_dim or not torch.isfinite(x).all():
        raise ValueError(f"x must be a finite tensor ({M}, 1, {cell.input_dim}); got {getattr(x, 'shape', x)}")
    with torch.no_grad():
        off, sl = _affine_parts(cell, x.to(torch.float64))
    if not (np.isfinite(off).all() and np.isfinite(sl).all()):
        raise ValueError("cell parameters must be finite")
    cyc = np.zeros((M, CAP_CYCLES, 6))
    boxes = np.zeros((M, CAP_BOXES, 5))
    counts = np.zeros((M, 3), np.int64)
    if M:
        _search(off, sl, gate_code(cell.recurrent_activation), float(min_width), float(tol), int(max_boxes), cyc,
                boxes, counts)
    nc = counts[:, 0]
    nb = np.minimum(counts[:, 1], CAP_BOXES)
    rows = np.concatenate([np.stack([np.full(n, m), np.arange(n)], 1) for m, n in enumerate(nc)]) if M else None
    if rows is None or rows.size == 0:
        rows = np.zeros((0, 2), np.int64)
    c = cyc[rows[:, 0], rows[:, 1]]
    flag = c[:, 4].astype(np.int64)
    brow = np.concatenate([np.stack([np.full(n, m), np.arange(n)], 1) for m, n in enumerate(nb)]) if M else None
    if brow is None or brow.size == 0:
        brow = np.zeros((0, 2), np.int64)
    b = boxes[brow[:, 0], brow[:, 1]]
    order = np.lexsort((c[:, 1], c[:, 0], rows[:, 0]))
    return CycleSearch(
        model=rows[order, 0].astype(np.int64), h1=c[order, 0], h2=c[order, 1], c1=c[order, 2], c2=c[order, 3],
        certified=(flag != 1)[order], multiplicity=np.where(flag == 1, 2, 1)[order].astype(np.int64),
        residual=c[order, 5], box_model=brow[:, 0].astype(np.int64), box=b[:, :4].copy(),
        box_reason=np.array([_reason_names(int(r)) for r in b[:, 4]], dtype=object),
        complete=counts[:, 1] == 0, boxes_evaluated=counts[:, 2].copy(),
    )


def lstm_two_cycles(cell: Any, x: Tensor, *, min_width: float = 1e-6,
                    tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every 2-cycle of a batch of one-unit LSTMs at constant input x (M, 1, D), by :func:`lstm_cycle_search`.

    Returns the certified cycles and the candidates (possibly non-simple cycles from unresolved boxes) whose
    residual reached ``tol``; the unresolved boxes themselves are only in :func:`lstm_cycle_search`'s result.

    Returns:
        (model, h1, h2, c1, c2) flat numpy arrays, one row per cycle, h1 < h2.
    """
    r = lstm_cycle_search(cell, x, min_width=min_width, tol=tol)
    keep = r.residual <= tol
    return r.model[keep], r.h1[keep], r.h2[keep], r.c1[keep], r.c2[keep]


def cycle_residual(cell: Any, x: Tensor, h1: Tensor, h2: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(r_a, r_b, c1, c2) at (h1, h2), each (M, P), in torch; NaN where 1 - f1 f2 = 0."""
    gi, gf, gc, go = gates(cell, x)
    gate = cell.gate

    def at(h: Tensor):
        return gate(gi(h)) * torch.tanh(gc(h)), gate(gf(h)), gate(go(h))

    ig1, f1, o1 = at(h1)
    ig2, f2, o2 = at(h2)
    den = 1 - f1 * f2
    safe = torch.where(den > 0, den, torch.ones_like(den))
    c1 = torch.where(den > 0, (f2 * ig1 + ig2) / safe, torch.full_like(den, float("nan")))
    c2 = f1 * c1 + ig1
    return o1 * torch.tanh(c2) - h2, o2 * torch.tanh(c1) - h1, c1, c2
