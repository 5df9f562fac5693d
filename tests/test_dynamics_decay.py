"""Gradient decay: measured vs predicted rates (Bengio et al.'s latch), no underflow, against explicit products."""

import numpy as np
import pytest
import torch

from dynlatch import SRNN
from dynlatch import dynamics as dy


def test_srnn_latch_w2_measured_and_predicted_rates():
    cell = SRNN([[0.0]], [[2.0]], [0.0], dtype=torch.float64)
    r = dy.gradient_decay(cell, [0.5], steps=1000)
    target = np.log(0.166)
    assert abs(r.fitted_log_rate[0] - target) < 0.02 * abs(target)
    assert abs(r.predicted_log_rate[0] - target) < 0.02 * abs(target)
    assert r.prediction[0] == "attractor" and r.period[0] == 1
    assert np.all(np.isfinite(r.log_norms)) and r.log_norms[0, 0] < -1500  # T = 1000 in log space, no underflow


def test_log_norms_equal_explicit_products_and_period_two():
    cell = SRNN([[0.0]], [[-2.0]], [0.0], dtype=torch.float64)
    r = dy.gradient_decay(cell, [0.5], steps=60)
    h = [0.5]
    for _ in range(60):
        h.append(np.tanh(-2.0 * h[-1]))
    J = [-2.0 * (1 - h[t + 1] ** 2) for t in range(60)]
    for t in (0, 10, 59):
        np.testing.assert_allclose(r.log_norms[0, t], np.sum(np.log(np.abs(J[t:]))), rtol=1e-12)
    assert r.period[0] == 2
    xbar = 0.9575040240772687
    np.testing.assert_allclose(r.predicted_log_rate[0], np.log(2 * (1 - xbar**2)), rtol=1e-6)


def test_driven_prediction_uses_lyapunov_exponent():
    m = dy.bengio_neuron(1.5)
    u = np.random.default_rng(0).normal(0, 0.2, size=(300, 1))
    r = dy.gradient_decay(m, [1.0], inputs=u)
    assert r.prediction[0] == "lyapunov"
    assert np.isclose(r.predicted_log_rate[0], dy.lyapunov_spectrum(m, [1.0], inputs=u)[0, 0])


@pytest.mark.parametrize("kw,names", [(dict(settle_tol=-1.0), "settle_tol"),
                                      (dict(settle_tol=float("nan")), "settle_tol"), (dict(max_period=0), "max_period"),
                                      (dict(max_period=-3), "max_period"), (dict(max_period=2.5), "max_period")])
def test_settings_that_would_switch_the_prediction_silently_are_refused(kw, names):
    cell = SRNN([[0.0]], [[2.0]], [0.0], dtype=torch.float64)
    with pytest.raises(ValueError, match=names):
        dy.gradient_decay(cell, [0.5], steps=20, **kw)
