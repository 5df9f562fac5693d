"""Fold and flip points of fixed points and 2-cycles, located by Newton's method on the augmented equations (not read
off a grid):

.. math::
    F^k(s; p) - s = 0, \\qquad \\det\\big(D F^k(s; p) - \\mu I\\big) = 0, \\quad \\mu = +1 \\text{ (fold) or } -1
    \\text{ (flip)}

with k = 1 (fixed points) or k = 2 (2-cycles: F^2 = F o F, D F^2(s) = J(F(s)) J(s), the cycle's multipliers;
a 2-cycle's flip is the period doubling to a 4-cycle) (Kuznetsov, Elements of Applied Bifurcation Theory, ch. 4 and
10), in the unknowns (s, p) with p a named map parameter or the constant input ``"x"`` (all input units). Batched over
models. Every fixed point also solves the k = 2 system (a fixed point's flip is a fold of F^2): a solution with
F(s) = s is not a 2-cycle and is rejected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._jacobian import period_jacobian
from ._maps import DTYPE, Map, as_map


FIXED_POINT_TOL = 1e-5
"""A located 2-cycle point s with max|F(s) - s| below this is a fixed point, not a 2-cycle (Newton on the
singular k = 2 system at a fixed point's flip creeps towards the fixed point only linearly, so the margin is wide)."""


def _residual(m: Map, parameter: str, z: torch.Tensor, mu: float, period: int = 1) -> torch.Tensor:
    """Augmented residual at z = (s, p) (M, K, d + 1) -> (M, K, d + 1)."""
    d = m.state_dim
    s, p = z[..., :d], z[..., d]
    M, K = z.shape[:2]
    if parameter == "x":
        x = p.unsqueeze(-1).expand(M, K, m.input_dim).contiguous()
        mm = m
    else:
        mm = None
        x = None if m.input_dim == 0 else torch.zeros(M, K, m.input_dim, dtype=DTYPE)
    out = []
    for k in range(K):
        if mm is None:
            mk = m.with_params(**{parameter: p[:, k].numpy()})
        else:
            mk = mm
        xs = None if x is None else x[:, k : k + 1]
        sk = s[:, k : k + 1]
        J, image = period_jacobian(mk, sk, xs, period)
        f = image - sk
        det = torch.linalg.det(J - mu * torch.eye(d, dtype=DTYPE))
        out.append(torch.cat([f, det.unsqueeze(-1)], -1))
    return torch.cat(out, 1)


def solve_augmented(m: Map, *, parameter: str, state: Any, value: Any, kind: str, period: int = 1,
                    tol: float = 1e-13, max_iter: int = 50, fd_step: float = 1e-7
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Newton on the augmented equations (module docstring) without raising: (state (M, d), value (M,), converged
    (M,) bool: residual max-norm <= 1e-9 and finite, fixed (M,) bool: max|F(s) - s| <= ``FIXED_POINT_TOL``)."""
    mu = 1.0 if kind == "fold" else -1.0
    d, M = m.state_dim, m.models
    s0 = np.broadcast_to(np.asarray(state, dtype=np.float64), (M, d))
    p0 = np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (M,))
    z = torch.as_tensor(np.concatenate([s0, p0[:, None]], 1)).unsqueeze(1)
    for _ in range(max_iter):
        r = _residual(m, parameter, z, mu, period)
        eye = torch.eye(d + 1, dtype=DTYPE) * fd_step
        probes = torch.cat([z + eye[j] for j in range(d + 1)] + [z - eye[j] for j in range(d + 1)], 1)
        rp = _residual(m, parameter, probes, mu, period)
        A = ((rp[:, : d + 1] - rp[:, d + 1 :]) / (2 * fd_step)).transpose(1, 2)  # (M, d+1 eqs, d+1 unknowns)
        try:
            step = torch.linalg.solve(A, -r[:, 0].unsqueeze(-1))[..., 0]
        except RuntimeError:  # a singular Newton matrix (e.g. a degenerate seed)
            step = (torch.linalg.pinv(A) @ -r[:, 0].unsqueeze(-1))[..., 0]
        step = torch.nan_to_num(step, nan=0.0, posinf=0.0, neginf=0.0)
        z = z + step.unsqueeze(1)
        if float(step.abs().max()) <= tol:
            break
    r = _residual(m, parameter, z, mu, period)
    converged = ((r.abs().amax(dim=(1, 2)) <= 1e-9) & torch.isfinite(z).all(dim=2)[:, 0]).numpy()
    s, p = z[:, 0, :d].numpy(), z[:, 0, d].numpy()
    fixed = np.zeros(M, bool)
    if period > 1:
        one = _residual(m, parameter, z, mu, 1)[:, 0, :d]
        fixed = (one.abs().amax(dim=1) <= FIXED_POINT_TOL).numpy()
    return s, p, converged, fixed


def locate_bifurcation(map_or_cell: Any, *, parameter: str, state: Any, value: Any, kind: str = "fold",
                       period: int = 1, tol: float = 1e-13, max_iter: int = 50, fd_step: float = 1e-7
                       ) -> tuple[np.ndarray, np.ndarray]:
    """A fold (eigenvalue +1) or flip (eigenvalue -1) point of the fixed points (``period=1``) or 2-cycles
    (``period=2``; eigenvalues of D(F o F) at the cycle, a flip being the period doubling to a 4-cycle) of a map, per
    model.

    Args:
        map_or_cell: a :class:`Map` or a cell.
        parameter: a name in ``map.params``, or ``"x"`` for the constant input.
        state: initial guess of the fixed point / a point of the 2-cycle, (d,) or (M, d).
        value: initial guess of the parameter, scalar or (M,).
        kind: "fold" or "flip".
        period: 1 or 2.
        tol: stop when the max-norm of the Newton step and of the residual are below ``tol``.
        max_iter: Newton iterations.
        fd_step: step of the central differences for the Newton matrix (the residual itself is exact).

    Returns:
        (state (M, d), parameter value (M,)) as numpy arrays; for ``period=2`` the state is one point of the cycle
        (its partner is F(state)).

    Raises:
        ValueError: for an unknown parameter, kind or period, when Newton does not converge, or (``period=2``) when it
            converges to a fixed point of F instead of a 2-cycle (naming the models).
    """
    m = as_map(map_or_cell)
    if kind not in ("fold", "flip"):
        raise ValueError(f"kind must be 'fold' or 'flip'; got {kind!r}")
    if period not in (1, 2):
        raise ValueError(f"period must be 1 or 2; got {period!r}")
    if parameter != "x" and parameter not in m.params:
        raise ValueError(f"unknown parameter {parameter!r}; the map has {sorted(m.params)} and 'x'")
    if parameter == "x" and m.input_dim == 0:
        raise ValueError("parameter 'x' needs a driven map (input_dim >= 1)")
    s, p, converged, fixed = solve_augmented(m, parameter=parameter, state=state, value=value, kind=kind,
                                             period=period, tol=tol, max_iter=max_iter, fd_step=fd_step)
    bad = np.nonzero(~converged)[0]
    if bad.size:
        raise ValueError(f"Newton did not converge to a {kind} point for models {bad.tolist()[:5]}")
    if fixed.any():
        raise ValueError(f"Newton converged to a fixed point of the map (a period-1 event), not a 2-cycle, for models "
                         f"{np.nonzero(fixed)[0].tolist()[:5]}")
    return s, p
