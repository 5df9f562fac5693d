"""Hand-built latches: each holds the sign of the first input through long noisy sequences, and sits where the
closed forms of REFERENCES say (Bengio 1994's xbar and multiplier for w = 2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dynlatch.cells import GRU, LSTM, SRNN, handmade


@pytest.mark.parametrize("name", list(handmade.HANDMADE))
def test_every_handmade_cell_latches_through_noise(name):
    cell = handmade.HANDMADE[name]()
    assert not cell.batched and cell.dtype == torch.float64
    acc = handmade.latching_accuracy(cell, lengths=[5, 200, 201], sigmas=[0.1], n=400, seed=1)
    assert acc.min() >= 0.99, acc


def test_srnn_latch_sits_at_bengios_attractor():
    cell = handmade.srnn_latch(w=2.0)
    x = torch.zeros(2, 300, 1, dtype=torch.float64)
    x[:, 0, 0] = torch.tensor([1.0, -1.0])
    h = cell.run(x)[:, -1, 0]
    np.testing.assert_allclose(h.numpy(), [0.958, -0.958], atol=5e-4)  # REFERENCES: w = 2 -> xbar 0.958
    xbar = h[0].item()
    assert abs(2.0 * (1 - xbar**2) - 0.166) < 5e-4  # multiplier w (1 - xbar^2)


def test_flip_latch_alternates_sign():
    cell = handmade.srnn_flip_latch(w=-2.0)
    x = torch.zeros(1, 60, 1, dtype=torch.float64)
    x[0, 0, 0] = 1.0
    h = cell.run(x)[0, :, 0].numpy()
    np.testing.assert_allclose(np.abs(h[-10:]), 0.958, atol=5e-4)
    assert np.all(np.sign(h[1:]) == -np.sign(h[:-1]))


def test_integrator_stores_the_first_input_exactly():
    cell = handmade.lstm_integrator_latch()
    g = torch.Generator().manual_seed(0)
    x = 0.1 * torch.randn(2, 500, 1, generator=g, dtype=torch.float64)
    x[0, 0, 0] += 1.0
    x[1, 0, 0] -= 1.0
    (h, c) = cell.run(x, return_state=True)[1]
    i0 = min(max(0.2 * (25.0 * x[0, 0, 0].item() + 2.5 - 25.0 * 0.7) + 0.5, 0.0), 1.0)  # hard-sigmoid input gate
    assert c[0, 0].item() == pytest.approx(i0 * np.tanh(2.0 * x[0, 0, 0].item()), abs=1e-15)
    assert c[1, 0].item() == 0.0 and h[1, 0].item() == 0.0


@pytest.mark.parametrize("make,kind", [(handmade.srnn_latch, SRNN), (handmade.lstm_feedback_latch, LSTM),
                                       (handmade.gru_latch, GRU)])
def test_handmade_cells_are_their_kind_with_hard_gates(make, kind):
    cell = make()
    assert type(cell) is kind and cell.units == 1 and cell.input_dim == 1


def test_bad_constructions_and_inputs_are_refused():
    with pytest.raises(ValueError, match="w > 1"):
        handmade.srnn_latch(w=0.5)
    with pytest.raises(ValueError, match="w < -1"):
        handmade.srnn_flip_latch(w=2.0)
    with pytest.raises(ValueError, match="single cell"):
        handmade.latching_accuracy(SRNN.init(seed=[0, 1]), lengths=[5], sigmas=[0.1])
    with pytest.raises(ValueError, match="sigmas"):
        handmade.latching_accuracy(handmade.srnn_latch(), lengths=[5], sigmas=[float("nan")])
    with pytest.raises(ValueError, match="same h"):
        handmade.attractor_readout(SRNN.from_keras([[0.0]], [[0.5]], [0.0], dtype=torch.float64), 10)


def test_score_rows_cover_the_grid():
    latches = ("srnn_latch", "gru_latch")
    rows = handmade.score_latches(latches, lengths=(5, 40), sigmas=(0.1, 2.0), n=100)
    assert {(r["latch"], r["T"], r["sigma"]) for r in rows} == {
        (name, T, s) for name in latches for T in (5, 40) for s in (0.1, 2.0)}
    acc = {(r["latch"], r["T"], r["sigma"]): r["accuracy"] for r in rows}
    assert acc[("srnn_latch", 40, 0.1)] == 1.0 and acc[("srnn_latch", 40, 2.0)] < 0.8  # noise beyond h*(2) = 0.533
    assert {r["latch"]: r["cell"] for r in rows} == {"srnn_latch": "srnn", "gru_latch": "gru"}


@pytest.mark.parametrize("name", ["srnn_latch", "lstm_feedback_latch", "gru_latch"])
def test_bistable_latches_are_certified_by_the_fixed_point_finder(name):
    from dynlatch import dynamics

    points = dynamics.fixed_points(handmade.HANDMADE[name](), x=0.0, periods=(1,))
    stable = sorted(float(p.state[0]) for p in points if p.stable)
    unstable = [float(p.state[0]) for p in points if not p.stable]
    assert len(stable) == 2 and stable[0] < 0 < stable[1] and stable[0] == pytest.approx(-stable[1])
    assert unstable == [pytest.approx(0.0, abs=1e-12)]


def test_flip_latch_is_a_stable_two_cycle_and_the_integrator_a_line_of_fixed_points():
    from dynlatch import dynamics

    flip = dynamics.fixed_points(handmade.srnn_flip_latch(), x=0.0, periods=(1, 2))
    cycle = [p for p in flip if p.period == 2]
    assert len(cycle) == 2 and all(p.stable for p in cycle) and cycle[0].orbit == cycle[1].orbit
    assert sorted(abs(float(p.state[0])) for p in cycle) == pytest.approx([0.9575] * 2, abs=1e-4)
    (line,) = dynamics.fixed_points(handmade.lstm_integrator_latch(), x=0.0, periods=(1,))
    assert line.kind == "continuum"
