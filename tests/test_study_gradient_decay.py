"""The gradient-decay study (dynlatch.studies.gradient_decay, ``dynlatch run gradient-decay``).

Oracles: the closed form w (1 - xbar^2) of Bengio's latch (xbar by scipy's brentq), and ds_T/ds_0 of one-unit SRNNs
as the product of U (1 - h_{t+1}^2) along a trajectory simulated in numpy from the cell's named parameters.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq

from analyses import gradient_decay as script
from dynlatch.cells import SRNN
from dynlatch.studies.gradient_decay import GradientDecayConfig, decay_study, srnn_latch_w2_rates, summarise_decay

LN_0166 = math.log(0.166)


def test_srnn_latch_w2_contract_within_2_percent_and_matches_closed_form():
    r = srnn_latch_w2_rates(steps=200, h0=0.5)
    xbar = brentq(lambda x: np.tanh(2 * x) - x, 0.5, 1.0, xtol=1e-15)
    closed = math.log(2 * (1 - xbar ** 2))
    for key in ("measured_log_rate", "predicted_log_rate"):
        assert abs(r[key] / LN_0166 - 1) <= 0.02, (key, r[key])
        assert r[key] == pytest.approx(closed, abs=1e-8)
    assert r["closed_form_log_rate"] == pytest.approx(closed, abs=1e-12)
    assert r["within_2_percent"] is True


def _numpy_log_norm_srnn(cell: SRNN, s1: np.ndarray, steps: int) -> np.ndarray:
    """log |ds_T/ds_0| of one-unit SRNNs at x = 0: sum over t of log |U (1 - h_{t+1}^2)|."""
    p = cell.named_params()
    U = p["U"].reshape(-1).numpy()
    b = p["b"].reshape(-1).numpy()
    h = s1.copy()
    total = np.zeros_like(h)
    for _ in range(steps):
        h = np.tanh(U * h + b)
        total += np.log(np.abs(U * (1 - h ** 2)))
    return total


def test_keras2_srnn_rows_match_numpy_product():
    config = GradientDecayConfig(handmade=("srnn_latch",), kinds=("srnn",), models=3, steps=40)
    rows, curves = decay_study(config)
    keras = [r for r in rows if r["source"] == "keras2"]
    assert len(keras) == 3 and len(rows) == 3 + 2  # one autonomous and one driven run of the latch
    cell = SRNN.init(seed=[r["seed"] for r in keras], scheme="keras2", dtype=torch.float64)
    p = cell.named_params()
    s1 = np.tanh(p["W"].reshape(-1).numpy() * 1.0 + p["b"].reshape(-1).numpy())  # F(0, +1)
    expected = _numpy_log_norm_srnn(cell, s1, 40)
    got = np.array([r["log_norm_T_0"] for r in keras])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    for r in keras:
        assert curves[f"{r['model']}/autonomous"].shape == (41,)
        assert curves[f"{r['model']}/autonomous"][-1] == 0.0


def test_summary_medians_and_handmade_entries():
    config = GradientDecayConfig(handmade=("srnn_latch", "gru_latch"), kinds=("srnn", "gru"), models=3, steps=30)
    rows, _ = decay_study(config)
    s = summarise_decay(rows)
    assert set(s["handmade"]) == {"srnn_latch", "gru_latch"}
    assert set(s["handmade"]["srnn_latch"]) == {"cell", "autonomous", "noise"}
    assert s["handmade"]["srnn_latch"]["autonomous"]["measured_log_rate"] == pytest.approx(LN_0166, rel=0.02)
    for kind in ("srnn", "gru"):
        mine = [r for r in rows if r["source"] == "keras2" and r["cell"] == kind]
        assert s["keras2"][kind]["models"] == 3
        assert s["keras2"][kind]["median_measured_log_rate"] == np.median([r["measured_log_rate"] for r in mine])
        assert s["keras2"][kind]["median_predicted_log_rate"] == np.median([r["predicted_log_rate"] for r in mine])


def test_deterministic_given_seed_and_seed_matters():
    a = decay_study(GradientDecayConfig(handmade=("srnn_latch",), kinds=("lstm",), models=2, steps=25, seed=3))[0]
    b = decay_study(GradientDecayConfig(handmade=("srnn_latch",), kinds=("lstm",), models=2, steps=25, seed=3))[0]
    c = decay_study(GradientDecayConfig(handmade=("srnn_latch",), kinds=("lstm",), models=2, steps=25, seed=4))[0]
    assert a == b
    assert [r["log_norm_T_0"] for r in a] != [r["log_norm_T_0"] for r in c]


def test_script_writes_the_summary_contract(tmp_path):
    out = tmp_path / "gd"
    assert script.main(["--out", str(out), "--quiet", "--models", "2", "--steps", "30", "--handmade",
                        "srnn_latch,lstm_feedback_latch", "--kinds", "srnn,lstm"]) == 0
    s = json.loads((out / "summary.json").read_text())
    w2 = s["srnn_latch_w2"]
    assert abs(w2["measured_log_rate"] / LN_0166 - 1) <= 0.02
    assert abs(w2["predicted_log_rate"] / LN_0166 - 1) <= 0.02
    assert set(s["keras2"]) == {"srnn", "lstm"}
    for v in s["keras2"].values():
        assert {"median_measured_log_rate", "median_predicted_log_rate"} <= set(v)
    lines = (out / "runs.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + 2 * 2 + 2 * 2  # header, 2 hand-built x 2 drives, 2 kinds x 2 models
    rows = list(csv.DictReader(open(out / "runs.csv")))
    for kind, v in s["keras2"].items():  # the medians are those of runs.csv's rows
        mine = [r for r in rows if r["source"] == "keras2" and r["cell"] == kind]
        assert v["models"] == len(mine) == 2
        for key in ("measured_log_rate", "predicted_log_rate"):
            assert v[f"median_{key}"] == pytest.approx(np.median([float(r[key]) for r in mine]), rel=1e-12)
    curves = list(csv.DictReader(open(out / "curves.csv")))
    assert len(curves) == 8 * 31  # every (model, drive) row's log norm at t = 0..30
    assert all(float(r["log_norm"]) == 0.0 for r in curves if r["steps_back"] == "0")  # ds_T/ds_T = I
    for ext in ("pdf", "png"):
        assert (out / f"gradient_decay.{ext}").stat().st_size > 1000


@pytest.mark.parametrize("argv", [["--steps", "5"], ["--kinds", "srnn,foo"], ["--models", "0"],
                                  ["--handmade", "nope"], ["--sigma", "-1"], ["--h0", "2"], ["--bogus"]])
def test_bad_flags_exit_2_with_one_line(argv, usage_error):
    usage_error("gradient-decay", argv)


@pytest.mark.slow
def test_quick_run_end_to_end(tmp_path):
    out = tmp_path / "q"
    assert script.main(["--quick", "--quiet", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["srnn_latch_w2"]["within_2_percent"] is True
    assert set(s["keras2"]) == {"srnn", "lstm", "gru"} and all(v["models"] == 8 for v in s["keras2"].values())
    assert len(s["handmade"]) == 5
