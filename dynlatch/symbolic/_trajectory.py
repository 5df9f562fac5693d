r"""Derivations evaluated along a trajectory: states, the T-step Jacobian product, and BPTT by the symbolic adjoint.

Shapes: ``theta`` (..., P) in the system's parameter order, ``s0`` (..., S) (state order h then c), ``xs`` (..., T, D)
(D = 0 for Pascanu's map); leading axes broadcast, so one call evaluates a batch of parameter sets and/or sequences.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._derive import derive
from ._systems import System


def _ops(backend: str):
    if backend == "numpy":
        return np.stack, lambda a: np.asarray(a, dtype=np.float64)
    return torch.stack, lambda a: a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a, np.float64))


def _check(system: System, theta: Any, s0: Any, xs: Any) -> None:
    P, S, D = len(system.params), len(system.state), len(system.inputs)
    for name, a, k in (("theta", theta, P), ("s0", s0, S)):
        if a.ndim < 1 or a.shape[-1] != k:
            raise ValueError(f"{name} must have last axis {k} for {system.label}; got shape {tuple(a.shape)}")
    if xs.ndim < 2 or xs.shape[-1] != D:
        raise ValueError(f"xs must be (..., T, {D}) for {system.label}; got shape {tuple(xs.shape)}")


def trajectory(system: System, theta: Any, s0: Any, xs: Any, *, backend: str = "numpy") -> Any:
    """States s_0..s_T (..., T+1, S) of s_t = F(s_{t-1}; theta, x_t), by the lambdified map."""
    stack, conv = _ops(backend)
    theta, s0, xs = conv(theta), conv(s0), conv(xs)
    _check(system, theta, s0, xs)
    step = derive(system, "map").lambdify(backend)
    states = [s0]
    for t in range(xs.shape[-2]):
        states.append(step(theta, states[-1], xs[..., t, :]))
    lead = np.broadcast_shapes(*(tuple(s.shape[:-1]) for s in states))
    return stack([s if tuple(s.shape[:-1]) == lead else _bcast(s, lead, backend) for s in states], -2)


def _bcast(a: Any, lead: tuple[int, ...], backend: str) -> Any:
    if backend == "numpy":
        return np.broadcast_to(a, (*lead, a.shape[-1]))
    return a.expand(*lead, a.shape[-1])


def jacobian_product_along(system: System, theta: Any, s0: Any, xs: Any, *, backend: str = "numpy") -> tuple[Any, Any]:
    r"""The product :math:`\partial s_T/\partial s_0 = J_T \cdots J_1` along the trajectory from ``s0``.

    Returns:
        (product (..., S, S), states (..., T+1, S)).
    """
    states = trajectory(system, theta, s0, xs, backend=backend)
    _, conv = _ops(backend)
    theta, xs = conv(theta), conv(xs)
    jac = derive(system, "jacobian").lambdify(backend)
    S = len(system.state)
    eye = np.eye(S) if backend == "numpy" else conv(np.eye(S)).to(states.dtype)
    product = eye
    for t in range(xs.shape[-2]):
        product = jac(theta, states[..., t, :], xs[..., t, :]) @ product
    return product, states


def bptt_gradient(system: System, theta: Any, s0: Any, xs: Any, dL_dsT: Any, *, backend: str = "numpy") -> tuple[Any, Any]:
    r"""Back-propagation through time by the symbolic one-step adjoint.

    :math:`\lambda_T = \partial L/\partial s_T`; for t = T..1: :math:`\partial L/\partial\theta \mathrel{+}=
    (\partial s_t/\partial\theta)^\top \lambda_t`, :math:`\lambda_{t-1} = J_t^\top \lambda_t`.

    Args:
        dL_dsT: (..., S) gradient of the loss with respect to the final state (for a read-out of h only, zeros for c).

    Returns:
        (dL/dtheta (..., P), dL/ds_0 (..., S)).
    """
    states = trajectory(system, theta, s0, xs, backend=backend)
    _, conv = _ops(backend)
    theta, xs, lam = conv(theta), conv(xs), conv(dL_dsT)
    adjoint = derive(system, "adjoint").lambdify(backend)
    S = len(system.state)
    grad = 0.0
    for t in range(xs.shape[-2] - 1, -1, -1):
        out = adjoint(theta, states[..., t, :], xs[..., t, :], lam)
        grad = grad + out[..., S:]
        lam = out[..., :S]
    if isinstance(grad, float):
        grad = conv(np.zeros(len(system.params)))
    return grad, lam
