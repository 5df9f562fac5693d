"""Every fixed point and 2-cycle of one-unit cells: closed forms (Bengio et al. 1994), multiplicities, continua,
residuals and Jacobians, batched = single, and completeness against a brute-force dense scan through the cells' own
step functions."""

import numpy as np
import pytest
import torch

from _cases import CLASS_VARIANTS
from dynlatch import GRU, LSTM, SRNN, cells
from dynlatch import dynamics as dy

GATES = ["sigmoid", "hard_sigmoid", "hard_sigmoid_keras3"]
XBAR = {1.25: (0.710, 0.619), 1.5: (0.859, 0.394), 2.0: (0.958, 0.166), 3.0: (0.995, 0.031)}


def srnn(w, b=0.0):
    return SRNN([[0.0]], [[w]], [b], dtype=torch.float64)


@pytest.mark.parametrize("w", [-1.0, -0.5, 0.0, 0.3, 0.99])
def test_srnn_one_fixed_point_for_small_w(w):
    fps = [fp for fp in dy.fixed_points(srnn(w)) if fp.period == 1]
    assert len(fps) == 1 and fps[0].state[0] == 0.0 and fps[0].stable == (abs(w) < 1)


@pytest.mark.parametrize("w", sorted(XBAR))
def test_srnn_three_fixed_points_closed_form(w):
    fps = dy.fixed_points(srnn(w))
    assert [fp.period for fp in fps] == [1, 1, 1]
    xbar, mult = XBAR[w]
    np.testing.assert_allclose([fp.state[0] for fp in fps], [-xbar, 0.0, xbar], atol=6e-4)
    x_exact = fps[2].state[0]
    assert abs(np.tanh(w * x_exact) - x_exact) < 1e-15
    for fp in (fps[0], fps[2]):
        assert fp.stable and abs(fp.eigenvalues[0].real - mult) < 6e-4
        np.testing.assert_allclose(fp.eigenvalues[0].real, w * (1 - x_exact**2), rtol=1e-12)
    assert not fps[1].stable and np.isclose(fps[1].eigenvalues[0].real, w)


def test_srnn_two_cycle_for_negative_w():
    fps = dy.fixed_points(srnn(-2.0))
    cycle = [fp for fp in fps if fp.period == 2]
    assert len(cycle) == 2 and cycle[0].orbit == cycle[1].orbit
    assert cycle[0].orbit not in [fp.orbit for fp in fps if fp.period == 1]
    np.testing.assert_allclose(sorted(fp.state[0] for fp in cycle), [-0.958, 0.958], atol=6e-4)
    assert all(fp.stable for fp in cycle)
    assert not dy.fixed_points(srnn(-0.8), periods=(2,))


@pytest.mark.parametrize("U", [1.0, -1.0])
def test_keras2_srnn_start_triple_root(U):
    cell = SRNN([[0.7]], [[U]], [0.0], dtype=torch.float64)
    fps = dy.fixed_points(cell, periods=(1,))
    assert len(fps) == 1 and fps[0].state[0] == 0.0
    assert fps[0].multiplicity == (3 if U == 1.0 else 1)


def test_fold_double_root():
    # tanh(w h + b) = h tangent: w = 2, h_t = sqrt(1 - 1/w), b = artanh(h_t) - w h_t
    w = 2.0
    ht = np.sqrt(1 - 1 / w)
    b = np.arctanh(ht) - w * ht
    fps = dy.fixed_points(srnn(w, b), periods=(1,))
    doubles = [fp for fp in fps if fp.multiplicity == 2]
    assert len(doubles) == 1 and abs(doubles[0].state[0] - ht) < 1e-6
    assert len(fps) == 2


