"""The optimisation finder for n-unit cells and user maps (Sussillo & Barak 2013, Neural Comput. 25:626):
minimise q(s) = 1/2 ||F(s) - s||^2 from many starts, batched over starts and models, by Levenberg-Marquardt.

Not guaranteed complete: a fixed point whose basin of the q-descent holds no start is missed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._jacobian import period_jacobian
from ._maps import DTYPE, Map, input_tensor


def _period_map(m: Map, period: int):
    def F(s: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        for _ in range(period):
            s = m(s, x)
        return s
    return F


def minimise_q(m: Map, s: torch.Tensor, x: torch.Tensor | None, *, period: int = 1, iterations: int = 60,
               q_stop: float = 1e-30) -> tuple[torch.Tensor, torch.Tensor]:
    """Levenberg-Marquardt on q = 1/2 ||F^p(s) - s||^2 for every (model, start) at once; returns (s, q) (M, S, *)."""
    d = m.state_dim
    eye = torch.eye(d, dtype=DTYPE)
    mu = torch.full(s.shape[:-1], 1e-3, dtype=DTYPE)
    J, Fs = period_jacobian(m, s, x, period)
    r = Fs - s
    q = 0.5 * (r * r).sum(-1)
    for _ in range(iterations):
        A = J - eye
        AtA = A.transpose(-1, -2) @ A
        step = -torch.linalg.solve(AtA + mu[..., None, None] * (eye + torch.diag_embed(torch.diagonal(AtA, 0, -2, -1))),
                                   (A.transpose(-1, -2) @ r.unsqueeze(-1)))[..., 0]
        s_new = s + step
        J_new, F_new = period_jacobian(m, s_new, x, period)
        r_new = F_new - s_new
        q_new = 0.5 * (r_new * r_new).sum(-1)
        better = torch.isfinite(q_new) & (q_new < q)
        s = torch.where(better[..., None], s_new, s)
        J = torch.where(better[..., None, None], J_new, J)
        r = torch.where(better[..., None], r_new, r)
        q = torch.where(better, q_new, q)
        mu = torch.where(better, mu / 3, mu * 4).clamp(1e-12, 1e12)
        if bool((q <= q_stop).all()):
            break
    return s, q


def slow_point_table(m: Map, *, x: Any = 0.0, periods: tuple[int, ...] = (1,), starts: int = 64, seed: int = 0,
                     scale: float = 1.0, q_fixed: float = 1e-20, q_slow: float = 1e-6,
                     distinct: float = 1e-4) -> dict[str, np.ndarray]:
    """Fixed and slow points of any map from ``starts`` uniform starts in [-scale, scale]^d per model.

    Points with q <= ``q_fixed`` are fixed points (kind "point"), those with q <= ``q_slow`` slow points (kind
    "slow"); duplicates closer than ``distinct`` (or 10 (2q)^(1/3), the reach of a
    degenerate root) are merged. Columns as in :func:`fixed_points` plus ``q``.
    """
    if int(starts) < 1:
        raise ValueError(f"starts must be >= 1; got {starts}")
    M, d = m.models, m.state_dim
    xs = input_tensor(m, x, int(starts))
    gen = torch.Generator().manual_seed(int(seed))
    rows: dict[str, list] = {k: [] for k in ("model", "state", "period", "q")}
    for period in periods:
        s0 = (torch.rand(M, int(starts), d, generator=gen, dtype=DTYPE) * 2 - 1) * scale
        s, q = minimise_q(m, s0, xs, period=period)
        s, q = s.numpy(), q.numpy()
        for mi in range(M):
            keep = np.nonzero(q[mi] <= q_slow)[0]
            keep = keep[np.argsort(q[mi, keep])]
            chosen: list[np.ndarray] = []
            for k in keep:
                radius = max(distinct, 10 * (2 * q[mi, k]) ** (1 / 3))
                if all(np.max(np.abs(s[mi, k] - c)) > radius for c in chosen):
                    if period == 2:
                        one = _period_map(m, 1)(torch.as_tensor(s[mi : mi + 1, k : k + 1]).expand(M, 1, d).clone(),
                                                None if xs is None else xs[:, :1])[mi, 0].numpy()
                        if np.max(np.abs(one - s[mi, k])) <= 1e-8:
                            continue
                    chosen.append(s[mi, k])
                    rows["model"].append(mi)
                    rows["state"].append(s[mi, k])
                    rows["period"].append(period)
                    rows["q"].append(q[mi, k])
    R = len(rows["model"])
    model = np.asarray(rows["model"], dtype=np.int64)
    state = np.asarray(rows["state"]).reshape(R, d)
    period = np.asarray(rows["period"], dtype=np.int64)
    qv = np.asarray(rows["q"], dtype=np.float64)
    jac = np.zeros((R, d, d))
    residual = np.zeros(R)
    for p in (1, 2):
        for mi in np.unique(model[period == p]):
            idx = np.nonzero((model == mi) & (period == p))[0]
            S = torch.as_tensor(state[idx]).unsqueeze(0).expand(M, idx.size, d).clone()
            xi = None if xs is None else xs[:, :1].expand(M, idx.size, xs.shape[-1])
            J, Fs = period_jacobian(m, S, xi, p)
            jac[idx] = J[mi].numpy()
            residual[idx] = (Fs[mi] - S[mi]).abs().amax(-1).numpy()
    eig = np.linalg.eigvals(jac) if R else np.zeros((0, d), complex)
    orbit = np.zeros(R, np.int64)
    for mi in np.unique(model):
        idx = np.nonzero(model == mi)[0]
        orbit[idx] = np.arange(idx.size)
    kind = np.where(qv <= q_fixed, "point", "slow").astype(object)
    return {"model": model, "orbit": orbit, "period": period, "kind": kind, "state": state, "jacobian": jac,
            "eigenvalues": eig, "stable": np.all(np.abs(eig) < 1, axis=1) if R else np.zeros(0, bool),
            "multiplicity": np.ones(R, np.int64), "residual": residual, "extent_lo": state.copy(),
            "extent_hi": state.copy(), "q": qv}
