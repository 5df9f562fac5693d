"""The bit-relay study (dynlatch.studies.bit_relay, ``dynlatch run bit-relay``): the initial spectral radius against
closed forms and numpy eigenvalues, the set-up table against the parameters it claims, the keras2 set-up against the
latching sweep, and the quick run end to end."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from dynlatch.studies import bit_relay as R
from dynlatch._checks import CheckError

SEEDS = [3, 14, 15, 92]


def _eig(a: torch.Tensor) -> np.ndarray:
    return np.linalg.eigvals(a.detach().double().numpy())


# -- the spectral radius at the origin ------------------------------------------------------------------------
@pytest.mark.parametrize("U,b", [(0.3, 0.0), (-1.7, 0.0), (1.2, 0.5), (-0.8, -1.1)])
def test_one_unit_srnn_radius_is_abs_u_times_tanh_slope(U, b):
    """Closed form: F(h) = tanh(U h + b) at h = 0 has dF/dh = U (1 - tanh(b)^2)."""
    model = R.setup_model(R.SETUPS["keras2"], "srnn", [1, 2], units=1)
    model = R.Model(model.cell.with_params(U=torch.full((2, 1, 1), U, dtype=torch.float64),
                                           b=torch.full((2, 1), b, dtype=torch.float64)),
                    model.weight, model.bias, model.seeds)
    rho = R.spectral_radius_at_origin(model)
    np.testing.assert_allclose(rho, abs(U) * (1 - math.tanh(b) ** 2), rtol=1e-12)


@pytest.mark.parametrize("units", [1, 3, 8])
def test_keras2_srnn_radius_is_one_orthogonal(units):
    model = R.setup_model(R.SETUPS["keras2"], "srnn", SEEDS, units=units)
    rho = R.spectral_radius_at_origin(model)
    np.testing.assert_allclose(rho, 1.0, atol=R.RADIUS_TOLERANCE)
    for m in range(len(SEEDS)):  # independent: |eigenvalues| of the orthogonal U itself
        np.testing.assert_allclose(np.abs(_eig(model.cell.named_params()["U"][m])), 1.0, atol=1e-6)


@pytest.mark.parametrize("setup,f0", [("keras2", 0.7), ("edge", 1.0), ("keras3", 1 / (1 + math.exp(-1)))])
def test_lstm_radius_is_f0_plus_quarter_u_c_spectrum(setup, f0):
    """Closed form (module docstring): non-zero eigenvalues of J are those of f0 I + o0 i0 U_c, o0 = i0 = 0.5."""
    model = R.setup_model(R.SETUPS[setup], "lstm", SEEDS, units=8)
    rho = R.spectral_radius_at_origin(model)
    U_c = model.cell.named_params()["U_c"]
    expected = [np.abs(f0 + 0.25 * _eig(U_c[m])).max() for m in range(len(SEEDS))]
    np.testing.assert_allclose(rho, expected, rtol=1e-10)
    if setup == "edge":
        assert (rho >= 1.0).all()
    else:
        assert (rho < 1.0).all()


@pytest.mark.parametrize("setup", ["keras2", "keras3", "edge"])
def test_gru_radius_closed_form(setup):
    """z0 = r0 = 0.5 (b = 0): J = 0.5 I + 0.25 U_h; with b_z = 3 the hard update gate is 1 and J = I."""
    model = R.setup_model(R.SETUPS[setup], "gru", SEEDS, units=8)
    rho = R.spectral_radius_at_origin(model)
    if setup == "edge":
        np.testing.assert_array_equal(rho, 1.0)
        return
    U_h = model.cell.named_params()["U_h"]
    expected = [np.abs(0.5 + 0.25 * _eig(U_h[m])).max() for m in range(len(SEEDS))]
    np.testing.assert_allclose(rho, expected, rtol=1e-10)


def test_batched_radius_equals_single():
    model = R.setup_model(R.SETUPS["torch"], "lstm", SEEDS, units=5)
    rho = R.spectral_radius_at_origin(model)
    for m in range(len(SEEDS)):
        np.testing.assert_allclose(R.spectral_radius_at_origin(model.select([m])), rho[m], rtol=1e-12)


# -- the set-up table builds what it claims -------------------------------------------------------------------
def test_edge_setup_sets_only_the_memory_gate_bias():
    keras2 = {c: R.setup_model(R.SETUPS["keras2"], c, SEEDS, units=8) for c in ("lstm", "gru")}
    edge = {c: R.setup_model(R.SETUPS["edge"], c, SEEDS, units=8, edge_bias=3.0) for c in ("lstm", "gru")}
    for cell, name in (("lstm", "b_f"), ("gru", "b_z")):
        p0, p1 = keras2[cell].cell.named_params(), edge[cell].cell.named_params()
        assert torch.equal(p1[name], torch.full_like(p1[name], 3.0))
        for k in p0:
            if k != name:
                assert torch.equal(p0[k], p1[k]), k
        assert edge[cell].cell.recurrent_activation == "hard_sigmoid"
    assert torch.equal(keras2["lstm"].cell.named_params()["b_f"], torch.ones(len(SEEDS), 8, dtype=torch.float64))


def test_keras3_and_torch_setups():
    k3_gru = R.setup_model(R.SETUPS["keras3"], "gru", SEEDS, units=8)
    assert k3_gru.cell.reset_after and k3_gru.cell.recurrent_activation == "sigmoid"
    assert k3_gru.cell.params.bias.shape[1] == 2 and not k3_gru.cell.params.bias.any()
    k3_lstm = R.setup_model(R.SETUPS["keras3"], "lstm", SEEDS, units=8)
    assert k3_lstm.cell.recurrent_activation == "sigmoid"
    assert torch.equal(k3_lstm.cell.named_params()["b_f"], torch.ones(len(SEEDS), 8, dtype=torch.float64))
    k2_gru = R.setup_model(R.SETUPS["keras2"], "gru", SEEDS, units=8)
    assert not k2_gru.cell.reset_after and k2_gru.cell.recurrent_activation == "hard_sigmoid"
    for cell in R.CELLS:
        t = R.setup_model(R.SETUPS["torch"], cell, SEEDS, units=8)
        bound = 1 / math.sqrt(8) + 1e-7
        assert t.cell.params.recurrent_kernel.abs().max() <= bound
        if cell != "srnn":
            assert t.cell.recurrent_activation == "sigmoid"
    assert R.setup_model(R.SETUPS["torch"], "gru", SEEDS, units=8).cell.reset_after


def test_training_settings_of_the_setups():
    c = R.RelayStudyConfig(lr=2e-3, batch_size=8, epochs=7, tweaked_lr=0.05, tweaked_batch=128, tweaked_epochs=30)
    assert c.training(R.SETUPS["keras2"]) == {"lr": 2e-3, "batch_size": 8, "epochs": 7}
    assert c.training(R.SETUPS["edge"]) == {"lr": 2e-3, "batch_size": 8, "epochs": 7}
    assert c.training(R.SETUPS["tweaked"]) == {"lr": 0.05, "batch_size": 128, "epochs": 7}
    assert c.training(R.SETUPS["tweaked_long"]) == {"lr": 0.05, "batch_size": 128, "epochs": 30}
    # the SRNN has no gate: edge and keras2 train the same SRNN (trained once), not the same LSTM
    assert R.block_key(R.SETUPS["edge"], "srnn", c) == R.block_key(R.SETUPS["keras2"], "srnn", c)
    assert R.block_key(R.SETUPS["edge"], "lstm", c) != R.block_key(R.SETUPS["keras2"], "lstm", c)
    assert R.block_key(R.SETUPS["keras3"], "srnn", c) == R.block_key(R.SETUPS["keras2"], "srnn", c)


@pytest.mark.parametrize("kw", [{"lengths": (5, 100), "ranking_length": 50}, {"lengths": (1, 5)},
                                {"setups": ("keras2", "bogus")}, {"n": 10}, {"edge_bias": math.nan}])
def test_bad_config_is_rejected(kw):
    with pytest.raises(CheckError):
        R.RelayStudyConfig(**kw)


# -- summaries ------------------------------------------------------------------------------------------------
def _row(setup, cell, success, radius=0.5, val_acc=None, T=100):
    return {"setup": setup, "cell": cell, "T": T, "success": success, "radius": radius,
            "at_or_past_bifurcation": radius >= 1 - R.RADIUS_TOLERANCE,
            "val_acc": val_acc if val_acc is not None else (0.95 if success else 0.5)}


def test_ranking_and_ties_are_not_wins():
    rows = ([_row("a", "gru", True)] * 3 + [_row("a", "gru", False)] + [_row("a", "srnn", True)] * 2
            + [_row("a", "srnn", False)] * 2 + [_row("a", "lstm", False, val_acc=0.6)] * 4
            + [_row("b", c, False, val_acc=v) for c, v in (("gru", 0.7), ("srnn", 0.6), ("lstm", 0.5))])
    assert R.ranking(rows, "a", 100, ["srnn", "lstm", "gru"]) == ["gru", "srnn", "lstm"]
    assert R.strictly_first(rows, "a", 100, "gru", ["srnn", "lstm", "gru"])
    assert R.ranking(rows, "b", 100, ["srnn", "lstm", "gru"]) == ["gru", "srnn", "lstm"]  # by val acc
    assert not R.strictly_first(rows, "b", 100, "gru", ["srnn", "lstm", "gru"])  # 0 = 0 = 0


def test_radius_classes_rates_and_auc():
    rows = ([_row("a", "srnn", True, 1.0)] * 4 + [_row("a", "srnn", False, 1.0)] * 2
            + [_row("a", "lstm", False, 0.8)] * 5 + [_row("a", "lstm", True, 0.9)])
    out = R.radius_classes(rows, min_class=5)
    assert out["radius_at_least_1"]["successes"] == 4 and out["radius_at_least_1"]["runs"] == 6
    assert out["radius_below_1"]["successes"] == 1 and out["radius_below_1"]["runs"] == 6
    # by hand: 5 successes (4 at 1.0, 1 at 0.9), 7 failures (2 at 1.0, 5 at 0.8):
    # pairs won: 4 * 5 (1.0 > 0.8) + 4 * 2 / 2 (ties) + 1 * 5 (0.9 > 0.8) = 29 of 35
    assert out["auc"] == pytest.approx(29 / 35)
    assert R.radius_classes(rows, min_class=6)["auc"] is None


def test_shared_blocks_count_once_in_the_mechanism():
    c = R.RelayStudyConfig(setups=("keras2", "edge"), lengths=(100,), ranking_length=100, repeats=2)
    trained = [{**_row("keras2", "srnn", ok, 1.0), "trained_as": "keras2"} for ok in (True, False)]
    copies = [{**r, "setup": "edge"} for r in trained]
    others = [{**_row(s, cell, False, rho), "trained_as": s} for s, cell, rho in
              (("keras2", "lstm", 0.8), ("keras2", "lstm", 0.8), ("keras2", "gru", 0.6), ("keras2", "gru", 0.6),
               ("edge", "lstm", 1.1), ("edge", "lstm", 1.1), ("edge", "gru", 1.0), ("edge", "gru", 1.0))]
    s = R.summarise(trained + copies + others, c)
    assert s["setups"]["edge"]["srnn"]["100"] == 0.5 == s["setups"]["keras2"]["srnn"]["100"]
    past = s["mechanism_8_units"]["by_T"]["100"]["radius_at_least_1"]
    assert (past["successes"], past["runs"]) == (1, 6)  # 2 SRNN (once) + 4 edge gated models


# -- training: the keras2 set-up is the latching sweep ----------------------------------------------------------
@pytest.mark.parametrize("cell", R.CELLS)
def test_keras2_setup_reproduces_the_latching_sweep(cell):
    from dynlatch.studies.latching_sweep import SweepConfig, train_shard

    c = R.RelayStudyConfig(lengths=(6,), ranking_length=6, repeats=2, epochs=2, n=60)
    rows = R.train_block(R.SETUPS["keras2"], cell, 6, c)
    sweep = train_shard(SweepConfig(task="bit-relay", hidden=8, repeats=2, epochs=2, n=60, lengths=(6,)), cell, 6)
    assert [r["seed"] for r in rows] == [r["seed"] for r in sweep]
    np.testing.assert_allclose([r["val_acc"] for r in rows], [r["val_acc"] for r in sweep], rtol=0, atol=1e-12)
    np.testing.assert_allclose([r["train_acc"] for r in rows], [r["train_acc"] for r in sweep], atol=1e-12)


# -- the command line -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_quick_run_end_to_end(tmp_path):
    from dynlatch._cli import main

    out = tmp_path / "br"
    assert main(["run", "bit-relay", "--quick", "--quiet", "--out", str(out), "--setups", "keras2,edge"]) == 0
    s = json.loads((out / "summary.json").read_text())
    for key in ("setups", "ranking_at_T100", "which_setup_gives_gru_best", "mechanism_8_units"):
        assert key in s
    assert set(s["setups"]) == {"keras2", "edge"} and set(s["setups"]["edge"]["lstm"]) == {"5", "20"}
    rows = list(csv.DictReader(open(out / "runs.csv")))
    assert len(rows) == 2 * 3 * 2 * 2  # T x cells x set-ups x repeats
    for setup, by_cell in s["setups"].items():
        for cell, per_T in by_cell.items():
            for T, v in per_T.items():
                sel = [r for r in rows if r["setup"] == setup and r["cell"] == cell and r["T"] == T]
                assert v == pytest.approx(np.mean([r["success"] == "True" for r in sel]))
    assert {r["trained_as"] for r in rows if r["setup"] == "edge" and r["cell"] == "srnn"} == {"keras2"}
    assert {r["trained_as"] for r in rows if r["setup"] == "edge" and r["cell"] == "lstm"} == {"edge"}
    edge_lstm = [float(r["radius"]) for r in rows if r["setup"] == "edge" and r["cell"] == "lstm"]
    assert min(edge_lstm) > 1.0
    assert (out / "bit_relay.png").exists() and (out / "bit_relay.pdf").exists()
    assert sorted(s["ranking_at_T100"]["keras2"]) == sorted(R.CELLS)
    # closed forms of the initial radius (module docstring): Keras 2's SRNN 1 (orthogonal U), the edge GRU exactly 1
    keras2_srnn = [float(r["radius"]) for r in rows if r["setup"] == "keras2" and r["cell"] == "srnn"]
    np.testing.assert_allclose(keras2_srnn, 1.0, atol=R.RADIUS_TOLERANCE)
    assert {float(r["radius"]) for r in rows if r["setup"] == "edge" and r["cell"] == "gru"} == {1.0}
    assert s["initial_radius"]["edge"]["gru"]["fraction_at_least_1"] == 1.0


@pytest.mark.parametrize("argv", [["--ranking-len", "50"], ["--setups", "keras2,bogus"], ["--lens", "1,5"],
                                  ["--repeats", "0"], ["--bogus"]])
def test_bad_flags_exit_2_with_one_line(argv, usage_error):
    line = usage_error("bit-relay", argv)
    assert "bit-relay" in line