def finite_difference_jacobian(m, s, period, eps=1e-6):
    d = s.size
    J = np.zeros((d, d))
    for j in range(d):
        e = np.zeros(d)
        e[j] = eps
        outs = []
        for sign in (1, -1):
            cur = torch.tensor((s + sign * e)[None, None], dtype=torch.float64)
            for _ in range(period):
                cur = m(cur)
            outs.append(cur[0, 0].numpy())
        J[:, j] = (outs[0] - outs[1]) / (2 * eps)
    return J



# every registered kind with a one-unit reduction, in each form; the LSTM (state (h, c)) last
KINDS = sorted(((cls, kw) for cls, kw in CLASS_VARIANTS if cls.one_unit_family), key=lambda v: len(v[0].state_names))
H_ONLY = [(cls, kw) for cls, kw in KINDS if len(cls.state_names) == 1]
"""The kinds whose state is h alone (their 2-cycles are roots of F(F(h)) - h; the LSTM's are searched in (h1, h2))."""


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("cls,kw", KINDS)
def test_points_satisfy_map_and_jacobians_match_finite_differences(cls, kw, gate, random_one_unit_cell):
    cell = random_one_unit_cell(cls, gate, models=30, seed=1, scale=2.0, **kw)
    table = dy.fixed_points(cell, as_table=True)
    assert table["model"].size >= 30
    assert np.all(table["residual"] <= 1e-10)
    m = dy.cell_map(cell)
    for i in range(0, table["model"].size, 7):
        if table["kind"][i] != "point" or (table["multiplicity"][i] > 1):
            continue
        mi = int(table["model"][i])
        fd = finite_difference_jacobian(m[mi], table["state"][i], int(table["period"][i]))
        np.testing.assert_allclose(table["jacobian"][i], fd, atol=1e-6)


def test_lstm_state_matches_torch_lstm_cell(random_one_unit_cell):
    cell = random_one_unit_cell(LSTM, "sigmoid", models=20, seed=2, scale=1.5)
    for mi, fps in enumerate(dy.fixed_points(cell, periods=(1,))):
        single = cell[mi]
        torch_cell = torch.nn.LSTMCell(1, 1).double()
        full = cells.to_torch(single)
        with torch.no_grad():
            torch_cell.weight_ih.copy_(full.weight_ih_l0)
            torch_cell.weight_hh.copy_(full.weight_hh_l0)
            torch_cell.bias_ih.copy_(full.bias_ih_l0)
            torch_cell.bias_hh.copy_(full.bias_hh_l0)
        for fp in fps:
            h, c = torch_cell(torch.zeros(1, 1, dtype=torch.float64),
                              (torch.tensor([[fp.state[0]]], dtype=torch.float64),
                               torch.tensor([[fp.state[1]]], dtype=torch.float64)))
            np.testing.assert_allclose([h.item(), c.item()], fp.state, atol=1e-10)


def test_continua():
    # hard forget gate exactly 1 and input gate exactly 0: a line of fixed points (perfect integrator)
    lstm = LSTM(np.zeros((1, 4)), np.zeros((1, 4)), [-10.0, 10.0, 0.0, 0.0], recurrent_activation="hard_sigmoid")
    fps = dy.fixed_points(lstm)
    assert len(fps) == 1 and fps[0].kind == "continuum"
    lo, hi = fps[0].extent
    assert lo[0] < -0.49 and hi[0] > 0.49 and hi[1] > 3.0  # |h| < o = 0.5, c = artanh(h / o)
    # forget gate exactly 1 but i g != 0: c drifts, no fixed point at all
    drift = LSTM(np.zeros((1, 4)), np.zeros((1, 4)), [10.0, 10.0, 1.0, 0.0], recurrent_activation="hard_sigmoid")
    assert dy.fixed_points(drift) == []
    # hard GRU update gate exactly 1: every h in [-1, 1]
    gru = GRU(np.zeros((1, 3)), [[0.0, 0.0, 1.0]], [10.0, 0.0, 0.0], recurrent_activation="hard_sigmoid",
              reset_after=False)
    fps = dy.fixed_points(gru)
    assert len(fps) == 1 and fps[0].kind == "continuum"
    np.testing.assert_allclose([fps[0].extent[0][0], fps[0].extent[1][0]], [-1.0, 1.0])
    # update gate 1 only for h > 0.1 (kink at h = 0.1): an interval (0.1, 1] plus whatever lies below
    gru2 = GRU(np.zeros((1, 3)), [[25.0, 0.0, 0.5]], [0.0, 0.0, 0.0], recurrent_activation="hard_sigmoid",
               reset_after=False)
    conts = [fp for fp in dy.fixed_points(gru2) if fp.kind == "continuum"]
    assert len(conts) == 1 and abs(conts[0].extent[0][0] - 0.1) < 1e-12 and conts[0].extent[1][0] == 1.0


