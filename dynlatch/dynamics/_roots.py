"""Every root of a batch of scalar functions on an interval: the engine behind the guaranteed one-unit finder.

Each model's function is sampled on a common grid plus its own kinks (breakpoints where it is not smooth, e.g. the
corners of a hard sigmoid); roots are then found three ways:

* sign changes between neighbouring samples (odd multiplicity), refined by bisection to machine precision;
* local minima of |g| between samples of one sign (a double root, or two roots closer than the grid spacing),
  refined by golden-section search for the extremum: if g changes sign there, both roots are bracketed and
  bisected, if |g| <= ``tol`` there it is a double root;
* runs of exact zeros (g identically 0 on a piece: a continuum of roots).

A root whose derivative vanishes (|g'| <= ``tol_derivative``) inside a sign change is reported with multiplicity 3.
Guarantee (to the stated tolerance): on every smooth piece whose second derivative is bounded by C, roots separated by
more than the grid spacing h, and tangencies whose |g| minimum is <= ``tol``, are all found; two simple roots closer
than h are found when the extremum between them is inside one grid cell. Functions return NaN where no root can be
(such samples bound no bracket).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from numba import njit

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
    a, b = a.copy(), b.copy()
    ga = evaluate_flat(g, M, model, a, fill=fill)[0]
    for _ in range(iterations):
        mid = 0.5 * (a + b)
        gm = evaluate_flat(g, M, model, mid, fill=fill)[0]
        left = np.sign(gm) == np.sign(ga)
        a = np.where(left, mid, a)
        ga = np.where(left, gm, ga)
        b = np.where(left, b, mid)
        exact = gm == 0
        a = np.where(exact, mid, a)
        b = np.where(exact, mid, b)
    mid = 0.5 * (a + b)
    return mid


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
