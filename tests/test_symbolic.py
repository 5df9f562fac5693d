"""dynlatch.symbolic against independent oracles: torch autograd of the dynlatch cells (float64), central finite
differences, the numba backend's hand-derived BPTT gradients, and REFERENCES' closed-form numbers."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import dynlatch
from _cli_fuzz import MORE_TRICKY, TRICKY, argv_of, flags_of, junk_paths, settings_or_usage_error, srnn_weights_file
from dynlatch import _fastpath as fp
from dynlatch._model import Model
from dynlatch._train import kernel_codes, pack
from dynlatch.cells import cell_class
from dynlatch.symbolic import (BENGIO_REFERENCE, DERIVATIONS, bengio_fold_curve, bengio_fold_derivation, bengio_table,
                               bptt_gradient, build_system, derive, hard_sigmoid_kinks, jacobian_product_along,
                               lambdify_entries, lstm_cell_fixed_point, lstm_origin_eigenvalues, pascanu_fold_curve,
                               trajectory)
from dynlatch.symbolic._cli import PROG as DERIVE_PROG, main as derive_main, parse as derive_parse
from dynlatch.symbolic._cli import parser as derive_parser
from dynlatch.symbolic._systems import SYSTEM_KINDS

GATES = ("sigmoid", "hard_sigmoid", "hard_sigmoid_keras3")
VARIANTS = [("srnn", "sigmoid", False, 1), ("srnn", "sigmoid", False, 2)]
VARIANTS += [("lstm", g, False, n) for g in GATES for n in (1, 2)]
VARIANTS += [("gru", g, ra, n) for g in GATES for ra in (False, True) for n in (1, 2)]
VARIANTS += [("mgu", g, False, n) for g in GATES for n in (1, 2)]
IDS = [f"{k}-{g}-{'after' if ra else 'before'}-n{n}" for k, g, ra, n in VARIANTS]
B = 200  # random points per variant (at each of two weight scales)


def _system(variant):
    kind, gate, ra, n = variant
    return build_system(kind, gate=gate, reset_after=ra, units=n)


def _cell(system, theta):
    """A batched float64 dynlatch cell with one model per row of ``theta`` (system parameter order)."""
    M = theta.shape[0]
    n, D = system.units, system.input_dim
    K = cell_class(system.kind).n_gates * n
    nb = 2 if system.reset_after else 1
    arrays = {"kernel": np.zeros((M, D, K)), "recurrent_kernel": np.zeros((M, n, K)), "bias": np.zeros((M, nb, K))}
    for i, p in enumerate(system.params):
        arrays[p.array][:, p.row, p.col] = theta[:, i]
    kw = {"reset_after": system.reset_after} if system.kind == "gru" else {}
    return cell_class(system.kind)(arrays["kernel"], arrays["recurrent_kernel"], arrays["bias"], batched=True,
                                   recurrent_activation=system.gate or "sigmoid", dtype=torch.float64, **kw)


def _autograd(system, theta, state, x, lam):
    """Next state (M, S), state Jacobian (M, S, S), parameter Jacobian (M, S, P) and adjoint (M, S + P) by autograd."""
    cell = _cell(system, theta)
    params = [p.clone().requires_grad_(True) for p in cell.params]
    cell.params = type(cell.params)(*params)
    s = torch.tensor(state[:, None, :], requires_grad=True)
    n = system.units
    xt = torch.tensor(x[:, None, :])
    out = cell.step_batched((s[..., :n], s[..., n:]) if system.kind == "lstm" else s, xt)
    out = torch.cat(out, -1) if system.kind == "lstm" else out
    S, P = len(system.state), len(system.params)

    def grads(scalar):
        g = torch.autograd.grad(scalar, [s, *params], retain_graph=True, allow_unused=True)
        arrays = {k: (t if t is not None else torch.zeros_like(p)).numpy()
                  for k, t, p in zip(("kernel", "recurrent_kernel", "bias"), g[1:], params)}
        gp = np.stack([arrays[p.array][:, p.row, p.col] for p in system.params], -1)
        return g[0][:, 0].numpy(), gp

    J, Jp = np.zeros((len(theta), S, S)), np.zeros((len(theta), S, P))
    for i in range(S):
        J[:, i], Jp[:, i] = grads(out[..., i].sum())
    gs, gp = grads((out[:, 0] * torch.tensor(lam)).sum())
    return out[:, 0].detach().numpy(), J, Jp, np.concatenate([gs, gp], -1)


def _points(system, rng, scale):
    P, S, D = len(system.params), len(system.state), len(system.inputs)
    theta = rng.normal(0, scale, (B, P))
    state = rng.uniform(-1, 1, (B, S)) * (3 if system.kind == "lstm" else 1)
    return theta, state, rng.normal(0, 1, (B, D)), rng.normal(0, 1, (B, S))


def _away_from_kinks(system, theta, state, x, margin=1e-4):
    if system.gate == "sigmoid" or not system.gate_labels:
        return np.ones(len(theta), bool)
    f = lambdify_entries((*system.param_symbols, *system.state, *system.inputs),
                         [system.preactivations[g] for g in system.gate_labels], "numpy")
    z = np.stack(np.broadcast_arrays(*f(*theta.T, *state.T, *x.T)), -1)
    lo, hi = (float(k) for k in hard_sigmoid_kinks(system.gate))
    return (np.abs(z - lo) > margin).all(-1) & (np.abs(z - hi) > margin).all(-1)


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_lambdified_equals_autograd_and_finite_differences(variant):
    system = _system(variant)
    fns = {w: derive(system, w).lambdify("numpy") for w in ("map", "jacobian", "param-jacobian", "adjoint")}
    tfns = {w: derive(system, w).lambdify("torch") for w in ("map", "jacobian", "param-jacobian", "adjoint")}
    rng = np.random.default_rng(hash(variant) % 2**32)
    # scale 0.5: mostly inside the hard sigmoids' linear region; 4: mostly outside (clipped)
    for scale in (0.5, 4.0):
        theta, state, x, lam = _points(system, rng, scale)
        ref = _autograd(system, theta, state, x, lam)
        ours = [fns["map"](theta, state, x), fns["jacobian"](theta, state, x), fns["param-jacobian"](theta, state, x),
                fns["adjoint"](theta, state, x, lam)]
        for a, r in zip(ours, ref):
            np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10)
        # the torch back-end, batched, equals the numpy one
        tt = [torch.tensor(a) for a in (theta, state, x, lam)]
        for w, a in zip(("map", "jacobian", "param-jacobian", "adjoint"), ours):
            got = tfns[w](*tt[: 4 if w == "adjoint" else 3])
            assert got.dtype == torch.float64
            np.testing.assert_allclose(got.numpy(), a, rtol=1e-12, atol=1e-12)
        # central finite differences of the lambdified map, away from the kinks
        keep = _away_from_kinks(system, theta, state, x)
        assert keep.mean() > 0.5
        eps = 1e-6
        th, st, xx = theta[keep], state[keep], x[keep]
        fd_state = np.stack([(fns["map"](th, st + eps * e, xx) - fns["map"](th, st - eps * e, xx)) / (2 * eps)
                             for e in np.eye(st.shape[1])], -1)
        np.testing.assert_allclose(fd_state, ours[1][keep], rtol=0, atol=1e-6)
        fd_param = np.stack([(fns["map"](th + eps * e, st, xx) - fns["map"](th - eps * e, st, xx)) / (2 * eps)
                             for e in np.eye(th.shape[1])], -1)
        np.testing.assert_allclose(fd_param, ours[2][keep], rtol=0, atol=1e-6)


@pytest.mark.parametrize("variant", VARIANTS[::3], ids=IDS[::3])
def test_large_preactivations_stay_finite_and_exact(variant):
    system = _system(variant)
    rng = np.random.default_rng(1)
    theta, state, x, lam = _points(system, rng, 1.0)
    for size in (50.0, 800.0):
        theta_big = np.sign(theta) * size  # every pre-activation is a sum of +-size terms: |z| of order size
        ref = _autograd(system, theta_big, state, x, lam)
        for w, r in zip(("map", "jacobian", "param-jacobian", "adjoint"), ref):
            groups = (theta_big, state, x, lam) if w == "adjoint" else (theta_big, state, x)
            for backend in ("numpy", "torch"):
                got = np.asarray(derive(system, w).lambdify(backend)(*groups))
                assert np.isfinite(got).all()
                np.testing.assert_allclose(got, r, rtol=1e-10, atol=1e-10)


def test_sigmoid_derivative_is_stable_where_sympy_plain_form_overflows():
    p = build_system("pascanu")
    f = derive(p, "jacobian").lambdify("numpy")
    out = f([[1.0, 0.0]] * 3, [[-800.0], [800.0], [-700.0]], np.zeros((3, 0)))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[:, 0, 0], [0.0, 0.0, np.exp(-700.0)], rtol=1e-12, atol=0)


def test_lambdify_broadcasts_and_batched_equals_single():
    system = build_system("gru", gate="hard_sigmoid", reset_after=True)
    f = derive(system, "jacobian").lambdify("numpy")
    rng = np.random.default_rng(3)
    theta = rng.normal(size=(5, 1, len(system.params)))
    state = rng.normal(size=(7, 1))
    batched = f(theta, state, np.zeros(1))
    assert batched.shape == (5, 7, 1, 1)
    assert batched[2, 4] == pytest.approx(f(theta[2, 0], state[4], np.zeros(1))[..., :, :].reshape(1, 1))
    with pytest.raises(ValueError, match="theta"):
        f(theta[..., :3], state, np.zeros(1))


@pytest.mark.parametrize("kind,gate,reset_after", [("srnn", "sigmoid", False), ("lstm", "sigmoid", False),
                                                    ("lstm", "hard_sigmoid", False), ("gru", "sigmoid", True),
                                                    ("gru", "hard_sigmoid_keras3", False),
                                                    ("mgu", "hard_sigmoid", False)])
@pytest.mark.parametrize("units", [1, 2])
def test_symbolic_bptt_reproduces_numba_gradients(kind, gate, reset_after, units):
    model = Model.init(kind, seeds=[0, 1, 2], units=units, recurrent_activation=gate,
                       reset_after=reset_after if kind == "gru" else None, dtype=torch.float64)
    system = build_system(kind, gate=gate, reset_after=reset_after, units=units)
    rng = np.random.default_rng(4)
    N, T = 6, 5
    X, Y = rng.normal(0, 1.5, (N, T, 1)), rng.integers(0, 2, N)
    k, act, softmax, n, C = kernel_codes(model)
    losses, grads = fp.loss_and_grad(fp.path_for(k, n, 1), k, act, softmax, pack(model), X, Y, n, C)
    theta = system.param_vector(model.cell)[:, None, :]  # (M, 1, P) against N sequences
    s0 = np.zeros(len(system.state))
    states = trajectory(system, theta, s0, X[None])
    hT = states[..., -1, :units]
    W_out, b_out = model.weight.numpy(), model.bias.numpy()
    logits = np.einsum("mbn,mnc->mbc", hT, W_out) + b_out[:, None]
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(-np.log(p[:, np.arange(N), Y]).mean(-1), losses, rtol=1e-12)
    dlogits = (p - np.eye(C)[Y]) / N
    dL_dsT = np.zeros((*hT.shape[:2], len(system.state)))
    dL_dsT[..., :units] = np.einsum("mbc,mnc->mbn", dlogits, W_out)
    g, _ = bptt_gradient(system, theta, s0, X[None], dL_dsT)
    np.testing.assert_allclose(g.sum(1), grads[:, system.flat_indices()], rtol=1e-9, atol=1e-12)


def test_jacobian_product_equals_autograd_through_the_run():
    system = build_system("lstm", gate="sigmoid")
    cell = _cell(system, np.random.default_rng(5).normal(0, 1, (4, len(system.params))))
    theta = system.param_vector(cell)
    xs = np.random.default_rng(6).normal(size=(4, 8, 1))
    s0 = np.array([0.2, -0.4])
    prod, states = jacobian_product_along(system, theta, s0, xs)

    def run(s):
        h, c = s[:1].expand(4, 1, 1), s[1:].expand(4, 1, 1)
        for t in range(8):
            h, c = cell.step_batched((h, c), torch.tensor(xs[:, None, t]))
        return torch.cat([h, c], -1)[:, 0]

    ref = torch.autograd.functional.jacobian(run, torch.tensor(s0)).numpy()
    np.testing.assert_allclose(prod, ref, rtol=1e-10, atol=1e-12)
    t_prod, _ = jacobian_product_along(system, torch.tensor(theta), torch.tensor(s0), torch.tensor(xs), backend="torch")
    np.testing.assert_allclose(t_prod.numpy(), prod, rtol=1e-12, atol=1e-14)
    assert states.shape == (4, 9, 2)


def test_bengio_fold_curve_matches_references():
    _, _, proved = bengio_fold_derivation()
    assert proved
    for row in bengio_table():
        xbar, mult, h_star = BENGIO_REFERENCE[row["w"]]
        assert round(row["xbar"], 3) == xbar and round(row["multiplier"], 3) == mult and round(row["h_star"], 3) == h_star
    # the closed form is a fold of the map: the fold derivation's residuals vanish there
    ws = np.array([1.25, 1.5, 2.0, 3.0, 7.0])
    h_star, a_star = bengio_fold_curve().lambdify("numpy")(ws[:, None]).T
    res = derive(build_system("bengio"), "fold").lambdify("numpy")(ws[:, None], a_star[:, None], h_star[:, None])
    np.testing.assert_allclose(res, 0, atol=1e-12)
    np.testing.assert_allclose(h_star, np.sqrt(ws * (ws - 1)) - np.arccosh(np.sqrt(ws)), rtol=1e-13)


def test_pascanu_fold_curve_is_a_fold_with_cusp_at_4_minus_2():
    xs = np.linspace(-4, 4, 41)
    w, b = pascanu_fold_curve().lambdify("numpy")(xs[:, None]).T
    res = derive(build_system("pascanu"), "fold").lambdify("numpy")(np.stack([w, b], -1), xs[:, None], np.zeros((41, 0)))
    np.testing.assert_allclose(res, 0, atol=1e-11)
    assert (w[20], b[20]) == pytest.approx((4.0, -2.0))
    assert w.min() == pytest.approx(4.0)


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt", "ignore:divide by zero")
def test_lstm_cell_fixed_point_and_origin_eigenvalues(gate):
    system = build_system("lstm", gate=gate)
    rng = np.random.default_rng(7)
    theta = rng.normal(0, 1, (50, len(system.params)))
    theta[:, system.param_names.index("b_f")] += 1.0
    h, x = rng.uniform(-1, 1, (50, 1)), rng.normal(size=(50, 1))
    c_star = lstm_cell_fixed_point(gate=gate).lambdify("numpy")(theta, h, x)
    ok = np.isfinite(c_star[:, 0]) & (np.abs(c_star[:, 0]) < 1e6)
    nxt = derive(system, "map").lambdify("numpy")(theta, np.concatenate([h, c_star], -1), x)
    np.testing.assert_allclose(nxt[ok, 1], c_star[ok, 0], rtol=1e-9, atol=1e-12)
    mu_p, mu_m, tr, det = lstm_origin_eigenvalues(gate=gate).lambdify("numpy")(theta).T
    J = derive(system, "jacobian").lambdify("numpy")(theta, np.zeros(2), np.zeros(1))
    np.testing.assert_allclose(tr, np.trace(J, axis1=-2, axis2=-1), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(det, np.linalg.det(J), rtol=1e-9, atol=1e-13)
    real = np.isfinite(mu_p)
    eig = np.sort(np.linalg.eigvals(J[real]).real, -1)
    np.testing.assert_allclose(np.stack([mu_m[real], mu_p[real]], -1), eig, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("gate", GATES[1:])
def test_border_collision_rows_are_distances_to_the_kinks(gate):
    system = build_system("gru", gate=gate, reset_after=True)
    d = derive(system, "border-collision")
    lo, hi = (float(k) for k in hard_sigmoid_kinks(gate))
    theta = np.zeros(len(system.params))
    theta[system.param_names.index("b_z")] = hi
    out = d.lambdify("numpy")(theta, [0.0], [0.0])
    assert out.shape == (4,) and out[1] == 0 and out[0] == hi - lo  # z row: (z - lo, z - hi)
    with pytest.raises(ValueError, match="hard-sigmoid"):
        derive(build_system("lstm"), "border-collision")


def test_every_derivation_prints():
    for variant in [v for v in VARIANTS if v[3] == 1][::2]:
        system = _system(variant)
        for what in DERIVATIONS:
            if what == "border-collision" and system.gate == "sigmoid" or (what == "border-collision" and system.kind == "srnn"):
                continue
            d = derive(system, what)
            tex, text = d.to_latex(), str(d)
            assert tex.count(r"\begin{align*}") == 1 and tex.count("{") == tex.count("}")
            assert system.label in text and len(text.splitlines()) == 1 + len(d.labels)
            json.dumps(d.to_json())


def test_latex_compiles(tmp_path, latex_tools):
    body = "\n".join(derive(build_system(k, gate="hard_sigmoid"), w).to_latex()
                     for k in ("lstm", "gru") for w in ("map", "jacobian", "fold"))
    body += bengio_fold_curve().to_latex() + pascanu_fold_curve().to_latex()
    doc = r"\documentclass{article}\usepackage{amsmath,amssymb}\allowdisplaybreaks\begin{document}" + body + r"\end{document}"
    (tmp_path / "d.tex").write_text(doc)
    r = subprocess.run([latex_tools["pdflatex"], "-interaction=nonstopmode", "d.tex"], cwd=tmp_path, capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]


# -- command line ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["nope"], ["lstm", "--what", "nope"], ["gru", "--units", "3"],
                                  ["srnn", "--reset-after"], ["lstm", "--state", "1,2"],
                                  ["lstm", "--at", "/nonexistent.json"], ["bengio", "--at", "q=1"],
                                  ["srnn", "--what", "border-collision"]])
def test_cli_bad_arguments_exit_2_with_one_line(argv, capsys):
    assert derive_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cli_fuzzed_flags_give_settings_or_one_line_and_exit_2(data, tmp_path):
    """Parse and validate only (the system is built and --at read; nothing is derived)."""
    weights = srnn_weights_file(tmp_path / "srnn.json")
    values = [*TRICKY, *MORE_TRICKY, *junk_paths(tmp_path / "junk"), weights, "w=1.5", "w=5,b=-2.5", "1e308,1"]
    cell = data.draw(st.sampled_from([*SYSTEM_KINDS, "nope", "", "--what"]), label="cell")
    argv = [cell, *argv_of(data, flags_of(derive_parser()), values)]
    parsed = settings_or_usage_error(DERIVE_PROG, derive_parse, argv)
    if parsed is not None:
        assert parsed.system.kind == parsed.args.cell
        assert parsed.groups is None or all(np.isfinite(g).all() for g in parsed.groups)


@pytest.mark.parametrize("fmt", ["text", "json", "latex"])
def test_cli_an_overflowing_value_is_an_error_not_a_printed_inf(fmt, capsys):
    """x' = w sigmoid(x) + b at w = b = 1e308, x = 10 overflows float64: one line, exit 1, no value on stdout."""
    argv = ["pascanu", "--what", "map", "--at", "w=1e308,b=1e308", "--state=10", "--format", fmt]
    assert derive_main(argv) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert captured.out == "" and len(err) == 1 and "x_t is not finite" in err[0]
    assert derive_main(["pascanu", "--what", "map", "--at", "w=1e300,b=1e300", "--state=10"]) == 0  # 2e300 is fine
    assert float(capsys.readouterr().out.split("=")[1]) == pytest.approx(2e300, rel=1e-4)


