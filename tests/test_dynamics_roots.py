"""The certified one-unit root finder against independent oracles: a brute-force scan at 10^6 points through the
cells' own torch step functions with bisection, constructed pairs of roots closer than the old sampling grid (just
past a fold, a pitchfork and a flip: closed forms), the pitchfork's triple root, the parity of the number of odd
roots, and the uncertified flag."""

import numpy as np
import pytest
import torch

from dynlatch import GRU, LSTM, SRNN
from dynlatch import dynamics as dy
from dynlatch.dynamics import _one_unit as ou
from dynlatch.dynamics._roots import certified_roots, find_roots

GATES = ["sigmoid", "hard_sigmoid", "hard_sigmoid_keras3"]
KINDS = [(SRNN, {}), (GRU, {"reset_after": True}), (GRU, {"reset_after": False}), (LSTM, {})]
DENSE = 1_000_001



def torch_equation(cell, x, period, grad=False):
    """g(h) for h (M, P) through cell.step_batched only (no code shared with the finder): F^p(h) - h for SRNN / GRU;
    for the LSTM o tanh(c*) - h with c* = i g / (1 - f), i g and f read off two steps (NaN where 1 - f < 1e-12)."""

    def g(h):
        xs = torch.full((cell.models, h.shape[1], 1), x, dtype=torch.float64)
        s = h.unsqueeze(-1)
        with torch.set_grad_enabled(grad):
            if cell.kind == "lstm":
                _, ig = cell.step_batched((s, torch.zeros_like(s)), xs)
                _, f_plus = cell.step_batched((s, torch.ones_like(s)), xs)
                one_minus_f = 1 - (f_plus - ig)
                h1, _ = cell.step_batched((s, ig / one_minus_f), xs)
                out = (h1 - s)[..., 0]
                out[one_minus_f[..., 0] < 1e-12] = float("nan")
                return out
            for _ in range(period):
                s = cell.step_batched(s, xs)
            return (s - h.unsqueeze(-1))[..., 0]

    return g


def dense_roots(g, M):
    """Sign changes of g on 10^6 + 1 points of [-1, 1], each bisected 60 times through g, and exact zeros:
    (model, h, samples)."""
    grid = torch.linspace(-1, 1, DENSE, dtype=torch.float64)
    G = g(grid.expand(M, DENSE)).numpy()
    ok = np.isfinite(G[:, :-1]) & np.isfinite(G[:, 1:])
    m, k = np.nonzero(ok & (np.sign(G[:, :-1]) * np.sign(G[:, 1:]) < 0))
    a, b, ga = grid.numpy()[k], grid.numpy()[k + 1], G[m, k]
    col = np.zeros(m.size, np.int64)  # column of each bracket in an (M, P) batch: its rank within its model
    for i in range(1, m.size):
        col[i] = col[i - 1] + 1 if m[i] == m[i - 1] else 0
    for _ in range(60):
        mid = 0.5 * (a + b)
        H = torch.zeros(M, int(col.max(initial=0)) + 1, dtype=torch.float64)
        H[torch.as_tensor(m), torch.as_tensor(col)] = torch.as_tensor(mid)
        vals = g(H).numpy()[m, col]
        left = np.sign(vals) == np.sign(ga)
        a, ga, b = np.where(left, mid, a), np.where(left, vals, ga), np.where(left, b, mid)
    mz, kz = np.nonzero(G == 0)
    return np.concatenate([m, mz]), np.concatenate([0.5 * (a + b), grid.numpy()[kz]]), G


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("cls,kw", KINDS)
def test_every_dense_scan_root_is_found_and_every_found_root_is_a_root(cls, kw, gate, random_one_unit_cell):
    cell = random_one_unit_cell(cls, gate, models=4, seed=11, scale=2.5, **kw)
    periods = (1,) if cls is LSTM else (1, 2)
    table = dy.fixed_points(cell, x=0.2, periods=periods, as_table=True)
    assert table["guaranteed_complete"].all()
    for period in periods:
        g = torch_equation(cell, 0.2, period)
        m_dense, h_dense, G = dense_roots(g, cell.models)
        rows = table["period"] <= period if period == 2 else table["period"] == 1  # F(F(h)) = h holds at fixed points
        for mi in range(cell.models):
            mine = rows & (table["model"] == mi)
            cont = mine & (table["kind"] == "continuum")
            pts = table["state"][mine & (table["kind"] == "point"), 0]
            h = h_dense[m_dense == mi]
            lo, hi = table["extent_lo"][cont, 0], table["extent_hi"][cont, 0]
            h = h[~np.any((lo[:, None] - 1e-9 <= h) & (h <= hi[:, None] + 1e-9), axis=0)]
            if h.size:
                assert pts.size and np.all(np.min(np.abs(pts[:, None] - h), axis=0) <= 1e-9), (mi, period, h, pts)
            # parity: the number of roots of odd multiplicity matches the sign change between the ends
            if not cont.any() and np.all(np.isfinite(G[mi, [0, -1]])) and period == 1:
                odd = table["multiplicity"][mine & (table["kind"] == "point")] % 2 == 1
                assert odd.sum() % 2 == int(np.sign(G[mi, 0]) != np.sign(G[mi, -1]))
        # every reported point is a root (the period-p map's residual through the torch step)
        sel = (table["period"] == period) & (table["kind"] == "point")
        assert np.all(table["residual"][sel] <= 1e-12)


def srnn(w, b):
    return SRNN([[0.0]], [[w]], [b], dtype=torch.float64)


