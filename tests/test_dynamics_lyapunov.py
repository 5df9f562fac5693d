"""Lyapunov spectra by QR: linear maps (ln|eigenvalues|), Henon, logistic, perturbation growth, singular Jacobians."""

import numpy as np
import pytest
import torch

from dynlatch import LSTM, SRNN
from dynlatch import dynamics as dy


def henon():
    return dy.function_map(lambda s, x: torch.stack([1 - 1.4 * s[..., 0] ** 2 + s[..., 1], 0.3 * s[..., 0]], -1),
                           state_dim=2)


def test_linear_map_exponents_are_log_abs_eigenvalues():
    A = torch.tensor([[[0.9, 0.5], [0.0, -0.3]], [[1.2, 0.0], [0.4, 0.5]]], dtype=torch.float64)
    m = dy.Map(lambda p, s, x: torch.einsum("mij,mbj->mbi", A, s), state_dim=2, models=2)
    L = dy.lyapunov_spectrum(m, [1.0, 1.0], steps=200)
    expected = -np.sort(-np.log(np.abs(np.linalg.eigvals(A.numpy()))), axis=1)
    np.testing.assert_allclose(L, expected, atol=0.02)


@pytest.mark.slow
def test_henon_1e5_steps():
    L = dy.lyapunov_spectrum(henon(), [0.1, 0.1], steps=100_000, burn_in=100)
    assert abs(L[0, 0] - 0.419) < 0.002
    assert abs(L[0].sum() - np.log(0.3)) < 1e-9


def test_henon_short_and_logistic():
    L = dy.lyapunov_spectrum(henon(), [0.1, 0.1], steps=20_000, burn_in=100)
    assert abs(L[0, 0] - 0.419) < 0.01
    assert abs(L[0].sum() - np.log(0.3)) < 1e-9
    logistic = dy.function_map(lambda s, x: 4 * s * (1 - s), state_dim=1)
    L = dy.lyapunov_spectrum(logistic, [0.3], steps=20_000, burn_in=100)
    assert abs(L[0, 0] - np.log(2)) < 0.01


def test_matches_direct_perturbation_growth_of_driven_srnn():
    cell = SRNN([[1.0]], [[2.5]], [0.1], dtype=torch.float64)
    rng = np.random.default_rng(0)
    inputs = rng.normal(0, 0.5, size=(400, 1))
    L = dy.lyapunov_spectrum(cell, [0.2], inputs=inputs)
    eps = 1e-9
    a = torch.tensor([[0.2]], dtype=torch.float64)
    b = a + eps
    log_growth = 0.0
    with torch.no_grad():
        for t in range(400):
            x = torch.tensor([[inputs[t, 0]]], dtype=torch.float64)
            a, b = cell.step(a, x), cell.step(b, x)
            dist = float((b - a).abs().max())
            log_growth += np.log(dist / eps)
            b = a + (b - a) * (eps / dist)
    assert abs(L[0, 0] - log_growth / 400) < 1e-5


def test_singular_jacobian_gives_minus_inf():
    m = dy.Map(lambda p, s, x: torch.stack([0.5 * s[..., 0], 0.0 * s[..., 1]], -1), state_dim=2)
    L = dy.lyapunov_spectrum(m, [1.0, 1.0], steps=10)
    assert np.isclose(L[0, 0], np.log(0.5)) and L[0, 1] == -np.inf


def test_batched_equals_single_and_validation():
    m = dy.bengio_neuron([1.5, 3.0])
    u = np.random.default_rng(1).normal(0, 0.3, size=(2, 50, 1))
    L = dy.lyapunov_spectrum(m, [[0.1], [0.2]], inputs=u)
    for k, w in enumerate([1.5, 3.0]):
        Lk = dy.lyapunov_spectrum(dy.bengio_neuron(w), [[0.1], [0.2]][k], inputs=u[k])
        np.testing.assert_allclose(L[k], Lk[0], rtol=1e-12)
    with pytest.raises(ValueError, match="burn_in"):
        dy.lyapunov_spectrum(m, [0.1], steps=10, burn_in=10)


def test_jacobians_that_overflow_are_an_error_not_a_nan_spectrum():
    """An LSTM with recurrent weights 1e308 at the origin: its Jacobian (sigma' U ~ 2.5e307) is finite but its
    products overflow, so the spectrum would be NaN. That is refused, naming the model; at 1e12 there is an answer."""
    def lstm(scale: float) -> LSTM:
        return LSTM(np.zeros((1, 4)), np.full((1, 4), scale), np.zeros(4), dtype=torch.float64)

    with pytest.raises(ValueError, match=r"overflow float64.*model\(s\) \[0\]"):
        dy.lyapunov_spectrum(lstm(1e308), [0.0, 0.0], steps=20)
    with pytest.raises(ValueError, match="overflow float64"):
        dy.gradient_decay(lstm(1e308), [0.0, 0.0], steps=20)
    assert not np.isnan(dy.lyapunov_spectrum(lstm(1e12), [0.3, 0.1], steps=20)).any()
