"""The explorer's computations (dynlatch._explore) against closed forms and the library, and its command's flags."""

import json
import math
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from _cli_fuzz import MORE_TRICKY, TRICKY, argv_of, flags_of, junk_paths, settings_or_usage_error, srnn_weights_file
from dynlatch import _explore as ex
from dynlatch import cells, dynamics
from dynlatch._explore_cli import PROG, main, parse, parser
from dynlatch.studies._lstm_failure_features import LogisticFit

pytest.importorskip("bokeh", reason="the explorer's page needs Bokeh (the explore extra)")
from dynlatch._explore_page import PageSettings, settings_from_weights  # noqa: E402  (after the Bokeh check)


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def test_srnn_reduced_map_is_tanh_of_the_recurrent_input():
    cell = ex.one_unit_cell("srnn", params={"U": 1.7, "b": -0.2})
    h = np.linspace(-1, 1, 11)
    assert np.allclose(ex.reduced_map(cell, h), np.tanh(1.7 * h - 0.2), atol=1e-15, rtol=0)


def test_lstm_reduced_map_is_o_tanh_of_the_fixed_cell_state():
    """Sigmoid gates, every parameter set by hand: Phi(h) = o tanh(i g / (1 - f)) transcribed from the equations."""
    p = {"U_i": 0.3, "U_f": -0.4, "U_c": 2.5, "U_o": 0.7, "b_i": 0.1, "b_f": 1.5, "b_c": 0.2, "b_o": -0.3}
    cell = ex.one_unit_cell("lstm", gate="sigmoid", params=p)
    h = np.linspace(-1, 1, 9)
    i, f, o = (sigmoid(p[f"U_{k}"] * h + p[f"b_{k}"]) for k in "ifo")
    g = np.tanh(p["U_c"] * h + p["b_c"])
    assert np.allclose(ex.reduced_map(cell, h), o * np.tanh(i * g / (1 - f)), atol=1e-13, rtol=0)


@pytest.mark.parametrize("kind", ["srnn", "lstm", "gru"])
def test_fixed_points_lie_on_the_diagonal_of_the_reduced_map(kind):
    cell = ex.one_unit_cell(kind, gate="sigmoid", seed=3)
    points = ex.fixed_point_views(cell)
    reference = dynamics.fixed_points(cell, periods=(1,))
    assert len(points) == len(reference) >= 1
    for p in points:
        assert abs(ex.reduced_map(cell, [p.h])[0] - p.h) < 1e-9


@pytest.mark.parametrize("U, stable, total", [(0.5, 1, 1), (0.99, 1, 1), (1.01, 2, 3), (1.5, 2, 3)])
def test_srnn_pitchfork_at_U_1(U, stable, total):
    """tanh(U h) = h has the root 0 alone for |U| <= 1 and two stable roots beside an unstable 0 for U > 1."""
    points = ex.fixed_point_views(ex.one_unit_cell("srnn", params={"U": U, "b": 0.0}))
    assert (ex.stable_count(points), len(points)) == (stable, total)
    for p in points:
        assert p.h == pytest.approx(math.tanh(U * p.h), abs=1e-12)
        assert p.eigenvalue.real == pytest.approx(U * (1 - p.h**2), abs=1e-9)


@pytest.mark.parametrize("U_c", [-1.0, 0.0, 0.8, 2.0])
def test_keras2_lstm_start_eigenvalue_is_f0_plus_o0_i0_U_c(U_c):
    """Hard-sigmoid Keras-2 LSTM(1), b_f = 1, other biases 0: lambda = 0.7 + 0.25 U_c (docs/explanation.md)."""
    cell = ex.one_unit_cell("lstm", params={"U_c": U_c})
    assert ex.start_eigenvalue(cell) == pytest.approx(0.7 + 0.25 * U_c, abs=1e-12)


def test_bifurcation_points_follow_the_pitchfork():
    values = np.linspace(-2, 2, 41)
    diagram = ex.bifurcation_points(ex.one_unit_cell("srnn", params={"b": 0.0}), "U", values)
    counts = {v: int(np.sum(diagram["value"] == v)) for v in values}
    assert all(counts[v] == (3 if v > 1 + 1e-9 else 1) for v in values)
    assert np.allclose(diagram["h"], np.tanh(diagram["value"] * diagram["h"]), atol=1e-10)
    assert not diagram["stable"][(diagram["value"] > 1) & (diagram["h"] == 0)].any()


def test_pulse_gradient_decay_of_a_contracting_srnn_is_log_U():
    """U = 0.5, b = 0: the pulse dies out at the origin, where the Jacobian is U; the driven trajectory's rates (the
    Lyapunov exponent and the fitted slope) approach log U as the transient's share of T shrinks."""
    decay = ex.pulse_gradient_decay(ex.one_unit_cell("srnn", params={"U": 0.5, "b": 0.0}), 400)
    assert decay.log_norms.shape == (1, 401)
    assert decay.predicted_log_rate[0] == pytest.approx(math.log(0.5), abs=2e-3)
    assert decay.fitted_log_rate[0] == pytest.approx(math.log(0.5), abs=2e-3)


