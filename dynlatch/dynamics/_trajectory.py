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
        ValueError: for bad shapes, a diverging trajectory or Jacobians that overflow float64 (weights so large
            that a derivative is inf or NaN: no spectrum or decay rate can be read from them).
    """
    m = as_map(map_or_cell)
    u, T = input_sequence(m, inputs, steps)
    s0 = state_tensor(m, state0, name="state0")
    if s0.shape[1] != 1:
        raise ValueError("state0 must be (d,) or (M, d)")
    states = simulate(m, s0[:, 0], u, T)
    if not torch.isfinite(states).all():
        raise ValueError("the trajectory diverged (non-finite states)")
    J = np.ascontiguousarray(trajectory_jacobians(m, states, u).cpu().numpy())
    refuse_overflow(J, "the Jacobians along the trajectory", finite=True)
    return m, states, J


def refuse_overflow(values: np.ndarray, what: str, *, finite: bool = False) -> None:
    """Raise ValueError naming the models (leading axis) whose ``values`` hold a NaN (or, with ``finite``, an inf):
    float64 overflowed on the way, so the number would be answer-shaped but meaningless."""
    bad = ~np.isfinite(values) if finite else np.isnan(values)
    models = np.flatnonzero(bad.reshape(len(values), -1).any(axis=1)).tolist()
    if models:
        raise ValueError(f"{what} overflow float64 for model(s) {models}: the weights are too large for the "
                         "derivatives along the trajectory to be multiplied in floating point")
