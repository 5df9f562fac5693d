"""The optimisation finder (Sussillo & Barak) for n-unit cells and user maps: closed-form fixed points."""

import numpy as np
import torch

from dynlatch import SRNN
from dynlatch import dynamics as dy


def henon():
    return dy.function_map(lambda s, x: torch.stack([1 - 1.4 * s[..., 0] ** 2 + s[..., 1], 0.3 * s[..., 0]], -1),
                           state_dim=2)


def test_henon_fixed_points_and_two_cycle_closed_form():
    fps = dy.fixed_points(henon(), periods=(1, 2), starts=32)
    fixed = sorted(fp.state[0] for fp in fps if fp.period == 1)
    # x = 1 - 1.4 x^2 + 0.3 x  ->  1.4 x^2 + 0.7 x - 1 = 0
    np.testing.assert_allclose(fixed, np.sort(np.roots([1.4, 0.7, -1.0])), atol=1e-10)
    cycle = sorted(fp.state[0] for fp in fps if fp.period == 2)
    # 2-cycle: 1.4 x^2 - 0.7 x - 0.3 + ... : x1 + x2 = 0.5, x1 x2 = (0.7^2 - 1*... ) checked by the map itself
    assert len(cycle) == 2 and abs(sum(cycle) - 0.5) < 1e-9
    assert all(not fp.guaranteed_complete and fp.q <= 1e-20 and fp.residual <= 1e-10 for fp in fps)


def test_two_unit_srnn_product_of_one_unit_latches():
    cell = SRNN(np.zeros((1, 2)), np.diag([2.0, 0.5]), np.zeros(2), dtype=torch.float64)
    fps = dy.fixed_points(cell, periods=(1,), starts=64)
    xbar = 0.9575040240772687
    states = sorted(tuple(np.round(fp.state, 8)) for fp in fps if fp.kind == "point")
    assert states == [(-round(xbar, 8), 0.0), (0.0, 0.0), (round(xbar, 8), 0.0)]
    stable = {round(fp.state[0], 3): fp.stable for fp in fps}
    assert stable == {-0.958: True, 0.0: False, 0.958: True}
