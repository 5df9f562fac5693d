"""The lstm-failure study (dynlatch.studies.lstm_failure, run by dynlatch run lstm-failure): the intervention's
initialiser, the broadened and chrono distributions, the predictor's separation from the fresh seeds, and the summary
contract. The statistics it uses (AUC, Newcombe intervals) are tested in test_stats.py."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy import stats

from dynlatch import Model, dynamics, tasks
from dynlatch.cells import CellParams
from dynlatch._stats import wilson_interval
from dynlatch.landscape import Surface
from dynlatch.studies import _lstm_failure_features as F
from dynlatch.studies import lstm_failure as S


# -- the intervention and the initial distributions -------------------------------------------------------------
def test_lstm_edge_of_memory_initialiser():
    seeds = list(range(50))
    base = Model.init("lstm", seeds=seeds, dtype=torch.float64)
    model = F.edge_of_memory(base, bias=3.0)
    new, old = model.cell.named_params(), base.cell.named_params()
    assert torch.all(new["b_f"] == 3.0)
    # U_c -> |U_c|: the Keras-2 magnitudes, every sign made positive (the Keras-2 signs are mixed)
    assert torch.equal(new["U_c"], old["U_c"].abs()) and bool((old["U_c"] < 0).any())
    for name in old:
        if name not in ("b_f", "U_c"):
            assert torch.equal(new[name], old[name]), name
    assert torch.equal(model.weight, base.weight) and torch.equal(model.bias, base.bias)
    # hard sigmoid: f0 = clip(0.2 * 3 + 0.5, 0, 1) = 1 exactly
    assert np.all(F.gate_at_origin(model) == 1.0)
    # closed form at the origin: eigenvalues 0 and f0 + o0 i0 U_c with i0 = o0 = 0.5 (b_i = b_o = 0): every model
    # at or past the bifurcation
    lam = 1.0 + 0.25 * new["U_c"].reshape(-1).numpy()
    np.testing.assert_allclose(F.origin_jacobian_eigenvalue(model), lam, rtol=1e-12)
    assert np.all(lam >= 1.0)
    # and the Keras-2 default: f0 = hard_sigmoid(1) = 0.7
    np.testing.assert_allclose(F.origin_jacobian_eigenvalue(base),
                               np.abs(0.7 + 0.25 * old["U_c"].reshape(-1).numpy()), rtol=1e-12)


@pytest.mark.parametrize("params, changed", [("U_c=abs", {"U_c"}), ("b_f=2,U_c=abs", {"b_f", "U_c"}),
                                             ("b_f=0", {"b_f"})])
def test_parameter_changes_touch_only_what_they_name(params, changed):
    base = Model.init("lstm", seeds=range(8), dtype=torch.float64)
    new = S.build_models(S.Arm("a", "lstm", params=params), list(range(8)), length=10).cell.named_params()
    old = base.cell.named_params()
    for name in old:
        assert torch.equal(new[name], old[name]) == (name not in changed), name
    if "U_c" in changed:
        assert torch.all(new["U_c"] >= 0)


def test_hypothesis_arms_train_with_the_settings_they_claim(monkeypatch):
    seen = {}

    def fake_train(model, data, **kw):
        seen.update(kw, n=len(data.y_train) + len(data.y_val), units=model.cell.units)
        raise RuntimeError("stop")

    monkeypatch.setattr(S, "train", fake_train)
    config = S.LstmFailureConfig(n=100)
    expected = {"batch_4": {"batch_size": 4}, "batch_64": {"batch_size": 64}, "beta1_0": {"betas": (0.0, 0.999)},
                "clip_1": {"clip_norm": 1.0}, "lr_1e-2": {"lr": 1e-2}, "epochs_20": {"epochs": 20},
                "units_100": {"units": 100, "n": 60}, "units_10": {"units": 10, "n": 100}}
    for name, want in expected.items():
        arm, baseline, _ = S.hypothesis_arm(name, small_n=60)
        seen.clear()
        with pytest.raises(RuntimeError, match="stop"):
            S.train_arm(arm, [0], length=5, config=config)
        assert {k: seen[k] for k in want} == want, name
        # the 100-unit arm is compared with one unit on its own (smaller) data
        assert baseline.units == 1 and baseline.n == (60 if name == "units_100" else None)


def test_representability_verdict_from_latch_rows():
    config = S.LstmFailureConfig(lengths=(5, 50), latch_sigmas=(0.1, 0.5))
    rows = [{"latch": name, "cell": cell, "T": T, "sigma": s, "accuracy": acc}
            for name, cell in (("srnn_latch", "srnn"), ("lstm_a", "lstm"), ("lstm_b", "lstm"))
            for T in (5, 50) for s in (0.1, 0.5)
            for acc in [{"lstm_a": 0.95 if s == 0.1 else 0.6, "lstm_b": 0.99 if T == 5 else 0.7}.get(name, 1.0)]]
    r = S.representability(rows, config)
    assert r["effect"]["5"]["best_lstm_latch_accuracy"] == 0.99
    assert r["effect"]["50"]["best_lstm_latch_accuracy"] == 0.95
    assert r["effect"]["50"]["largest_sigma_at_threshold"] == {"lstm_a": 0.1, "lstm_b": None}
    assert r["effect"]["5"]["largest_sigma_at_threshold"] == {"lstm_a": 0.1, "lstm_b": 0.5}
    assert r["verdict"].startswith("a one-unit LSTM can latch")
    bad = [dict(row, accuracy=0.5) if row["cell"] == "lstm" else row for row in rows]
    assert S.representability(bad, config)["verdict"].startswith("the best hand-built LSTM latch falls to 0.50")


def test_gru_edge_of_memory_is_a_line_of_fixed_points():
    base = Model.init("gru", seeds=range(20), dtype=torch.float64)
    model = F.edge_of_memory(base, bias=3.0)
    p = model.cell.named_params()
    assert torch.all(p["b_z"] == 3.0) and torch.all(p.get("br_z", torch.zeros(1)) == 0.0)
    assert np.all(F.gate_at_origin(model) == 1.0)
    np.testing.assert_allclose(F.origin_jacobian_eigenvalue(model), 1.0, rtol=0, atol=1e-14)
    # z = 1 near the origin: h' = h for small h (a continuum of fixed points)
    h = torch.full((20, 1, 1), 0.05, dtype=torch.float64)
    out = model.cell.step_batched(h, torch.zeros(20, 1, 1, dtype=torch.float64))
    torch.testing.assert_close(out, h)


def test_edge_of_memory_rejects_srnn():
    with pytest.raises(ValueError, match="LSTM or GRU"):
        F.edge_of_memory(Model.init("srnn", seeds=[0]))


@pytest.mark.parametrize("cell", ["lstm", "gru", "srnn"])
def test_broadened_population_is_uniform_on_its_ranges(cell):
    seeds = list(range(3000))
    values = F.broadened_values(cell, seeds)
    for name, (lo, hi) in F.BROADENED_POPULATIONS[cell].items():
        v = values[name]
        assert v.min() >= lo and v.max() <= hi
        assert stats.kstest((v - lo) / (hi - lo), "uniform").pvalue > 1e-3
    model = S.build_models(S.Arm("b", cell, params="broadened"), seeds[:7], length=10)
    p = model.cell.named_params()
    for name in F.BROADENED_POPULATIONS[cell]:
        np.testing.assert_allclose(p[name].reshape(-1).numpy(), values[name][:7])


def test_chrono_distribution():
    seeds, T = list(range(3000)), 50
    model = S.build_models(S.Arm("c", "lstm", params="chrono"), seeds, length=T)
    p = model.cell.named_params()
    bf = p["b_f"].reshape(-1).numpy()
    np.testing.assert_allclose(p["b_i"].reshape(-1).numpy(), -bf)
    u = np.exp(bf)
    assert u.min() >= 1.0 - 1e-12 and u.max() <= T - 1 + 1e-9
    assert stats.kstest((u - 1) / (T - 2), "uniform").pvalue > 1e-3


# -- the predictor ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 12345])
@pytest.mark.parametrize("cell", S.CELLS)
def test_fit_and_fresh_seeds_are_disjoint(seed, cell):
    for T in (50, 100, 200):
        fit, fresh = S.fit_seeds(cell, T, 500), S.fresh_seeds(seed, cell, T, 500)
        assert not set(fit) & set(fresh)
        assert len(set(fresh)) == 500
    # the fitting seeds are fixed numbers, the same whatever --seed: 900_000_000 + 10^6 (cell's place + 1) + 1000 T + k
    first = {"srnn": 901_050_000, "gru": 902_050_000, "lstm": 903_050_000}[cell]
    assert S.fit_seeds(cell, 50, 10) == list(range(first, first + 10))
    assert S.fresh_seeds(seed, cell, 50, 10) != S.fresh_seeds(seed + 1, cell, 50, 10)


def _rows(rng, n, slope=3.0):
    x = rng.normal(size=n)
    y = rng.random(n) < 1 / (1 + np.exp(-slope * x))
    return [{"retention": float(a), "stable_fixed_points": float(rng.integers(1, 3)), "success": bool(b)}
            for a, b in zip(x, y)]


def test_predictor_fit_never_sees_fresh_rows():
    rng = np.random.default_rng(0)
    fit = _rows(rng, 200)
    a = S.predictor(fit, _rows(rng, 100), min_class=10)
    b = S.predictor(fit, _rows(rng, 100, slope=-3.0), min_class=10)
    assert a["coefficients"] == b["coefficients"]
    assert a["auc_heldout"] > 0.8 and b["auc_heldout"] < 0.2


def test_predictor_reports_auc_only_with_enough_runs_per_class():
    rng = np.random.default_rng(1)
    fresh = _rows(rng, 30)
    fresh = [dict(r, success=(k < 5)) for k, r in enumerate(fresh)]  # 5 successes
    assert S.predictor(_rows(rng, 100), fresh, min_class=10)["auc_heldout"] is None


def test_fit_logistic_recovers_generating_coefficients():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20000, 2)) * [2.0, 0.5]
    eta = -0.5 + 1.5 * X[:, 0] - 2.0 * X[:, 1]
    y = rng.random(20000) < 1 / (1 + np.exp(-eta))
    fit = F.fit_logistic(X, y, features=("a", "b"), l2=0.0)
    raw = np.asarray(fit.coefficients) / np.asarray(fit.scale)
    np.testing.assert_allclose(raw, [1.5, -2.0], atol=0.1)
    np.testing.assert_allclose(fit.score(X), fit.intercept + ((X - fit.mean) / fit.scale) @ fit.coefficients)


def test_dynamical_features_of_keras2_srnn():
    model = Model.init("srnn", seeds=range(10), dtype=torch.float64)
    f = F.dynamical_features(model, length=20)
    U = model.cell.named_params()["U"].reshape(-1).numpy()
    np.testing.assert_allclose(f["eig_origin"], np.abs(U), rtol=1e-12)  # b = 0: J = U tanh'(0) = U
    np.testing.assert_allclose(np.abs(U), 1.0, rtol=1e-6)  # orthogonal 1 x 1: exactly at the bifurcation
    # cross-check the fixed-point count against the library's finder, model by model
    pts = dynamics.fixed_points(model.cell, periods=(1,))
    assert list(f["stable_fixed_points"]) == [sum(p.stable for p in q) for q in pts]


# -- config and the summary contract ----------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{"lengths": (1, 5)}, {"repeats": 0}, {"hypotheses": ("nope",)},
                                {"success_threshold": 1.5}, {"fit_seeds": 2}])
def test_config_rejects_bad_values(kw):
    with pytest.raises(ValueError):
        S.LstmFailureConfig(**kw)


SMALL = dict(powered_lengths=(5,), lambda_cells=("lstm",), lambda_values=(1.0,), lambda_lengths=(5,),
             lambda_repeats=1, snr_batches=2, bootstrap=100)
"""Settings that keep the arms beyond the hypotheses small in the end-to-end tests."""


def test_summary_contract_keys(tmp_path):
    config = S.LstmFailureConfig(lengths=(5,), repeats=2, powered_repeats=2, n=40, epochs=1,
                                 hypotheses=("split_bug", "forget_bias_3"), predictor_cells=("lstm",),
                                 predictor_lengths=(5,), fit_seeds=4, fresh_seeds=4, trace_length=5, **SMALL)
    result = S.lstm_failure(config, tmp_path)
    s = result["summary"]
    assert {"hypotheses", "predictor", "success"} <= set(s)
    for h in ("split_bug", "forget_bias_3"):
        assert {"effect", "verdict"} <= set(s["hypotheses"][h])
        e = s["hypotheses"][h]["effect"]["5"]
        assert e["ci"][0] <= e["effect"] <= e["ci"][1]
    assert {"features", "coefficients", "auc_heldout", "population"} <= set(s["predictor"])
    assert set(s["predictor"]["auc_heldout"]) == {"lstm"} and set(s["predictor"]["auc_heldout"]["lstm"]) == {"5"}
    assert {"srnn", "gru", "lstm", "lstm_intervention"} <= set(s["success"])
    assert all(set(v) == {"5"} and 0 <= v["5"] <= 1 for v in s["success"].values())
    assert s["hypotheses"]["representability"]["verdict"]
    for entry in s["predictor"]["predicted_vs_observed"].get("lstm", {}).values():
        assert 0 <= entry["predicted"] <= 1 and entry["observed"] == s["success"]["lstm"]["5"]
    json.dumps(s)
    # the values against the rows they summarise: rates, Wilson intervals and effects recounted from runs.csv's rows
    def counted(arm):
        wins = [r["success"] for r in result["runs"] if r["arm"] == arm and r["T"] == 5]
        return sum(wins), len(wins)

    for arm, per_T in s["success_intervals"].items():
        k, n = counted(arm)
        assert n == 2 and per_T["5"]["successes"] == k and per_T["5"]["runs"] == n
        assert s["success"][arm]["5"] == pytest.approx(k / n, rel=1e-15)
        assert per_T["5"]["ci"] == pytest.approx(list(wilson_interval(k, n)), rel=1e-15)
    for h, baseline in (("split_bug", "lstm"), ("forget_bias_3", "lstm")):
        e = s["hypotheses"][h]["effect"]["5"]
        (k1, n1), (k0, n0) = counted(h), counted(baseline)
        assert e["arm"] == pytest.approx(k1 / n1) and e["baseline"] == pytest.approx(k0 / n0)
        assert e["effect"] == pytest.approx(k1 / n1 - k0 / n0, abs=1e-15)
    # the summary's contract: read-out-only and learned gain per arm and T, paired tests, lambda sweep, AUC intervals
    assert "lstm_critical" in s["success"]
    for arm in ("srnn", "lstm", "lstm_intervention", "lstm_critical", "split_bug"):
        sel = [r for r in result["runs"] if r["arm"] == arm and r["T"] == 5]
        only = np.mean([r["readout_only_success"] for r in sel])
        assert s["readout_only"][arm]["5"] == pytest.approx(only)
        assert s["learned_gain"][arm]["5"] == pytest.approx(np.mean([r["success"] for r in sel]) - only)
    for arm in ("lstm_critical", "split_bug", "lstm_critical_vs_srnn"):
        t = s["tests"][arm]["5"]
        assert {"diff", "ci", "p_holm", "reference"} <= set(t) and t["ci"][0] <= t["diff"] <= t["ci"][1]
        assert t["p"] <= t["p_holm"] <= 1
    assert s["tests"]["lstm_critical"]["5"]["reference"] == "lstm"
    assert s["tests"]["lstm_critical_zero"]["5"]["reference"] == "lstm_critical"
    curve = s["lambda_sweep"]["lstm"]["5"]
    assert curve["lambda0"] == [1.0] and len(curve["success"]) == len(curve["readout_only"]) == 1
    # lambda0 = 1 of the LSTM is the critical arm: the curve reuses its first seed's row
    (row,) = result["lambda_runs"]
    critical = {r["seed"]: r for r in result["runs"] if r["arm"] == "lstm_critical"}
    np.testing.assert_equal({k: v for k, v in row.items() if k not in ("arm", "lambda0")},
                            {k: v for k, v in critical[row["seed"]].items() if k != "arm"})
    assert set(s["predictor"]["auc_ci"]["lstm"]) == {"5"}
    assert {"lstm_intervention", "lstm_critical"} <= set(s["traces"]) and s["traces"]["lstm"]["epoch"] == [0, 1]
    roles = [r["role"] for r in result["predictor_runs"]]
    assert roles.count("fit") == 4 and roles.count("fresh") == 4


def test_units_100_runs_only_at_its_lengths(tmp_path):
    config = S.LstmFailureConfig(lengths=(5, 6), repeats=1, powered_repeats=1, n=40, epochs=1, **SMALL,
                                 hypotheses=("units_100",),
                                 units_100_n=40, units_100_repeats=1, units_100_lengths=(5,),
                                 predictor_cells=("lstm",), predictor_lengths=(5,), fit_seeds=4, fresh_seeds=4,
                                 landscape_length=6, landscape_resolution=3)
    result = S.lstm_failure(config, tmp_path)
    s = result["summary"]
    assert set(s["hypotheses"]["units_100"]["effect"]) == {"5"}
    assert sorted({(r["arm"], r["T"]) for r in result["runs"] if r["arm"] in ("units_100", "lstm_n40")}) == [
        ("lstm_n40", 5), ("units_100", 5)]
    # the landscape around a successful / failed initial point at T = 6, with the point's own loss
    assert s["landscape"]["T"] == 6
    for label, entry in result["surfaces"].items():
        assert entry["surface"].loss.shape == (3, 3) and label in ("success", "failure")
        assert np.isfinite(s["landscape"][label]["loss"])


@pytest.mark.slow
def test_quick_end_to_end(tmp_path):
    from analyses import lstm_failure

    assert lstm_failure.main(["--quick", "--quiet", "--out", str(tmp_path), "--lens", "5", "--repeats", "2",
                              "--n", "200", "--predictor-lens", "5", "--fit-seeds", "4", "--fresh-seeds", "4",
                              "--powered-lens", "5", "--powered-repeats", "2", "--lambda-lens", "5",
                              "--trace-length", "5"]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert {"hypotheses", "predictor", "success", "config", "provenance"} <= set(s)
    for stem in ("success_vs_T", "predictor_feature", "landscape_at_start", "learned_vs_builtin", "lambda_sweep",
                 "training_traces"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 0 and (tmp_path / f"{stem}.pdf").stat().st_size > 0
    assert (tmp_path / "runs.csv").read_text().startswith("arm,cell,T,seed")
    # the loss surfaces around the typical initial points, one file per class the runs hold, readable as surfaces
    surfaces = sorted(tmp_path.glob("landscape_*.npz"))
    assert surfaces
    assert [p.name for p in surfaces] == [f"landscape_{label}.npz" for label in sorted(s["landscape"]) if label != "T"]
    for path in surfaces:
        surface = Surface.load(path)
        assert (surface.x_name, surface.y_name) == ("b_f", "U_c") and surface.loss.shape == (9, 9)


def test_bad_flag_exits_2(capsys):
    from analyses import lstm_failure

    with pytest.raises(SystemExit) as e:
        lstm_failure.main(["--lens", "0"])
    assert e.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["lstm_intervention", "gru_intervention"])
def test_intervention_arms_train_the_edge_of_memory_models(name):
    arm = S.intervention_arms(3.0)[name]
    seeds = list(range(6))
    built = S.build_models(arm, seeds, length=50)
    claimed = F.edge_of_memory(Model.init(arm.cell, seeds=seeds, dtype=torch.float64), bias=3.0)
    for a, b in zip(built.parameters(), claimed.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_attractor_counts_of_hand_built_srnn():
    # h' = tanh(U h): U = 2 has two stable fixed points (a latch), U = 0.5 one, U = -2 a stable 2-cycle (two
    # attractors of the two-step map: also a latch)
    base = Model.init("srnn", seeds=[0, 1, 2], dtype=torch.float64)
    cell = base.cell.with_params(U=torch.tensor([2.0, 0.5, -2.0]), b=torch.zeros(3, 1))
    counts = F.attractor_counts(replace(base, cell=cell))
    np.testing.assert_array_equal(counts, [2, 1, 2])


def test_logistic_fit_round_trips_through_its_dict():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2))
    y = rng.random(300) < 1 / (1 + np.exp(-2 * X[:, 0]))
    fit = F.fit_logistic(X, y, features=S.PREDICTOR_FEATURES)
    again = F.LogisticFit.from_dict(json.loads(json.dumps(fit.as_dict())))
    np.testing.assert_allclose(again.score(X), fit.score(X), rtol=1e-12)
    np.testing.assert_allclose(again.probability(X), 1 / (1 + np.exp(-fit.score(X))), rtol=1e-12)


# -- controlled starts, read-out features, paired statistics ----------------------------------------------------
@pytest.mark.parametrize("cell", F.LAMBDA_CELLS)
@pytest.mark.parametrize("gates", ["hard_sigmoid", "sigmoid"])
def test_edge_parameters_realise_lambda0_at_the_origin(cell, gates):
    """Oracle: the eigenvalues of the autonomous map's Jacobian at s = 0, x = 0 by dynamics.jacobian (autograd)."""
    act = None if cell == "srnn" else gates
    base = Model.init(cell, seeds=range(6), recurrent_activation=act, dtype=torch.float64)
    for lam in S.LAMBDA_VALUES:
        changes = F.edge_parameters(cell, lam, recurrent_activation=gates)
        model = replace(base, cell=F.changed_cell(base.cell, changes))
        J = dynamics.jacobian(model.cell, torch.zeros(model.cell.state_dim, dtype=torch.float64), torch.zeros(1))
        top = torch.linalg.eigvals(J).abs().max(-1).values.numpy()
        np.testing.assert_allclose(top, lam, rtol=0, atol=1e-12)
        # everything but the named blocks keeps its Keras-2 value
        named = {c.split("=")[0] for c in changes.split(",")}
        for name, value in base.cell.named_params().items():
            if name not in named:
                assert torch.equal(model.cell.named_params()[name], value), name


