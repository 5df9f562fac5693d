"""Every root of a batch of scalar functions on an interval: the engine behind the one-unit finder.

Two methods live here.

**Certified subdivision** (:func:`certified_roots`, the one-unit cells' equations of
:mod:`dynlatch.dynamics._one_unit`). Per model, [-1, 1] is cut at the kinks of the hard gates (pre-activations at
+-0.5/s) into pieces on which the equation g is smooth; each piece is bisected depth first, and an interval [a, b]
with midpoint m and half-width r becomes a leaf as soon as one of these holds:

* **excluded**: 0 is outside the interval evaluation of g on [a, b], or |g(m)| > r max|g'([a, b])| (mean value
  inequality; g'([a, b]) is an interval enclosure of the derivative, Clarke's generalised derivative across a hard
  gate's kink), each with the evaluation allowance ``eta`` (below): g has no root on [a, b];
* **monotone**: the enclosure of g' excludes 0, so g has at most one root on [a, b]; if g(a) and g(b) have
  opposite signs beyond ``eta`` it has exactly one, refined by a bracketing Illinois / bisection iteration to
  adjacent floats (a *simple root*, multiplicity 1), if the same sign, none;
* **unresolved**: width <= ``tol`` (1e-10 by default) and neither of the above, or monotone with |g| <= ``eta`` at an
  end.

Neighbouring unresolved leaves form a *cluster* [A, B]; the signs on its two sides are known from the resolved
leaves next to it. A cluster of monotone leaves of one direction holds at most one root (a simple root, reported
where the sign changes). Any other cluster is reported as one point of multiplicity 3 when g changes sign across
it (refined by bisection: a triple root such as the pitchfork of tanh(h) = h, or a root with |g'| below the
resolution) and 2 when it does not (the point of least |g|: a tangency / fold, or a pair of roots closer than
``tol``).

Guarantee. Assume each float evaluation of g is within ``eta`` of the exact value (``eta`` = 32 eps (1 + sum of the
absolute offsets and slopes of the gate pre-activations), times (2 + max|F'|) for F(F(h)) - h; and the enclosures
are widened by 64 eps (1 + S)(1 + |g'|) for their own rounding, which is an allowance, not directed rounding). Then
every root of g in [-1, 1] off a continuum is reported: inside a simple-root leaf (to float precision), or inside a
cluster, which then is reported as one point whose multiplicity says whether the number of roots in it, with
multiplicity, is odd (1 or 3) or even (2). A reported multiple root lies within ``tol`` of a leaf on which |g| <=
``eta`` + r max|g'| could not be excluded, i.e. it may also be a near-tangency with 0 < min |g| <= ``eta``. The
hard-sigmoid LSTM's c* = i g / (1 - f) loses relative accuracy as 1 - f -> 0 at the forget gate's kink, where the
assumption on ``eta`` can fail. Pieces on which a hard gate makes g identically 0 (a continuum) are handled by the
caller's kernel, not by subdivision. A model whose subdivision exceeds ``max_leaves`` is flagged uncertified.

**Sampling** (:func:`find_roots`, for user-written 1-D maps, whose derivatives are not bounded here; *not*
certified): each model's function is sampled on a common grid plus its own kinks; roots are found as

* sign changes between neighbouring samples (odd multiplicity), refined by bisection to machine precision;
* local minima of |g| between samples of one sign (a double root, or two roots closer than the grid spacing),
  refined by golden-section search for the extremum: if g changes sign there, both roots are bracketed and
  bisected, if |g| <= ``tol`` there it is a double root;
* runs of exact zeros (g identically 0 on a piece: a continuum of roots).

A root whose derivative vanishes (|g'| <= ``tol_derivative``) inside a sign change is reported with multiplicity 3.
Two roots closer than the grid spacing are found only when the extremum between them is a local minimum of |g| on
the grid. Functions return NaN where no root can be (such samples bound no bracket).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from numba import njit

from . import _one_unit as ou
from ._brackets import bisect
from ._one_unit import OneUnitSystem

ScalarFunction = Callable[[torch.Tensor], torch.Tensor]
"""g(h): h (M, P) float64 tensor, row m belonging to model m -> (M, P), elementwise in h."""

GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass
class Roots:
    """Roots of M scalar functions (flat, model index first).

    Attributes:
        model, value, multiplicity: isolated roots (R,).
        continuum_model, continuum_lo, continuum_hi: pieces where g is identically 0.
    """

    model: np.ndarray
    value: np.ndarray
    multiplicity: np.ndarray
    continuum_model: np.ndarray
    continuum_lo: np.ndarray
    continuum_hi: np.ndarray


def _slots(model: np.ndarray, M: int) -> tuple[np.ndarray, int]:
    """Column of each flat entry in a (M, P) padded layout, and P."""
    if model.size == 0:
        return np.zeros(0, dtype=np.int64), 1
    order = np.argsort(model, kind="stable")
    counts = np.bincount(model, minlength=M)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    col = np.empty(model.size, dtype=np.int64)
    col[order] = np.arange(model.size) - starts[model[order]]
    return col, int(max(1, counts.max()))


def evaluate_flat(g: ScalarFunction, M: int, model: np.ndarray, h: np.ndarray, *, fill: float = 0.0,
                  derivatives: int = 0) -> list[np.ndarray]:
    """g (and its first ``derivatives`` derivatives, by autograd) at flat points (model[k], h[k])."""
    col, P = _slots(model, M)
    H = torch.full((M, P), fill, dtype=torch.float64)
    H[torch.as_tensor(model), torch.as_tensor(col)] = torch.as_tensor(h, dtype=torch.float64)
    idx = (torch.as_tensor(model), torch.as_tensor(col))
    if derivatives == 0:
        with torch.no_grad():
            return [g(H)[idx].numpy()]
    H.requires_grad_(True)
    out = [g(H)]
    for _ in range(derivatives):
        (d,) = torch.autograd.grad(out[-1].sum(), H, create_graph=True, allow_unused=True)
        out.append(torch.zeros_like(H) if d is None else d)
    return [o[idx].detach().numpy() for o in out]


def _bisect(g: ScalarFunction, M: int, model: np.ndarray, a: np.ndarray, b: np.ndarray, fill: float,
            iterations: int = 64) -> np.ndarray:
    """Midpoints of the brackets [a, b] of sign changes of g after ``iterations`` halvings."""
    sign_a = np.sign(evaluate_flat(g, M, model, a, fill=fill)[0])

    def side(mid: np.ndarray) -> np.ndarray:
        gm = evaluate_flat(g, M, model, mid, fill=fill)[0]
        return np.where(gm == 0, 0, np.where(np.sign(gm) == sign_a, -1, 1))

    a, b = bisect(side, a, b, iterations=iterations)
    return 0.5 * (a + b)


def _extremum(g: ScalarFunction, M: int, model: np.ndarray, a: np.ndarray, b: np.ndarray, sign: np.ndarray,
              fill: float, iterations: int = 80) -> np.ndarray:
    """Minimiser of sign * g on [a, b] by golden-section search (one unimodal dip per grid cell pair)."""
    a, b = a.copy(), b.copy()
    c = b - GOLDEN * (b - a)
    d = a + GOLDEN * (b - a)
    fc = sign * evaluate_flat(g, M, model, c, fill=fill)[0]
    fd = sign * evaluate_flat(g, M, model, d, fill=fill)[0]
    for _ in range(iterations):
        left = fc < fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        new_c = b - GOLDEN * (b - a)
        new_d = a + GOLDEN * (b - a)
        c_next = np.where(left, new_c, d)
        d_next = np.where(left, c, new_d)
        probe = np.where(left, new_c, new_d)
        fp = sign * evaluate_flat(g, M, model, probe, fill=fill)[0]
        fc, fd = np.where(left, fp, fd), np.where(left, fc, fp)
        c, d = c_next, d_next
    return 0.5 * (a + b)


@njit(cache=True)
def _scan_pass(H: np.ndarray, G: np.ndarray, fill: bool, out_zero: np.ndarray, out_cont: np.ndarray,
               out_change: np.ndarray, out_min: np.ndarray) -> tuple[int, int, int, int]:
    """One pass over every model's samples: isolated exact zeros (m, k), continua (runs of >= 3 exact zeros spanning
    a positive length: m, k_start, k_end), sign changes between k and k + 1 (m, k), and sign-free local minima of
    |g| at k (m, k). With ``fill`` False only counts."""
    M, N = G.shape
    nz = nc = ns = nm = 0
    for m in range(M):
        k = 0
        while k < N:
            if G[m, k] == 0.0:
                j = k
                while j + 1 < N and G[m, j + 1] == 0.0:
                    j += 1
                if j - k >= 2 and H[m, j] > H[m, k]:
                    if fill:
                        out_cont[nc, 0] = m
                        out_cont[nc, 1] = k
                        out_cont[nc, 2] = j
                    nc += 1
                else:
                    for i in range(k, j + 1):
                        if fill:
                            out_zero[nz, 0] = m
                            out_zero[nz, 1] = i
                        nz += 1
                k = j + 1
            else:
                k += 1
        for k in range(N - 1):
            a = G[m, k]
            b = G[m, k + 1]
            if np.isfinite(a) and np.isfinite(b) and ((a < 0.0 and b > 0.0) or (a > 0.0 and b < 0.0)):
                if fill:
                    out_change[ns, 0] = m
                    out_change[ns, 1] = k
                ns += 1
        for k in range(1, N - 1):
            a = G[m, k - 1]
            b = G[m, k]
            c = G[m, k + 1]
            if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(c)) or b == 0.0:
                continue
            if (a > 0.0) == (b > 0.0) and (c > 0.0) == (b > 0.0) and a != 0.0 and c != 0.0:
                if abs(b) <= abs(a) and abs(b) <= abs(c):
                    if fill:
                        out_min[nm, 0] = m
                        out_min[nm, 1] = k
                    nm += 1
    return nz, nc, ns, nm


def scan_samples(H: np.ndarray, G: np.ndarray):
    """(zeros, continua, sign changes, minima) index arrays of the samples G at H, both (M, N)."""
    e2 = np.zeros((0, 2), np.int64)
    e3 = np.zeros((0, 3), np.int64)
    nz, nc, ns, nm = _scan_pass(H, G, False, e2, e3, e2, e2)
    z, c = np.zeros((nz, 2), np.int64), np.zeros((nc, 3), np.int64)
    s, mn = np.zeros((ns, 2), np.int64), np.zeros((nm, 2), np.int64)
    _scan_pass(H, G, True, z, c, s, mn)
    return z, c, s, mn


def find_roots(g: ScalarFunction, M: int, *, lo: float, hi: float, kinks: np.ndarray | None = None,
               grid: int = 2049, tol: float = 1e-10, tol_derivative: float = 1e-7) -> Roots:
    """All roots of g_m on [lo, hi] for m = 0..M-1 (see the module docstring for the method and guarantee).

    Args:
        g: the batched scalar function.
        M: number of models.
        lo, hi: the interval.
        kinks: (M, K) breakpoints per model (NaN for none); they become grid points.
        grid: number of common grid points.
        tol: |g| at a sign-free minimum below which it is a double root.
        tol_derivative: |g'| at an odd root below which it is a triple root.

    Returns:
        :class:`Roots`.
    """
    fill = 0.5 * (lo + hi)
    base = np.linspace(lo, hi, grid)
    if kinks is not None and kinks.size:
        k = np.where(np.isfinite(kinks) & (kinks > lo) & (kinks < hi), kinks, lo)
        H = np.sort(np.concatenate([np.broadcast_to(base, (M, grid)), k], axis=1), axis=1)
        H_t = torch.as_tensor(H)
    else:
        H_t = torch.as_tensor(base).expand(M, grid)
        H = np.broadcast_to(base, (M, grid))
    with torch.no_grad():
        G = np.ascontiguousarray(g(H_t).numpy())
    zeros, cont, changes, minima = scan_samples(np.ascontiguousarray(H), G)
    roots_m, roots_h, roots_mult = [zeros[:, 0]], [H[zeros[:, 0], zeros[:, 1]]], [np.zeros(len(zeros), np.int64)]
    bm, bk = changes[:, 0], changes[:, 1]
    br_m, br_a, br_b = [bm], [H[bm, bk]], [H[bm, bk + 1]]
    cm, ck = minima[:, 0], minima[:, 1]
    if cm.size:
        a, b, sg = H[cm, ck - 1], H[cm, ck + 1], np.sign(G[cm, ck])
        hc = _extremum(g, M, cm, a, b, sg, fill)
        gc = evaluate_flat(g, M, cm, hc, fill=fill)[0]
        split = np.sign(gc) == -sg
        br_m += [cm[split], cm[split]]
        br_a += [a[split], hc[split]]
        br_b += [hc[split], b[split]]
        double = ~split & (np.abs(gc) <= tol)
        roots_m.append(cm[double])
        roots_h.append(hc[double])
        roots_mult.append(np.full(int(double.sum()), 2, np.int64))
    bm = np.concatenate(br_m)
    if bm.size:
        r = _bisect(g, M, bm, np.concatenate(br_a), np.concatenate(br_b), fill)
        roots_m.append(bm)
        roots_h.append(r)
        roots_mult.append(np.zeros(bm.size, np.int64))
    model = np.concatenate(roots_m).astype(np.int64)
    value = np.concatenate(roots_h)
    mult = np.concatenate(roots_mult)
    # multiplicity of odd roots: 3 where the derivative vanishes
    odd = mult == 0
    if odd.any():
        _, d1 = evaluate_flat(g, M, model[odd], value[odd], fill=fill, derivatives=1)
        mult[odd] = np.where(np.abs(d1) <= tol_derivative, 3, 1)
    # deduplicate (a grid zero at a kink sample, a split that landed on a sample)
    order = np.lexsort((value, model))
    model, value, mult = model[order], value[order], mult[order]
    keep = np.ones(model.size, bool)
    if model.size > 1:
        same = (model[1:] == model[:-1]) & (np.abs(value[1:] - value[:-1]) <= 1e-9)
        keep[1:] = ~same
        mult_prev = mult.copy()
        for i in np.nonzero(same)[0]:
            mult_prev[i] = max(mult_prev[i], mult_prev[i + 1])
        mult = mult_prev
    cm_, cs_, ce_ = cont[:, 0], cont[:, 1], cont[:, 2]
    return Roots(model[keep], value[keep], mult[keep], cm_, H[cm_, cs_], H[cm_, ce_])


@dataclass
class CertifiedRoots(Roots):
    """:class:`Roots` of the certified finder, plus ``certified`` (M,): False where a model ran out of budget."""

    certified: np.ndarray = None  # type: ignore[assignment]


def certified_roots(system: OneUnitSystem, eq: int, *, tol: float = 1e-10, max_leaves: int = 200_000,
                    capacity: int = 16) -> CertifiedRoots:
    """Every root in [-1, 1] of equation ``eq`` (``EQ_*`` of :mod:`dynlatch.dynamics._one_unit`) of every model of
    ``system``, by certified subdivision (module docstring), with the continua of hard gates (GRU update gate 1: the
    piece; LSTM forget gate 1 with i g = 0: {|h| < o}).

    Args:
        system: the batch of scalar systems.
        eq: the equation code.
        tol: width below which an interval that is neither excluded nor monotone is left unresolved.
        max_leaves: leaves per piece before a model is declared uncertified.
        capacity: roots per model reserved at first (models that need more are rerun).

    Returns:
        :class:`CertifiedRoots` (flat, sorted by model then value).
    """
    if not (tol > 0):
        raise ValueError(f"tol must be > 0; got {tol}")
    M = system.models
    params = np.ascontiguousarray(system.params, dtype=np.float64)
    idx = np.arange(M)
    cap = capacity
    rows_m, rows_h, rows_k = [], [], []
    cont_m, cont_lo_all, cont_hi_all = [], [], []
    certified = np.ones(M, bool)
    while idx.size:
        sub = np.ascontiguousarray(params[idx])
        K = idx.size
        out_h = np.zeros((K, cap))
        out_mult = np.zeros((K, cap), np.int64)
        n_out = np.zeros(K, np.int64)
        c_lo = np.zeros((K, cap))
        c_hi = np.zeros((K, cap))
        n_c = np.zeros(K, np.int64)
        status = np.zeros(K, np.int64)
        ou.certified_kernel(eq, sub, system.gate, system.reset_after, float(tol), int(max_leaves), out_h, out_mult,
                          n_out, c_lo, c_hi, n_c, status)
        over = (n_out > cap) | (n_c > cap)
        done = ~over
        cols = np.arange(cap)[None, :]
        sel = done[:, None] & (cols < n_out[:, None])
        rows_m.append(np.broadcast_to(idx[:, None], (K, cap))[sel])
        rows_h.append(out_h[sel])
        rows_k.append(out_mult[sel])
        selc = done[:, None] & (cols < n_c[:, None])
        cont_m.append(np.broadcast_to(idx[:, None], (K, cap))[selc])
        cont_lo_all.append(c_lo[selc])
        cont_hi_all.append(c_hi[selc])
        certified[idx[done]] = status[done] == ou.STATUS_OK
        idx = idx[over]
        cap *= 8
    model = np.concatenate(rows_m).astype(np.int64)
    value = np.concatenate(rows_h)
    mult = np.concatenate(rows_k).astype(np.int64)
    cm = np.concatenate(cont_m).astype(np.int64)
    clo, chi = np.concatenate(cont_lo_all), np.concatenate(cont_hi_all)
    # points at a continuum's edge belong to it; points reported twice at a shared piece bound are one
    if cm.size and model.size:
        by_model = np.argsort(cm, kind="stable")
        cm_s, clo_s, chi_s = cm[by_model], clo[by_model], chi[by_model]
        first, last = np.searchsorted(cm_s, model, "left"), np.searchsorted(cm_s, model, "right")
        inside = np.zeros(model.size, bool)
        for j in range(int((last - first).max())):  # a model has few continua
            k = np.minimum(first + j, cm_s.size - 1)
            inside |= (first + j < last) & (value >= clo_s[k] - 1e-12) & (value <= chi_s[k] + 1e-12)
        model, value, mult = model[~inside], value[~inside], mult[~inside]
    order = np.lexsort((value, model))
    model, value, mult = model[order], value[order], mult[order]
    if model.size > 1:
        same = np.zeros(model.size, bool)
        same[1:] = (model[1:] == model[:-1]) & (np.abs(value[1:] - value[:-1]) <= 1e-12)
        for i in np.nonzero(same)[0][::-1]:
            mult[i - 1] = max(mult[i - 1], mult[i])
        model, value, mult = model[~same], value[~same], mult[~same]
    order_c = np.lexsort((clo, cm))
    return CertifiedRoots(model, value, mult, cm[order_c], clo[order_c], chi[order_c], certified=certified)


def equation_at(system: OneUnitSystem, eq: int, model: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Equation ``eq`` at flat points (model[k], h[k])."""
    if model.size == 0:
        return np.zeros(0)
    return ou.points_at(eq, np.ascontiguousarray(system.params), np.ascontiguousarray(model, dtype=np.int64),
                   np.ascontiguousarray(h, dtype=np.float64), system.gate, system.reset_after)


def next_at(system: OneUnitSystem, model: np.ndarray, h: np.ndarray) -> np.ndarray:
    """F(h) of an SRNN or GRU system at flat points (model[k], h[k])."""
    if model.size == 0:
        return np.zeros(0)
    return ou.forms_at(ou.FORM_NEXT_H, ou.KIND_CODE[system.kind], np.ascontiguousarray(system.params),
                     np.ascontiguousarray(model, dtype=np.int64), np.ascontiguousarray(h, dtype=np.float64),
                     system.gate, system.reset_after)


def lstm_cell_at(system: OneUnitSystem, model: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The LSTM's c at the fixed point with hidden value h[k] of model[k] (:func:`_one_unit.lstm_cell_value`)."""
    if model.size == 0:
        return np.zeros(0)
    return ou.forms_at(ou.FORM_LSTM_CELL_STATE, 2, np.ascontiguousarray(system.params),
                     np.ascontiguousarray(model, dtype=np.int64), np.ascontiguousarray(h, dtype=np.float64),
                     system.gate, system.reset_after)
