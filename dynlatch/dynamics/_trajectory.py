"""Trajectories of a map and the Jacobians along them (the raw material of Lyapunov spectra and gradient decay)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._jacobian import jacobian_tensor
from ._maps import Map, Tensor, as_map, input_sequence, state_tensor

JACOBIAN_CHUNK = 8192
"""Time steps whose Jacobians are taken in one autograd call (the time axis is used as the batch axis)."""


@torch.no_grad()
def simulate(m: Map, s0: Tensor, inputs: Tensor | None, steps: int) -> Tensor:
    """States s_0..s_T of every model: ``s0`` (M, d), inputs (M, T, D) or None; returns (M, T + 1, d)."""
    states = [s0]
    s = s0.unsqueeze(1)
    for t in range(steps):
        s = m(s, None if inputs is None else inputs[:, t : t + 1])
        states.append(s[:, 0])
    return torch.stack(states, dim=1)


def trajectory_jacobians(m: Map, states: Tensor, inputs: Tensor | None) -> Tensor:
    """J_t = dF/ds (s_t, x_t) for t = 0..T-1 along ``states`` (M, T + 1, d); returns (M, T, d, d)."""
    T = states.shape[1] - 1
    parts = []
    for t0 in range(0, T, JACOBIAN_CHUNK):
        t1 = min(T, t0 + JACOBIAN_CHUNK)
        parts.append(jacobian_tensor(m, states[:, t0:t1], None if inputs is None else inputs[:, t0:t1]))
    return torch.cat(parts, dim=1)


def driven_trajectory(map_or_cell: Any, state0: Any, inputs: Any, steps: int | None) -> tuple[Map, Tensor, Any]:
    """The map, the states s_0..s_T (M, T + 1, d) from ``state0`` and the Jacobians J_t (M, T, d, d, numpy, C order)
    along them: the common start of :func:`lyapunov_spectrum` and :func:`gradient_decay`.

    Raises:
        ValueError: for bad shapes or a diverging trajectory.
    """
    m = as_map(map_or_cell)
    u, T = input_sequence(m, inputs, steps)
    s0 = state_tensor(m, state0, name="state0")
    if s0.shape[1] != 1:
        raise ValueError("state0 must be (d,) or (M, d)")
    states = simulate(m, s0[:, 0], u, T)
    if not torch.isfinite(states).all():
        raise ValueError("the trajectory diverged (non-finite states)")
    return m, states, np.ascontiguousarray(trajectory_jacobians(m, states, u).cpu().numpy())
