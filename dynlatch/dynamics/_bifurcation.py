"""Fold and flip points of fixed points, located by Newton's method on the augmented equations (not read off a grid):

.. math::
    F(s; p) - s = 0, \\qquad \\det\\big(J(s; p) - \\mu I\\big) = 0, \\quad \\mu = +1 \\text{ (fold) or } -1 \\text{ (flip)}

(Kuznetsov, Elements of Applied Bifurcation Theory, ch. 10), in the unknowns (s, p) with p a named map parameter or
the constant input ``"x"`` (all input units). Batched over models.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._jacobian import jacobian_tensor
from ._maps import DTYPE, Map, as_map


def _residual(m: Map, parameter: str, z: torch.Tensor, mu: float) -> torch.Tensor:
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
        with torch.no_grad():
            f = mk(sk, xs) - sk
        J = jacobian_tensor(mk, sk, xs)
        det = torch.linalg.det(J - mu * torch.eye(d, dtype=DTYPE))
        out.append(torch.cat([f, det.unsqueeze(-1)], -1))
    return torch.cat(out, 1)


def locate_bifurcation(map_or_cell: Any, *, parameter: str, state: Any, value: Any, kind: str = "fold",
                       tol: float = 1e-13, max_iter: int = 50, fd_step: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    """A fold (eigenvalue +1) or flip (eigenvalue -1) point of the fixed points of a map, per model.

    Args:
        map_or_cell: a :class:`Map` or a cell.
        parameter: a name in ``map.params``, or ``"x"`` for the constant input.
        state: initial guess of the fixed point, (d,) or (M, d).
        value: initial guess of the parameter, scalar or (M,).
        kind: "fold" or "flip".
        tol: stop when the max-norm of the Newton step and of the residual are below ``tol``.
        max_iter: Newton iterations.
        fd_step: step of the central differences for the Newton matrix (the residual itself is exact).

    Returns:
        (state (M, d), parameter value (M,)) as numpy arrays.

    Raises:
        ValueError: for an unknown parameter or kind, or when Newton does not converge (naming the models).
    """
    m = as_map(map_or_cell)
    if kind not in ("fold", "flip"):
        raise ValueError(f"kind must be 'fold' or 'flip'; got {kind!r}")
    if parameter != "x" and parameter not in m.params:
        raise ValueError(f"unknown parameter {parameter!r}; the map has {sorted(m.params)} and 'x'")
    if parameter == "x" and m.input_dim == 0:
        raise ValueError("parameter 'x' needs a driven map (input_dim >= 1)")
    mu = 1.0 if kind == "fold" else -1.0
    d, M = m.state_dim, m.models
    s0 = np.broadcast_to(np.asarray(state, dtype=np.float64), (M, d))
    p0 = np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (M,))
    z = torch.as_tensor(np.concatenate([s0, p0[:, None]], 1)).unsqueeze(1)
    for _ in range(max_iter):
        r = _residual(m, parameter, z, mu)
        eye = torch.eye(d + 1, dtype=DTYPE) * fd_step
        probes = torch.cat([z + eye[j] for j in range(d + 1)] + [z - eye[j] for j in range(d + 1)], 1)
        rp = _residual(m, parameter, probes, mu)
        A = ((rp[:, : d + 1] - rp[:, d + 1 :]) / (2 * fd_step)).transpose(1, 2)  # (M, d+1 eqs, d+1 unknowns)
        step = torch.linalg.solve(A, -r[:, 0].unsqueeze(-1))[..., 0]
        z = z + step.unsqueeze(1)
        if float(step.abs().max()) <= tol:
            break
    r = _residual(m, parameter, z, mu)
    bad = np.nonzero((r.abs().amax(dim=(1, 2)) > 1e-9).numpy())[0]
    if bad.size:
        raise ValueError(f"Newton did not converge to a {kind} point for models {bad.tolist()[:5]}")
    return z[:, 0, :d].numpy(), z[:, 0, d].numpy()
