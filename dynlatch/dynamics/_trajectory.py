"""Trajectories of a map and the Jacobians along them (the raw material of Lyapunov spectra and gradient decay)."""

from __future__ import annotations

import torch

from ._jacobian import jacobian_tensor
from ._maps import Map, Tensor

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