def test_critical_lstm_has_no_positive_feedback_and_a_saturated_forget_gate():
    model = S.build_models(S.headline_arms(S.LstmFailureConfig())["lstm_critical"][0], list(range(4)), length=50)
    p = model.cell.named_params()
    assert torch.all(p["U_c"] == 0) and torch.all(p["b_f"] == 3)
    assert np.all(F.gate_at_origin(model) == 1.0)


def test_zero_readout_arm_zeroes_the_readout_only():
    arms = S.headline_arms(S.LstmFailureConfig())
    zero = S.build_models(arms["lstm_critical_zero"][0], [1, 2], length=20)
    keras = S.build_models(arms["lstm_critical"][0], [1, 2], length=20)
    assert torch.all(zero.weight == 0) and torch.all(zero.bias == 0) and bool((keras.weight != 0).all())
    for a, b in zip(zero.cell.params, keras.cell.params):
        assert torch.equal(a, b)


def test_best_threshold_accuracy_equals_brute_force():
    rng = np.random.default_rng(3)
    h = np.round(rng.normal(size=(5, 40)), 1)  # ties included
    y = rng.integers(0, 2, size=40)
    got = F.best_threshold_accuracy(h, y)
    for m in range(5):
        cuts = np.concatenate([[-np.inf], np.unique(h[m])])
        best = max(max(np.mean((h[m] > c) == y), np.mean((h[m] > c) != y)) for c in cuts)
        assert got[m] == best
    assert F.best_threshold_accuracy(np.array([[0.1, 0.2, 0.3, 0.4]]), np.array([0, 0, 1, 1]))[0] == 1.0
    assert F.best_threshold_accuracy(np.array([[0.4, 0.3, 0.2, 0.1]]), np.array([0, 0, 1, 1]))[0] == 1.0


