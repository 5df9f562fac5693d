"""Exact Jacobians (autograd) against central finite differences, for every cell and user maps."""

import numpy as np
import pytest
import torch

from dynlatch import GRU, LSTM, SRNN
from dynlatch import dynamics as dy


def finite_difference(m, s, x, eps=1e-6):
    s = torch.as_tensor(s, dtype=torch.float64)
    d = m.state_dim
    cols = []
    for j in range(d):
        e = torch.zeros(d, dtype=torch.float64)
        e[j] = eps
        plus = m((s + e).unsqueeze(1), x)[:, 0]
        minus = m((s - e).unsqueeze(1), x)[:, 0]
        cols.append((plus - minus) / (2 * eps))
    return torch.stack(cols, -1)


@pytest.mark.parametrize("cls,gate", [(SRNN, "sigmoid"), (GRU, "sigmoid"), (LSTM, "sigmoid"), (LSTM, "hard_sigmoid"),
                                      (GRU, "hard_sigmoid_keras3")])
def test_cell_jacobian_matches_finite_differences(cls, gate):
    cell = cls.init(units=3, input_dim=2, seed=[3, 4, 5], recurrent_activation=gate, dtype=torch.float64)
    m = dy.cell_map(cell)
    s = torch.randn(3, m.state_dim, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 0.5
    x = torch.randn(3, 1, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    J = dy.jacobian(cell, s, x)
    assert J.shape == (3, m.state_dim, m.state_dim)
    torch.testing.assert_close(J, finite_difference(m, s, x), atol=1e-7, rtol=1e-6)


def test_lstm_jacobian_is_full_2n_including_c():
    cell = LSTM.init(units=1, seed=0, dtype=torch.float64)
    J = dy.jacobian(cell, [0.2, 0.7], 0.0)
    assert J.shape == (1, 2, 2)
    assert J[0, 1, 1] != 0 and J[0, 0, 1] != 0  # dc'/dc = f and dh'/dc flow through c


def test_henon_jacobian_closed_form_and_batched_states():
    hen = dy.function_map(lambda s, x: torch.stack([1 - 1.4 * s[..., 0] ** 2 + s[..., 1], 0.3 * s[..., 0]], -1),
                          state_dim=2)
    states = torch.tensor([[[0.5, 0.1], [-0.2, 0.3]]], dtype=torch.float64)
    J = dy.jacobian(hen, states)
    assert J.shape == (1, 2, 2, 2)
    for b, (u, _) in enumerate(states[0].tolist()):
        np.testing.assert_allclose(J[0, b].numpy(), [[-2.8 * u, 1.0], [0.3, 0.0]], atol=1e-15)
