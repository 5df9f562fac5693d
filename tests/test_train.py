"""Tests of dynlatch.train and its two backends.

Oracles: torch autograd + torch.optim.Adam (the "torch" backend) for the compiled "numba" backend; central finite
differences for both gradients; training models one at a time for the batched trainer.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dynlatch
from _cases import CASE_IDS, CASES
from dynlatch import _fastpath as fp
from dynlatch import _train, tasks
from dynlatch._model import Model
from dynlatch.cells import CellParams
from dynlatch.cells._init import ORDER_STREAM, model_rng

HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")


@pytest.fixture(scope="module")
def data():
    return tasks.latching(length=6, n=200, noise=0.3, seed=1)


def make_model(kind, reset_after, act, *, seeds=(0, 1), units=1, readout="softmax", init="keras2",
               dtype=torch.float64, input_dim=1):
    return Model.init(kind, seeds=list(seeds), units=units, input_dim=input_dim, init=init,
                      recurrent_activation=act, reset_after=reset_after, readout=readout, dtype=dtype)


def params_of(result):
    return _train.pack(result.model)


def assert_results_close(a, b, atol=1e-10):
    np.testing.assert_allclose(params_of(a), params_of(b), atol=atol, rtol=0)
    for k in HISTORY_KEYS:
        np.testing.assert_allclose(a.history[k], b.history[k], atol=atol, rtol=0, err_msg=k)
    np.testing.assert_array_equal(a.diverged, b.diverged)
    np.testing.assert_array_equal(a.epochs_run, b.epochs_run)


# ----------------------------------------------------------------------------------------------------------------
# numba backend == torch backend
@pytest.mark.parametrize("kind,reset_after,act", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("readout", dynlatch.READOUTS)
@pytest.mark.parametrize("units", [1, 3])
@pytest.mark.parametrize("clip_norm", [None, 0.05])
def test_numba_equals_torch_backend(data, kind, reset_after, act, readout, units, clip_norm):
    init = "keras2" if clip_norm is None else "torch"
    model = make_model(kind, reset_after, act, seeds=(2, 7), units=units, readout=readout, init=init)
    settings = dict(epochs=2, batch_size=16, lr=1e-2, clip_norm=clip_norm)
    a = dynlatch.train(model, data, backend="numba", **settings)
    b = dynlatch.train(model, data, backend="torch", **settings)
    assert a.backend == "numba" and b.backend == "torch"
    assert not a.diverged.any()
    assert_results_close(a, b)
    if clip_norm is not None:  # clipping was active: the unclipped run differs
        free = dynlatch.train(model, data, backend="numba", **{**settings, "clip_norm": None})
        assert np.abs(params_of(free) - params_of(a)).max() > 1e-6
    # training changed the parameters, and the result keeps the model's type, dtype and options
    assert np.abs(params_of(a) - _train.pack(model)).max() > 1e-3
    for r in (a, b):
        assert r.model.cell._options() == model.cell._options() and r.model.readout == readout
        assert r.model.weight.dtype == torch.float64 and r.model.seeds == model.seeds
        assert r.history["val_acc"].shape == (2, 2) and (r.epochs_run == 2).all()
        assert r.settings["clip_norm"] == clip_norm


def test_clipping_changes_training_and_matches_torch(data):
    # with a tiny clip norm the clipped run differs from the unclipped one (clipping is active), and the backends agree
    model = make_model("lstm", None, "sigmoid", init="torch", units=3)
    clipped = dynlatch.train(model, data, epochs=1, lr=1e-2, clip_norm=1e-3, backend="numba")
    free = dynlatch.train(model, data, epochs=1, lr=1e-2, backend="numba")
    assert np.abs(params_of(clipped) - params_of(free)).max() > 1e-6
    torch_clipped = dynlatch.train(model, data, epochs=1, lr=1e-2, clip_norm=1e-3, backend="torch")
    assert_results_close(clipped, torch_clipped)


def test_float32_model_trains_in_both_backends(data):
    model = make_model("gru", True, "sigmoid", dtype=torch.float32, init="torch", units=2)
    a = dynlatch.train(model, data, epochs=1, backend="numba")
    b = dynlatch.train(model, data, epochs=1, backend="torch")
    assert a.model.weight.dtype == torch.float32 and b.model.weight.dtype == torch.float32
    np.testing.assert_allclose(params_of(a), params_of(b), atol=1e-4)


def test_auto_backend(data):
    model = make_model("srnn", None, "sigmoid")
    r = dynlatch.train(model, data, epochs=1)
    assert r.backend == "numba"
    assert_results_close(r, dynlatch.train(model, data, epochs=1, backend="numba"), atol=0)


# ----------------------------------------------------------------------------------------------------------------
# gradients against central finite differences
def _fd_models(model, theta, eps):
    """A model batch holding theta +- eps e_p for every parameter p of model 0 (rows 2p, 2p+1)."""
    P = theta.shape[1]
    plus = theta[0] + eps * np.eye(P)
    minus = theta[0] - eps * np.eye(P)
    return np.stack([plus, minus], axis=1).reshape(2 * P, P)


def loss_and_grad(kind_c, act_c, softmax, theta, X, Y, n, C):
    """``fp.loss_and_grad`` on the path the drivers choose for the model (one-unit kernels or generic)."""
    return fp.loss_and_grad(fp.path_for(kind_c, n, X.shape[2]), kind_c, act_c, softmax, theta, X, Y, n, C)


def _batch(units, seed, N=8, T=5, D=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, size=(N, T, D))
    Y = rng.integers(0, 2, size=N).astype(np.int64)
    Y[:2] = [0, 1]
    return np.ascontiguousarray(X), Y


def _torch_grad(model, X, Y):
    """(losses (M,), packed gradient (M, P)) by torch autograd on Model.losses."""
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    m = Model(model.cell.replace(CellParams(*params[:3])), params[3], params[4], model.seeds, model.readout)
    loss, _ = m.losses(torch.as_tensor(X), torch.as_tensor(Y))
    grads = torch.autograd.grad(loss.sum(), params)
    g = Model(model.cell.replace(CellParams(*grads[:3])), grads[3], grads[4], model.seeds, model.readout)
    return loss.detach().numpy(), _train.pack(g)


@pytest.mark.parametrize("kind,reset_after,act", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("readout", dynlatch.READOUTS)
@pytest.mark.parametrize("units", [1, 3])
def test_gradients_match_finite_differences(kind, reset_after, act, readout, units):
    model = make_model(kind, reset_after, act, seeds=(4,), units=units, readout=readout, init="torch",
                       input_dim=2)
    theta = _train.pack(model) * 2.5  # weights large enough to use the flat parts of the hard sigmoids
    model = _train.unpack(model, theta)
    X, Y = _batch(units, seed=units)
    codes = _train.kernel_codes(model)
    kind_c, act_c, softmax, n, C = codes
    assert (n, C) == (units, 2 if readout == "softmax" else 1)

    loss_nb, grad_nb = loss_and_grad(kind_c, act_c, softmax, theta, X, Y, n, C)
    loss_t, grad_t = _torch_grad(model, X, Y)
    # the two forward passes agree, and so do the two gradients
    np.testing.assert_allclose(loss_nb, loss_t, rtol=1e-12, atol=0)
    np.testing.assert_allclose(grad_nb, grad_t, rtol=1e-9, atol=1e-12)
    P = theta.shape[1]
    if not (kind == "gru" and reset_after):  # bias row 1 is not a parameter of these cells
        oW, oU, ob0, ob1, oWo, obo, P_ = fp.layout(kind_c, n, 2, C)
        assert P_ == P
        np.testing.assert_array_equal(grad_nb[:, ob1:oWo], 0.0)

    eps = 1e-6
    big = _fd_models(model, theta, eps)
    # numba: finite differences of its own loss
    fd_losses, _ = loss_and_grad(kind_c, act_c, softmax, big, X, Y, n, C)
    fd_nb = (fd_losses[0::2] - fd_losses[1::2]) / (2 * eps)
    np.testing.assert_allclose(grad_nb[0], fd_nb, rtol=1e-5, atol=1e-7)
    # torch: finite differences of Model.losses, a forward pass written independently of the kernels
    template = make_model(kind, reset_after, act, seeds=range(2 * P), units=units, readout=readout, init="torch",
                          input_dim=2)
    with torch.no_grad():
        fd_t_losses, _ = _train.unpack(template, big).losses(torch.as_tensor(X), torch.as_tensor(Y))
    fd_t = (fd_t_losses[0::2] - fd_t_losses[1::2]).numpy() / (2 * eps)
    np.testing.assert_allclose(grad_t[0], fd_t, rtol=1e-5, atol=1e-7)
    assert np.abs(grad_nb).max() > 1e-3  # not trivially zero


def test_hard_sigmoid_gradient_is_zero_when_saturated():
    # an LSTM whose gates are all pushed far past the kink (|0.2 z| > 0.5 + margin) gets no gate-weight gradient
    model = make_model("lstm", None, "hard_sigmoid", seeds=(0,), units=1, init="torch")
    W, U, b = (p.clone() for p in model.cell.params)
    b[..., :] = torch.tensor([10.0, 10.0, 0.5, 10.0], dtype=torch.float64)  # i, f, c, o
    W.mul_(0.01), U.mul_(0.01)
    model = Model(model.cell.replace(CellParams(W, U, b)), model.weight, model.bias, model.seeds, model.readout)
    X, Y = _batch(1, seed=0, D=1)
    theta = _train.pack(model)
    kind_c, act_c, softmax, n, C = _train.kernel_codes(model)
    _, g = loss_and_grad(kind_c, act_c, softmax, theta, X, Y, n, C)
    oW, oU, ob0, ob1, oWo, obo, P = fp.layout(kind_c, n, 1, C)
    gates_of = lambda off: g[0, off : off + 4]  # noqa: E731  (D = n = 1: one entry per gate)
    for off in (oW, oU, ob0):
        np.testing.assert_array_equal(gates_of(off)[[0, 1, 3]], 0.0)
        assert gates_of(off)[2] != 0.0


@pytest.mark.parametrize("act,kink", [("hard_sigmoid", 2.5), ("hard_sigmoid_keras3", 3.0)])
def test_hard_sigmoid_kink_convention_matches_torch(act, kink):
    # forget-gate pre-activation exactly at the upper kink (zero weights, bias = kink): torch.clamp passes the
    # gradient on the closed interval, and the kernels must use the same convention
    model = make_model("lstm", None, act, seeds=(0,), units=1, init="torch")
    W, U, b = (torch.zeros_like(p) for p in model.cell.params)
    b[..., :] = torch.tensor([0.0, kink, 0.5, 0.0], dtype=torch.float64)
    model = Model(model.cell.replace(CellParams(W, U, b)), model.weight, model.bias, model.seeds, model.readout)
    X, Y = _batch(1, seed=2, D=1)
    kind_c, act_c, softmax, n, C = _train.kernel_codes(model)
    _, g_nb = loss_and_grad(kind_c, act_c, softmax, _train.pack(model), X, Y, n, C)
    _, g_t = _torch_grad(model, X, Y)
    np.testing.assert_allclose(g_nb, g_t, rtol=1e-10, atol=1e-14)
    ob0 = fp.layout(kind_c, n, 1, C)[2]
    assert g_t[0, ob0 + 1] != 0.0  # the forget-gate bias gets the slope's gradient at the kink


@pytest.mark.parametrize("kind,reset_after,act", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("readout", dynlatch.READOUTS)
def test_one_unit_kernels_equal_torch_autograd(kind, reset_after, act, readout):
    """One unit and one input run through the kinds' one-unit kernels, in blocks of LANES sequences: 37 sequences
    fill two blocks and part of a third. Loss and every gradient equal torch autograd to 1e-12."""
    model = make_model(kind, reset_after, act, seeds=(4, 9), readout=readout, init="torch")
    theta = _train.pack(model) * 2.5  # weights large enough to use the flat parts of the hard sigmoids
    model = _train.unpack(model, theta)
    X, Y = _batch(1, seed=5, N=37, T=7, D=1)
    kind_c, act_c, softmax, n, C = _train.kernel_codes(model)
    assert fp.path_for(kind_c, n, X.shape[2]).unit == (kind != "mgu")
    loss_nb, grad_nb = loss_and_grad(kind_c, act_c, softmax, theta, X, Y, n, C)
    loss_t, grad_t = _torch_grad(model, X, Y)
    np.testing.assert_allclose(loss_nb, loss_t, rtol=1e-12, atol=0)
    for m in range(theta.shape[0]):
        assert np.abs(grad_nb[m] - grad_t[m]).max() <= 1e-12 * np.abs(grad_t[m]).max()


# ----------------------------------------------------------------------------------------------------------------
# replicate independence and determinism
# numba runs each model's computation separately, so a model is bit-identical alone and in a batch; the torch
# backend's batched matmuls may round differently for another batch size (they happen not to on this machine)
REPLICATE_ATOL = {"numba": 0.0, "torch": 1e-12}

@pytest.mark.parametrize("kind,reset_after,act", [CASES[0], CASES[1], CASES[5], CASES[9], CASES[11]], ids=lambda c: str(c))
@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("units", [1, 2])  # the one-unit kernels, and the generic ones
def test_model_in_batch_equals_model_alone(data, kind, reset_after, act, backend, units):
    seeds = [3, 8, 5]
    settings = dict(epochs=2, batch_size=16, lr=1e-2, backend=backend)
    tol = REPLICATE_ATOL[backend]
    batched = dynlatch.train(make_model(kind, reset_after, act, seeds=seeds, units=units), data, **settings)
    for m, s in enumerate(seeds):
        alone = dynlatch.train(make_model(kind, reset_after, act, seeds=[s], units=units), data, **settings)
        np.testing.assert_allclose(params_of(batched)[m], params_of(alone)[0], atol=tol, rtol=0)
        for k in HISTORY_KEYS:
            np.testing.assert_allclose(batched.history[k][m], alone.history[k][0], atol=tol, rtol=0)
    # different seeds are different models
    assert np.abs(params_of(batched)[0] - params_of(batched)[1]).max() > 1e-3


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_determinism(data, backend):
    model = make_model("lstm", None, "hard_sigmoid", seeds=(1, 2), units=2)
    a = dynlatch.train(model, data, epochs=2, backend=backend)
    b = dynlatch.train(make_model("lstm", None, "hard_sigmoid", seeds=(1, 2), units=2), data, epochs=2,
                       backend=backend)
    assert_results_close(a, b, atol=0)
    # the input model is not modified by training
    np.testing.assert_array_equal(_train.pack(model), _train.pack(make_model("lstm", None, "hard_sigmoid",
                                                                             seeds=(1, 2), units=2)))


def test_same_seed_twice_in_a_batch_gives_identical_models(data):
    r = dynlatch.train(make_model("gru", False, "sigmoid", seeds=(6, 6)), data, epochs=1, backend="numba")
    np.testing.assert_array_equal(params_of(r)[0], params_of(r)[1])


# ----------------------------------------------------------------------------------------------------------------
# diverged models
def _poison(model, where, m):
    W, U, b = (p.clone() for p in model.cell.params)
    weight, bias = model.weight.clone(), model.bias.clone()
    if where == "recurrent_inf":
        U[m] = float("inf")
    elif where == "kernel_nan":
        W[m, 0, 0] = float("nan")
    elif where == "readout_nan":
        weight[m] = float("nan")
    elif where == "readout_overflow":  # finite parameters whose softmax loss overflows to inf for label 1
        weight[m] = 0.0
        bias[m] = torch.tensor([1.7e308, -1.7e308], dtype=bias.dtype)
    else:
        raise AssertionError(where)
    return Model(model.cell.replace(CellParams(W, U, b)), weight, bias, model.seeds, model.readout)


@pytest.mark.parametrize("where", ["recurrent_inf", "kernel_nan", "readout_nan", "readout_overflow"])
@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("kind,reset_after,act", [CASES[0], CASES[2], CASES[9], CASES[10]], ids=lambda c: str(c))
def test_diverged_model_is_reported_and_isolated(data, where, backend, kind, reset_after, act):
    model = make_model(kind, reset_after, act, seeds=(0, 1, 2), units=2)
    bad = _poison(model, where, 1)
    settings = dict(epochs=2, batch_size=16, lr=1e-2, backend=backend)
    r = dynlatch.train(bad, data, **settings)
    np.testing.assert_array_equal(r.diverged, [False, True, False])
    np.testing.assert_array_equal(r.epochs_run, [2, 0, 2])
    for k in HISTORY_KEYS:
        assert np.isnan(r.history[k][1]).all(), k
        assert np.isfinite(r.history[k][[0, 2]]).all(), k
    assert np.isnan(r.final("val_acc")[1])
    # the diverged model keeps the parameters that produced the non-finite value (here: its initial ones)
    np.testing.assert_array_equal(params_of(r)[1], _train.pack(bad)[1])
    # the others are exactly what they are when trained without it
    clean = dynlatch.train(model.select([0, 2]), data, **settings)
    tol = REPLICATE_ATOL[backend]
    np.testing.assert_allclose(params_of(r)[[0, 2]], params_of(clean), atol=tol, rtol=0)
    for k in HISTORY_KEYS:
        np.testing.assert_allclose(r.history[k][[0, 2]], clean.history[k], atol=tol, rtol=0)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_divergence_in_the_second_epoch(data, backend, monkeypatch):
    """A model that turns non-finite at the first batch of epoch 2 keeps its epoch-1 parameters and history.

    No per-model setting makes finite parameters diverge at a chosen step, so the non-finite value is injected:
    torch -- model 1's loss becomes NaN in the first training batch of epoch 2 (after ten Adam steps, so a frozen
    model must be restored, not just given a zero gradient); numba -- a NaN is written into model 1's parameters
    before epoch 2.
    """
    model = make_model("lstm", None, "sigmoid", seeds=(0, 1, 2), units=2, init="torch")
    settings = dict(batch_size=16, lr=1e-2, backend=backend)
    one_epoch = dynlatch.train(model, data, epochs=1, **settings)
    clean = dynlatch.train(model.select([0, 2]), data, epochs=2, **settings)
    batches = -(-len(data.y_train) // 16)
    calls = {"losses": 0, "epochs": 0}
    if backend == "torch":
        original = Model.losses

        def losses(self, x, y):
            loss, correct = original(self, x, y)
            calls["losses"] += 1
            if self.models == 3 and calls["losses"] == batches + 2:  # epoch 1: batches + validation, then one
                loss = torch.where(torch.arange(3) == 1, torch.full_like(loss, float("nan")), loss)
            return loss, correct

        monkeypatch.setattr(Model, "losses", losses)
    else:
        original = fp.train_epoch

        def train_epoch(path, kind, act, softmax, n, C, theta, *args):
            calls["epochs"] += 1
            if calls["epochs"] == 2:
                theta[1, 0] = float("nan")
            return original(path, kind, act, softmax, n, C, theta, *args)

        monkeypatch.setattr(fp, "train_epoch", train_epoch)
    r = dynlatch.train(model, data, epochs=2, **settings)
    np.testing.assert_array_equal(r.diverged, [False, True, False])
    np.testing.assert_array_equal(r.epochs_run, [2, 1, 2])
    expected = params_of(one_epoch)[1].copy()
    if backend == "numba":
        expected[0] = np.nan
    np.testing.assert_array_equal(params_of(r)[1], expected)
    tol = REPLICATE_ATOL[backend]
    for k in HISTORY_KEYS:
        np.testing.assert_allclose(r.history[k][1, 0], one_epoch.history[k][1, 0], atol=tol, rtol=0)
        assert np.isnan(r.history[k][1, 1])
        np.testing.assert_allclose(r.history[k][[0, 2]], clean.history[k], atol=tol, rtol=0)
    np.testing.assert_allclose(params_of(r)[[0, 2]], params_of(clean), atol=tol, rtol=0)


# ----------------------------------------------------------------------------------------------------------------
# input validation
@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(epochs=0), "epochs"),
        (dict(batch_size=0), "batch_size"),
        (dict(lr=0.0), "lr"),
        (dict(lr=float("nan")), "lr"),
        (dict(lr=float("inf")), "lr"),
        (dict(clip_norm=float("inf")), "clip_norm"),
        (dict(clip_norm=0.0), "clip_norm"),
        (dict(clip_norm=-1.0), "clip_norm"),
        (dict(backend="jax"), "backend"),
        (dict(backend="numba", device="cuda"), "numba"),
    ],
)
def test_bad_settings(data, kw, match):
    with pytest.raises(ValueError, match=match):
        dynlatch.train(make_model("srnn", None, "sigmoid"), data, **kw)


def test_mismatched_input_dim(data):
    with pytest.raises(ValueError, match="input_dim"):
        dynlatch.train(make_model("lstm", None, "sigmoid", input_dim=2), data, epochs=1)


def test_model_validation():
    model = make_model("srnn", None, "sigmoid", seeds=(0, 1))
    with pytest.raises(ValueError, match="read-out"):
        Model(model.cell, model.weight[:, :, :1], model.bias, model.seeds, "softmax")
    with pytest.raises(ValueError, match="seeds"):
        Model(model.cell, model.weight, model.bias, (0,), "softmax")
    with pytest.raises(ValueError, match="readout"):
        Model.init("srnn", seeds=[0], readout="tanh")
    with pytest.raises(ValueError, match="unknown cell"):
        Model.init("rnn", seeds=[0])
    with pytest.raises(ValueError):
        Model.init("srnn", seeds=[])


def test_model_init_matches_seed_alone_and_keras_readout():
    batch = Model.init("lstm", seeds=[4, 9], units=2)
    for m, s in enumerate([4, 9]):
        alone = Model.init("lstm", seeds=[s], units=2)
        np.testing.assert_array_equal(_train.pack(batch)[m], _train.pack(alone)[0])
    # Keras Dense(2) on 1 unit: glorot limit sqrt(6 / 3) = sqrt(2), zero bias
    ro = Model.init("srnn", seeds=range(50))
    assert (ro.weight.abs() <= np.sqrt(2.0)).all() and (ro.bias == 0).all()
    tr = Model.init("srnn", seeds=range(50), init="torch", units=4, readout="sigmoid")
    assert tr.weight.shape == (50, 4, 1) and (tr.weight.abs() <= 0.5).all() and (tr.bias.abs() <= 0.5).all()


def test_pack_unpack_round_trip():
    for kind, ra, act in CASES:
        model = make_model(kind, ra, act, seeds=(1, 2), units=3, init="torch")
        theta = _train.pack(model)
        assert theta.shape[1] == fp.layout(_train.kernel_codes(model)[0], 3, 1, 2)[-1]
        back = _train.unpack(model, theta)
        for a, b in zip(back.parameters(), model.parameters()):
            assert torch.equal(a, b)


# ----------------------------------------------------------------------------------------------------------------
# training works
def test_srnn_learns_short_latching():
    data = tasks.latching(length=5, n=1000, noise=0.1, seed=0)
    model = Model.init("srnn", seeds=range(16), dtype=torch.float64)
    before = dynlatch.train(model, data, epochs=1, lr=1e-12, backend="numba").final("val_acc")
    r = dynlatch.train(model, data, epochs=3, lr=1e-2, backend="numba")
    acc = r.final("val_acc")
    assert not r.diverged.any()
    # chance is 0.5 on this balanced validation set; a trained SRNN(1) latches 5 steps almost always
    assert acc.mean() > 0.8 and (acc >= 0.9).sum() >= 10
    assert acc.mean() > before.mean() + 0.2
    assert (r.history["train_loss"][:, -1] < r.history["train_loss"][:, 0]).mean() > 0.8


def test_train_epoch_compiles_once_per_signature(data):
    # the history row, scalars given as ints and the epoch count must not create new kernel signatures (each one is a
    # cold numba compile of tens of seconds)
    model = make_model("srnn", None, "sigmoid")
    dynlatch.train(model, data, epochs=1, backend="numba")
    before = list(fp.train_epoch.signatures)
    dynlatch.train(model, data, epochs=3, batch_size=8, lr=1, clip_norm=1, eps=0, backend="numba")
    assert list(fp.train_epoch.signatures) == before


# -- frozen parameter groups: the read-out-only baseline ---------------------------------------------------------
@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("trainable", [("readout",), ("cell",)])
def test_frozen_groups_end_bit_identical_and_trained_ones_move(backend, trainable, data):
    model = make_model("lstm", None, "hard_sigmoid", seeds=(0, 1, 2))
    r = dynlatch.train(model, data, epochs=2, trainable=trainable, backend=backend)
    for group, before, after in zip(("cell",) * 3 + ("readout",) * 2, model.parameters(), r.model.parameters()):
        if group in trainable:
            assert not torch.equal(before, after), group
        else:
            assert torch.equal(before, after), group
    assert r.settings["trainable"] == trainable


@pytest.mark.parametrize("kind", ["srnn", "lstm", "gru"])
def test_readout_only_equals_adam_on_the_initial_cells_final_states(kind, data):
    """Oracle: the read-out trained alone is a softmax regression on the untrained cell's h_T, fitted by
    torch.optim.Adam on the same minibatches (each model's order stream) with nothing of dynlatch's trainer."""
    seeds = (3, 4)
    model = make_model(kind, False if kind == "gru" else None, "hard_sigmoid", seeds=seeds)
    epochs, batch = 2, 16
    r = dynlatch.train(model, data, epochs=epochs, batch_size=batch, trainable=("readout",), backend="numba")
    x = torch.as_tensor(data.x_train, dtype=torch.float64)
    y = torch.as_tensor(data.y_train)
    for m, seed in enumerate(seeds):
        h = model.cell.run(x)[m, :, -1].detach()  # (N, units): fixed, the cell is frozen
        W = model.weight[m].detach().clone().requires_grad_(True)
        b = model.bias[m].detach().clone().requires_grad_(True)
        opt = torch.optim.Adam([W, b], lr=1e-3, eps=1e-7)
        rng = model_rng(seed, ORDER_STREAM)
        for _ in range(epochs):
            order = torch.as_tensor(rng.permutation(len(y)))
            for start in range(0, len(y), batch):
                idx = order[start : start + batch]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(h[idx] @ W + b, y[idx]).backward()
                opt.step()
        torch.testing.assert_close(r.model.weight[m], W.detach(), rtol=0, atol=1e-12)
        torch.testing.assert_close(r.model.bias[m], b.detach(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("trainable", [(), ("gates",), "everything"])
def test_unknown_or_empty_trainable_groups_are_refused(trainable, data):
    with pytest.raises(ValueError, match="trainable"):
        dynlatch.train(make_model("srnn", None, "hard_sigmoid"), data, epochs=1, trainable=trainable)


@pytest.mark.parametrize("kind,reset_after,act", [CASES[0], CASES[1], CASES[5], CASES[9], CASES[11]], ids=lambda c: str(c))
@pytest.mark.parametrize("readout", dynlatch.READOUTS)
@pytest.mark.parametrize("clip_norm", [None, 0.05])
def test_readout_only_path_is_bit_identical_to_the_masked_full_kernel(data, kind, reset_after, act, readout,
                                                                        clip_norm):
    """The numba backend trains a frozen cell's read-out on stored final states; the oracle is the full epoch kernel
    (forward and backward through time every batch) with the cell's gradient masked to zero."""
    model = make_model(kind, reset_after, act, seeds=(5, 6, 7), units=3, readout=readout)
    epochs = 2
    r = dynlatch.train(model, data, epochs=epochs, trainable=("readout",), clip_norm=clip_norm, backend="numba")
    kcode, gcode, softmax, n, C = _train.kernel_codes(model)
    theta = _train.pack(model)
    mask = _train.trainable_vector(model, ("readout",))
    m_, v_ = np.zeros_like(theta), np.zeros_like(theta)
    steps, active = np.zeros(3, dtype=np.int64), np.ones(3, dtype=np.bool_)
    rngs = [model_rng(s, ORDER_STREAM) for s in model.seeds]
    X, Xv = (np.ascontiguousarray(a, dtype=np.float64) for a in (data.x_train, data.x_val))
    Y, Yv = (np.ascontiguousarray(a, dtype=np.int64) for a in (data.y_train, data.y_val))
    row = np.empty((3, 4))
    for e in range(epochs):
        perms = np.stack([rng.permutation(len(Y)) for rng in rngs])
        fp.train_epoch(fp.path_for(kcode, n, X.shape[2]), kcode, gcode, softmax, n, C, theta, m_, v_, steps, active,
                       X, Y, perms, 16, 1e-3, 0.9, 0.999, 1e-7, False, float(clip_norm or 0.0), mask, Xv, Yv, row)
        for i, k in enumerate(HISTORY_KEYS):
            np.testing.assert_array_equal(r.history[k][:, e], row[:, i], err_msg=k)
    np.testing.assert_array_equal(params_of(r), theta)


def test_sgd_numba_equals_torch_sgd_and_plain_gradient_steps(data):
    """Oracles: the torch backend (torch.optim.SGD) and a hand loop p <- p - lr dL/dp with autograd's gradient."""
    model = make_model("lstm", None, "hard_sigmoid", seeds=(0, 1))
    lr = 0.05
    r = dynlatch.train(model, data, epochs=2, lr=lr, optimizer="sgd", backend="numba")
    t = dynlatch.train(model, data, epochs=2, lr=lr, optimizer="sgd", backend="torch")
    assert_results_close(r, t, atol=1e-12)
    adam = dynlatch.train(model, data, epochs=2, lr=lr, backend="numba")
    assert np.abs(params_of(adam) - params_of(r)).max() > 1e-3  # a different update
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    x = torch.as_tensor(data.x_train, dtype=torch.float64)
    y = torch.as_tensor(data.y_train)
    rngs = [model_rng(s, ORDER_STREAM) for s in model.seeds]
    for _ in range(2):
        order = torch.as_tensor(np.stack([rng.permutation(len(y)) for rng in rngs]))
        for start in range(0, len(y), 16):
            idx = order[:, start : start + 16]
            m = Model(model.cell.replace(CellParams(*params[:3])), params[3], params[4], model.seeds, model.readout)
            loss, _ = m.losses(x[idx], y[idx])
            grads = torch.autograd.grad(loss.sum(), params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p -= lr * g
    hand = Model(model.cell.replace(CellParams(*params[:3])), params[3], params[4], model.seeds, model.readout)
    np.testing.assert_allclose(params_of(r), _train.pack(hand), rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_recorded_epochs_equal_shorter_trainings(data, backend):
    """Epoch k's snapshot is the model ``train(epochs=k + 1)`` returns (same orders, optimiser state carried)."""
    model = make_model("gru", False, "hard_sigmoid", seeds=(2, 3))
    r = dynlatch.train(model, data, epochs=3, record_epochs=True, backend=backend)
    assert len(r.epoch_models) == 3
    for k, snapshot in enumerate(r.epoch_models):
        shorter = dynlatch.train(model, data, epochs=k + 1, backend=backend)
        np.testing.assert_allclose(_train.pack(snapshot), params_of(shorter), rtol=0,
                                   atol=REPLICATE_ATOL[backend])
    assert dynlatch.train(model, data, epochs=1, backend=backend).epoch_models is None


def test_unknown_optimizer_is_refused(data):
    with pytest.raises(ValueError, match="optimizer"):
        dynlatch.train(make_model("srnn", None, "hard_sigmoid"), data, epochs=1, optimizer="rmsprop")