def test_readout_agreement_by_hand():
    model = Model.init("srnn", seeds=[0, 1, 2], dtype=torch.float64)
    W = torch.tensor([[[0.0, 1.0]], [[1.0, 0.0]], [[0.5, 0.5]]], dtype=torch.float64)
    model = replace(model, weight=W)
    np.testing.assert_array_equal(F.readout_slope(model), [1.0, -1.0, 0.0])
    y = np.array([0, 0, 1, 1])
    h = np.array([[-1.0, -0.5, 0.5, 1.0]] * 3)  # h_T rises with the label
    np.testing.assert_array_equal(F.readout_agreement(model, h, y), [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(F.readout_agreement(model, -h, y), [0.0, 1.0, np.nan])


def test_gradient_snr_against_autograd_minibatch_gradients():
    model = Model.init("lstm", seeds=[4, 5], dtype=torch.float64)
    data = tasks.latching(length=8, n=200, seed=2)
    got = F.gradient_snr(model, data.x_train, data.y_train, batches=5, batch_size=16)
    for m in range(2):
        one = model.select([m])
        grads = []
        for b in range(5):
            params = [p.detach().clone().requires_grad_(True) for p in one.parameters()]
            x = torch.as_tensor(data.x_train[b * 16:(b + 1) * 16], dtype=torch.float64)
            y = torch.as_tensor(data.y_train[b * 16:(b + 1) * 16])
            logits = Model(one.cell.replace(CellParams(*params[:3])), params[3], params[4], one.seeds,
                           one.readout).logits(x)[0]
            loss = torch.nn.functional.cross_entropy(logits, y)
            grads.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]).numpy())
        G = np.stack(grads)
        mean = G.mean(0)
        want = np.linalg.norm(mean) / np.sqrt(((G - mean) ** 2).sum(1).mean())
        assert got[m] == pytest.approx(want, rel=1e-9)