def test_predicted_success_is_the_logistic_model_by_hand():
    coefficients = {"retention": 2.0, "stable_fixed_points": -0.5, "intercept": 0.3,
                    "feature_mean": {"retention": -10.0, "stable_fixed_points": 1.0},
                    "feature_scale": {"retention": 20.0, "stable_fixed_points": 0.5}}
    fit = LogisticFit.from_dict(coefficients)
    retention = 50 * math.log(0.9)
    eta = 0.3 + 2.0 * (retention + 10.0) / 20.0 - 0.5 * (2 - 1.0) / 0.5
    assert ex.predicted_success(fit, eigenvalue=complex(-0.9, 0), stable_fixed_points=2, length=50) == pytest.approx(
        1 / (1 + math.exp(-eta)), rel=1e-12)


def test_read_predictors(tmp_path):
    coefficients = {"retention": 1.0, "stable_fixed_points": 0.0, "intercept": 0.0,
                    "feature_mean": {"retention": 0.0, "stable_fixed_points": 0.0},
                    "feature_scale": {"retention": 1.0, "stable_fixed_points": 1.0}}
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"predictor": {"coefficients": {"lstm": {"100": coefficients, "200": None}}}}))
    fits = ex.read_predictors(path)
    assert list(fits) == ["lstm"] and list(fits["lstm"]) == [100]
    assert fits["lstm"][100].probability(np.array([[0.0, 0.0]]))[0] == 0.5
    path.write_text(json.dumps({"success": {}}))
    with pytest.raises(ValueError, match="no predictor"):
        ex.read_predictors(path)


@pytest.mark.parametrize("coefficients", [{"lstm": {"5": {"x": 1}}}, {"lstm": {"T5": {"intercept": 0}}},
                                          {"lstm": {"5": [1]}},
                                          {"lstm": {"5": {"feature_mean": {"r": 0}, "intercept": "x"}}}])
def test_damaged_predictor_coefficients_are_a_value_error_naming_the_file(coefficients, tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"predictor": {"coefficients": coefficients}}))
    with pytest.raises(ValueError, match="summary.json: a predictor's coefficients are damaged"):
        ex.read_predictors(path)


def test_a_predictor_file_that_is_not_json_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "summary.json"
    path.write_bytes(b"\xff\xfe not json")
    with pytest.raises(ValueError, match="summary.json is not JSON"):
        ex.read_predictors(path)


def test_weight_file_sets_kind_gate_and_parameters(tmp_path):
    cell = cells.GRU.init(seed=4, recurrent_activation="sigmoid", reset_after=True, dtype=torch.float64)
    path = cells.save(cell, tmp_path / "gru.json")
    settings = settings_from_weights(path, PageSettings())
    assert (settings.kind, settings.gate, settings.options) == ("gru", "sigmoid", {"reset_after": True})
    rebuilt = ex.one_unit_cell(settings.kind, gate=settings.gate, params=settings.params, **settings.options)
    assert ex.scalar_params(rebuilt) == ex.scalar_params(cell)
    cells.save(cells.GRU.init(units=2, seed=0), tmp_path / "two.json")
    with pytest.raises(ValueError, match="one-unit"):
        settings_from_weights(tmp_path / "two.json", PageSettings())


@pytest.mark.parametrize("argv", [["--port", "abc"], ["--port", "70000"], ["--weights", "missing.json"],
                                  ["--frobnicate"]])
def test_bad_flag_is_one_line_and_exit_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("dynlatch explore: error"), err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_flags_give_settings_or_one_line_and_exit_2(data, tmp_path):
    """Parse and validate only (the files are read, no server starts)."""
    weights = srnn_weights_file(tmp_path / "w.json")
    values = [*TRICKY, *MORE_TRICKY, *junk_paths(tmp_path / "junk"), weights, "5006", "65535", "65536"]
    argv = argv_of(data, flags_of(parser()), values)
    parsed = settings_or_usage_error(PROG, parse, argv)
    if parsed is not None:
        assert 1 <= parsed.port <= 65535 and (parsed.cell is None or parsed.cell.units == 1)


def test_ctrl_c_is_one_line_and_exit_130(free_port):
    server = subprocess.Popen([sys.executable, "-m", "dynlatch", "explore", "--port", str(free_port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.strip() == f"dynlatch explore: serving http://127.0.0.1:{free_port}/ (Ctrl-C stops it)"
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode == 130 and out == "" and err.strip().splitlines() == ["dynlatch explore: stopped (Ctrl-C)"]
