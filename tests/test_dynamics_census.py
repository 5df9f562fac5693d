"""The fixed-point census of a cell's models (dynlatch.dynamics._census).

Oracles: closed forms of one-unit SRNNs (h = tanh(U h) has two stable fixed points iff U > 1, a stable 2-cycle iff
U < -1; the Jacobian at 0 is U), the hand-built latches' documented structure, finite differences of the cell's step
for the origin eigenvalues, a hand-computed AUC and a brute-force pair count.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dynlatch.cells import LSTM, SRNN, handmade, stack
from dynlatch.dynamics import census_of_cell, fixed_points
from dynlatch.dynamics._census import classify_structure

F64 = torch.float64


def _srnn(U: float) -> SRNN:
    return handmade.srnn_latch().with_params(U=torch.tensor([[U]], dtype=F64))


@pytest.mark.parametrize("U", [-2.5, -1.5, -0.7, 0.0, 0.5, 0.99, 1.2, 3.0])
def test_srnn_census_matches_closed_form(U):
    (row,) = census_of_cell(_srnn(U))
    assert row["two_stable_states"] == (abs(U) > 1)
    assert row["structure"] == ("bistable" if U > 1 else "stable 2-cycle" if U < -1 else "monostable")
    assert row["n_fixed_points"] == (3 if U > 1 else 1)
    assert row["origin_max_abs_eig"] == pytest.approx(abs(U), abs=1e-12)  # J(0) = U (1 - tanh(0)^2)


def test_batched_census_equals_single_and_handmade_structures():
    cells = [handmade.srnn_latch(), handmade.srnn_flip_latch(), _srnn(0.5)]
    batched = census_of_cell(stack(cells))
    assert batched == [census_of_cell(c)[0] for c in cells]
    assert [r["structure"] for r in batched] == ["bistable", "stable 2-cycle", "monostable"]
    assert [r["two_stable_states"] for r in batched] == [True, True, False]
    assert census_of_cell(handmade.lstm_feedback_latch())[0]["structure"] == "bistable"
    assert census_of_cell(handmade.lstm_integrator_latch())[0]["structure"] == "continuum"
    assert census_of_cell(handmade.gru_latch())[0]["structure"] == "bistable"
    # the pitchfork U = 1: 0 is the only fixed point and it is not stable (|eigenvalue| = 1)
    assert census_of_cell(_srnn(1.0))[0]["structure"] == "no stable state"


def test_census_counts_agree_with_the_finder_point_by_point():
    cell = LSTM.init(seed=list(range(6)), scheme="keras2", dtype=F64).with_params(
        U_c=torch.tensor([[[0.0]], [[2.0]], [[5.0]], [[8.0]], [[-6.0]], [[1.0]]], dtype=F64))
    rows = census_of_cell(cell)
    for r, points in zip(rows, fixed_points(cell, x=0.0, periods=(1, 2))):
        stable = [p for p in points if p.period == 1 and p.stable and p.kind == "point"]
        cycles = {p.orbit for p in points if p.period == 2 and p.stable}
        assert r["n_stable_fixed_points"] == len(stable)
        assert r["n_stable_2cycles"] == len(cycles)
        assert r["two_stable_states"] == (len(stable) >= 2 or len(cycles) >= 1
                                          or any(p.kind == "continuum" for p in points))
    assert any(r["two_stable_states"] for r in rows) and not all(r["two_stable_states"] for r in rows)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_origin_eigenvalues_match_finite_differences(kind):
    from dynlatch.cells import cell_class
    from dynlatch.dynamics import as_map

    cell = cell_class(kind).init(seed=[1, 2, 3], scheme="keras2", dtype=F64)
    m = as_map(cell)
    eps = 1e-6
    J = np.zeros((3, m.state_dim, m.state_dim))
    for j in range(m.state_dim):
        e = torch.zeros(3, 1, m.state_dim, dtype=F64)
        e[..., j] = eps
        J[:, :, j] = ((m(e) - m(-e)) / (2 * eps))[:, 0].numpy()
    expected = np.abs(np.linalg.eigvals(J))
    rows = census_of_cell(cell)
    np.testing.assert_allclose([r["origin_max_abs_eig"] for r in rows], expected.max(1), atol=1e-8)
    np.testing.assert_allclose([r["origin_min_abs_eig"] for r in rows], expected.min(1), atol=1e-8)


def test_structure_precedence():
    table = {"model": np.zeros(3, int), "period": np.array([1, 2, 2]), "orbit": np.array([0, 1, 1]),
             "kind": np.array(["point"] * 3, dtype=object), "stable": np.array([True, True, True]),
             "guaranteed_complete": np.ones(3, bool)}
    (r,) = classify_structure(table, 1)
    assert (r["structure"], r["n_stable_fixed_points"], r["n_stable_2cycles"]) == ("stable 2-cycle", 1, 1)