def old_sampling_finder(cell, period):
    """The method this finder replaced: a 1025-point grid with sign changes and minima of |g| (not certified)."""
    g = torch_equation(cell, 0.0, period, grad=True)
    r = find_roots(g, cell.models, lo=-1.0, hi=1.0, grid=1025)
    return r.value


def test_pair_past_a_pitchfork_closer_than_the_old_grid():
    # tanh((1 + e) h + b) = h with e = 1e-6, b = 1e-12: roots near -sqrt(3 e), -b / e, +sqrt(3 e) (normal form
    # e h - h^3 / 3 + b = 0), all within one spacing 2 / 1024 of the old grid
    e, b = 1e-6, 1e-12
    cell = srnn(1 + e, b)
    fps = dy.fixed_points(cell, periods=(1,))
    h = np.array([fp.state[0] for fp in fps])
    assert len(fps) == 3 and all(fp.multiplicity == 1 for fp in fps)
    expected = np.sort(np.roots([-1 / 3, 0.0, e, b]).real)
    np.testing.assert_allclose(h, expected, rtol=1e-5, atol=1e-12)
    assert np.all(np.abs(np.tanh((1 + e) * h + b) - h) <= 1e-16)
    assert old_sampling_finder(cell, 1).size < 3  # the grid scan sees one of them


def test_two_cycle_just_past_a_flip_closer_than_the_old_grid():
    e = 1e-6
    cell = srnn(-(1 + e), 0.0)
    fps = dy.fixed_points(cell)
    cycle = sorted(fp.state[0] for fp in fps if fp.period == 2)
    xbar = np.sqrt(3 * e)  # h = -tanh((1 + e) h') with h' = -h: the pitchfork's normal form
    np.testing.assert_allclose(cycle, [-xbar, xbar], rtol=1e-5)
    assert [fp.period for fp in fps].count(1) == 1
    old = old_sampling_finder(cell, 2)
    assert np.sum(np.abs(np.abs(old) - xbar) < 1e-6) < 2  # the grid scan misses the cycle


@pytest.mark.parametrize("kind", ["srnn", "gru"])
def test_pair_just_past_a_fold_1e6_apart(kind):
    # g(h) = tanh(w h + b) - h has a fold (double root) at h_t = sqrt(1 - 1/w), b_t = artanh(h_t) - w h_t; raising b
    # by db lifts the local maximum by (1 - h_t^2) db and splits it into two roots 2 sqrt(2 (1 - h_t^2) db / |g''|)
    # apart, g'' = -2 w^2 h_t (1 - h_t^2)
    w, gap = 2.0, 1e-6
    ht = np.sqrt(1 - 1 / w)
    g2 = 2 * w**2 * ht * (1 - ht**2)
    db = g2 * (gap / 2) ** 2 / 2 / (1 - ht**2)
    b = np.arctanh(ht) - w * ht + db
    if kind == "srnn":
        cell = srnn(w, b)
    else:  # update gate 1/2, reset gate 1: the GRU's fixed points are those of tanh(w h + b) = h
        cell = GRU([[0.0, 0.0, 0.0]], [[0.0, 0.0, w]], [0.0, 40.0, b], reset_after=False, dtype=torch.float64)
    fps = dy.fixed_points(cell, periods=(1,))
    h = np.array([fp.state[0] for fp in fps])
    assert len(fps) == 3 and all(fp.multiplicity == 1 for fp in fps)
    assert abs(h[2] - h[1] - gap) < 1e-8 and abs(0.5 * (h[1] + h[2]) - ht) < 1e-8
    assert all(fp.residual <= 1e-15 for fp in fps)


@pytest.mark.parametrize("gate", GATES)
def test_triple_root_of_the_keras2_start_in_a_gru(gate):
    # z = gate(0) = 1/2, r = 1 (saturated), candidate tanh(h): g = tanh(h) - h, a triple root at 0
    cell = GRU([[0.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]], [0.0, 40.0, 0.0], reset_after=False, recurrent_activation=gate,
               dtype=torch.float64)
    fps = dy.fixed_points(cell, periods=(1,))
    assert len(fps) == 1 and fps[0].state[0] == 0.0 and fps[0].multiplicity == 3


def test_fold_is_a_double_root_and_the_pitchfork_a_triple_root_of_the_kernel():
    w = 2.0
    ht = np.sqrt(1 - 1 / w)
    params = np.array([[np.arctanh(ht) - w * ht, w], [0.0, 1.0], [0.0, -1.0]])
    r = certified_roots(ou.OneUnitSystem("srnn", 0, False, params), ou.EQ_SRNN_FIXED)
    assert r.model.tolist() == [0, 0, 1, 2]
    assert r.multiplicity.tolist() == [1, 2, 3, 1] and abs(r.value[1] - ht) < 1e-6
    assert r.value[2] == 0.0 and r.value[3] == 0.0 and r.certified.all()


def test_budget_exhausted_is_flagged_not_certified(monkeypatch, random_one_unit_cell):
    from dynlatch.dynamics import _fixed_points

    original = _fixed_points.certified_roots
    monkeypatch.setattr(_fixed_points, "certified_roots",
                        lambda system, eq, tol: original(system, eq, tol=tol, max_leaves=1))
    cell = random_one_unit_cell(SRNN, "sigmoid", models=8, seed=3, scale=2.5)
    with pytest.warns(RuntimeWarning, match="not certified"):
        table = dy.fixed_points(cell, periods=(1,), as_table=True)
    assert not table["guaranteed_complete"].all()
