"""The compiled building blocks' one-division nonlinearities (Pade form of exp) against mpmath at 50 digits: within 2 ulp
(relative error <= 2 eps) everywhere, including tiny arguments (where tanh x ~ x must keep its relative accuracy),
the reduction's branch points k ln(2) / 2, large arguments and infinities. The kernels built on them are tested
against torch autograd in test_evaluate.py."""

import math

import mpmath
import numpy as np
import pytest
from numba import njit

from dynlatch.cells._compiled import sigmoid_pade, tanh_pade

EPS = np.finfo(np.float64).eps


@njit
def _apply(fn_code, xs):
    out = np.empty_like(xs)
    for j in range(xs.shape[0]):
        out[j] = sigmoid_pade(xs[j]) if fn_code == 0 else tanh_pade(xs[j])
    return out


def _arguments() -> np.ndarray:
    rng = np.random.default_rng(0)
    half_ln2 = math.log(2.0) / 2
    edges = np.array([k * half_ln2 for k in range(-40, 41)])  # where the reduction's k changes (tanh: at x = k ln2/4)
    return np.concatenate([rng.normal(0, 1, 3000), rng.normal(0, 15, 2000), rng.uniform(-1e-3, 1e-3, 500),
                           10.0 ** rng.uniform(-300, -5, 300) * rng.choice([-1, 1], 300), edges, edges / 2,
                           np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf),
                           [0.0, -0.0, 19.0, 20.0, 36.0, 40.0, 700.0, -700.0, 744.0, 1e300, -1e300]])


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_within_two_ulp_of_mpmath(name):
    xs = _arguments()
    got = _apply(0 if name == "sigmoid" else 1, xs)
    exact_fn = (lambda x: 1 / (1 + mpmath.exp(-x))) if name == "sigmoid" else mpmath.tanh
    with mpmath.workdps(50):
        for x, v in zip(xs, got):
            if name == "sigmoid" and x < -700:  # exp(-x) is clamped at exp(700): sigmoid(x) > 0 stays tiny, not 0
                assert 0 <= v < 1e-300
                continue
            exact = exact_fn(mpmath.mpf(float(x)))
            if float(exact) == 0.0:
                assert v == 0.0, x
                continue
            err = abs((mpmath.mpf(float(v)) - exact) / exact)
            assert err <= 2 * EPS, f"{name}({x!r}) = {v!r}, relative error {float(err) / EPS:.2f} eps"


def test_limits_and_nan():
    xs = np.array([np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(_apply(1, xs)[:2], [1.0, -1.0])
    assert _apply(0, xs)[0] == 1.0 and 0 <= _apply(0, xs)[1] < 1e-300
    assert np.isnan(_apply(0, xs)[2]) and np.isnan(_apply(1, xs)[2])