def _paired_rows(pairs):
    """Rows of arms "a" and "r" at T = 7 from (a succeeded, r succeeded) per shared seed."""
    rows = []
    for seed, (a, r) in enumerate(pairs):
        rows += [{"arm": "a", "T": 7, "seed": seed, "success": a}, {"arm": "r", "T": 7, "seed": seed, "success": r}]
    return rows


def test_paired_test_counts_discordant_seeds_by_hand():
    pairs = [(True, False)] * 6 + [(True, True)] * 3 + [(False, False)] * 1 + [(False, True)] * 0
    rows = _paired_rows(pairs) + [{"arm": "a", "T": 7, "seed": 99, "success": True}]  # unpaired: left out
    t = S.paired_test(rows, "a", "r", 7)
    assert (t["pairs"], t["gained"], t["lost"]) == (10, 6, 0)
    assert t["diff"] == pytest.approx(0.6) and t["arm_rate"] == 0.9 and t["reference_rate"] == 0.3
    assert t["p"] == pytest.approx(2 * 0.5**6)  # exact McNemar: 6 of 6 discordant pairs one way
    assert t["ci"][0] < 0.6 < t["ci"][1]
    assert S.paired_test(rows, "a", "r", 8) is None


def test_holm_family_spans_every_arm_and_length():
    tests = {"x": {"5": {"p": 0.01}, "50": {"p": 0.04}}, "y": {"5": {"p": 0.03}, "50": {"p": 0.005}}}
    S.holm_family(tests)
    assert [tests["x"]["5"]["p_holm"], tests["x"]["50"]["p_holm"], tests["y"]["5"]["p_holm"],
            tests["y"]["50"]["p_holm"]] == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_describe_states_intervals_and_never_claims_no_effect():
    effects = {"50": {"diff": 0.3, "ci": [0.1, 0.5], "p_holm": 0.001},
               "100": {"diff": 0.02, "ci": [-0.1, 0.14], "p_holm": 0.8},
               "200": {"diff": -0.2, "ci": [-0.35, -0.05], "p_holm": 0.01}}
    text = S.describe(effects)
    assert "T=50: raises success, +0.30 [+0.10, +0.50]" in text
    assert "T=100: difference +0.02 [-0.10, +0.14], not significant" in text
    assert "T=200: lowers success" in text
    for word in ("no effect", "rejected", "changes nothing"):
        assert word not in text


