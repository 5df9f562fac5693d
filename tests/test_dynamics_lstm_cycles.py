"""Certified LSTM 2-cycles (dynlatch.dynamics._lstm_cycles) against oracles that use only the cell's own step
function: interval enclosures contain sampled values and finite-difference slopes, every cycle closes under two
steps of ``cell.step_batched``, a dense brute-force grid + Newton finds the same cycles, a constructed negative-feedback
latch has its closed-form 2-cycle, cells without recurrence have none, and batched equals single."""

import numpy as np
import pytest
import torch

from dynlatch import LSTM
from dynlatch.dynamics import _lstm_cycles as lc

GATES = ["sigmoid", "hard_sigmoid", "hard_sigmoid_keras3"]
CODES = {"sigmoid": 0, "hard_sigmoid": 1, "hard_sigmoid_keras3": 2}


def random_lstm(gate, models, seed, scale=3.0):
    rng = np.random.default_rng(seed)
    return LSTM(rng.normal(0, 2, (models, 1, 4)), rng.normal(0, scale, (models, 1, 4)),
                rng.normal(0, 2, (models, 1, 4)), batched=True, recurrent_activation=gate, dtype=torch.float64)


def inputs(cell, value=0.3):
    return torch.full((cell.models, 1, cell.input_dim), value, dtype=torch.float64)


def step(cell, x, h, c):
    """One LSTM step of every model on P states each (h, c: (M, P)) through cell.step_batched."""
    xs = x.expand(cell.models, h.shape[1], cell.input_dim)
    h2, c2 = cell.step_batched((h[..., None], c[..., None]), xs)
    return h2[..., 0], c2[..., 0]


def residual(cell, x, h1, h2):
    """(r_a, r_b, c1, c2) from the step function only: i g and f read off the c-update at c = 0 and c = 1, c1, c2
    from the linear cycle conditions, then r = (h of step(h1, c1) - h2, h of step(h2, c2) - h1)."""
    with torch.no_grad():
        _, ig1 = step(cell, x, h1, torch.zeros_like(h1))
        _, f1 = step(cell, x, h1, torch.ones_like(h1))
        _, ig2 = step(cell, x, h2, torch.zeros_like(h2))
        _, f2 = step(cell, x, h2, torch.ones_like(h2))
        f1, f2 = f1 - ig1, f2 - ig2
        den = 1 - f1 * f2
        c1 = (ig2 + f2 * ig1) / den
        c2 = (ig1 + f1 * ig2) / den
        ra = step(cell, x, h1, c1)[0] - h2
        rb = step(cell, x, h2, c2)[0] - h1
    return ra, rb, c1, c2


def smooth_boxes(eval_box, cell, off, sl, gate, rng, widths, per_width, span):
    """Random square boxes of width ``widths[k]`` in [-span, span]^2, ``per_width`` per width and model, on which
    ``eval_box`` (``lc._eval_box`` or ``lc._eval_box_b``) reports SMOOTH: yields (model, lo, hi, its enclosures)."""
    s, out = np.empty(24), np.empty(16)
    for m in range(cell.models):
        for width in widths:
            for _ in range(per_width):
                lo = rng.uniform(-span, span - width, 2)
                hi = lo + width
                if eval_box(off[m], sl[m], CODES[gate], lo[0], hi[0], lo[1], hi[1], s, out) == lc.SMOOTH:
                    yield m, lo, hi, out.copy()


def assert_slopes_enclosed(fn, pts, enc, e=1e-6):
    """Central differences (step ``e``) of the two functions ``fn(points) -> (2, P)`` at ``pts`` (P, 2) lie inside
    the Jacobian enclosure ``enc[4:12]`` (d_i/dh_j in ``enc[4 + 4 i + 2 j : 6 + 4 i + 2 j]``), relative slack 1e-5."""
    for j in range(2):
        dp, dm = pts.copy(), pts.copy()
        dp[:, j] += e
        dm[:, j] -= e
        fd = (fn(dp) - fn(dm)) / (2 * e)
        for i in range(2):
            slack = 1e-5 * (1 + np.abs(fd[i]))
            assert np.all(fd[i] >= enc[4 + 4 * i + 2 * j] - slack), (i, j)
            assert np.all(fd[i] <= enc[5 + 4 * i + 2 * j] + slack), (i, j)