@pytest.mark.parametrize("gate", ["hard_sigmoid", "hard_sigmoid_keras3"])
def test_hard_sigmoid_inside_and_outside_linear_region(gate):
    slope = {"hard_sigmoid": 0.2, "hard_sigmoid_keras3": 1 / 6}[gate]
    # inside: all gates in their linear part (small weights); outside: saturating gates (big biases)
    for b in ([0.1, 0.2, 0.5, -0.1], [3.0 / slope, -3.0 / slope, 2.0, 3.0 / slope]):
        cell = LSTM(np.zeros((1, 4)), [[0.3, -0.4, 2.0, 0.2]], b, recurrent_activation=gate)
        fps = dy.fixed_points(cell, periods=(1,))
        assert fps and all(fp.residual <= 1e-12 for fp in fps)
        m = dy.cell_map(cell)
        for fp in fps:
            out = m(torch.tensor(fp.state[None, None]))[0, 0].numpy()
            np.testing.assert_allclose(out, fp.state, atol=1e-12)


@pytest.mark.parametrize("cls,kw", KINDS)
def test_batched_equals_single(cls, kw, random_one_unit_cell):
    cell = random_one_unit_cell(cls, "hard_sigmoid", models=6, seed=3, scale=2.0, **kw)
    batched = dy.fixed_points(cell)
    for mi in range(6):
        single = dy.fixed_points(cell[mi])
        assert len(single) == len(batched[mi])
        for a, b in zip(single, batched[mi]):
            np.testing.assert_allclose(a.state, b.state, atol=1e-13)
            assert (a.period, a.orbit, a.kind, a.multiplicity, a.stable) == (b.period, b.orbit, b.kind, b.multiplicity,
                                                                             b.stable)


def dense_scan(cell, x, n=10001):
    """g on a dense grid through the cell's own step function (independent of the finder's elementwise forms)."""
    h = torch.linspace(-1, 1, n, dtype=torch.float64).expand(cell.models, n).unsqueeze(-1)
    xs = torch.full((cell.models, n, 1), x, dtype=torch.float64)
    with torch.no_grad():
        if cell.kind == "lstm":
            _, ig = cell.step_batched((h, torch.zeros_like(h)), xs)
            _, f_plus = cell.step_batched((h, torch.ones_like(h)), xs)
            one_minus_f = 1 - (f_plus - ig)
            c = ig / one_minus_f
            h1, _ = cell.step_batched((h, c), xs)
            g = (h1 - h)[..., 0]
            g[(one_minus_f[..., 0] < 1e-9)] = float("nan")
        else:
            g = (cell.step_batched(h, xs) - h)[..., 0]
    return h[0, :, 0].numpy(), g.numpy()


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("cls,kw", KINDS)
def test_finder_agrees_with_dense_scan(cls, kw, gate, random_one_unit_cell):
    cell = random_one_unit_cell(cls, gate, models=150, seed=4, scale=3.0, **kw)
    table = dy.fixed_points(cell, x=0.3, periods=(1,), as_table=True)
    grid, g = dense_scan(cell, 0.3)
    missed = 0
    for mi in range(cell.models):
        found = table["state"][table["model"] == mi, 0]
        cont = table["kind"][table["model"] == mi] == "continuum"
        if cont.any():
            continue
        gm = g[mi]
        ok = np.isfinite(gm[:-1]) & np.isfinite(gm[1:])
        changes = np.nonzero(ok & (np.sign(gm[:-1]) * np.sign(gm[1:]) < 0))[0]
        zeros = np.nonzero(gm == 0)[0]
        a = np.abs(gm)
        minima = np.nonzero((a[1:-1] < 1e-7) & (a[1:-1] <= a[:-2]) & (a[1:-1] <= a[2:]))[0] + 1
        for k in list(changes) + list(zeros) + list(minima):
            if not np.any(np.abs(found - grid[k]) <= 2.5 * (grid[1] - grid[0]) + 1e-6):
                missed += 1
        # nothing spurious: every reported h is a root of the dense-scan function's cell
        assert found.size <= changes.size + zeros.size + 2 * minima.size + 2
    assert missed == 0


