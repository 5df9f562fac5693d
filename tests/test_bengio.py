"""dynlatch.bengio: Bengio et al. 1994's latch (theory, batched gradient descent) and random guessing. The studies
built on it are tested in test_study_bengio94.py and test_study_random_guessing.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq

from dynlatch import bengio
from dynlatch._stats import wilson_interval

# REFERENCES.md (Bengio, Simard & Frasconi 1994): w -> (xbar, w (1 - xbar^2), h*) to the printed digits
TABLE = {1.25: (0.710, 0.619, 0.078), 1.5: (0.859, 0.394, 0.208), 2.0: (0.958, 0.166, 0.533),
         3.0: (0.995, 0.031, 1.303)}


@pytest.mark.parametrize("w", sorted(TABLE))
def test_theory_matches_references(w):
    xbar, mult, hstar = TABLE[w]
    assert round(bengio.attractor(w), 3) == xbar
    assert round(bengio.multiplier(w), 3) == mult
    assert round(bengio.noise_threshold(w), 3) == hstar
    assert math.isclose(math.tanh(w * bengio.attractor(w)), bengio.attractor(w), abs_tol=1e-14)


def test_theory_is_vectorised_and_rejects_w_le_1():
    w = np.array(sorted(TABLE))
    np.testing.assert_allclose(bengio.noise_threshold(w), [TABLE[v][2] for v in w], atol=5e-4)
    assert bengio.attractor(w).shape == (4,)
    for bad in (1.0, 0.5, [2.0, 0.9], float("nan")):
        with pytest.raises(ValueError, match="w must be"):
            bengio.noise_threshold(bad)
        with pytest.raises(ValueError, match="w must be"):
            bengio.attractor(bad)


@pytest.mark.parametrize("w", [1.25, 1.5, 2.0, 3.0, 5.0])
def test_threshold_is_the_fold_of_the_map(w):
    """a -> w tanh(a) - h: tangent to the identity at h = h*, the positive attractor gone just beyond it."""
    hs = bengio.noise_threshold(w)
    a0 = brentq(lambda a: w * (1 - math.tanh(a) ** 2) - 1, 1e-9, 20.0)  # where the slope is 1
    assert math.isclose(w * math.tanh(a0) - hs, a0, abs_tol=1e-12)  # and the map touches the identity there
    g = lambda a, h: w * math.tanh(a) - h - a  # noqa: E731
    grid = np.linspace(1e-6, 30, 300001)
    assert np.any(np.diff(np.sign([g(a, hs * 0.99) for a in grid])) != 0)  # below h*: positive fixed points exist
    assert np.all(np.array([g(a, hs * 1.01) for a in grid]) < 0)  # beyond h*: none


def _hand_latch_accuracy(w: float, *, length: int, s: float) -> float:
    h = torch.tensor([[[1.0 * bengio.attractor(max(w, 1.5)) * 2.0], [-1.0 * bengio.attractor(max(w, 1.5)) * 2.0]]])
    return float(bengio.latch_accuracy(torch.tensor([w]), h, length=length, noise_variance=s, sequences=400, seed=3)[0])


def test_hand_set_latch_is_a_success_and_a_forgetting_one_a_failure():
    """w = 2 with inputs that put the state at the attractor a = w xbar = +-1.92 keeps the sign; w = 0.5 forgets."""
    threshold = 0.9  # the bengio94 study's success_accuracy (checked in test_study_bengio94.py)
    assert _hand_latch_accuracy(2.0, length=20, s=0.2) >= threshold
    assert _hand_latch_accuracy(0.5, length=20, s=0.2) < 0.75
    r = bengio.LatchResult(*(np.zeros(2) for _ in range(3)), np.array([2.0, 0.5]), np.zeros((2, 2, 1)),
                           np.zeros(2), np.zeros(2), np.array([_hand_latch_accuracy(2.0, length=20, s=0.2),
                                                                _hand_latch_accuracy(0.5, length=20, s=0.2)]),
                           np.zeros(2, bool))
    assert r.success(threshold).tolist() == [True, False]


def test_batched_gd_equals_trials_run_alone():
    """Trials of different T in one program (zero-padded in front) = each trial trained on its own."""
    lengths = [3, 3, 8, 8, 13]
    w0 = [1.25, 0.8, 1.5, 1.1, 2.0]
    kw = dict(inputs=2, lr=0.1, epochs=15, train_sequences=6, test_sequences=10, seed=5)
    both = bengio.train_latch(length=lengths, trials=5, w0=w0, noise_variance=[0.2, 0.1, 0.2, 0.3, 0.2], **kw)
    for m, T in enumerate(lengths):
        one = bengio.train_latch(length=T, trials=1, w0=w0[m], noise_variance=both.noise_variance[m],
                                 first_trial=m, **kw)
        np.testing.assert_allclose(one.w, both.w[m:m + 1], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(one.h, both.h[m:m + 1], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(one.cost, both.cost[m:m + 1], rtol=1e-12)
        assert one.test_accuracy[0] == both.test_accuracy[m]


def test_cost_gradient_matches_finite_differences():
    g = torch.Generator().manual_seed(0)
    M, P, L = 3, 6, 2
    lengths = [4, 9, 6]
    noise = 0.4 * torch.randn(M, P, max(lengths), generator=g, dtype=torch.float64)
    for m, T in enumerate(lengths):
        noise[m, :, : max(lengths) - T] = 0.0
    w = torch.tensor([1.3, 0.7, 2.1], dtype=torch.float64, requires_grad=True)
    h = torch.randn(M, 2, L, generator=g, dtype=torch.float64, requires_grad=True)
    gw, gh = torch.autograd.grad(bengio.latch_cost(w, h, noise, lengths=lengths).sum(), (w, h))
    eps = 1e-6
    cost = lambda w_, h_: bengio.latch_cost(w_, h_, noise, lengths=lengths).sum().item()  # noqa: E731
    with torch.no_grad():
        for m in range(M):
            d = torch.zeros(M, dtype=torch.float64)
            d[m] = eps
            assert math.isclose((cost(w + d, h) - cost(w - d, h)) / (2 * eps), gw[m].item(), rel_tol=1e-6,
                                abs_tol=1e-9)
            for c in range(2):
                for j in range(L):
                    e = torch.zeros_like(h)
                    e[m, c, j] = eps
                    fd = (cost(w, h + e) - cost(w, h - e)) / (2 * eps)
                    assert math.isclose(fd, gh[m, c, j].item(), rel_tol=1e-6, abs_tol=1e-9)


def test_cost_is_the_papers_sum_over_a_hand_loop():
    noise = torch.tensor([[[0.0, 0.3, -0.2], [0.0, -0.1, 0.4]]], dtype=torch.float64)
    w, h = torch.tensor([1.5], dtype=torch.float64), torch.tensor([[[0.7], [-0.9]]], dtype=torch.float64)
    want = 0.0
    for p, (h1, d) in enumerate(((0.7, 0.8), (-0.9, -0.8))):
        a = h1
        for t in (1, 2):
            a = 1.5 * math.tanh(a) + noise[0, p, t].item()
        want += 0.5 * (math.tanh(a) - d) ** 2
    assert math.isclose(bengio.latch_cost(w, h, noise, lengths=[3]).item(), want, rel_tol=1e-14)


def test_gradient_descent_is_deterministic_and_learns_a_short_latch():
    kw = dict(length=3, trials=8, epochs=60, train_sequences=10, test_sequences=50, seed=2)
    a, b = bengio.train_latch(**kw), bengio.train_latch(**kw)
    np.testing.assert_array_equal(a.w, b.w)
    np.testing.assert_array_equal(a.test_accuracy, b.test_accuracy)
    assert np.all(a.cost < a.cost0) and a.success(0.9).mean() > 0.5


def test_train_latch_rejects_bad_settings():
    for kw, name in ((dict(length=1, inputs=2), "length"), (dict(lr=0.0), "lr"), (dict(trials=0), "trials"),
                     (dict(train_sequences=3), "train_sequences"), (dict(w0=[1.0, 2.0]), "w0"),
                     (dict(noise_variance=-1.0), "noise_variance")):
        args = dict(length=5, trials=3, epochs=1) | kw
        with pytest.raises(ValueError, match=name):
            bengio.train_latch(**args)


def test_mean_trials_is_one_over_the_solved_fraction_and_covers_a_sequential_search():
    kw = dict(guesses=3000, length=10, inputs=1, noise_variance=0.2, sequences=50, threshold=0.9, chunk=1000)
    sample = bengio.guess_neuron(seed=0, **kw)
    mt = bengio.mean_trials(sample)
    assert mt.solved == int(sample.sum()) and 0 < mt.solved < mt.guesses
    assert mt.mean == pytest.approx(mt.guesses / mt.solved, rel=1e-15)
    assert mt.ci_low < mt.mean < mt.ci_high
    # an independent stream searched sequentially: guesses until the first solve, repeated
    searches = bengio.sequential_search_lengths(bengio.guess_neuron(seed=1, **{**kw, "guesses": 6000}))
    assert len(searches) > 100 and mt.ci_low <= searches.mean() <= mt.ci_high
    # the counter itself: the searches of a sample add up to the guesses up to its last solve
    s = bengio.sequential_search_lengths(sample)
    assert len(s) == mt.solved and s.sum() == np.flatnonzero(sample)[-1] + 1


def test_mean_trials_edge_cases():
    none = bengio.mean_trials(np.zeros(50, bool))
    assert none.mean == math.inf and none.ci_high == math.inf and 1 < none.ci_low < math.inf
    assert bengio.mean_trials(np.ones(5, bool)).mean == 1.0
    with pytest.raises(ValueError):
        bengio.mean_trials([])
    lo, hi = wilson_interval(5, 10)  # the interval mean_trials inverts
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)


def test_guess_neuron_is_deterministic_and_independent_of_chunking_within_a_chunk():
    kw = dict(guesses=500, length=5, inputs=2, noise_variance=0.2, sequences=20, threshold=0.9, seed=4)
    np.testing.assert_array_equal(bengio.guess_neuron(**kw), bengio.guess_neuron(**kw))


@pytest.mark.parametrize("cell", ["srnn", "lstm", "gru"])
def test_guess_cell_scores_guesses_as_the_cells_own_run(cell):
    """The batched guess evaluation = drawing the same weights and running ``cell.run`` model by model."""
    from dynlatch import tasks
    from dynlatch.cells import cell_class

    data = tasks.latching(length=6, n=40, noise=0.1, seed=0)
    x, y = data.x_train, data.y_train
    solved = bengio.guess_cell(cell=cell, guesses=30, x=x, y=y, threshold=0.6, seed=9, chunk=30)
    cls = cell_class(cell)
    opts = cls.scheme_options("keras2")
    K, nb = cls.n_gates, cls.rows_for(opts)
    rng = np.random.default_rng([9, 11, 0])
    draw = lambda *shape: rng.uniform(-100, 100, size=(30, *shape))  # noqa: E731
    W, U, b, Wo, bo = draw(1, K), draw(1, K), draw(nb, K), draw(1, 2), draw(2)
    for m in range(30):
        single = cls(W[m], U[m], b[m] if nb == 2 else b[m, 0], dtype=torch.float64, **opts)
        hT = single.run(torch.as_tensor(x))[:, -1, :].numpy()
        acc = np.mean((hT @ Wo[m] + bo[m]).argmax(-1) == y)
        assert solved[m] == (acc >= 0.6)
    assert 0 < solved.sum() < 30 or cell != "srnn"
