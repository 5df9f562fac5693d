"""Lyapunov spectra by the QR method (Benettin et al. 1980; Eckmann & Ruelle 1985, Rev. Mod. Phys. 57:617)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from .._checks import integer
from ._maps import as_map, input_sequence
from ._trajectory import driven_trajectory, refuse_overflow


@njit(cache=True)
def orthonormalise(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q R = A by modified Gram-Schmidt with re-orthogonalisation; returns (Q, log |diag R|).

    A column that is (numerically) zero gives log |R_kk| = -inf and is replaced by a unit vector orthogonal to the
    previous columns, so the iteration can go on.
    """
    d = A.shape[0]
    Q = A.copy()
    logs = np.empty(d)
    for k in range(d):
        v = Q[:, k].copy()
        norm0 = np.sqrt(np.sum(v * v))
        for _ in range(2):
            for j in range(k):
                v -= np.sum(Q[:, j] * v) * Q[:, j]
        norm = np.sqrt(np.sum(v * v))
        if norm == 0.0 or norm <= 1e-300 or (norm0 > 0 and norm < 1e-14 * norm0 and norm == 0.0):
            logs[k] = -np.inf
            for e in range(d):
                v = np.zeros(d)
                v[e] = 1.0
                for _ in range(2):
                    for j in range(k):
                        v -= np.sum(Q[:, j] * v) * Q[:, j]
                norm = np.sqrt(np.sum(v * v))
                if norm > 0.5:
                    break
        else:
            logs[k] = np.log(norm)
        Q[:, k] = v / norm
    return Q, logs


@njit(cache=True)
def qr_log_growth(J: np.ndarray, burn_in: int) -> np.ndarray:
    """Sum over t >= burn_in of log |diag R_t| where Q_{t+1} R_t = J_t Q_t, Q_0 = I; J (M, T, d, d) -> (M, d)."""
    M, T, d, _ = J.shape
    out = np.zeros((M, d))
    for m in range(M):
        Q = np.eye(d)
        for t in range(T):
            Q, logs = orthonormalise(J[m, t] @ Q)
            if t >= burn_in:
                out[m] += logs
    return out


def lyapunov_spectrum(map_or_cell: Any, state0: Any, *, inputs: Any = None, steps: int | None = None,
                      burn_in: int = 0) -> np.ndarray:
    r"""All d Lyapunov exponents of a (driven or autonomous) map along one trajectory per model, by the QR method.

    .. math::
        J_t Q_t = Q_{t+1} R_t, \qquad \lambda_k = \frac{1}{T - T_0} \sum_{t=T_0}^{T-1} \log |(R_t)_{kk}|

    (Eckmann & Ruelle 1985), natural log per step, :math:`J_t = \partial F / \partial s (s_t, x_t)` exact by autograd.

    Args:
        map_or_cell: a :class:`Map` or a cell.
        state0: initial state, (d,) or (M, d).
        inputs: (T, D) shared by all models or (M, T, D) per model; None for an autonomous map (then ``steps``).
        steps: number of steps of an autonomous map (or of a driven one with zero input).
        burn_in: leading steps that evolve the trajectory and the frame but are not averaged.

    Returns:
        (M, d) float64 numpy array, each row sorted largest first. ``-inf`` marks directions that a singular
        Jacobian annihilates (a valid answer, e.g. an LSTM at h = 0 or a saturated hard gate).

    Raises:
        ValueError: for bad shapes, ``burn_in`` outside [0, T), missing ``steps``, or weights so large that the
            Jacobian products overflow float64 (a NaN exponent is refused, not returned).
    """
    T = input_sequence(as_map(map_or_cell), inputs, steps)[1]
    if not 0 <= integer("burn_in", burn_in, minimum=0) < T:
        raise ValueError(f"burn_in must be in [0, {T}); got {burn_in}")
    _, _, J = driven_trajectory(map_or_cell, state0, inputs, steps)
    with np.errstate(divide="ignore", invalid="ignore"):
        sums = qr_log_growth(J, int(burn_in))
    refuse_overflow(sums, "the Lyapunov sums")
    return -np.sort(-(sums / (T - int(burn_in))), axis=1)
