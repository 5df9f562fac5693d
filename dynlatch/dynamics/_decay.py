"""Gradient decay along a trajectory, ||ds_T/ds_t|| in log space, and its prediction from the attractor
(Bengio, Simard & Frasconi 1994: robust latching needs |dF/ds| < 1 at the attractor, so gradients vanish)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numba import njit

from ._lyapunov import qr_log_growth
from ._maps import as_map, input_sequence
from ._trajectory import driven_trajectory, refuse_overflow


@dataclass
class GradientDecay:
    """Result of :func:`gradient_decay` (arrays have the model dimension M first).

    Attributes:
        log_norms: (M, T + 1), log ||ds_T/ds_t||_2 for t = 0..T (0 at t = T; -inf once a singular Jacobian kills it).
        fitted_log_rate: (M,), least-squares slope of log_norms against the number of steps T - t over the settled
            part of the trajectory (t >= settle_step), natural log per step.
        predicted_log_rate: (M,), (1/p) log rho(J_p) at the period-p orbit the trajectory settles in (autonomous
            or constant input), else the leading Lyapunov exponent of the driven trajectory.
        prediction: (M,) strings, "attractor" or "lyapunov".
        period: (M,), the attractor's period (0 where none was detected).
        settle_step: (M,), first step from which the state stays within ``settle_tol`` of the attractor.
    """

    log_norms: np.ndarray
    fitted_log_rate: np.ndarray
    predicted_log_rate: np.ndarray
    prediction: np.ndarray
    period: np.ndarray
    settle_step: np.ndarray


@njit(cache=True)
def backward_products(J: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_t = J_{T-1} ... J_t (= ds_T/ds_t) for t = 0..T, as a log scale plus a unit-Frobenius-norm matrix.

    J (M, T, d, d) -> (log_scale (M, T + 1), unit (M, T + 1, d, d)); P_T = I. Renormalising every step keeps
    T of thousands from underflowing.
    """
    M, T, d, _ = J.shape
    log_scale = np.zeros((M, T + 1))
    unit = np.zeros((M, T + 1, d, d))
    for m in range(M):
        P = np.eye(d)
        scale = 0.0
        unit[m, T] = P
        for t in range(T - 1, -1, -1):
            P = P @ J[m, t]
            norm = np.sqrt(np.sum(P * P))
            if norm == 0.0 or scale == -np.inf:
                scale = -np.inf
                P = np.zeros((d, d))
            else:
                scale += np.log(norm)
                P = P / norm
            log_scale[m, t] = scale
            unit[m, t] = P
    return log_scale, unit


def gradient_decay(map_or_cell: Any, state0: Any, *, inputs: Any = None, steps: int | None = None,
                   settle_tol: float = 1e-9, max_period: int = 8) -> GradientDecay:
    r"""How fast ds_T/ds_t shrinks (or grows) with T - t, measured and predicted.

    .. math::
        \frac{\partial s_T}{\partial s_t} = J_{T-1} \cdots J_t, \qquad
        \log\Big\|\frac{\partial s_T}{\partial s_t}\Big\| \approx c + r\,(T - t)

    Measured r: the slope over the settled part of the trajectory. Predicted r: at a period-p attractor
    :math:`\bar s_0 \to \dots \to \bar s_{p-1}`, :math:`r = \frac1p \log \rho(J(\bar s_{p-1}) \cdots J(\bar s_0))`
    (for the SRNN latch, :math:`\log w (1 - \bar x^2)`; Bengio et al. 1994); along a driven trajectory that does not
    settle, the leading Lyapunov exponent.

    Args:
        map_or_cell: a :class:`Map` or a cell.
        state0: (d,) or (M, d).
        inputs: (T, D) or (M, T, D); None for an autonomous map (give ``steps``).
        steps: T for an autonomous map.
        settle_tol: max-norm distance to the final orbit that counts as settled.
        max_period: longest attractor period looked for.

    Returns:
        A :class:`GradientDecay`.

    Raises:
        ValueError: for bad shapes, a diverging trajectory, ``settle_tol`` not a finite number >= 0 or
            ``max_period`` not an integer >= 1, or weights so large that the Jacobian products overflow float64.
    """
    if isinstance(settle_tol, bool) or not isinstance(settle_tol, (int, float)) or not 0 <= settle_tol < np.inf:
        raise ValueError(f"settle_tol must be a finite number >= 0; got {settle_tol!r}")
    if isinstance(max_period, bool) or not isinstance(max_period, (int, np.integer)) or max_period < 1:
        raise ValueError(f"max_period must be an integer >= 1; got {max_period!r}")
    u, T = input_sequence(as_map(map_or_cell), inputs, steps)
    if T < 2:
        raise ValueError("gradient_decay needs at least 2 steps")
    m, states, J = driven_trajectory(map_or_cell, state0, inputs, steps)
    log_scale, unit = backward_products(J)
    with np.errstate(divide="ignore", invalid="ignore"):  # -inf for an annihilated direction; NaN is refused below
        log_norms = log_scale + np.log(np.linalg.norm(unit, ord=2, axis=(-2, -1)))
    refuse_overflow(log_norms, "the gradient norms")
    S = states.cpu().numpy()
    constant_input = u is None or bool(torch.all(u == u[:, :1]))
    M = m.models
    period = np.zeros(M, dtype=np.int64)
    settle = np.full(M, T, dtype=np.int64)
    predicted = np.full(M, np.nan)
    prediction = np.array(["lyapunov"] * M, dtype=object)
    for k in range(M):
        if constant_input:
            for p in range(1, max_period + 1):
                if T - p >= 0 and np.max(np.abs(S[k, T] - S[k, T - p])) <= settle_tol:
                    period[k] = p
                    break
        if period[k]:
            p = period[k]
            # distance of s_t to the orbit point with the same phase
            phase_ref = np.stack([S[k, T - ((T - t) % p)] for t in range(T + 1)])
            far = np.nonzero(np.max(np.abs(S[k] - phase_ref), axis=1) > settle_tol)[0]
            settle[k] = 0 if far.size == 0 else far[-1] + 1
            prod = np.eye(m.state_dim)
            for t in range(T - p, T):
                prod = J[k, t] @ prod
            with np.errstate(divide="ignore"):
                predicted[k] = np.log(np.max(np.abs(np.linalg.eigvals(prod)))) / p
            prediction[k] = "attractor"
    need_lyap = prediction == "lyapunov"
    if need_lyap.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            lyap = qr_log_growth(J, 0)[:, :] / T
        predicted[need_lyap] = np.max(lyap, axis=1)[need_lyap]
        settle[need_lyap] = 0
    fitted = np.full(M, np.nan)
    for k in range(M):
        t = np.arange(settle[k], T + 1)
        y = log_norms[k, settle[k]:]
        ok = np.isfinite(y)
        if ok.sum() >= 2:
            fitted[k] = np.polyfit((T - t[ok]).astype(np.float64), y[ok], 1)[0]
        elif (~ok).any():
            fitted[k] = -np.inf
    refuse_overflow(predicted, "the predicted rates")
    return GradientDecay(log_norms, fitted, predicted, prediction, period, settle)