def test_cli_json_at_weights(tmp_path, capsys):
    system = build_system("lstm", gate="hard_sigmoid")
    rng = np.random.default_rng(8)
    theta = rng.normal(size=(1, len(system.params)))
    path = tmp_path / "w.json"
    cell = _cell(system, theta)
    cell.batched = False
    dynlatch.cells.save(cell, path)
    assert derive_main(["lstm", "--what", "jacobian", "--at", str(path), "--state", "0.1,0.5", "--x", "1",
                        "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["state_order"] == ["h", "c"] and np.shape(record["value"]) == (2, 2)
    ref = _autograd(system, theta, np.array([[0.1, 0.5]]), np.array([[1.0]]), np.ones((1, 2)))[1][0]
    np.testing.assert_allclose(record["value"], ref, rtol=1e-10)
    assert derive_main(["lstm", "--what", "param-jacobian", "--at", str(path), "--format", "json"]) == 0
    assert np.shape(json.loads(capsys.readouterr().out)["value"]) == (2, 12)
    assert derive_main(["pascanu", "--what", "fold", "--at", "w=5,b=-2.5", "--state", "0.3", "--format", "json"]) == 0
    assert np.shape(json.loads(capsys.readouterr().out)["value"]) == (2,)
    assert derive_main(["gru", "--reset-after", "--format", "latex"]) == 0
    assert r"\begin{align*}" in capsys.readouterr().out


def test_dynlatch_cli_dispatches_derive(capsys):
    from dynlatch._cli import main as dynlatch_main

    assert dynlatch_main(["derive", "bengio", "--what", "jacobian"]) == 0
    assert "w*(1 - tanh(a)**2)" in capsys.readouterr().out
    assert dynlatch_main(["derive", "bengio", "--what", "nope"]) == 2


def test_system_for_cell_names_a_non_cell():
    from dynlatch.symbolic import system_for_cell

    with pytest.raises(TypeError, match="expected a dynlatch cell"):
        system_for_cell("lstm")
