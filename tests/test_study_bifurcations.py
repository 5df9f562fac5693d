"""The bifurcations study (``dynlatch run bifurcations``): its closed-form LSTM fold/flip curve against the exact
Jacobian of its cell, its basins against the LSTM's odd symmetry and fixed points, and the quick run end to end
against Bengio's threshold h*(w) = sqrt(w (w - 1)) - arccosh(sqrt(w)), 1 + sqrt(6) and the GRU's mpmath value."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dynlatch import dynamics as dy
from dynlatch._cli import main as cli
from dynlatch.studies import bifurcations as B


def h_star(w):
    w = np.asarray(w, dtype=np.float64)
    return np.sqrt(w * (w - 1)) - np.arccosh(np.sqrt(w))


@pytest.mark.parametrize("u_c,flip", [(-6.0, True), (-5.0, True), (0.5, False), (1.0, False), (2.0, False)])
def test_lstm_fold_bf_is_where_the_jacobian_at_zero_has_eigenvalue_one(u_c, flip):
    b_f = float(B.lstm_fold_bf(u_c, flip=flip))
    assert np.isfinite(b_f)
    cell = B.keras_gate_lstm(u_c, b_f)
    J = dy.jacobian(cell, torch.zeros(cell.state_dim, dtype=torch.float64), 0.0).numpy()[0]
    assert abs(np.linalg.det(J - (-1.0 if flip else 1.0) * np.eye(2))) < 1e-12


def test_lstm_fold_bf_is_nan_outside_the_linear_part_of_the_forget_gate():
    assert np.isnan(B.lstm_fold_bf(5.0)) and np.isnan(B.lstm_fold_bf(0.0, flip=True))


def test_basins_are_odd_symmetric_and_their_attractors_fixed():
    config = B.BifurcationsConfig(basin_grid=12, basin_steps=300)
    b = B.lstm_basins(config)
    att = np.array(b["attractors"])
    assert att.shape == (2, 2)
    np.testing.assert_allclose(att[0], -att[1], atol=1e-9)  # the map is odd: (h, c) -> (-h, -c)
    m = dy.as_map(B.keras_gate_lstm(B.BASINS_U_C))
    for a in att:
        step = m(torch.tensor(a, dtype=torch.float64).reshape(1, 1, 2))[0, 0].numpy()
        np.testing.assert_allclose(step, a, atol=1e-6)
    labels = b["labels"][0]
    assert labels.shape == (12, 12) and np.array_equal(labels, 1 - labels[::-1, ::-1])


@pytest.mark.slow
def test_quick_analysis_end_to_end(quick_run):
    out = quick_run("bifurcations")
    s = json.loads((out / "summary.json").read_text())
    assert {"config", "provenance", "events", "srnn_fold_b", "passage_time", "border_collisions"} <= set(s)
    assert s["srnn_fold_b"]["max_error"] < 1e-8 and abs(s["srnn_fold_b"]["bengio_h_star"] - h_star(2.0)) < 1e-12
    assert abs(s["srnn_pitchfork_U"][0] - 1) < 1e-8 and abs(s["srnn_flip_U"][0] + 1) < 1e-8
    assert abs(s["passage_time"]["exponent"] + 0.5) < 0.05 and s["border_collisions"]
    assert s["srnn_fold_curve_max_error"] < 1e-8 and s["lstm_fold_curve_max_error"] < 1e-8
    # the 2-cycle events against their closed forms: the logistic map's flip at 1 + sqrt(6), a fold of cycles at 0
    c = s["cycle_checks"]
    assert len(c["logistic_flip_r"]) == 1 and len(c["odd_cycle_map_fold_p"]) == 1 and c["max_error"] < 1e-8
    assert {(e["diagram"], e["kind"]) for e in s["cycle_events"]} == {
        ("logistic_r", "flip"), ("odd_cycle_map_p", "fold"), ("gru_U_h", "flip")}
    # the GRU's: -6.159895323528681549... by mpmath on the closed equations (test_gru_two_cycle_flip_matches_sympy...)
    assert len(c["gru_flip_U_h"]) == 1 and abs(c["gru_flip_U_h"][0] + 6.1598953235286815) < 1e-8
    for name in ("runs.csv", "events.csv", "curves.csv", "passage.csv", "bifurcations.png", "bifurcations.pdf",
                 "basins.png", "cycle_bifurcations.png", "cycle_bifurcations.pdf"):
        assert (out / name).exists(), name
    # the basins of the odd-symmetric LSTM (U_c = 3): two attractors (h, c) and (-h, -c), half the grid each
    bas = s["lstm_basins_U_c_3"]
    np.testing.assert_allclose(bas["attractors"][0], -np.array(bas["attractors"][1]), atol=1e-9)
    assert bas["fraction_per_attractor"] == [0.5, 0.5]
    assert (s["config"]["basin_grid"], s["config"]["basin_steps"]) == (50, 300)


@pytest.mark.parametrize("argv", [["--points", "3"], ["--u-max", "-5"], ["--bf-max", "3"], ["--srnn-u", "0.5"],
                                  ["--basin-grid", "51"], ["--basin-steps", "0"]])
def test_bad_flags_exit_2(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli(["run", "bifurcations", "--out", str(tmp_path / "x"), *argv])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]
    assert not (tmp_path / "x").exists()
