"""The elementwise one-unit forms agree with the cells' own step functions (every kind and gate function)."""

import numpy as np
import pytest
import torch

from dynlatch import GRU, LSTM, SRNN
from dynlatch.dynamics import _one_unit as ou
from dynlatch.dynamics._one_unit import fixed_point_equation, gates, lstm_cell_state, next_h

GATES = ["sigmoid", "hard_sigmoid", "hard_sigmoid_keras3"]



@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("cls,kw", [(SRNN, {}), (GRU, {"reset_after": True}), (GRU, {"reset_after": False})])
def test_next_h_equals_step(cls, kw, gate, random_one_unit_cell):
    cell = random_one_unit_cell(cls, gate, models=40, seed=0, scale=2.0, **kw)
    x = torch.randn(cell.models, 1, 1, dtype=torch.float64)
    h = torch.rand(cell.models, 7, dtype=torch.float64) * 2 - 1
    expected = cell.step_batched(h.unsqueeze(-1), x.expand(-1, 7, -1))[..., 0]
    torch.testing.assert_close(next_h(cell, x)(h), expected)
    torch.testing.assert_close(fixed_point_equation(cell, x)(h), expected - h, atol=1e-14, rtol=1e-12)


@pytest.mark.parametrize("gate", GATES)
def test_lstm_equation_by_substitution(gate, random_one_unit_cell):
    cell = random_one_unit_cell(LSTM, gate, models=40, seed=0, scale=1.0)
    x = torch.randn(cell.models, 1, 1, dtype=torch.float64)
    h = torch.rand(cell.models, 5, dtype=torch.float64) * 2 - 1
    c = lstm_cell_state(cell, x, h)
    ok = torch.isfinite(c) & (cell.gate(-gates(cell, x)[1](h)) > 0)  # where f = 1 only a continuum is fixed
    h1, c1 = cell.step_batched((h.unsqueeze(-1), c.unsqueeze(-1)), x.expand(-1, 5, -1))
    # c* is a fixed point of the c update at this h, and g(h) = h' - h there
    torch.testing.assert_close(c1[..., 0][ok], c[ok], atol=1e-12, rtol=1e-12)
    g = fixed_point_equation(cell, x)(h)
    torch.testing.assert_close(g[ok], (h1[..., 0] - h)[ok], atol=1e-12, rtol=1e-12)


EQUATIONS = [(SRNN, {}, ou.EQ_SRNN_FIXED), (SRNN, {}, ou.EQ_SRNN_CYCLE), (GRU, {"reset_after": True}, ou.EQ_GRU_FIXED),
             (GRU, {"reset_after": False}, ou.EQ_GRU_FIXED), (GRU, {"reset_after": True}, ou.EQ_GRU_CYCLE),
             (GRU, {"reset_after": False}, ou.EQ_GRU_CYCLE), (LSTM, {}, ou.EQ_LSTM_FIXED)]


def torch_equation(cell, x, eq, h):
    """The equation through cell.step_batched: F^p(h) - h, the GRU gap (F(h) - h) / (1 - z) with 1 - z from the
    torch gate, and the LSTM's o tanh(c*) - h with c* = i g / (1 - f) read off two steps."""
    xs = x.expand(-1, h.shape[1], -1)
    s = h.unsqueeze(-1)
    if eq == ou.EQ_LSTM_FIXED:
        _, ig = cell.step_batched((s, torch.zeros_like(s)), xs)
        _, f_plus = cell.step_batched((s, torch.ones_like(s)), xs)
        h1, _ = cell.step_batched((s, ig / (1 - (f_plus - ig))), xs)
        return (h1 - s)[..., 0]
    steps = 2 if eq in (ou.EQ_SRNN_CYCLE, ou.EQ_GRU_CYCLE) else 1
    for _ in range(steps):
        s = cell.step_batched(s, xs)
    out = (s - h.unsqueeze(-1))[..., 0]
    if eq == ou.EQ_GRU_FIXED:
        out = out / cell.gate(-gates(cell, x)[0](h))
    return out


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("cls,kw,eq", EQUATIONS)
def test_compiled_equations_equal_the_torch_step(cls, kw, eq, gate, random_one_unit_cell):
    cell = random_one_unit_cell(cls, gate, models=40, seed=0, scale=1.5, **kw)
    x = torch.randn(cell.models, 1, 1, dtype=torch.float64)
    h = torch.rand(cell.models, 9, dtype=torch.float64) * 2 - 1
    system = ou.one_unit_system(cell, x)
    mine = ou.evaluate_equation(eq, system.params, h.numpy(), system.gate, system.reset_after)
    expected = torch_equation(cell, x, eq, h).numpy()
    ok = np.isfinite(expected) & (np.abs(expected) < 1e6)  # the GRU gap where 1 - z underflows is not comparable
    np.testing.assert_allclose(mine[ok], expected[ok], atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("cls,kw,eq", EQUATIONS)
def test_enclosures_hold_every_value_and_difference_quotient(cls, kw, eq, gate, random_one_unit_cell):
    """On random intervals (wide, narrow, across kinks) the value enclosure holds g at 41 points and the derivative
    enclosure every difference quotient between them (mean value theorem; Clarke's derivative across kinks)."""
    cell = random_one_unit_cell(cls, gate, models=30, seed=5, scale=2.5, **kw)
    x = torch.randn(cell.models, 1, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    system = ou.one_unit_system(cell, x)
    rng = np.random.default_rng(2)
    width = 10.0 ** rng.uniform(-6, 0.3, (cell.models, 8))
    lo = rng.uniform(-1, 1, (cell.models, 8))
    hi = np.minimum(lo + width, 1.0)
    enc = ou.evaluate_enclosure(eq, system.params, lo, hi, system.gate, system.reset_after)
    t = np.linspace(0, 1, 41)
    H = lo[..., None] + (hi - lo)[..., None] * t  # (M, 8, 41)
    G = ou.evaluate_equation(eq, system.params, H.reshape(cell.models, -1), system.gate, system.reset_after)
    G = G.reshape(H.shape)
    finite = np.isfinite(G).all(-1) & np.isfinite(enc).all(-1)
    assert finite.mean() > 0.5  # hard LSTM intervals reaching 1 - f = 0 have unbounded derivative enclosures
    slack = 1e-12
    assert np.all((G >= enc[..., 0:1] - slack) & (G <= enc[..., 1:2] + slack) | ~finite[..., None])
    q = np.diff(G, axis=-1) / np.diff(H, axis=-1)
    err = 1e-13 / np.diff(H, axis=-1) + 1e-9 * (1 + np.abs(q))  # rounding of the quotient
    inside = (q >= enc[..., 2:3] - err) & (q <= enc[..., 3:4] + err)
    assert np.all(inside | ~finite[..., None])
    # and it is not vacuous: narrow intervals give narrow derivative enclosures
    narrow = finite & (width < 1e-5)
    assert np.median((enc[..., 3] - enc[..., 2])[narrow]) < 1e-3
