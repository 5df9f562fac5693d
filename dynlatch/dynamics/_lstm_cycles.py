"""2-cycles of one-unit LSTMs, reduced to two unknowns (h1, h2).

A 2-cycle (h1, c1) -> (h2, c2) -> (h1, c1) has c2 = f1 c1 + i1 g1 and c1 = f2 c2 + i2 g2 (gates at h1, h2), so

.. math::
    c_1 = \\frac{f_2 i_1 g_1 + i_2 g_2}{1 - f_1 f_2}, \\quad c_2 = f_1 c_1 + i_1 g_1, \\qquad
    r = \\big(o_1 \\tanh c_2 - h_2,\\; o_2 \\tanh c_1 - h_1\\big) = 0, \\quad h_1 \\ne h_2.

Every root in [-1, 1]^2 is enumerated by a grid of cells with an exclusion test (a cell is dropped when a component
of r has one strict sign at its four corners by a margin larger than its variation over the cell) followed by 2-D
Newton from the surviving cells (exact Jacobian by autograd), polished to |r| <= 1e-12. This is a fine-grid method,
not interval arithmetic: roots closer together than a grid cell may merge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._one_unit import gates

Tensor = torch.Tensor


def _parts(cell: Any, x: Tensor):
    gi, gf, gc, go = gates(cell, x)
    gate = cell.gate

    def at(h: Tensor):
        return gate(gi(h)) * torch.tanh(gc(h)), gate(gf(h)), gate(go(h))

    return at


def cycle_residual(cell: Any, x: Tensor, h1: Tensor, h2: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(r_a, r_b, c1, c2) at (h1, h2), each (M, P); NaN where 1 - f1 f2 = 0."""
    at = _parts(cell, x)
    ig1, f1, o1 = at(h1)
    ig2, f2, o2 = at(h2)
    den = 1 - f1 * f2
    safe = torch.where(den > 0, den, torch.ones_like(den))
    c1 = torch.where(den > 0, (f2 * ig1 + ig2) / safe, torch.full_like(den, float("nan")))
    c2 = f1 * c1 + ig1
    return o1 * torch.tanh(c2) - h2, o2 * torch.tanh(c1) - h1, c1, c2


def lstm_two_cycles(cell: Any, x: Tensor, *, grid: int = 129, iterations: int = 40,
                    tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every 2-cycle of a batch of one-unit LSTMs at constant input x (M, 1, D).

    Returns:
        (model, h1, h2, c1, c2) flat numpy arrays, one row per cycle, h1 < h2.
    """
    M = cell.models
    axis = torch.linspace(-1.0, 1.0, grid, dtype=torch.float64)
    A, B = torch.meshgrid(axis, axis, indexing="ij")
    with torch.no_grad():
        ra, rb, _, _ = cycle_residual(cell, x, A.reshape(1, -1).expand(M, -1), B.reshape(1, -1).expand(M, -1))
    keep = torch.ones(M, grid - 1, grid - 1, dtype=torch.bool)
    for r in (ra.reshape(M, grid, grid), rb.reshape(M, grid, grid)):
        corners = torch.stack([r[:, :-1, :-1], r[:, 1:, :-1], r[:, :-1, 1:], r[:, 1:, 1:]], -1)
        finite = torch.isfinite(corners).all(-1)
        lo, hi = corners.amin(-1), corners.amax(-1)
        spread = hi - lo
        excluded = finite & (((lo > 0) & (lo > spread)) | ((hi < 0) & (-hi > spread)))
        excluded |= torch.isnan(corners).all(-1)  # 1 - f1 f2 = 0 on the whole cell: no isolated cycle there
        keep &= ~excluded
    keep &= ~torch.eye(grid - 1, dtype=torch.bool)  # cells on the diagonal hold fixed points; off-diagonal cycles only
    m_idx, i_idx, j_idx = torch.nonzero(keep, as_tuple=True)
    if m_idx.numel() == 0:
        e = np.zeros(0)
        return np.zeros(0, np.int64), e, e, e, e
    step = 2.0 / (grid - 1)
    h1 = (-1.0 + (i_idx.double() + 0.5) * step)
    h2 = (-1.0 + (j_idx.double() + 0.5) * step)
    sub = cell[m_idx.tolist()]
    xs = x[m_idx]
    z1, z2 = h1[:, None].clone(), h2[:, None].clone()
    for _ in range(iterations):
        z1.requires_grad_(True)
        z2.requires_grad_(True)
        ra, rb, _, _ = cycle_residual(sub, xs, z1, z2)
        ga1, ga2 = torch.autograd.grad(ra.sum(), (z1, z2), retain_graph=True)
        gb1, gb2 = torch.autograd.grad(rb.sum(), (z1, z2))
        det = ga1 * gb2 - ga2 * gb1
        safe = torch.where(det.abs() > 1e-300, det, torch.full_like(det, 1e-300))
        with torch.no_grad():
            d1 = (ra * gb2 - rb * ga2) / safe
            d2 = (rb * ga1 - ra * gb1) / safe
            z1 = (z1.detach() - d1).clamp(-1, 1)
            z2 = (z2.detach() - d2).clamp(-1, 1)
    with torch.no_grad():
        ra, rb, c1, c2 = cycle_residual(sub, xs, z1, z2)
    res = torch.maximum(ra.abs(), rb.abs())[:, 0].numpy()
    z1n, z2n = z1[:, 0].numpy(), z2[:, 0].numpy()
    ok = np.isfinite(res) & (res <= tol) & (np.abs(z1n - z2n) > 1e-7)
    model = m_idx.numpy()[ok]
    a, b = z1n[ok], z2n[ok]
    ca, cb = c1[:, 0].numpy()[ok], c2[:, 0].numpy()[ok]
    swap = a > b
    h_lo, h_hi = np.where(swap, b, a), np.where(swap, a, b)
    c_lo, c_hi = np.where(swap, cb, ca), np.where(swap, ca, cb)
    order = np.lexsort((h_hi, h_lo, model))
    model, h_lo, h_hi, c_lo, c_hi = model[order], h_lo[order], h_hi[order], c_lo[order], c_hi[order]
    distinct = np.ones(model.size, bool)
    if model.size > 1:
        distinct[1:] = ~((model[1:] == model[:-1]) & (np.abs(h_lo[1:] - h_lo[:-1]) <= 1e-8)
                         & (np.abs(h_hi[1:] - h_hi[:-1]) <= 1e-8))
    return model[distinct], h_lo[distinct], h_hi[distinct], c_lo[distinct], c_hi[distinct]
