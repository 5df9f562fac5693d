"""Maps: cells through their own step functions, Bengio's and Pascanu's neurons, user callables, input shapes."""

import numpy as np
import pytest
import torch

from dynlatch import GRU, LSTM, SRNN
from dynlatch import dynamics as dy


@pytest.mark.parametrize("cls", [SRNN, GRU, LSTM])
def test_cell_map_equals_cell_step(cls):
    cell = cls.init(units=2, input_dim=3, seed=[0, 1], dtype=torch.float64)
    m = dy.cell_map(cell)
    n = 2
    assert m.state_dim == (2 * n if cls is LSTM else n) and m.models == 2 and m.input_dim == 3
    s = torch.randn(2, 5, m.state_dim, dtype=torch.float64)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    out = m(s, x)
    if cls is LSTM:
        h, c = cell.step_batched((s[..., :n], s[..., n:]), x)
        torch.testing.assert_close(out, torch.cat([h, c], -1))
    else:
        torch.testing.assert_close(out, cell.step_batched(s, x))


def test_bengio_and_pascanu_closed_forms():
    m = dy.bengio_neuron([1.5, 2.0])
    a = torch.tensor([[[0.3]], [[-0.2]]], dtype=torch.float64)
    h = torch.tensor([[[0.1]], [[0.05]]], dtype=torch.float64)
    expected = torch.tensor([1.5 * np.tanh(0.3) + 0.1, 2.0 * np.tanh(-0.2) + 0.05]).reshape(2, 1, 1)
    torch.testing.assert_close(m(a, h), expected.double())
    p = dy.pascanu_neuron(5.0, [-2.0, -2.5])
    assert p.models == 2 and p.input_dim == 0
    out = p(torch.full((2, 1, 1), 0.5, dtype=torch.float64))
    torch.testing.assert_close(out[:, 0, 0], torch.tensor([5 / (1 + np.exp(-0.5)) - 2.0, 5 / (1 + np.exp(-0.5)) - 2.5],
                                                         dtype=torch.float64))
    q = p.with_params(b=0.0)
    assert torch.all(q.params["b"] == 0) and torch.all(q.params["w"] == 5)
    with pytest.raises(ValueError, match="no parameter"):
        p.with_params(c=1.0)
    with pytest.raises(ValueError, match="one value per model"):
        dy.Map(lambda p_, s, x: s, state_dim=1, models=2, params={"w": [1.0, 2.0, 3.0]})


def test_input_shapes_and_validation():
    m = dy.bengio_neuron([1.0, 2.0])
    u, T = dy._maps.input_sequence(m, np.zeros((7, 1)), None)
    assert u.shape == (2, 7, 1) and T == 7
    u, T = dy._maps.input_sequence(m, np.zeros((2, 4, 1)), None)
    assert u.shape == (2, 4, 1) and T == 4
    with pytest.raises(ValueError, match="inputs"):
        dy._maps.input_sequence(m, np.zeros((3, 4, 1)), None)
    with pytest.raises(ValueError, match="steps"):
        dy._maps.input_sequence(m, None, None)
    with pytest.raises(ValueError, match="state"):
        dy._maps.state_tensor(m, np.zeros((3, 1)))
    with pytest.raises(ValueError, match="map_or_cell must be a dynlatch cell or dynamics.Map"):
        dy.as_map(lambda s, x: s)
