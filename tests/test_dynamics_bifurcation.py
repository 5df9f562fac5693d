"""Fold and flip points by the augmented equations against closed forms (Bengio et al. 1994's threshold h*(w))."""

import numpy as np
import pytest
import torch

from dynlatch import SRNN
from dynlatch import dynamics as dy


def test_bengio_fold_matches_closed_form_threshold():
    w = np.array([1.25, 1.5, 2.0, 3.0])
    m = dy.bengio_neuron(w)
    a, h = dy.locate_bifurcation(m, parameter="x", state=[1.0], value=-0.1, kind="fold")
    h_star = np.sqrt(w * (w - 1)) - np.arccosh(np.sqrt(w))
    np.testing.assert_allclose(np.abs(h), h_star, atol=1e-8)
    np.testing.assert_allclose(a[:, 0], np.arccosh(np.sqrt(w)), atol=1e-8)
    np.testing.assert_allclose(np.abs(h_star[[0, 1, 2, 3]]), [0.078, 0.208, 0.533, 1.303], atol=6e-4)  # REFERENCES


def test_pascanu_fold_in_b_and_srnn_flip_in_x():
    # Pascanu's unit x = w sigmoid(x) + b: fold in b at w = 5 (Doya's bistable interval edge), check the definition
    m = dy.pascanu_neuron(5.0, -2.0)
    s, b = dy.locate_bifurcation(m, parameter="b", state=[1.0], value=-2.0, kind="fold")
    sig = 1 / (1 + np.exp(-s[0, 0]))
    assert abs(5 * sig + b[0] - s[0, 0]) < 1e-12 and abs(5 * sig * (1 - sig) - 1) < 1e-10
    # SRNN h = tanh(-1.5 h + x): flip where -1.5 (1 - h^2) = -1
    cell = SRNN([[1.0]], [[-1.5]], [0.0], dtype=torch.float64)
    h, x = dy.locate_bifurcation(cell, parameter="x", state=[0.5], value=0.5, kind="flip")
    assert abs(-1.5 * (1 - np.tanh(-1.5 * h[0, 0] + x[0]) ** 2) + 1) < 1e-10
    assert abs(np.tanh(-1.5 * h[0, 0] + x[0]) - h[0, 0]) < 1e-12
    with pytest.raises(ValueError, match="unknown parameter"):
        dy.locate_bifurcation(m, parameter="q", state=[0.0], value=0.0)


def test_two_cycle_flip_of_the_logistic_map_and_fixed_points_rejected():
    m = dy.Map(lambda p, s, x: p["r"][:, None, None] * s * (1 - s), state_dim=1, models=2, params={"r": [3.3, 3.5]},
               name="logistic")
    s, r = dy.locate_bifurcation(m, parameter="r", state=[[0.45], [0.85]], value=[3.4, 3.4], kind="flip", period=2)
    np.testing.assert_allclose(r, 1 + np.sqrt(6), atol=1e-10)  # closed form of the period doubling to a 4-cycle
    f = lambda u: r[0] * u * (1 - u)  # noqa: E731
    assert abs(f(f(s[0, 0])) - s[0, 0]) < 1e-12 and abs(f(s[0, 0]) - s[0, 0]) > 0.1
    # seeded at the fixed point's flip (r = 3, s = 2/3) the period-2 system can only find that fixed point: refused
    with pytest.raises(ValueError, match="fixed point|converge"):
        dy.locate_bifurcation(m[0], parameter="r", state=[2 / 3], value=3.0, kind="fold", period=2)
