"""Branches, bifurcations, fold curves, basins and ghost passage times against closed forms: the SRNN's pitchfork and
flip (b = 0), Bengio et al. 1994's fold threshold h*(w), Pascanu et al. 2013's fold curve, a hard-gate kink, the
bisector xbar = tanh(w xbar) of the latch's basins, and the ghost's eps^(-1/2) law (Strogatz, sec. 4.3); 2-cycle events:
the logistic map's period doubling at r = 1 + sqrt(6) (May 1976) and a fold of 2-cycles at a closed-form parameter
(checked also by counting the roots of F(F(s)) - s on a dense grid); two folds inside one grid interval after
refinement (SRNN in b, closed form)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import torch

from dynlatch import GRU, LSTM, SRNN
from dynlatch import dynamics as dy
from dynlatch import landscape


def srnn(U: float, b: float = 0.0) -> SRNN:
    return SRNN([[1.0]], [[U]], [b], dtype=torch.float64)


def h_star(w):
    w = np.asarray(w, dtype=np.float64)
    return np.sqrt(w * (w - 1)) - np.arccosh(np.sqrt(w))


def hard_input_gate_lstm() -> LSTM:
    """i = hard_sigmoid(5 h) (kinks at h = +-0.5), f = 0, o = 1: h' = tanh(i(h) tanh(U_c h))."""
    t = lambda v: torch.tensor([[v]], dtype=torch.float64)  # noqa: E731
    c = LSTM.init(seed=0, recurrent_activation="hard_sigmoid", dtype=torch.float64)
    return c.with_params(U_i=t(5.0), U_f=t(0.0), U_o=t(0.0), U_c=t(1.0), b_i=t(0.0)[0], b_f=t(-10.0)[0],
                         b_o=t(10.0)[0], b_c=t(0.0)[0])


def test_srnn_pitchfork_and_flip_in_U():
    br = dy.branches(srnn(1.0), "U", np.linspace(-2.03, 2.07, 42))
    kinds = sorted((e["kind"], e["value"]) for e in br.events)
    assert [k for k, _ in kinds] == ["flip", "fold"]
    flip, fold = kinds[0][1], kinds[1][1]
    assert abs(flip + 1) < 1e-8 and abs(fold - 1) < 1e-8
    # the branches: one fixed point for |U| <= 1, three for U > 1 (0, +-xbar), a 2-cycle for U < -1
    for i, U in enumerate(br.values):
        sel = (br.rows["index"] == i)
        n1 = int(np.sum(sel & (br.rows["period"] == 1)))
        n2 = int(np.sum(sel & (br.rows["period"] == 2)))
        assert n1 == (3 if U > 1 else 1) and n2 == (2 if U < -1 else 0), (U, n1, n2)


