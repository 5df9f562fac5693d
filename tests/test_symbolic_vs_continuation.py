"""The symbolic closed forms (dynlatch.symbolic) agree with the numerical continuation (dynlatch.dynamics.branches):
Bengio's fold h*(w) of the SRNN latch in b, and Pascanu's fold curve, located by Newton on the augmented equations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import brentq

from dynlatch import dynamics
from dynlatch.cells import SRNN
from dynlatch.symbolic._closed_forms import bengio_fold_curve, pascanu_fold_curve


@pytest.mark.parametrize("w", [1.5, 2.0, 3.0])
def test_bengio_fold_from_sympy_equals_continuation(w):
    h_star, a_star = bengio_fold_curve().lambdify(backend="numpy")(np.array([[w]]))[0]
    cell = SRNN.from_keras([[0.0]], [[w]], [0.0], dtype=torch.float64)
    folds = [e for e in dynamics.branches(cell, "b", np.linspace(-1.6, 1.6, 161), periods=(1,)).events
             if e["kind"] == "fold"]
    assert sorted(e["value"] for e in folds) == pytest.approx([-h_star, h_star], abs=1e-10)
    # the fold state: tanh(a*) is the state h at the fold, a* = w h + b
    states = sorted(e["state"][0] for e in folds)
    assert states == pytest.approx(sorted([np.tanh(a_star), -np.tanh(a_star)]), abs=1e-8)


@pytest.mark.parametrize("w", [5.0, 8.0])
def test_pascanu_fold_curve_from_sympy_equals_continuation(w):
    curve = pascanu_fold_curve().lambdify(backend="numpy")
    w_of = lambda x: curve(np.array([[x]]))[0, 0] - w  # noqa: E731
    branches_x = [brentq(w_of, -20, -1e-9), brentq(w_of, 1e-9, 20)]
    symbolic_b = sorted(curve(np.array([[x]]))[0, 1] for x in branches_x)
    located = dynamics.branches(dynamics.pascanu_neuron(w, -4.0), "b", np.linspace(-9, -1.5, 301), periods=(1,),
                                state_range=(-12, 12)).events
    assert sorted(e["value"] for e in located if e["kind"] == "fold") == pytest.approx(symbolic_b, abs=1e-8)
