"""The single-model step functions compose with torch.func: vmap over models, batches and states equals the batched
call, and jacrev/jacfwd of the step equal central finite differences (float64), for every cell kind, unit count and
gate function."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import jacfwd, jacrev, vmap

from dynlatch import GATE_ACTIVATIONS
from _cases import CLASS_VARIANTS, VARIANT_IDS
from dynlatch.cells import CellParams

VARIANTS, IDS = CLASS_VARIANTS, VARIANT_IDS
M, B, D = 5, 4, 2


def random_cell(cls, opts, units, act, seed=0, scale=1.5):
    """M models with weights wide enough that hard-sigmoid gates visit both their linear and flat pieces."""
    rng = np.random.default_rng(seed)
    K = cls.n_gates * units
    rows = cls.rows_for(opts)
    W = rng.normal(0, scale, (M, D, K))
    U = rng.normal(0, scale, (M, units, K))
    b = rng.normal(0, scale, (M, rows, K))
    return cls(W, U, b, batched=True, recurrent_activation=act, dtype=torch.float64, **opts)


def random_state(cell, *lead, seed=1):
    g = torch.Generator().manual_seed(seed)
    parts = tuple(torch.randn(*lead, cell.units, generator=g, dtype=torch.float64) for _ in cell.state_names)
    return parts if len(parts) > 1 else parts[0]


def tree_close(a, b, atol):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=0, atol=atol)


@pytest.mark.parametrize("cls,opts", VARIANTS, ids=IDS)
@pytest.mark.parametrize("units", [1, 3])
@pytest.mark.parametrize("act", GATE_ACTIVATIONS)
def test_vmap_over_models_equals_batched_step(cls, opts, units, act):
    cell = random_cell(cls, opts, units, act)
    state = random_state(cell, M, B)
    x = torch.randn(M, B, D, dtype=torch.float64)
    step = cell.step_function()
    tree_close(vmap(step)(cell.params, state, x), cell.step_batched(state, x), atol=1e-14)
    # inputs shared by all models (B, D)
    tree_close(vmap(step, in_dims=(0, 0, None))(cell.params, state, x[0]), cell.step_batched(state, x[0]), atol=1e-14)


@pytest.mark.parametrize("cls,opts", VARIANTS, ids=IDS)
@pytest.mark.parametrize("act", GATE_ACTIVATIONS)
def test_one_model_step_on_vectors_batches_and_vmap_agree(cls, opts, act):
    cell = random_cell(cls, opts, 3, act)
    step = cell.step_function()
    p = CellParams(*(t[2] for t in cell.params))  # model 2 alone: kernel (D, K), recurrent (n, K), bias (nb, K)
    state = random_state(cell, B)
    x = torch.randn(B, D, dtype=torch.float64)
    on_batch = step(p, state, x)
    per_vector = vmap(step, in_dims=(None, 0, 0))(p, state, x)
    tree_close(on_batch, per_vector, atol=1e-14)
    first = step(p, tuple(s[0] for s in state) if isinstance(state, tuple) else state[0], x[0])
    tree_close(first, tuple(s[0] for s in on_batch) if isinstance(on_batch, tuple) else on_batch[0], atol=1e-14)
    # and the same model inside the batched cell
    batched = cell.step_batched(tuple(s.expand(M, B, -1) for s in state) if isinstance(state, tuple)
                                else state.expand(M, B, -1), x)
    tree_close(on_batch, tuple(s[2] for s in batched) if isinstance(batched, tuple) else batched[2], atol=1e-14)


def flat_step(cell, p, x):
    step = cell.step_function()
    return lambda s: cell.flatten_state(step(p, cell.unflatten_state(s), x))


def central_difference(f, s, eps=1e-6):
    cols = []
    for k in range(s.shape[-1]):
        e = torch.zeros_like(s)
        e[k] = eps
        cols.append((f(s + e) - f(s - e)) / (2 * eps))
    return torch.stack(cols, dim=-1)


@pytest.mark.parametrize("cls,opts", VARIANTS, ids=IDS)
@pytest.mark.parametrize("units", [1, 3])
@pytest.mark.parametrize("act", GATE_ACTIVATIONS)
def test_state_jacobian_equals_finite_differences(cls, opts, units, act):
    cell = random_cell(cls, opts, units, act, seed=3)
    x = torch.randn(D, dtype=torch.float64)
    for m in range(M):
        p = CellParams(*(t[m] for t in cell.params))
        f = flat_step(cell, p, x)
        s = cell.flatten_state(random_state(cell, seed=10 + m))
        J = jacrev(f)(s)
        assert J.shape == (cell.state_dim, cell.state_dim)
        torch.testing.assert_close(J, jacfwd(f)(s), rtol=0, atol=1e-13)
        torch.testing.assert_close(J, central_difference(f, s), rtol=0, atol=1e-7)


@pytest.mark.parametrize("cls,opts", VARIANTS, ids=IDS)
@pytest.mark.parametrize("act", GATE_ACTIVATIONS)
def test_parameter_jacobian_equals_finite_differences(cls, opts, act):
    cell = random_cell(cls, opts, 1, act, seed=5)
    step = cell.step_function()
    s = random_state(cell, seed=7)
    x = torch.randn(D, dtype=torch.float64)
    for m in range(2):
        p = CellParams(*(t[m] for t in cell.params))
        flat = torch.cat([t.reshape(-1) for t in p])
        sizes = [t.numel() for t in p]

        def f(theta):
            parts = CellParams(*(t.reshape(q.shape) for t, q in zip(theta.split(sizes), p)))
            return cell.flatten_state(step(parts, s, x))

        torch.testing.assert_close(jacrev(f)(flat), central_difference(f, flat), rtol=0, atol=1e-7)


@pytest.mark.parametrize("cls,opts", VARIANTS, ids=IDS)
def test_jacobian_batched_over_models_with_vmap(cls, opts):
    """vmap(jacrev(step)) gives every model's state Jacobian at once, equal to a loop over models."""
    cell = random_cell(cls, opts, 2, "sigmoid", seed=9)
    x = torch.randn(M, D, dtype=torch.float64)
    s = cell.flatten_state(random_state(cell, M, seed=11))
    step = cell.step_function()

    def jac(p, si, xi):
        return jacrev(lambda v: cell.flatten_state(step(p, cell.unflatten_state(v), xi)))(si)

    batched = vmap(jac)(cell.params, s, x)
    for m in range(M):
        p = CellParams(*(t[m] for t in cell.params))
        torch.testing.assert_close(batched[m], jac(p, s[m], x[m]), rtol=0, atol=1e-14)