@pytest.mark.parametrize("gate", GATES)
def test_enclosures_contain_values_and_slopes(gate):
    cell = random_lstm(gate, 6, seed=3)
    x = inputs(cell)
    off, sl = lc._affine_parts(cell, x)
    rng = np.random.default_rng(0)
    checked = 0
    for m, lo, hi, enc in smooth_boxes(lc._eval_box, cell, off, sl, gate, rng, (0.3, 0.01), 4, 1.0):
        pts = rng.uniform(lo, hi, (64, 2))
        sub = cell[[m]]

        def ab(p, sub=sub, m=m):  # the two residuals at points p (P, 2)
            r = residual(sub, x[[m]], torch.tensor(p[None, :, 0]), torch.tensor(p[None, :, 1]))
            return np.stack([r[0][0].numpy(), r[1][0].numpy()])

        ra, rb, c1, c2 = (v[0].numpy() for v in residual(sub, x[[m]], torch.tensor(pts[None, :, 0]),
                                                          torch.tensor(pts[None, :, 1])))
        for val, k in ((ra, 0), (rb, 2), (c1, 12), (c2, 14)):
            assert np.all(val >= enc[k] - 1e-13) and np.all(val <= enc[k + 1] + 1e-13)
        assert_slopes_enclosed(ab, np.clip(pts, lo + 1e-6, hi - 1e-6), enc)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("gate", GATES)
def test_form_b_enclosures_contain_values_and_slopes(gate):
    # form B (used where 1 - f1 f2 reaches 0): p = artanh(h2/o1) - f1 artanh(h1/o2) - i1 g1, q = its mirror; gates
    # from the cell's own gate function on the affine pre-activations, slopes by central differences
    cell = random_lstm(gate, 6, seed=4)
    x = inputs(cell)
    off, sl = lc._affine_parts(cell, x)
    rng = np.random.default_rng(1)

    def pq(m, h1, h2):
        g1 = cell.gate(torch.tensor(off[m] + sl[m] * h1[:, None])).numpy()
        g2 = cell.gate(torch.tensor(off[m] + sl[m] * h2[:, None])).numpy()
        ig1 = g1[:, 0] * np.tanh(off[m, 2] + sl[m, 2] * h1)
        ig2 = g2[:, 0] * np.tanh(off[m, 2] + sl[m, 2] * h2)
        a1, a2 = np.arctanh(h1 / g2[:, 3]), np.arctanh(h2 / g1[:, 3])
        return np.stack([a2 - g1[:, 1] * a1 - ig1, a1 - g2[:, 1] * a2 - ig2])

    checked = 0
    for m, lo, hi, enc in smooth_boxes(lc._eval_box_b, cell, off, sl, gate, rng, (0.2, 0.01), 6, 0.5):
        pts = rng.uniform(lo + 1e-6, hi - 1e-6, (64, 2))
        val = pq(m, pts[:, 0], pts[:, 1])
        for i in range(2):
            assert np.all(val[i] >= enc[2 * i] - 1e-13) and np.all(val[i] <= enc[2 * i + 1] + 1e-13)
        assert_slopes_enclosed(lambda p, m=m: pq(m, p[:, 0], p[:, 1]), pts, enc)
        checked += 1
    assert checked >= 10


def assert_genuine(cell, x, r):
    """Every cycle closes under two steps of the cell to 1e-10, maps h1 -> h2, and is not a fixed point."""
    assert np.all(r.h1 < r.h2)
    if r.model.size == 0:
        return
    sub = cell[list(r.model)]
    xs = x[torch.as_tensor(r.model)]
    h1 = torch.tensor(r.h1)[:, None]
    c1 = torch.tensor(r.c1)[:, None]
    with torch.no_grad():
        ha, ca = step(sub, xs, h1, c1)
        hb, cb = step(sub, xs, ha, ca)
    np.testing.assert_allclose(ha[:, 0].numpy(), r.h2, atol=1e-10)
    assert np.all(np.abs(ca[:, 0].numpy() - r.c2) <= 1e-10 * (1 + np.abs(r.c2)))
    np.testing.assert_allclose(hb[:, 0].numpy(), r.h1, atol=1e-10)
    assert np.all(np.abs(cb[:, 0].numpy() - r.c1) <= 1e-10 * (1 + np.abs(r.c1)))
    assert np.all(np.abs(r.h2 - r.h1) > 1e-6)


