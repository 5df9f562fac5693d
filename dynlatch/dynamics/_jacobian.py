"""Exact Jacobians of a map by reverse-mode autograd, batched over models and states."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._maps import Map, Tensor, as_map, input_tensor, state_tensor


def jacobian_tensor(m: Map, s: Tensor, x: Tensor | None) -> Tensor:
    """d F / d s for states (M, B, d) and inputs (M, B, D) or None; returns (M, B, d, d) (rows: outputs).

    One backward pass per output component: models and batch entries are independent, so the gradient of the sum
    over them of output k is row k of every Jacobian at once.
    """
    s = s.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = m(s, x)
        rows = []
        for k in range(m.state_dim):
            (g,) = torch.autograd.grad(out[..., k].sum(), s, retain_graph=k + 1 < m.state_dim, allow_unused=True)
            rows.append(torch.zeros_like(s) if g is None else g)
    return torch.stack(rows, dim=-2).detach()


def period_jacobian(m: Map, s: Tensor, x: Tensor | None, period: int) -> tuple[Tensor, Tensor]:
    """(Jacobian of the period-p map, F^p(s)) at states s (M, B, d): D F^p(s) = J(F^(p-1) s) ... J(s), the chain rule
    along the orbit, each factor by :func:`jacobian_tensor`."""
    d = m.state_dim
    J = torch.eye(d, dtype=s.dtype).expand(*s.shape[:-1], d, d)
    cur = s
    for _ in range(period):
        J = jacobian_tensor(m, cur, x) @ J
        with torch.no_grad():
            cur = m(cur, x)
    return J, cur


def jacobian(map_or_cell: Any, state: Any, x: Any = None) -> Tensor:
    """The exact Jacobian dF/ds of a map (or cell) at ``state`` with input ``x``.

    Args:
        map_or_cell: a :class:`Map` or a cell (LSTM state ``[h, c]``, so its Jacobian is 2n x 2n).
        state: (d,) shared by every model, (M, d), or (M, B, d).
        x: None / a scalar (every input), (D,), (M, D) or (M, B, D); must be None for autonomous maps.

    Returns:
        float64 tensor (M, d, d), or (M, B, d, d) for a 3-D ``state``; entry [i, j] = dF_i/ds_j.

    Raises:
        ValueError: for shapes that do not fit the map.
    """
    m = as_map(map_or_cell)
    s = state_tensor(m, state)
    batched = (state.ndim if isinstance(state, Tensor) else np.ndim(state)) == 3
    J = jacobian_tensor(m, s, input_tensor(m, x, s.shape[1]))
    return J if batched else J[:, 0]
