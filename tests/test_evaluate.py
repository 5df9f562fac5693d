"""Tests of dynlatch.evaluate.

Oracles: the torch backend (autograd through the cells' step functions) for the numba kernels (reverse mode, and
forward mode for ``wrt=``), to 1e-12 in float64;
for the torch backend itself: Model.losses (an independent forward pass), torch autograd on the cell parameters sliced
by hand per the parameter-name contract, a closed form of the squared error, and finite differences of the loss in the
initial state for the state-gradient norms.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dynlatch
from _cases import CASE_IDS, CASES
from dynlatch import SRNN, Model, cells, tasks
from dynlatch.cells import CellParams

TOL = dict(rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def data():
    d = tasks.latching(length=4, n=24, noise=0.5, seed=3)
    return d.x_train[:11], d.y_train[:11]


def make_model(kind, ra, act, *, units, readout="softmax", seeds=(3, 8), scale=2.0):
    m = Model.init(kind, seeds=list(seeds), units=units, init="torch", recurrent_activation=act, reset_after=ra,
                   readout=readout, dtype=torch.float64)
    # larger weights: the hard sigmoids reach their flat parts, the state gradients vary over time
    p = [t * scale for t in m.parameters()]
    return Model(m.cell.replace(CellParams(*p[:3])), p[3], p[4], None, readout)


def initial_state(kind, units, models, seed=0):
    rng = np.random.default_rng(seed)
    h = rng.uniform(-0.8, 0.8, size=(models, units))
    return (h, rng.uniform(-1.5, 1.5, size=(models, units))) if kind == "lstm" else h


def assert_results_equal(a, b):
    np.testing.assert_allclose(a.loss, b.loss, **TOL)
    if a.accuracy is None:
        assert b.accuracy is None
    else:
        np.testing.assert_array_equal(a.accuracy, b.accuracy)
    assert sorted(a.grads) == sorted(b.grads)
    for k in a.grads:
        np.testing.assert_allclose(a.grads[k], b.grads[k], **TOL, err_msg=k)
    np.testing.assert_allclose(a.state_grad_norms, b.state_grad_norms, **TOL)


# ----------------------------------------------------------------------------------------------------------------
# numba == torch
@pytest.mark.parametrize("kind,ra,act", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("units", [1, 3])
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("loss", ["softmax", "sigmoid", "squared_error"])
def test_numba_equals_torch(data, kind, ra, act, units, with_h0, loss):
    X, Y = data
    model = make_model(kind, ra, act, units=units, readout="sigmoid" if loss == "sigmoid" else "softmax")
    h0 = initial_state(kind, units, model.models) if with_h0 else None
    if loss == "squared_error":
        target = np.linspace(-0.6, 0.6, units)
        kw = dict(loss="squared_error", target=np.tile(target, (len(X), 1)) * np.where(Y == 1, 1, -1)[:, None])
        subject, y = model.cell, None
    else:
        kw, subject, y = {}, model, Y
    kw.update(grad=True, state_grads=True, h0=h0, chunk=(1, 4))
    a = dynlatch.evaluate(subject, X, y, backend="numba", **kw)
    b = dynlatch.evaluate(subject, X, y, backend="torch", **kw)
    assert (a.backend, b.backend) == ("numba", "torch")
    assert_results_equal(a, b)
    assert a.state_grad_norms.shape == (2, X.shape[1] + 1) and (a.state_grad_norms > 0).any()
    cls = cells.cell_class(kind)
    assert np.abs(a.grads["U_" + cls.gate_names[0] if cls.gated else "W"]).max() > 0
    if loss == "squared_error":
        assert a.accuracy is None and "W_out" not in a.grads
    else:
        assert a.grads["W_out"].shape == (2, units, 2 if loss == "softmax" else 1)


def test_numba_equals_torch_many_models_and_chunks(data):
    # a 6 x 6 grid over two recurrent weights of an LSTM, chunked over models and sequences in both backends
    X, Y = data
    base = make_model("lstm", None, "sigmoid", units=1, seeds=[0] * 36)
    W, U, b = (t.clone() for t in base.cell.params)
    g1, g2 = np.meshgrid(np.linspace(-3, 3, 6), np.linspace(-3, 3, 6))
    U[:, 0, 1] = torch.as_tensor(g1.ravel())  # U_f
    U[:, 0, 2] = torch.as_tensor(g2.ravel())  # U_c
    model = Model(base.cell.replace(CellParams(W, U, b)), base.weight, base.bias, None, "softmax")
    a = dynlatch.evaluate(model, X, Y, grad=True, state_grads=True, backend="numba", chunk=(5, 3))
    b_ = dynlatch.evaluate(model, X, Y, grad=True, state_grads=True, backend="torch", chunk=(7, 5))
    assert_results_equal(a, b_)
    whole = dynlatch.evaluate(model, X, Y, grad=True, state_grads=True, backend="numba")
    assert_results_equal(a, whole)
    # every model alone gives bit-identical numbers on the numba backend
    for m in (0, 17, 35):
        alone = dynlatch.evaluate(model.select([m]), X, Y, grad=True, state_grads=True, backend="numba")
        np.testing.assert_array_equal(alone.loss, whole.loss[m : m + 1])
        np.testing.assert_array_equal(alone.grads["U_f"], whole.grads["U_f"][m : m + 1])
        np.testing.assert_array_equal(alone.state_grad_norms, whole.state_grad_norms[m : m + 1])


# ----------------------------------------------------------------------------------------------------------------
# the torch backend against independent oracles
@pytest.mark.parametrize("kind,ra,act", CASES[:2] + CASES[4:5] + CASES[7:8] + CASES[10:11], ids=lambda c: str(c))
@pytest.mark.parametrize("readout", dynlatch.READOUTS)
def test_loss_accuracy_and_named_grads_match_model_losses(data, kind, ra, act, readout):
    X, Y = data
    n = 2
    model = make_model(kind, ra, act, units=n, readout=readout)
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    m = Model(model.cell.replace(CellParams(*params[:3])), params[3], params[4], None, readout)
    loss, correct = m.losses(torch.as_tensor(X), torch.as_tensor(Y))
    W, U, b, Wo, bo = (g.numpy() for g in torch.autograd.grad(loss.sum(), params))
    for backend in ("torch", "numba"):
        r = dynlatch.evaluate(model, X, Y, grad=True, backend=backend)
        np.testing.assert_allclose(r.loss, loss.detach().numpy(), **TOL)
        np.testing.assert_array_equal(r.accuracy, correct.numpy() / len(Y))
        # the contract: block j of gate g is columns [j n, (j + 1) n); br_* is bias row 1
        gates = {"srnn": [""], "lstm": ["_i", "_f", "_c", "_o"], "gru": ["_z", "_r", "_h"], "mgu": ["_f", "_h"]}[kind]
        expected = {"W_out": Wo, "b_out": bo}
        for g, s in enumerate(gates):
            cols = slice(g * n, (g + 1) * n)
            expected.update({"W" + s: W[:, :, cols], "U" + s: U[:, :, cols], "b" + s: b[:, 0, cols]})
            if ra:
                expected["br" + s] = b[:, 1, cols]
        assert sorted(r.grads) == sorted(expected)
        for k, v in expected.items():
            assert r.grads[k].shape == v.shape, k
            np.testing.assert_allclose(r.grads[k], v, **TOL, err_msg=k)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_squared_error_closed_form(backend):
    # one tanh unit, T = 2, from h0: h1 = tanh(w x0 + u h0 + b), h2 = tanh(w x1 + u h1 + b); L = mean 1/2 (h2 - d)^2
    w, u, b, h0 = 0.7, 1.3, -0.2, 0.4
    cell = SRNN.from_keras([[w]], [[u]], [b], dtype=torch.float64)
    X = np.array([[[0.5], [-1.0]], [[2.0], [0.3]], [[-0.4], [0.9]]])
    d = np.array([[0.8], [-0.8], [0.1]])
    r = dynlatch.evaluate(cell, X, loss="squared_error", target=d, h0=[h0], grad=True, state_grads=True,
                          backend=backend)
    h1 = np.tanh(w * X[:, 0, 0] + u * h0 + b)
    h2 = np.tanh(w * X[:, 1, 0] + u * h1 + b)
    e = h2 - d[:, 0]
    np.testing.assert_allclose(r.loss, [np.mean(0.5 * e**2)], rtol=1e-14)
    assert r.accuracy is None
    N = len(X)
    dh2 = e / N
    da2 = dh2 * (1 - h2**2)
    dh1 = da2 * u
    da1 = dh1 * (1 - h1**2)
    dh0 = da1 * u
    np.testing.assert_allclose(r.grads["W"][0, 0, 0], np.sum(da2 * X[:, 1, 0] + da1 * X[:, 0, 0]), rtol=1e-12)
    np.testing.assert_allclose(r.grads["U"][0, 0, 0], np.sum(da2 * h1 + da1 * h0), rtol=1e-12)
    np.testing.assert_allclose(r.grads["b"][0, 0], np.sum(da2 + da1), rtol=1e-12)
    np.testing.assert_allclose(r.state_grad_norms[0], [np.linalg.norm(v) for v in (dh0, dh1, dh2)], rtol=1e-12)


@pytest.mark.parametrize("kind,ra,act", [CASES[0], CASES[1], CASES[4], CASES[9], CASES[12]], ids=lambda c: str(c))
def test_state_grad_norms_by_finite_differences(data, kind, ra, act):
    # one sequence: dL/ds_t is the derivative of the loss of the suffix x[t:] started from s_t, by central
    # differences in h0 (and c0); at t = T it is the read-out gradient (p - onehot) W_out^T
    X, Y = data[0][:1], data[1][:1]
    n, T, eps = 2, X.shape[1], 1e-6
    model = make_model(kind, ra, act, units=n, seeds=(5,))
    r = dynlatch.evaluate(model, X, Y, state_grads=True, backend="torch")
    cell = model.cell
    s = cell.zero_state(1)
    states = [s]
    with torch.no_grad():
        for t in range(T):
            s = cell.step_batched(s, torch.as_tensor(X[:, t]))
            states.append(s)
    lstm = kind == "lstm"
    for t in range(T):
        st = [a[0].numpy().copy() for a in (states[t] if lstm else (states[t],))]
        grad = []
        for part in range(len(st)):
            for j in range(n):
                vals = []
                for sign in (1, -1):
                    pert = [a.copy() for a in st]
                    pert[part][0, j] += sign * eps
                    h0 = tuple(pert) if lstm else pert[0]
                    vals.append(dynlatch.evaluate(model, X[:, t:], Y, h0=h0, backend="torch").loss[0])
                grad.append((vals[0] - vals[1]) / (2 * eps))
        np.testing.assert_allclose(r.state_grad_norms[0, t], np.linalg.norm(grad), rtol=1e-6, err_msg=f"t={t}")
    hT = cell.hidden(states[T])[0, 0].numpy()
    logits = hT @ model.weight[0].numpy() + model.bias[0].numpy()
    p = np.exp(logits - logits.max())
    p /= p.sum()
    p[Y[0]] -= 1.0
    # the loss reads h_T only, so dL/dc_T = 0 for the LSTM
    np.testing.assert_allclose(r.state_grad_norms[0, T], np.linalg.norm(model.weight[0].numpy() @ p), rtol=1e-12)


def test_state_grad_norm_is_the_frobenius_norm_over_sequences(data):
    # L = mean_p C_p, so ||dL/ds_t||^2 = sum_p ||dC_p/ds_t||^2 / N^2
    X, Y = data[0][:3], data[1][:3]
    model = make_model("gru", True, "sigmoid", units=2)
    whole = dynlatch.evaluate(model, X, Y, state_grads=True, backend="numba").state_grad_norms
    single = [dynlatch.evaluate(model, X[p : p + 1], Y[p : p + 1], state_grads=True, backend="numba").state_grad_norms
              for p in range(3)]
    np.testing.assert_allclose(whole, np.sqrt(sum(s**2 for s in single)) / 3, rtol=1e-13)


# ----------------------------------------------------------------------------------------------------------------
# inputs
def test_single_cell_and_seedless_model(data):
    X, _ = data
    cell = cells.LSTM.from_keras(np.full((1, 8), 0.3), np.full((2, 8), -0.4), np.zeros(8), dtype=torch.float64)
    r = dynlatch.evaluate(cell, X, loss="squared_error", target=[0.5, -0.5], grad=True, h0=([0.1, 0.2], [0.0, 1.0]))
    assert r.loss.shape == (1,) and r.grads["U_f"].shape == (1, 2, 2) and r.backend == "numba"
    batched = cells.stack([cell, cell])
    r2 = dynlatch.evaluate(batched, X, loss="squared_error", target=[0.5, -0.5], grad=True,
                           h0=([0.1, 0.2], [0.0, 1.0]))
    np.testing.assert_array_equal(r2.loss, [r.loss[0]] * 2)


def test_float32_model_evaluates_in_float64_on_numba_and_float32_on_torch(data):
    X, Y = data
    m64 = make_model("srnn", None, "sigmoid", units=2)
    m32 = Model(m64.cell.to(torch.float32), m64.weight.float(), m64.bias.float(), None, "softmax")
    a = dynlatch.evaluate(m32, X, Y, backend="numba")
    np.testing.assert_allclose(a.loss, dynlatch.evaluate(m32.to(torch.float64), X, Y, backend="numba").loss, rtol=0)
    b = dynlatch.evaluate(m32, X, Y, backend="torch")
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-5)


# ----------------------------------------------------------------------------------------------------------------
# forward-mode gradients of chosen parameters (wrt=) == autograd
WRT = {"srnn": ["U", "b", "W_out"], "lstm": ["b_f", "U_c", "W_i", "b_out"], "gru": ["U_h", "b_z", "W_r"],
       "mgu": ["U_f", "b_h", "W_f", "U_h"]}


@pytest.mark.parametrize("kind,ra,act", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("units", [1, 2])
@pytest.mark.parametrize("loss", ["softmax", "sigmoid", "squared_error"])
def test_wrt_forward_mode_equals_torch_autograd(data, kind, ra, act, units, loss):
    """The tangent kernel's gradients of the named blocks equal autograd's (the torch backend) and the reverse-mode
    kernel's, with a nonzero initial state; the loss and accuracy equal the plain evaluation's."""
    X, Y = data
    model = make_model(kind, ra, act, units=units, readout="sigmoid" if loss == "sigmoid" else "softmax")
    names = [w for w in WRT[kind] if not (loss == "squared_error" and w.endswith("_out"))]
    if ra:
        names.append("br_r")
    h0 = initial_state(kind, units, model.models, seed=1)
    if loss == "squared_error":
        kw = dict(loss="squared_error", target=np.tile(np.linspace(-0.5, 0.5, units), (len(X), 1)))
        subject, y = model.cell, None
    else:
        kw, subject, y = {}, model, Y
    fwd = dynlatch.evaluate(subject, X, y, backend="numba", wrt=names, h0=h0, chunk=(1, 4), **kw)
    ref = dynlatch.evaluate(subject, X, y, backend="torch", grad=True, h0=h0, **kw)
    rev = dynlatch.evaluate(subject, X, y, backend="numba", grad=True, h0=h0, **kw)
    assert sorted(fwd.grads) == sorted(names) and fwd.state_grad_norms is None
    np.testing.assert_allclose(fwd.loss, ref.loss, **TOL)
    if fwd.accuracy is not None:
        np.testing.assert_array_equal(fwd.accuracy, ref.accuracy)
    for k in names:
        assert fwd.grads[k].shape == ref.grads[k].shape
        np.testing.assert_allclose(fwd.grads[k], ref.grads[k], **TOL, err_msg=k)
        np.testing.assert_allclose(fwd.grads[k], rev.grads[k], **TOL, err_msg=k)
    assert max(np.abs(fwd.grads[k]).max() for k in names) > 1e-3


def one_unit_lstm(seeds: list[int], input_dim: int, act: str) -> Model:
    """One-unit LSTMs with torch-init parameters doubled (gates away from their linear range), softmax read-out."""
    m = Model.init("lstm", seeds=seeds, units=1, input_dim=input_dim, init="torch", recurrent_activation=act,
                   dtype=torch.float64)
    p = [t * 2.0 for t in m.parameters()]
    return Model(m.cell.replace(CellParams(*p[:3])), p[3], p[4], None, "softmax")


@pytest.mark.parametrize("act", dynlatch.GATE_ACTIVATIONS)
@pytest.mark.parametrize("input_dim", [1, 3])
def test_wrt_one_unit_lstm_kernel_equals_torch_autograd(act, input_dim):
    """The fused one-unit LSTM tangent kernel (inputs read in place, D = 1 inline, D > 1 in passes), odd and even T,
    more sequences than one chunk, every kind of parameter."""
    rng = np.random.default_rng(input_dim)
    for T in (5, 6):
        X, Y = rng.normal(size=(13, T, input_dim)), rng.integers(0, 2, 13)
        m = one_unit_lstm([1, 2], input_dim, act)
        names = ["W_f", "U_c", "b_o", "W_i", "U_o", "b_out"]
        h0 = initial_state("lstm", 1, 2, seed=T)
        fwd = dynlatch.evaluate(m, X, Y, backend="numba", wrt=names, h0=h0, chunk=(1, 4))
        ref = dynlatch.evaluate(m, X, Y, backend="torch", grad=True, h0=h0)
        np.testing.assert_allclose(fwd.loss, ref.loss, **TOL)
        for k in names:
            np.testing.assert_allclose(fwd.grads[k], ref.grads[k], **TOL, err_msg=k)


TWO_PARAMETERS = {1: [["b_f", "U_c"], ["W_o", "U_i"], ["W_c", "b_o"], ["b_out"]], 2: [["W_o"], ["W_f"]],
                  3: [["U_o", "b_f"], ["U_c", "b_i"], ["W_out"]]}


@pytest.mark.parametrize("act", dynlatch.GATE_ACTIVATIONS)
@pytest.mark.parametrize("input_dim", sorted(TWO_PARAMETERS))
def test_wrt_one_unit_lstm_two_parameters_equals_torch_autograd(act, input_dim):
    """Exactly two chosen parameters (a surface's case, which the one-unit kernel fuses into one loop per step):
    every gate column, every kind of parameter, input rows other than the first, read-out parameters (no state
    tangent), odd and even T, more sequences than one chunk."""
    rng = np.random.default_rng(10 + input_dim)
    for T in (5, 6):
        X, Y = rng.normal(size=(13, T, input_dim)), rng.integers(0, 2, 13)
        m = one_unit_lstm([3, 4], input_dim, act)
        h0 = initial_state("lstm", 1, 2, seed=T)
        ref = dynlatch.evaluate(m, X, Y, backend="torch", grad=True, h0=h0)
        for names in TWO_PARAMETERS[input_dim]:
            fwd = dynlatch.evaluate(m, X, Y, backend="numba", wrt=names, h0=h0, chunk=(1, 4))
            assert sum(fwd.grads[k][0].size for k in names) == 2
            np.testing.assert_allclose(fwd.loss, ref.loss, **TOL)
            for k in names:
                np.testing.assert_allclose(fwd.grads[k], ref.grads[k], **TOL, err_msg=f"{names}: {k}")
                assert np.abs(fwd.grads[k]).max() > 1e-4, k


def test_wrt_with_state_grads_and_on_torch_selects_the_named_blocks(data):
    X, Y = data
    model = make_model("lstm", None, "hard_sigmoid", units=2)
    full = dynlatch.evaluate(model, X, Y, backend="torch", grad=True, state_grads=True)
    for backend in ("numba", "torch"):
        r = dynlatch.evaluate(model, X, Y, backend=backend, wrt=["U_f", "b_out"], state_grads=True)
        assert sorted(r.grads) == ["U_f", "b_out"]
        for k in r.grads:
            np.testing.assert_allclose(r.grads[k], full.grads[k], **TOL)
        np.testing.assert_allclose(r.state_grad_norms, full.state_grad_norms, **TOL)


def test_wrt_forward_mode_nan_where_the_loss_diverges(data):
    X, Y = data
    model = make_model("srnn", None, "sigmoid", units=1)
    scale = torch.tensor([1.0, 1e308], dtype=torch.float64)[:, None, None]  # model 1's logits overflow
    big = Model(model.cell, model.weight * scale, model.bias, None, model.readout)
    a = dynlatch.evaluate(big, X, Y, backend="numba", wrt=["U"])
    b = dynlatch.evaluate(big, X, Y, backend="numba", grad=True)
    assert np.isfinite(a.loss[0]) and not np.isfinite(a.loss[1])
    assert np.isfinite(a.grads["U"][0]).all() and np.isnan(a.grads["U"][1]).all()
    np.testing.assert_allclose(a.grads["U"][0], b.grads["U"][0], **TOL)


@pytest.mark.parametrize(
    "wrt,match",
    [("U", "list of parameter names"), ([], "at least one"), (["U", "U"], "twice"), (["U_c"], "wrt: srnn has no"),
     ([3], "list of parameter names")],
)
def test_bad_wrt(data, wrt, match):
    X, Y = data
    with pytest.raises(ValueError, match=match):
        dynlatch.evaluate(make_model("srnn", None, "sigmoid", units=1), X, Y, wrt=wrt)
    with pytest.raises(ValueError, match="wrt: srnn has no parameter 'W_out'"):
        dynlatch.evaluate(make_model("srnn", None, "sigmoid", units=1).cell, X, loss="squared_error", target=[0.0],
                          wrt=["W_out"])


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(loss="mse"), "loss"),
        (dict(backend="jax"), "backend"),
        (dict(chunk=(0, 4)), "chunk"),
        (dict(chunk="big"), "chunk"),
        (dict(grad=1), "grad"),
        (dict(h0=np.zeros(3)), "h0"),
        (dict(h0=np.full(2, np.nan)), "h0"),
        (dict(target=[0.0, 0.0]), "target"),
        (dict(y=np.array([1, 2] * 5 + [1])), "y"),
        (dict(y=np.zeros(10, dtype=int)), "y"),
        (dict(x=np.zeros((11, 4, 2))), "x"),
    ],
)
def test_bad_arguments(data, kw, match):
    X, Y = data
    model = make_model("srnn", None, "sigmoid", units=2)
    args = dict(x=X, y=Y)
    args.update({k: kw.pop(k) for k in ("x", "y") if k in kw})
    with pytest.raises(ValueError, match=match):
        dynlatch.evaluate(model, args["x"], args["y"], **kw)


def test_loss_and_model_kind_mismatches(data):
    X, Y = data
    model = make_model("lstm", None, "sigmoid", units=2)
    with pytest.raises(ValueError, match="Model"):
        dynlatch.evaluate(model.cell, X, Y)
    with pytest.raises(ValueError, match="y"):
        dynlatch.evaluate(model, X, Y, loss="squared_error", target=[0.0, 0.0])
    with pytest.raises(ValueError, match="target"):
        dynlatch.evaluate(model, X, loss="squared_error")
    with pytest.raises(ValueError, match="pair"):
        dynlatch.evaluate(model, X, Y, h0=np.zeros(2))
    with pytest.raises(ValueError, match="model"):
        dynlatch.evaluate("lstm", X, Y)
