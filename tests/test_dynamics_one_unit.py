"""The elementwise one-unit forms agree with the cells' own step functions (every kind and gate function)."""

import numpy as np
import pytest
import torch

from dynlatch import GRU, LSTM, SRNN
from dynlatch.dynamics._one_unit import fixed_point_equation, gates, lstm_cell_state, next_h

GATES = ["sigmoid", "hard_sigmoid", "hard_sigmoid_keras3"]


def random_cell(cls, gate, models=40, seed=0, scale=2.0, **kw):
    rng = np.random.default_rng(seed)
    G = cls.n_gates
    nb = 2 if kw.get("reset_after") else 1
    return cls(rng.normal(0, scale, (models, 1, G)), rng.normal(0, scale, (models, 1, G)),
               rng.normal(0, scale, (models, nb, G)), batched=True, recurrent_activation=gate, **kw)


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("cls,kw", [(SRNN, {}), (GRU, {"reset_after": True}), (GRU, {"reset_after": False})])
def test_next_h_equals_step(cls, kw, gate):
    cell = random_cell(cls, gate, **kw)
    x = torch.randn(cell.models, 1, 1, dtype=torch.float64)
    h = torch.rand(cell.models, 7, dtype=torch.float64) * 2 - 1
    expected = cell.step_batched(h.unsqueeze(-1), x.expand(-1, 7, -1))[..., 0]
    torch.testing.assert_close(next_h(cell, x)(h), expected)
    torch.testing.assert_close(fixed_point_equation(cell, x)(h), expected - h, atol=1e-14, rtol=1e-12)


@pytest.mark.parametrize("gate", GATES)
def test_lstm_equation_by_substitution(gate):
    cell = random_cell(LSTM, gate, scale=1.0)
    x = torch.randn(cell.models, 1, 1, dtype=torch.float64)
    h = torch.rand(cell.models, 5, dtype=torch.float64) * 2 - 1
    c = lstm_cell_state(cell, x, h)
    ok = torch.isfinite(c) & (cell.gate(-gates(cell, x)[1](h)) > 0)  # where f = 1 only a continuum is fixed
    h1, c1 = cell.step_batched((h.unsqueeze(-1), c.unsqueeze(-1)), x.expand(-1, 5, -1))
    # c* is a fixed point of the c update at this h, and g(h) = h' - h there
    torch.testing.assert_close(c1[..., 0][ok], c[ok], atol=1e-12, rtol=1e-12)
    g = fixed_point_equation(cell, x)(h)
    torch.testing.assert_close(g[ok], (h1[..., 0] - h)[ok], atol=1e-12, rtol=1e-12)