@pytest.mark.parametrize("gate", ["sigmoid", "hard_sigmoid"])
@pytest.mark.parametrize("cls,kw", H_ONLY)
def test_two_cycles_agree_with_dense_scan(cls, kw, gate, random_one_unit_cell):
    cell = random_one_unit_cell(cls, gate, models=100, seed=5, scale=3.0, **kw)
    table = dy.fixed_points(cell, x=-0.2, periods=(1, 2), as_table=True)
    n = 10001
    h = torch.linspace(-1, 1, n, dtype=torch.float64).expand(cell.models, n).unsqueeze(-1)
    xs = torch.full((cell.models, n, 1), -0.2, dtype=torch.float64)
    with torch.no_grad():
        F1 = cell.step_batched(h, xs)
        g2 = (cell.step_batched(F1, xs) - h)[..., 0].numpy()
        g1 = (F1 - h)[..., 0].numpy()
    grid = h[0, :, 0].numpy()
    for mi in range(cell.models):
        rows = table["model"] == mi
        if (table["kind"][rows] == "continuum").any():
            continue
        cycle = table["state"][rows & (table["period"] == 2), 0]
        fixed = table["state"][rows & (table["period"] == 1), 0]
        assert cycle.size % 2 == 0
        changes = np.nonzero(np.sign(g2[mi, :-1]) * np.sign(g2[mi, 1:]) < 0)[0]
        for k in changes:
            near_fixed = np.any(np.abs(fixed - grid[k]) <= 3e-4)
            near_cycle = np.any(np.abs(cycle - grid[k]) <= 3e-4)
            assert near_fixed or near_cycle, (mi, grid[k])
        for c in cycle:  # each reported 2-cycle point is a genuine non-fixed root of F(F(h)) - h
            k = int(round((c + 1) / 2 * (n - 1)))
            assert abs(g1[mi, k]) > 1e-6


@pytest.mark.parametrize("gate", ["sigmoid", "hard_sigmoid"])
def test_lstm_two_cycles_are_genuine_and_paired(gate, random_one_unit_cell):
    cell = random_one_unit_cell(LSTM, gate, models=60, seed=7, scale=4.0)
    table = dy.fixed_points(cell, periods=(1, 2), as_table=True)
    two = np.nonzero(table["period"] == 2)[0]
    assert two.size >= 4 and two.size % 2 == 0
    assert np.all(table["residual"][two] <= 1e-10)
    m = dy.cell_map(cell)
    for i in two:
        mi = int(table["model"][i])
        s = torch.tensor(table["state"][i][None, None])
        image = m[mi](s)[0, 0].numpy()
        assert np.max(np.abs(image - table["state"][i])) > 1e-7  # not a fixed point
        partner = [j for j in two if table["model"][j] == mi and table["orbit"][j] == table["orbit"][i] and j != i]
        assert len(partner) == 1
        np.testing.assert_allclose(image, table["state"][partner[0]], atol=1e-10)
