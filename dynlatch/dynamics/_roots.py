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
    H = np.broadcast_to(base, (M, grid))
    if kinks is not None and kinks.size:
        k = np.where(np.isfinite(kinks) & (kinks > lo) & (kinks < hi), kinks, lo)
        H = np.sort(np.concatenate([H, k], axis=1), axis=1)
    H = np.array(H)
    with torch.no_grad():
        G = g(torch.as_tensor(np.ascontiguousarray(H))).numpy()
    N = H.shape[1]
    finite = np.isfinite(G)
    zero = G == 0
    # continua: runs of >= 3 exact zeros (duplicated kink samples count once)
    run_start = zero & ~np.concatenate([np.zeros((M, 1), bool), zero[:, :-1]], axis=1)
    run_end = zero & ~np.concatenate([zero[:, 1:], np.zeros((M, 1), bool)], axis=1)
    sm, sk = np.nonzero(run_start)
    em, ek = np.nonzero(run_end)
    long_run = (ek - sk) >= 2
    distinct = H[em, ek] - H[sm, sk] > 0
    cont = long_run & distinct
    in_continuum = np.zeros_like(zero)
    for m_, a_, b_ in zip(sm[cont], sk[cont], ek[cont]):
        in_continuum[m_, a_ : b_ + 1] = True
    roots_m, roots_h, roots_mult = [], [], []
    # exact zeros on the grid
    zm, zk = np.nonzero(zero & ~in_continuum)
    roots_m.append(zm)
    roots_h.append(H[zm, zk])
    roots_mult.append(np.zeros(zm.size, np.int64))
    s = np.sign(G)
    change = finite[:, :-1] & finite[:, 1:] & (s[:, :-1] * s[:, 1:] < 0)
    bm, bk = np.nonzero(change)
    br_m, br_a, br_b = [bm], [H[bm, bk]], [H[bm, bk + 1]]
    # sign-free local minima of |g|
    A = np.abs(G)
    mid = (finite[:, 1:-1] & finite[:, :-2] & finite[:, 2:] & (s[:, 1:-1] != 0)
           & (s[:, 1:-1] == s[:, :-2]) & (s[:, 1:-1] == s[:, 2:])
           & (A[:, 1:-1] <= A[:, :-2]) & (A[:, 1:-1] <= A[:, 2:]))
    cm, ck = np.nonzero(mid)
    ck = ck + 1
    if cm.size:
        a, b, sg = H[cm, ck - 1], H[cm, ck + 1], s[cm, ck]
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
    return Roots(model[keep], value[keep], mult[keep], sm[cont], H[sm[cont], sk[cont]], H[em[cont], ek[cont]])