def test_rows_equal_single_cell_fixed_points():
    br = dy.branches(srnn(1.0), "U", np.linspace(-1.7, 2.9, 9))
    assert br.values.size > 9 and set(np.linspace(-1.7, 2.9, 9)) <= set(br.values)  # refined near U = -1 and 1
    for i in range(0, br.values.size, br.values.size // 10):  # rows of given and inserted values (merged tables)
        U = br.values[i]
        pts = dy.fixed_points(srnn(U))
        sel = br.rows["index"] == i
        np.testing.assert_allclose(np.sort(br.rows["h"][sel]), np.sort([p.state[0] for p in pts]), atol=1e-12)
        assert sorted(br.rows["stable"][sel].tolist()) == sorted(p.stable for p in pts)


@pytest.mark.parametrize("w", [1.5, 2.0, 3.0])
def test_srnn_fold_in_b_is_bengio_threshold(w):
    br = dy.branches(srnn(w), "b", np.linspace(-1.6, 1.6, 81), periods=(1,))
    folds = sorted(e["value"] for e in br.events if e["kind"] == "fold")
    assert len(folds) == 2 and all(e["method"] == "newton" for e in br.events)
    np.testing.assert_allclose(folds, [-h_star(w), h_star(w)], atol=1e-8)


def test_pascanu_fold_curve_matches_closed_form():
    ws = np.array([5.0, 6.0, 8.0])
    rows = dy.fold_curve_2d(dy.pascanu_neuron(5.0, -2.0), "w", ws, "b", np.linspace(-9.0, 0.0, 91),
                            state_range=(-15.0, 15.0))
    assert len(rows) == 2 * ws.size and {r["kind"] for r in rows} == {"fold"}
    for w in ws:
        located = sorted(r["value2"] for r in rows if r["value1"] == w)
        np.testing.assert_allclose(located, landscape.pascanu_fold_b(w), atol=1e-8)
    for r in rows:  # the curve parametrised by the fold's state x*: (w, b) = pascanu_fold_curve(x*)
        fw, fb = landscape.pascanu_fold_curve(np.array(r["state"]))
        np.testing.assert_allclose([fw[0], fb[0]], [r["value1"], r["value2"]], atol=1e-7)


def test_lstm_fold_and_flip_curves_match_the_jacobian_at_zero():
    # i = o = 0.5 constant, hard f = 0.2 b_f + 0.5: J(0) = [[U_c/4, f/2], [U_c/2, f]], so det(J - I) = 0 at
    # f = 1 - U_c/4 (pitchfork) and det(J + I) = 0 at f = -1 - U_c/4 (flip)
    t = lambda v: torch.tensor([[v]], dtype=torch.float64)  # noqa: E731
    cell = LSTM.init(seed=0, recurrent_activation="hard_sigmoid", dtype=torch.float64).with_params(
        U_i=t(0.0), U_f=t(0.0), U_o=t(0.0), b_i=t(0.0)[0], b_o=t(0.0)[0], b_c=t(0.0)[0])
    rows = dy.fold_curve_2d(cell, "U_c", [-5.0, 0.5, 2.0], "b_f", np.linspace(-2.4, 2.4, 25))
    got = sorted((r["value1"], r["kind"], r["value2"]) for r in rows)
    want = [(-5.0, "flip", (-1 + 5 / 4 - 0.5) / 0.2), (0.5, "fold", (1 - 0.5 / 4 - 0.5) / 0.2),
            (2.0, "fold", (1 - 2 / 4 - 0.5) / 0.2)]
    assert [g[:2] for g in got] == [w_[:2] for w_ in want]
    np.testing.assert_allclose([g[2] for g in got], [w_[2] for w_ in want], atol=1e-8)


def test_hard_sigmoid_border_collision_at_a_kink():
    cell = hard_input_gate_lstm()
    br = dy.branches(cell, "U_c", np.linspace(-3.0, 3.0, 61), periods=(1,), refine=False)
    bc = [e for e in br.events if e["kind"] == "border_collision"]
    assert len(bc) == 1 and bc[0]["gate"] == "i"
    e = bc[0]
    # the input gate's pre-activation U_i h + b_i = 5 h at the point equals the Keras-2 kink 0.5 / 0.2 = 2.5
    assert abs(5.0 * e["state"][0] - 2.5) < 1e-8
    # and the fixed points on either side: a stable/unstable pair near the kink on one side, none on the other
    def near_kink(v):
        pts = dy.fixed_points(cell.with_params(U_c=torch.tensor([[v]], dtype=torch.float64)), periods=(1,))
        return [p for p in pts if abs(p.state[0] - 0.5) < 1e-3]
    left, right = near_kink(e["value"] - 1e-7), near_kink(e["value"] + 1e-7)
    pair = right if len(right) == 2 else left
    assert {len(left), len(right)} == {0, 2}
    mods = sorted(float(np.abs(p.eigenvalues).max()) for p in pair)
    assert mods[0] < 1 < mods[1]  # the multiplier jumps past +1 at the kink: no smooth fold (eigenvalue 1) here


def logistic() -> dy.Map:
    return dy.Map(lambda p, s, x: p["r"][:, None, None] * s * (1 - s), state_dim=1, params={"r": 3.0},
                  name="logistic")


def odd_cycle_map() -> dy.Map:
    """F(s) = -s + s (p - (s^2 - 1)^2): for p > 0 the symmetric 2-cycles {+-s}, s^2 = 1 +- sqrt(p) (F(s) = -s), one
    stable and one unstable, born together in a fold of 2-cycles at p = 0 at {-1, 1}; no fixed point but 0."""
    return dy.Map(lambda p, s, x: -s + s * (p["p"][:, None, None] - (s**2 - 1) ** 2), state_dim=1,
                  params={"p": 0.0}, name="odd cycle map")


def test_logistic_two_cycle_flips_at_one_plus_sqrt6():
    # the period doubling of the 2-cycle to a 4-cycle at r = 1 + sqrt(6) (closed form), and the 2-cycle's birth at the
    # fixed point's flip r = 3, reported once, as that period-1 flip
    br = dy.branches(logistic(), "r", np.linspace(2.8, 3.6, 9), state_range=(-0.25, 1.25))
    got = [(e["kind"], e["period"]) for e in br.events]
    assert got == [("flip", 1), ("flip", 2)], br.events
    flip1, flip2 = br.events
    assert abs(flip1["value"] - 3.0) < 1e-8 and abs(flip1["state"][0] - 2 / 3) < 1e-8
    r = 1 + np.sqrt(6)
    assert abs(flip2["value"] - r) < 1e-8 and flip2["method"] == "newton"
    x_pm = (r + 1 + np.array([-1, 1]) * np.sqrt((r - 3) * (r + 1))) / (2 * r)  # the 2-cycle in closed form
    np.testing.assert_allclose(np.sort(np.ravel(flip2["cycle"])), x_pm, atol=1e-8)
    # the cycle's multiplier F'(x-) F'(x+) = r^2 (1 - 2x-)(1 - 2x+) is -1 there
    assert abs(r**2 * np.prod(1 - 2 * x_pm) + 1) < 1e-12
    # the branch: the 2-cycle stable for 3 < r < 1 + sqrt(6), unstable beyond
    two = br.rows["period"] == 2
    assert np.all(br.rows["stable"][two] == (br.rows["value"][two] < r))


def test_gru_two_cycle_flip_matches_sympy_and_mpmath():
    # a one-unit GRU (Keras, reset_after=False, hard gates in their linear part) whose 2-cycle doubles its period as U_h
    # varies; oracle: the closed equations h2 = F(h1), h1 = F(h2), F'(h1) F'(h2) = -1 written in sympy (Keras GRU:
    # h' = z h + (1 - z) tanh(U_h r h + b_h), gates 0.2 a + 0.5) and solved by mpmath's findroot at 30 digits
    import mpmath
    import sympy as sp

    Uz, Ur, bz, br_, bh = 2.465, -1.771, -0.841, 2.115, 1.34
    t = lambda v: torch.tensor([[v]], dtype=torch.float64)  # noqa: E731
    cell = GRU.init(seed=0, scheme="keras2", reset_after=False, recurrent_activation="hard_sigmoid",
                    dtype=torch.float64).with_params(U_z=t(Uz), U_r=t(Ur), U_h=t(-6.0), b_z=t(bz)[0], b_r=t(br_)[0],
                                                     b_h=t(bh)[0])
    br = dy.branches(cell, "U_h", np.linspace(-6.4, -5.9, 3), periods=(2,))
    assert [(e["kind"], e["period"], e["method"]) for e in br.events] == [("flip", 2, "newton")]
    e = br.events[0]
    h, U = sp.symbols("h U")
    hs = lambda a: sp.Rational(1, 5) * a + sp.Rational(1, 2)  # noqa: E731
    z, r = hs(Uz * h + bz), hs(Ur * h + br_)
    F = z * h + (1 - z) * sp.tanh(U * r * h + bh)
    f, df = (sp.lambdify((h, U), g, "mpmath") for g in (F, sp.diff(F, h)))
    with mpmath.workdps(30):
        h1, h2, u = mpmath.findroot(lambda a, b, v: (f(a, v) - b, f(b, v) - a, df(a, v) * df(b, v) + 1),
                                    (0.02, 0.56, -6.2))
    assert abs(e["value"] - float(u)) < 1e-8
    np.testing.assert_allclose(np.sort(np.ravel(e["cycle"])), sorted([float(h1), float(h2)]), atol=1e-8)
    for a in (Uz * float(h1) + bz, Uz * float(h2) + bz, Ur * float(h1) + br_, Ur * float(h2) + br_):
        assert abs(a) < 2.5  # inside the hard sigmoids' linear part: a smooth flip, not a border collision


def test_fold_of_two_cycles_against_the_closed_form():
    br = dy.branches(odd_cycle_map(), "p", np.linspace(-0.3, 0.31, 7), state_range=(-1.6, 1.6))
    assert [(e["kind"], e["period"]) for e in br.events] == [("fold", 2)]
    e = br.events[0]
    assert abs(e["value"]) < 1e-8 and e["method"] == "newton"
    np.testing.assert_allclose(np.sort(np.ravel(e["cycle"])), [-1.0, 1.0], atol=1e-7)
    # independent count of the 2-periodic points (sign changes of F(F(s)) - s on a dense grid, 0 excluded): none
    # before the fold, four (two cycles) after it
    s = np.linspace(-1.6, 1.6, 200001) + 1e-9
    for p, want in ((-1e-4, 0), (1e-4, 4)):
        F = lambda u: -u + u * (p - (u**2 - 1) ** 2)  # noqa: E731
        g = F(F(s)) - s
        assert int(np.sum(np.sign(g[1:]) != np.sign(g[:-1]))) - 1 == want  # minus the fixed point 0
    # the branch rows: a stable and an unstable cycle after the fold
    sel = (br.rows["period"] == 2) & (br.rows["value"] > 0)
    assert set(br.rows["stable"][sel].tolist()) == {True, False}


@pytest.mark.parametrize("x", [0.0, 0.5])
def test_srnn_two_cycle_ends_at_the_fixed_points_flip(x):
    # F(h) = tanh(-2 h + x + b): the 2-cycle dies where the fixed point's multiplier -2 (1 - h^2) passes -1, i.e.
    # h = +-sqrt(1/2), x + b = artanh(h) + 2 h; tanh has negative Schwarzian, so the flips are supercritical and there
    # is no fold of 2-cycles: no period-2 event
    br = dy.branches(srnn(-2.0), "b", np.linspace(-3.0, 3.0, 13), x=x)
    h = np.sqrt(0.5)
    b_flip = np.arctanh(h) + 2 * h
    assert [(e["kind"], e["period"]) for e in br.events] == [("flip", 1), ("flip", 1)]
    np.testing.assert_allclose([e["value"] for e in br.events], [-b_flip - x, b_flip - x], atol=1e-8)


def test_two_folds_inside_one_interval_are_found_after_refinement():
    # SRNN h = tanh(2 h + b): folds at b = +-b*, b* = U r - artanh(r), r = sqrt(1 - 1/U); the grid (-1, 1) holds both
    # and one fixed point at each end, so the signature alone sees nothing
    U = 2.0
    r = np.sqrt(1 - 1 / U)
    b_star = U * r - np.arctanh(r)
    coarse = dy.branches(srnn(U), "b", [-1.0, 1.0], periods=(1,), refine=False)
    assert coarse.events == []
    br = dy.branches(srnn(U), "b", [-1.0, 1.0], periods=(1,), min_interval=1e-3)
    assert [e["kind"] for e in br.events] == ["fold", "fold"]
    np.testing.assert_allclose([e["value"] for e in br.events], [-b_star, b_star], atol=1e-8)
    # the refined grid: intervals around each fold at most min_interval wide
    for e in br.events:
        lo, hi = e["bracket"]
        assert hi - lo <= 1e-3 and lo <= e["value"] <= hi


def test_basins_of_the_srnn_latch_split_at_zero():
    xbar = scipy.optimize.brentq(lambda h: np.tanh(2 * h) - h, 0.5, 1.0)
    grid = np.linspace(-1, 1, 200)  # does not contain 0
    b = dy.basins(srnn(2.0), grid)
    att = np.array([a[0] for a in b.attractors[0]])
    np.testing.assert_allclose(np.sort(att), [-xbar, xbar], atol=1e-8)
    label_of = {int(np.argmin(np.abs(att - s))): s for s in (-xbar, xbar)}
    expected = np.where(grid < 0, -xbar, xbar)
    assert np.array_equal(np.array([label_of[k] for k in b.labels[0]]), expected)


def test_basins_of_a_2d_map_and_bad_input():
    b = dy.basins(dy.function_map(lambda s, x: 0.5 * s, state_dim=2), (np.linspace(-1, 1, 5), np.linspace(-2, 2, 3)))
    assert b.labels.shape == (1, 3, 5) and (b.labels == 0).all() and np.abs(b.attractors[0][0]).max() < 1e-6
    with pytest.raises(ValueError, match="state_dim"):
        dy.basins(dy.function_map(lambda s, x: s, state_dim=3), [0.0])


def test_passage_time_scales_as_inverse_square_root_near_bengios_fold():
    w = 2.0
    eps = np.logspace(-7, -3, 6)
    h = -(h_star(w) + eps)  # just past the fold: the upper pair is gone, its ghost at a = arccosh(sqrt(w)) remains
    steps = dy.passage_time(dy.bengio_neuron(np.full(eps.size, w)), [np.arccosh(np.sqrt(w))], x=h[:, None],
                            threshold=1.0, max_steps=100000)
    assert (steps > 0).all() and np.all(np.diff(steps) < 0)
    exponent = dy.scaling_exponent(eps, steps)
    assert abs(exponent + 0.5) < 0.05
    # the same bottleneck timed until the remaining (lower) attractor is reached: the same law
    low = np.array([scipy.optimize.brentq(lambda a: w * np.tanh(a) + hh - a, -5.0, -0.9) for hh in h])
    to_low = dy.passage_time(dy.bengio_neuron(np.full(eps.size, w)), [np.arccosh(np.sqrt(w))], x=h[:, None],
                             threshold=1e-3, target=low[:, None], max_steps=100000)
    assert (to_low > steps).all() and abs(dy.scaling_exponent(eps, to_low) + 0.5) < 0.05


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="increasing"):
        dy.branches(srnn(1.0), "U", [1.0, 0.5])
    with pytest.raises(ValueError, match="not a parameter"):
        dy.branches(srnn(1.0), "U_c", [0.0, 1.0])
    with pytest.raises(ValueError, match="state_range"):
        dy.branches(dy.pascanu_neuron(5.0, -2.0), "b", [-3.0, -1.0])
    with pytest.raises(ValueError, match="min_interval"):
        dy.branches(srnn(1.0), "U", [0.0, 1.0], min_interval=0.0)
    with pytest.raises(ValueError, match="period"):
        dy.locate_bifurcation(srnn(-2.0), parameter="x", state=[0.5], value=0.0, period=3)
    with pytest.raises(ValueError, match="threshold"):
        dy.passage_time(srnn(2.0), [0.1], threshold=0.0)