@pytest.mark.parametrize("gate", GATES)
def test_cycles_are_genuine_and_unresolved_boxes_small(gate):
    cell = random_lstm(gate, 120, seed=11)
    x = inputs(cell)
    r = lc.lstm_cycle_search(cell, x, max_boxes=50_000)
    assert r.model.size >= 2 and r.certified.all()
    assert_genuine(cell, x, r)
    if gate == "sigmoid":
        assert r.complete.all() and r.box_model.size == 0
    assert r.complete.mean() >= 0.8
    assert set(r.box_model) == set(np.nonzero(~r.complete)[0])
    small = np.maximum(r.box[:, 1] - r.box[:, 0], r.box[:, 3] - r.box[:, 2]) <= 1e-6
    assert np.all(small | np.array(["budget" in reason for reason in r.box_reason], bool))


def brute_force_cycles(cell, x, m, n=800):
    """Every 2-cycle of model m seen by a dense n x n grid on [-1, 1]^2: grid cells where both residual components
    change sign, then 2-D Newton (finite-difference Jacobian) from each; distinct roots with h1 < h2 - 1e-6."""
    sub = cell[[m]]
    xm = x[[m]]
    axis = torch.linspace(-1, 1, n, dtype=torch.float64)
    A, B = torch.meshgrid(axis, axis, indexing="ij")
    ra, rb, _, _ = residual(sub, xm, A.reshape(1, -1), B.reshape(1, -1))
    starts = []
    for r in (ra.reshape(n, n), rb.reshape(n, n)):
        corners = torch.stack([r[:-1, :-1], r[1:, :-1], r[:-1, 1:], r[1:, 1:]])
        starts.append((corners.amin(0) <= 0) & (corners.amax(0) >= 0))
    i, j = torch.nonzero(starts[0] & starts[1] & (A[:-1, :-1] < B[:-1, :-1] + 2.0 / n), as_tuple=True)
    if i.numel() == 0:
        return np.zeros((0, 2))
    z1 = (axis[i] + 1.0 / n)[None].clone()
    z2 = (axis[j] + 1.0 / n)[None].clone()
    e = 1e-7
    for _ in range(30):
        r1, r2, _, _ = residual(sub, xm, z1, z2)
        a1, b1, _, _ = residual(sub, xm, z1 + e, z2)
        a2, b2, _, _ = residual(sub, xm, z1, z2 + e)
        j11, j21, j12, j22 = (a1 - r1) / e, (b1 - r2) / e, (a2 - r1) / e, (b2 - r2) / e
        det = j11 * j22 - j12 * j21
        z1 = z1 - (j22 * r1 - j12 * r2) / det
        z2 = z2 - (j11 * r2 - j21 * r1) / det
    r1, r2, _, _ = residual(sub, xm, z1, z2)
    ok = (torch.maximum(r1.abs(), r2.abs()) < 1e-12) & (z1 < z2 - 1e-6)
    roots = torch.stack([z1[ok], z2[ok]], 1).numpy()
    roots = roots[np.lexsort((roots[:, 1], roots[:, 0]))]
    keep = np.ones(len(roots), bool)
    for k in range(1, len(roots)):
        keep[k] = np.min(np.max(np.abs(roots[:k][keep[:k]] - roots[k]), axis=1)) > 1e-8
    return roots[keep]