def test_arm_runs_train_each_seed_once_and_reuse_rows(monkeypatch):
    config = S.LstmFailureConfig(lengths=(5,), n=40, epochs=1, snr_batches=2)
    calls = []
    real = S.train_arm

    def counting(arm, seeds, **kw):
        calls.append((arm.name, list(seeds)))
        return real(arm, seeds, **kw)

    monkeypatch.setattr(S, "train_arm", counting)
    runs = S.ArmRuns(config, lambda _msg: None)
    arm = S.lambda_arm("lstm", 1.0)
    four = runs.rows(arm, 5, [10, 11, 12, 13])
    two = runs.rows(S.headline_arms(config)["lstm_critical"][0], 5, [11, 12])
    assert calls == [("lstm_lambda_1", [10, 11, 12, 13])]
    assert [r["arm"] for r in two] == ["lstm_critical"] * 2
    # a model trained alone gives the row it got inside the batch
    alone = real(arm, [12], length=5, config=config)[0]
    np.testing.assert_equal({k: v for k, v in alone.items() if k != "arm"},
                            {k: v for k, v in four[2].items() if k != "arm"})  # NaN equals NaN here


def test_trace_rows_start_at_the_initial_model_and_end_at_the_trained_one():
    config = S.LstmFailureConfig(lengths=(5,), n=60, epochs=2, snr_batches=2)
    traces = []
    arm = S.BASE_ARMS["lstm"]
    rows = S.train_arm(arm, [3, 4], length=5, config=config, traces=traces)
    assert sorted({r["epoch"] for r in traces}) == [0, 1, 2]
    first = [r for r in traces if r["epoch"] == 0]
    initial = S.build_models(arm, [3, 4], length=5)
    np.testing.assert_array_equal([r["eig_origin"] for r in first], F.origin_jacobian_eigenvalue(initial))
    np.testing.assert_array_equal([r["eig_origin"] for r in first], [r["eig_origin"] for r in rows])
    assert [r["success"] for r in traces if r["epoch"] == 2] == [r["success"] for r in rows]


def test_changed_cell_sets_a_recurrent_block():
    base = Model.init("lstm", seeds=range(3), dtype=torch.float64)
    cell = F.changed_cell(base.cell, "U_c=0,b_f=3")
    assert torch.all(cell.named_params()["U_c"] == 0) and torch.all(cell.named_params()["b_f"] == 3)