@pytest.mark.slow
@pytest.mark.parametrize("gate", GATES)
def test_matches_dense_brute_force(gate):
    cell = random_lstm(gate, 120, seed=5)
    x = inputs(cell)
    r = lc.lstm_cycle_search(cell, x)
    with_cycles = [m for m in np.unique(r.model) if r.complete[m]][:2]
    without = [m for m in range(cell.models) if r.complete[m] and m not in set(r.model)][:1]
    assert len(with_cycles) == 2 and len(without) == 1
    for m in with_cycles + without:
        mine = np.stack([r.h1[r.model == m], r.h2[r.model == m]], 1)
        brute = brute_force_cycles(cell, x, m)
        assert len(brute) == len(mine), (m, brute, mine)
        for b in brute:
            assert np.min(np.max(np.abs(mine - b), axis=1)) < 1e-8


@pytest.mark.parametrize("gate", GATES)
def test_negative_feedback_latch_has_its_closed_form_cycle(gate):
    # i = o = 1 and f = 0 (exactly, for the hard gates; within 5e-5 for the sigmoid): c' = tanh(U_c h), h' = tanh(c'),
    # so with U_c = -4 the map is h' = tanh(tanh(-4 h)), odd: the 2-cycle is (-h*, h*), h* = tanh(tanh(4 h*)).
    cell = LSTM([[0.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, -4.0, 0.0]], [10.0, -10.0, 0.0, 10.0], recurrent_activation=gate,
                dtype=torch.float64)
    x = torch.zeros(1, 1, 1, dtype=torch.float64)
    r = lc.lstm_cycle_search(cell, x)
    assert r.complete.all() and r.model.size == 1 and r.certified.all()
    assert_genuine(cell, x, r)
    if gate == "sigmoid":  # the stable cycle, by simulation
        h, c = torch.tensor([[0.3]], dtype=torch.float64), torch.tensor([[0.0]], dtype=torch.float64)
        for _ in range(400):
            h, c = step(cell, x, h, c)
        expected = sorted([float(h), float(step(cell, x, h, c)[0])])
    else:
        hs = 0.9
        for _ in range(200):
            hs = np.tanh(np.tanh(4 * hs))
        expected = [-hs, hs]
    np.testing.assert_allclose([r.h1[0], r.h2[0]], expected, atol=1e-12)


@pytest.mark.parametrize("gate", GATES)
def test_no_recurrence_no_cycles(gate):
    rng = np.random.default_rng(2)
    M = 8
    W, b = rng.normal(0, 2, (M, 1, 4)), rng.normal(0, 2, (M, 1, 4))
    b[:, 0, 1] = -10.0  # forget gate 0 (hard) / ~0 (sigmoid)
    cell = LSTM(W, np.zeros((M, 1, 4)), b, batched=True, recurrent_activation=gate, dtype=torch.float64)
    r = lc.lstm_cycle_search(cell, inputs(cell))
    assert r.model.size == 0 and r.complete.all()


def test_batched_equals_single():
    cell = random_lstm("sigmoid", 40, seed=11)
    x = inputs(cell)
    r = lc.lstm_cycle_search(cell, x)
    assert r.model.size >= 1
    for m in range(cell.models):
        one = lc.lstm_cycle_search(cell[[m]], x[[m]])
        sel = r.model == m
        np.testing.assert_array_equal(one.h1, r.h1[sel])
        np.testing.assert_array_equal(one.h2, r.h2[sel])
        np.testing.assert_array_equal(one.c1, r.c1[sel])
        assert one.complete[0] == r.complete[m]
    model, h1, h2, c1, c2 = lc.lstm_two_cycles(cell, x)
    np.testing.assert_array_equal(model, r.model)
    np.testing.assert_array_equal(h2, r.h2)


def test_bad_input_is_one_clear_error():
    cell = random_lstm("sigmoid", 2, seed=0)
    x = inputs(cell)
    with pytest.raises(ValueError, match="min_width"):
        lc.lstm_cycle_search(cell, x, min_width=0.0)
    with pytest.raises(ValueError, match="x must"):
        lc.lstm_cycle_search(cell, x[:1])
    with pytest.raises(ValueError, match="one-unit LSTM"):
        lc.lstm_cycle_search(LSTM.init(units=2, seed=[0]), x)
