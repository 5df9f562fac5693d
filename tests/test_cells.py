"""Tests of dynlatch.cells against independent oracles: torch.nn modules and a numpy transcription of the Keras-2
equations (REFERENCES.md: gate orders LSTM i, f, c, o and GRU z, r, h; hard_sigmoid definitions)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

import dynlatch
from dynlatch import cells
from _cases import KERAS_KINDS, TORCH_KINDS, VARIANTS
from dynlatch.cells import GRU, LSTM, MGU, SRNN, CellParams, WeightFileError

DTYPES = {torch.float32: 1e-5, torch.float64: 1e-12}
KINDS = dict(cells.CELL_CLASSES)
TORCH_MODULES = {"srnn": (torch.nn.RNN, torch.nn.RNNCell), "lstm": (torch.nn.LSTM, torch.nn.LSTMCell),
                 "gru": (torch.nn.GRU, torch.nn.GRUCell)}
GATES = {"srnn": 1, "lstm": 4, "gru": 3, "mgu": 2}
# VARIANTS: (kind, reset_after) of every registered cell form (tests/_cases.py); reset_after only for GRU


# ----------------------------------------------------------------------------------------------------------------
# numpy oracle: the Keras 2 recurrent layers, written from the Keras source equations, float64
def np_gate(z, act):
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if act == "hard_sigmoid":  # Keras 2
        return np.clip(0.2 * z + 0.5, 0.0, 1.0)
    if act == "hard_sigmoid_keras3":
        return np.clip(z / 6.0 + 0.5, 0.0, 1.0)
    raise AssertionError(act)


def keras_reference(kind, W, U, b, x, act="sigmoid"):
    """Hidden sequence (B, T, n) and final state of a Keras 2 SimpleRNN/LSTM/GRU with weights in Keras layout."""
    W, U, b, x = (np.asarray(a, dtype=np.float64) for a in (W, U, b, x))
    B, T, _ = x.shape
    n = U.shape[0]
    h = np.zeros((B, n))
    c = np.zeros((B, n))
    out = []
    for t in range(T):
        xt = x[:, t]
        if kind == "srnn":
            h = np.tanh(xt @ W + h @ U + b)
        elif kind == "lstm":
            Wi, Wf, Wc, Wo = np.split(W, 4, axis=1)
            Ui, Uf, Uc, Uo = np.split(U, 4, axis=1)
            bi, bf, bc, bo = np.split(b, 4)
            i = np_gate(xt @ Wi + h @ Ui + bi, act)
            f = np_gate(xt @ Wf + h @ Uf + bf, act)
            o = np_gate(xt @ Wo + h @ Uo + bo, act)
            c = f * c + i * np.tanh(xt @ Wc + h @ Uc + bc)
            h = o * np.tanh(c)
        else:
            Wz, Wr, Wh = np.split(W, 3, axis=1)
            Uz, Ur, Uh = np.split(U, 3, axis=1)
            if b.ndim == 1:  # reset_after=False (Keras 2 default)
                bz, br, bh = np.split(b, 3)
                z = np_gate(xt @ Wz + bz + h @ Uz, act)
                r = np_gate(xt @ Wr + br + h @ Ur, act)
                hh = np.tanh(xt @ Wh + bh + (r * h) @ Uh)
            else:  # reset_after=True: bias rows (input, recurrent)
                bxz, bxr, bxh = np.split(b[0], 3)
                bhz, bhr, bhh = np.split(b[1], 3)
                z = np_gate(xt @ Wz + bxz + h @ Uz + bhz, act)
                r = np_gate(xt @ Wr + bxr + h @ Ur + bhr, act)
                hh = np.tanh(xt @ Wh + bxh + r * (h @ Uh + bhh))
            h = z * h + (1.0 - z) * hh
        out.append(h)
    return np.stack(out, axis=1), (h, c)


def keras_arrays(kind, units, input_dim, reset_after, rng, scale=1.0):
    G = GATES[kind]
    K = G * units
    W = rng.normal(0.0, scale, size=(input_dim, K))
    U = rng.normal(0.0, scale / np.sqrt(units), size=(units, K))
    b = rng.normal(0.0, scale, size=(2, K) if reset_after else (K,))
    return W, U, b


def to_np(t):
    return t.detach().cpu().double().numpy()


# ----------------------------------------------------------------------------------------------------------------
# torch.nn oracle
@pytest.mark.parametrize("kind", TORCH_KINDS)
@pytest.mark.parametrize("units", [1, 8])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_from_torch_matches_torch_module(kind, units, dtype):
    torch.manual_seed(units + 10 * GATES[kind])
    D, B, T = 3, 5, 9
    module = TORCH_MODULES[kind][0](D, units, batch_first=True).to(dtype)
    with torch.no_grad():  # larger weights than the default init, so gates leave their linear range
        for p in module.parameters():
            p.mul_(3.0)
    x = torch.randn(B, T, D, dtype=dtype)
    cell = cells.from_torch(module)
    assert cell.dtype == dtype and cell.units == units and cell.input_dim == D and not cell.batched
    with torch.no_grad():
        want, final = module(x)
        got, state = cell.run(x, return_state=True)
    torch.testing.assert_close(got, want, atol=DTYPES[dtype], rtol=0)
    if kind == "lstm":
        torch.testing.assert_close(state[0], final[0][0], atol=DTYPES[dtype], rtol=0)
        torch.testing.assert_close(state[1], final[1][0], atol=DTYPES[dtype], rtol=0)
    else:
        torch.testing.assert_close(state, final[0], atol=DTYPES[dtype], rtol=0)
    # the generic constructor infers the kind
    assert type(cells.from_torch(module)) is KINDS[kind]


@pytest.mark.parametrize("kind", TORCH_KINDS)
@pytest.mark.parametrize("units", [1, 8])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_from_torch_cell_module_matches(kind, units, dtype):
    torch.manual_seed(7 + units)
    D, B, T = 2, 4, 7
    module = TORCH_MODULES[kind][1](D, units).to(dtype)
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(2.0)
    x = torch.randn(B, T, D, dtype=dtype)
    cell = cells.from_torch(module)
    h = torch.zeros(B, units, dtype=dtype)
    c = torch.zeros(B, units, dtype=dtype)
    want = []
    with torch.no_grad():
        for t in range(T):
            if kind == "lstm":
                h, c = module(x[:, t], (h, c))
            else:
                h = module(x[:, t], h)
            want.append(h)
        got = cell.run(x)
    torch.testing.assert_close(got, torch.stack(want, 1), atol=DTYPES[dtype], rtol=0)


@pytest.mark.parametrize("kind", TORCH_KINDS)
@pytest.mark.parametrize("units", [1, 8])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_to_torch_round_trip(kind, units, dtype):
    cell = KINDS[kind].init(units=units, input_dim=2, seed=3, scheme="torch", dtype=dtype)
    module = cells.to_torch(cell)
    assert isinstance(module, TORCH_MODULES[kind][0]) and module.batch_first
    x = torch.randn(3, 6, 2, generator=torch.Generator().manual_seed(0), dtype=dtype)
    with torch.no_grad():
        torch.testing.assert_close(cell.run(x), module(x)[0], atol=DTYPES[dtype], rtol=0)
    back = cells.from_torch(module)
    assert back._options() == cell._options()
    for a, b in zip(back.params, cell.params):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


# ----------------------------------------------------------------------------------------------------------------
# MGU oracles: the paper's equations in numpy, and the GRU with tied gates (z = 1 - f, r = f, reset before)
@pytest.mark.parametrize("act", dynlatch.GATE_ACTIVATIONS)
@pytest.mark.parametrize("units", [1, 5])
def test_mgu_matches_numpy_equations_and_tied_gru(act, units):
    rng = np.random.default_rng([units, dynlatch.GATE_ACTIVATIONS.index(act)])
    D, B, T = 2, 6, 10
    W, U, b = rng.normal(0, 1.5, (D, 2 * units)), rng.normal(0, 1.5, (units, 2 * units)), rng.normal(0, 1, 2 * units)
    x = rng.normal(0.0, 1.5, size=(B, T, D))
    h, want = np.zeros((B, units)), []
    Wf, Wh = np.split(W, 2, axis=1)
    Uf, Uh = np.split(U, 2, axis=1)
    bf, bh = np.split(b, 2)
    for t in range(T):  # Zhou et al. (2016), eqs. (5)-(7)
        f = np_gate(x[:, t] @ Wf + h @ Uf + bf, act)
        h = (1.0 - f) * h + f * np.tanh(x[:, t] @ Wh + (f * h) @ Uh + bh)
        want.append(h)
    cell = MGU.from_keras(W, U, b, recurrent_activation=act, dtype=torch.float64)
    got = cell.run(torch.as_tensor(x))
    np.testing.assert_allclose(to_np(got), np.stack(want, 1), atol=1e-12, rtol=0)
    tied = GRU.from_keras(np.concatenate([-Wf, Wf, Wh], 1), np.concatenate([-Uf, Uf, Uh], 1),
                          np.concatenate([-bf, bf, bh]), recurrent_activation=act, reset_after=False, dtype=torch.float64)
    np.testing.assert_allclose(to_np(tied.run(torch.as_tensor(x))), to_np(got), atol=1e-12, rtol=0)


# ----------------------------------------------------------------------------------------------------------------
# Keras equations oracle
# SimpleRNN has no gates: one activation is enough for it
KERAS_CASES = [(k, ra, act) for k, ra in VARIANTS if k in KERAS_KINDS for act in dynlatch.GATE_ACTIVATIONS
               if k != "srnn" or act == "sigmoid"]


@pytest.mark.parametrize("kind,reset_after,act", KERAS_CASES)
@pytest.mark.parametrize("units", [1, 8])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_from_keras_matches_numpy_reference(kind, reset_after, act, units, dtype):
    rng = np.random.default_rng([units, GATES[kind], dynlatch.GATE_ACTIVATIONS.index(act), int(bool(reset_after))])
    D, B, T = 2, 6, 10
    W, U, b = keras_arrays(kind, units, D, reset_after, rng, scale=1.5)
    x = rng.normal(0.0, 1.5, size=(B, T, D))
    if dtype == torch.float32:  # the oracle sees exactly the float32 numbers the cell sees
        W, U, b, x = (a.astype(np.float32) for a in (W, U, b, x))
    kw = {"reset_after": reset_after} if kind == "gru" else {}
    cell = KINDS[kind].from_keras(W, U, b, recurrent_activation=act, dtype=dtype, **kw)
    if kind == "gru":
        assert cell.reset_after == reset_after
        # the convention is also inferred from the bias shape
        assert KINDS[kind].from_keras(W, U, b, recurrent_activation=act).reset_after == reset_after
    assert cell.dtype == dtype and cell.recurrent_activation == act
    want, (h_T, c_T) = keras_reference(kind, W, U, b, x, act)
    if act != "sigmoid" and kind != "srnn":
        # the weights are large enough that the hard sigmoid is exercised on both flat parts and the slope
        slope = 0.2 if act == "hard_sigmoid" else 1 / 6
        pre = x.reshape(-1, D) @ W[:, : 2 * units]
        assert (np.abs(pre) * slope > 0.5).any() and (np.abs(pre) * slope < 0.5).any()
    got, state = cell.run(torch.as_tensor(x), return_state=True)
    np.testing.assert_allclose(to_np(got), want, atol=DTYPES[dtype], rtol=0)
    if kind == "lstm":
        np.testing.assert_allclose(to_np(state[0]), h_T, atol=DTYPES[dtype], rtol=0)
        np.testing.assert_allclose(to_np(state[1]), c_T, atol=DTYPES[dtype], rtol=0)
    # numpy arrays give back the Keras layout
    arrays = cell.numpy()
    np.testing.assert_array_equal(arrays["kernel"], np.asarray(W, dtype=arrays["kernel"].dtype))
    np.testing.assert_array_equal(arrays["bias"], np.asarray(b, dtype=arrays["bias"].dtype))


def test_constructor_dtype_defaults():
    f32 = [np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32), np.zeros(4, np.float32)]
    assert LSTM(*f32).dtype == torch.float32  # the arrays' own dtype
    assert LSTM(*(a.astype(np.float64) for a in f32)).dtype == torch.float64
    assert SRNN([[0.5]], [[1.0]], [0.0]).dtype == torch.float64  # lists
    assert SRNN([[1]], [[1]], [0]).dtype == torch.float64  # integers
    assert SRNN(torch.ones(1, 1), torch.ones(1, 1), torch.zeros(1)).dtype == torch.float32
    assert SRNN([[0.5]], [[1.0]], [0.0], dtype=torch.float32).dtype == torch.float32


def test_from_keras_default_bias_is_zero():
    rng = np.random.default_rng(0)
    W, U, b = keras_arrays("lstm", 2, 1, None, rng)
    x = rng.normal(size=(3, 4, 1))
    cell = LSTM.from_keras(W, U, dtype=torch.float64)
    np.testing.assert_allclose(to_np(cell.run(x)), keras_reference("lstm", W, U, np.zeros(8), x)[0], atol=1e-12)
    for reset_after in (None, False, True):
        W, U, _ = keras_arrays("gru", 2, 1, None, rng)
        gru = GRU.from_keras(W, U, reset_after=reset_after, dtype=torch.float64)
        assert gru.reset_after == bool(reset_after)
        b = np.zeros((2, 6)) if reset_after else np.zeros(6)
        np.testing.assert_allclose(to_np(gru.run(x)), keras_reference("gru", W, U, b, x)[0], atol=1e-12)


# ----------------------------------------------------------------------------------------------------------------
# batched cells
def make_variant(kind, reset_after, seeds, units=3, input_dim=2, dtype=torch.float64, act="sigmoid"):
    kw = {"reset_after": reset_after} if kind == "gru" else {}
    return KINDS[kind].init(units=units, input_dim=input_dim, seed=seeds, scheme="torch", dtype=dtype,
                            recurrent_activation=act, **kw)


@pytest.mark.parametrize("kind,reset_after", VARIANTS)
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_stack_equals_single_runs(kind, reset_after, dtype):
    singles = [make_variant(kind, reset_after, s, dtype=dtype, act="hard_sigmoid") for s in (4, 9, 11)]
    batched = cells.stack(singles)
    assert batched.batched and batched.models == 3
    g = torch.Generator().manual_seed(1)
    shared = torch.randn(5, 6, 2, generator=g, dtype=dtype)
    per_model = torch.randn(3, 5, 6, 2, generator=g, dtype=dtype)
    out_shared = batched.run(shared)
    out_per = batched.run(per_model)
    assert out_shared.shape == (3, 5, 6, 3) and out_per.shape == (3, 5, 6, 3)
    tol = dict(atol=DTYPES[dtype] / 10, rtol=0)
    for m, single in enumerate(singles):
        torch.testing.assert_close(out_shared[m], single.run(shared), **tol)
        torch.testing.assert_close(out_per[m], single.run(per_model[m]), **tol)
        # indexing gives the single model back
        for a, b in zip(batched[m].params, single.params):
            torch.testing.assert_close(a, b, atol=0, rtol=0)
    sub = batched[[2, 0]]
    assert sub.batched and sub.models == 2
    torch.testing.assert_close(sub.run(shared), out_shared[[2, 0]], **tol)


@pytest.mark.parametrize("kind,reset_after", VARIANTS)
@pytest.mark.parametrize("scheme", cells.INIT_SCHEMES)
def test_init_seed_list_equals_single_seeds(kind, reset_after, scheme):
    kw = {"reset_after": reset_after} if kind == "gru" else {}
    seeds = [0, 5, 2]
    batched = KINDS[kind].init(units=2, input_dim=2, seed=seeds, scheme=scheme, dtype=torch.float64, **kw)
    assert batched.batched and batched.models == 3
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 5, 2, generator=g, dtype=torch.float64)
    xm = torch.randn(3, 4, 5, 2, generator=g, dtype=torch.float64)
    out, out_m = batched.run(x), batched.run(xm)
    for m, s in enumerate(seeds):
        single = KINDS[kind].init(units=2, input_dim=2, seed=s, scheme=scheme, dtype=torch.float64, **kw)
        assert not single.batched
        for a, b in zip(batched.params, single.params):
            torch.testing.assert_close(a[m : m + 1], b, atol=0, rtol=0)
        torch.testing.assert_close(out[m], single.run(x), atol=1e-13, rtol=0)
        torch.testing.assert_close(out_m[m], batched[m].run(xm[m]), atol=1e-13, rtol=0)
        torch.testing.assert_close(out_m[m], batched[np.int64(m)].run(xm[m]), atol=1e-13, rtol=0)
    torch.testing.assert_close(batched[-1].run(x), out[-1], atol=1e-13, rtol=0)
    # a one-element seed list is a batched cell of one model
    one = KINDS[kind].init(units=2, input_dim=2, seed=[5], scheme=scheme, dtype=torch.float64, **kw)
    assert one.batched and one.models == 1
    assert one.run(x).shape == (1, 4, 5, 2)


@pytest.mark.parametrize("kind,reset_after", VARIANTS)
@pytest.mark.parametrize("batched", [False, True])
def test_step_equals_run_columns(kind, reset_after, batched):
    cell = make_variant(kind, reset_after, [1, 2] if batched else 1)
    x = torch.randn(*((2,) if batched else ()), 4, 6, 2, generator=torch.Generator().manual_seed(5),
                    dtype=torch.float64)
    hs, final = cell.run(x, return_state=True)
    state = None
    for t in range(x.shape[-2]):
        state = cell.step(state, x[..., t, :])
        h = state[0] if kind == "lstm" else state
        torch.testing.assert_close(h, hs[..., t, :], atol=1e-14, rtol=0)
    if kind == "lstm":
        assert isinstance(final, tuple) and len(final) == 2
        torch.testing.assert_close(final[0], hs[..., -1, :], atol=0, rtol=0)
        torch.testing.assert_close(final[1], state[1], atol=1e-14, rtol=0)
        assert not torch.equal(final[0], final[1])
    else:
        torch.testing.assert_close(final, hs[..., -1, :], atol=0, rtol=0)
    # continuing from a state: run over the second half from the state after the first half
    T2 = x.shape[-2] // 2
    _, mid = cell.run(x[..., :T2, :], return_state=True)
    torch.testing.assert_close(cell.run(x[..., T2:, :], mid), hs[..., T2:, :], atol=1e-14, rtol=0)


def test_lstm_return_state_matches_reference_cell_state():
    rng = np.random.default_rng(3)
    W, U, b = keras_arrays("lstm", 8, 2, None, rng)
    x = rng.normal(size=(3, 5, 2))
    cell = LSTM.from_keras(W, U, b, dtype=torch.float64)
    hs, (h, c) = cell.run(x, return_state=True)
    _, (h_ref, c_ref) = keras_reference("lstm", W, U, b, x)
    np.testing.assert_allclose(to_np(h), h_ref, atol=1e-12)
    np.testing.assert_allclose(to_np(c), c_ref, atol=1e-12)


def test_stack_rejects_mixed_cells():
    a = SRNN.init(units=2, seed=0)
    with pytest.raises(ValueError):
        cells.stack([a, LSTM.init(units=2, seed=0)])
    with pytest.raises(ValueError):
        cells.stack([a, SRNN.init(units=3, seed=0)])
    with pytest.raises(ValueError):
        cells.stack([GRU.init(seed=0, reset_after=True), GRU.init(seed=0, reset_after=False)])
    with pytest.raises(ValueError):
        cells.stack([])


# ----------------------------------------------------------------------------------------------------------------
# initialisation schemes (REFERENCES.md: Keras 2 and PyTorch defaults)
SEEDS = list(range(40))


def test_keras2_srnn1_recurrent_weight_is_plus_minus_one():
    cell = SRNN.init(units=1, seed=SEEDS, scheme="keras2", dtype=torch.float64)
    U = to_np(cell.params.recurrent_kernel).ravel()
    np.testing.assert_array_equal(np.abs(U), 1.0)
    assert (U > 0).any() and (U < 0).any()
    W = to_np(cell.params.kernel).ravel()
    assert (np.abs(W) <= np.sqrt(3.0)).all() and np.abs(W).max() > 0.8 * np.sqrt(3.0)  # glorot (1, 1): sqrt(6/2)
    np.testing.assert_array_equal(to_np(cell.params.bias), 0.0)


def test_keras2_lstm1_init():
    cell = LSTM.init(units=1, seed=SEEDS, scheme="keras2", dtype=torch.float64)
    assert cell.recurrent_activation == "hard_sigmoid"
    U = to_np(cell.params.recurrent_kernel)  # (M, 1, 4)
    np.testing.assert_allclose(np.linalg.norm(U[:, 0], axis=-1), 1.0, atol=1e-12)
    b = to_np(cell.params.bias)[:, 0]  # (M, 4), gates i, f, c, o
    np.testing.assert_array_equal(b, np.tile([0.0, 1.0, 0.0, 0.0], (len(SEEDS), 1)))
    W = to_np(cell.params.kernel)
    limit = np.sqrt(6.0 / 5.0)
    assert (np.abs(W) <= limit).all() and np.abs(W).max() > 0.9 * limit
    # units > 1: kernel (1, 4n) glorot limit sqrt(6 / (1 + 4n)); recurrent rows orthonormal, forget block 1
    big = LSTM.init(units=8, seed=3, scheme="keras2", dtype=torch.float64)
    U8 = to_np(big.params.recurrent_kernel)[0]
    np.testing.assert_allclose(U8 @ U8.T, np.eye(8), atol=1e-12)
    assert (np.abs(to_np(big.params.kernel)) <= np.sqrt(6.0 / 33.0)).all()
    np.testing.assert_array_equal(to_np(big.params.bias)[0, 0], np.repeat([0.0, 1.0, 0.0, 0.0], 8))


def test_keras2_gru_init():
    cell = GRU.init(units=1, seed=SEEDS, scheme="keras2", dtype=torch.float64)
    assert cell.recurrent_activation == "hard_sigmoid" and cell.reset_after is False
    assert cell.params.bias.shape == (len(SEEDS), 1, 3)
    np.testing.assert_allclose(np.linalg.norm(to_np(cell.params.recurrent_kernel)[:, 0], axis=-1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(to_np(cell.params.bias), 0.0)
    assert (np.abs(to_np(cell.params.kernel)) <= np.sqrt(6.0 / 4.0)).all()
    sq = SRNN.init(units=8, seed=1, scheme="keras2", dtype=torch.float64)
    U = to_np(sq.params.recurrent_kernel)[0]
    np.testing.assert_allclose(U @ U.T, np.eye(8), atol=1e-12)


@pytest.mark.parametrize("kind,reset_after", VARIANTS)
@pytest.mark.parametrize("units", [1, 4])
def test_torch_scheme_bounds(kind, reset_after, units):
    kw = {"reset_after": reset_after} if kind == "gru" else {}
    cell = KINDS[kind].init(units=units, input_dim=3, seed=SEEDS, scheme="torch", dtype=torch.float64, **kw)
    assert cell.recurrent_activation == "sigmoid"
    k = 1.0 / np.sqrt(units)
    for name in ("kernel", "recurrent_kernel"):
        a = np.abs(to_np(getattr(cell.params, name)))
        assert (a <= k).all() and a.max() > 0.9 * k, name
    b = np.abs(to_np(cell.params.bias))
    if kind == "gru" and reset_after:
        assert b.shape[1] == 2 and (b <= k).all()
    else:  # PyTorch's b_ih + b_hh merged into one bias: within 2k
        assert b.shape[1] == 1 and (b <= 2 * k).all() and b.max() > k


@pytest.mark.parametrize("kind,reset_after", VARIANTS)
@pytest.mark.parametrize("scheme", cells.INIT_SCHEMES)
def test_init_seed_determinism(kind, reset_after, scheme):
    kw = {"reset_after": reset_after} if kind == "gru" else {}
    a = KINDS[kind].init(units=2, seed=7, scheme=scheme, **kw)
    b = KINDS[kind].init(units=2, seed=7, scheme=scheme, **kw)
    c = KINDS[kind].init(units=2, seed=8, scheme=scheme, **kw)
    for x, y in zip(a.params, b.params):
        assert torch.equal(x, y)
    assert not torch.equal(a.params.kernel, c.params.kernel)
    assert not torch.equal(a.params.recurrent_kernel, c.params.recurrent_kernel)


def test_init_rejects_bad_arguments():
    with pytest.raises(ValueError, match="scheme"):
        SRNN.init(scheme="xavier")
    with pytest.raises(ValueError, match="units"):
        SRNN.init(units=0)
    with pytest.raises(ValueError, match="lstm takes no option 'reset_after'"):
        LSTM.init(reset_after=True)
    with pytest.raises(ValueError, match="recurrent_activation"):
        LSTM.init(recurrent_activation="relu")
    with pytest.raises(ValueError):
        SRNN.init(seed=[])


# ----------------------------------------------------------------------------------------------------------------
# weight files
def assert_same_cell(a, b):
    assert type(a) is type(b) and a._options() == b._options() and a.batched == b.batched
    for x, y in zip(a.params, b.params):
        assert x.shape == y.shape
        np.testing.assert_array_equal(to_np(x), to_np(y))


@pytest.mark.parametrize("kind,reset_after", VARIANTS)
@pytest.mark.parametrize("suffix", [".json", ".npz"])
@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_save_load_round_trip_keras_layout(tmp_path, kind, reset_after, suffix, batched, dtype):
    cell = make_variant(kind, reset_after, [3, 4] if batched else 3, dtype=dtype, act="hard_sigmoid_keras3")
    path = cells.save(cell, tmp_path / f"cell{suffix}")
    assert path.exists()
    loaded = cells.load(path)
    assert_same_cell(loaded, cell)
    if suffix == ".json":
        assert loaded.dtype == torch.float64  # documented: float64 from JSON
    else:
        assert loaded.dtype == dtype  # documented: the stored dtype from npz
    x = torch.randn(2, 5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loaded.to(dtype).run(x), cell.run(x), atol=0, rtol=0)
    assert cells.load(path, dtype=torch.float32).dtype == torch.float32


@pytest.mark.parametrize("kind", TORCH_KINDS)
@pytest.mark.parametrize("suffix", [".json", ".npz"])
@pytest.mark.parametrize("with_cell_key", [False, True])
def test_load_pytorch_layout(tmp_path, kind, suffix, with_cell_key):
    torch.manual_seed(GATES[kind])
    module = TORCH_MODULES[kind][0](2, 3, batch_first=True).double()
    record = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    assert set(record) == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
    if with_cell_key:
        record["cell"] = kind
    path = tmp_path / f"torch{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in record.items()}))
    else:
        np.savez(path, **record)
    cell = cells.load(path)
    assert type(cell) is KINDS[kind] and cell.dtype == torch.float64
    if suffix == ".npz":  # the stored dtype is kept
        np.savez(path, **{k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v) for k, v in record.items()})
        assert cells.load(path).dtype == torch.float32
    x = torch.randn(4, 6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(cell.run(x), module(x)[0], atol=1e-12, rtol=0)


def test_load_pytorch_layout_without_biases(tmp_path):
    module = torch.nn.LSTM(1, 2, bias=False, batch_first=True).double()
    path = tmp_path / "nobias.npz"
    np.savez(path, **{k: v.detach().numpy() for k, v in module.state_dict().items()})
    cell = cells.load(path)
    np.testing.assert_array_equal(to_np(cell.params.bias), 0.0)
    x = torch.randn(2, 3, 1, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(cell.run(x), module(x)[0], atol=1e-12, rtol=0)


def _write(path, record):
    if path.suffix == ".json":
        path.write_text(json.dumps({k: np.asarray(v).tolist() if not isinstance(v, str) else v
                                    for k, v in record.items()}))
    else:
        np.savez(path, **record)
    return path


GOOD_SRNN = {"cell": "srnn", "kernel": [[0.5]], "recurrent_kernel": [[1.0]], "bias": [0.0]}


@pytest.mark.parametrize("suffix", [".json", ".npz"])
@pytest.mark.parametrize(
    "record,message",
    [
        ({**GOOD_SRNN, "recurrent_kernel": [[1.0, 2.0]]}, "recurrent_kernel|units"),
        ({**GOOD_SRNN, "bias": [0.0, 0.0]}, "bias"),
        ({**GOOD_SRNN, "cell": "lstm"}, "lstm|LSTM|kernel"),
        ({**GOOD_SRNN, "cell": "tcn"}, "cell"),
        ({k: v for k, v in GOOD_SRNN.items() if k != "cell"}, "cell"),
        ({**GOOD_SRNN, "kernel": [[float("nan")]]}, "kernel.*NaN"),
        ({**GOOD_SRNN, "bias": [float("inf")]}, "bias.*(NaN|inf)"),
        ({"cell": "srnn", "kernel": [[0.5]]}, "recurrent_kernel"),
        ({"weights": [1.0]}, "expected"),
        ({**GOOD_SRNN, "recurrent_activation": "relu"}, "recurrent_activation"),
        ({"weight_ih_l0": np.zeros((5, 1)), "weight_hh_l0": np.zeros((5, 2))}, "weight_hh_l0"),
        ({"weight_ih_l0": np.zeros((8, 1)), "weight_hh_l0": np.zeros((8, 2)), "cell": "gru"}, "gru"),
        ({"weight_ih_l0": np.zeros((6, 1)), "weight_hh_l0": np.zeros((6, 2)), "bias_ih_l0": np.zeros(5)},
         "bias_ih"),
        ({"weight_ih_l0": np.zeros((6, 3)).T, "weight_hh_l0": np.zeros((6, 2))}, "weight_ih"),
    ],
)
def test_malformed_weight_files(tmp_path, suffix, record, message):
    path = _write(tmp_path / f"bad{suffix}", record)
    with pytest.raises(WeightFileError, match=message) as info:
        cells.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_good_srnn_record_loads(tmp_path):
    for suffix in (".json", ".npz"):
        cell = cells.load(_write(tmp_path / f"good{suffix}", GOOD_SRNN))
        assert type(cell) is SRNN and cell.params.recurrent_kernel.item() == 1.0


def test_unknown_suffix_and_unreadable_files(tmp_path):
    path = tmp_path / "cell.pkl"
    path.write_bytes(pickle.dumps(GOOD_SRNN))
    with pytest.raises(WeightFileError, match="unknown weight-file type"):
        cells.load(path)
    with pytest.raises(ValueError, match="unknown weight-file type"):
        cells.save(SRNN.init(seed=0), tmp_path / "cell.h5")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(WeightFileError, match="JSON"):
        cells.load(bad_json)
    bad_json.write_text("[1, 2, 3]")
    with pytest.raises(WeightFileError, match="object"):
        cells.load(bad_json)
    with pytest.raises(FileNotFoundError):
        cells.load(tmp_path / "missing.json")
    with pytest.raises(FileNotFoundError):
        cells.load(tmp_path / "missing.npz")


class _Trap:
    """Unpickling this object creates a file: proof that a pickle was executed."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_npz_object_arrays_are_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    trap = np.empty(1, dtype=object)
    trap[0] = _Trap(marker)
    path = tmp_path / "evil.npz"
    np.savez(path, cell=np.asarray("srnn"), kernel=trap, recurrent_kernel=np.ones((1, 1)), bias=np.zeros(1))
    with pytest.raises(WeightFileError, match="unpickl"):
        cells.load(path)
    assert not marker.exists()
    # a bare pickle renamed .npz is refused too
    pkl = tmp_path / "pickle.npz"
    pkl.write_bytes(pickle.dumps(trap))
    with pytest.raises(WeightFileError):
        cells.load(pkl)
    assert not marker.exists()


# ----------------------------------------------------------------------------------------------------------------
# errors
def test_wrong_input_feature_count():
    cell = LSTM.init(units=2, input_dim=3, seed=0)
    with pytest.raises(ValueError, match="features"):
        cell.run(torch.zeros(4, 5, 2))
    with pytest.raises(ValueError, match="features"):
        cell.step(None, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="shape"):
        cell.run(torch.zeros(5, 3))  # no batch dimension
    with pytest.raises(ValueError, match="T = 0"):
        cell.run(torch.zeros(4, 0, 3))
    batched = LSTM.init(units=2, input_dim=3, seed=[0, 1])
    with pytest.raises(ValueError, match="models"):
        batched.run(torch.zeros(3, 4, 5, 3))
    with pytest.raises(ValueError, match="shape"):
        cell.run(torch.zeros(2, 4, 5, 3))  # per-model inputs to a single cell


@pytest.mark.parametrize(
    "cls,W,U,b,match",
    [
        (SRNN, np.zeros((1, 2)), np.zeros((2, 2)), np.zeros(3), "bias"),
        (LSTM, np.zeros((1, 3)), np.zeros((1, 3)), np.zeros(3), "LSTM|lstm"),
        (LSTM, np.zeros((1, 4)), np.zeros((2, 4)), np.zeros(4), "lstm|units"),
        (GRU, np.zeros((1, 6)), np.zeros((2, 6)), np.zeros(6), "bias"),  # reset_after=True needs (2, 6)
        (SRNN, np.zeros(2), np.zeros((2, 2)), np.zeros(2), "kernel"),
        (SRNN, np.full((1, 1), np.nan), np.zeros((1, 1)), np.zeros(1), "kernel.*NaN"),
        (SRNN, np.zeros((1, 1)), np.full((1, 1), np.inf), np.zeros(1), "recurrent_kernel.*inf"),
    ],
)
def test_constructor_shape_errors(cls, W, U, b, match):
    with pytest.raises(ValueError, match=match):
        cls(W, U, b)


def test_unknown_recurrent_activation():
    with pytest.raises(ValueError, match="unknown recurrent_activation 'relu'"):
        LSTM(np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(4), recurrent_activation="relu")
    with pytest.raises(ValueError, match="recurrent_activation"):
        GRU.from_keras(np.zeros((1, 3)), np.zeros((1, 3)), recurrent_activation="hard_tanh")


def test_from_keras_errors():
    with pytest.raises(ValueError, match="reset_after"):
        GRU.from_keras(np.zeros((1, 3)), np.zeros((1, 3)), np.zeros(3), reset_after=True)
    with pytest.raises(ValueError, match="reset_after"):
        GRU.from_keras(np.zeros((1, 3)), np.zeros((1, 3)), np.zeros((2, 3)), reset_after=False)
    with pytest.raises(ValueError, match="lstm takes no option 'reset_after'"):
        LSTM.from_keras(np.zeros((1, 4)), np.zeros((1, 4)), reset_after=True)
    with pytest.raises(ValueError, match="2-D"):
        SRNN.from_keras(np.zeros((1, 1)), np.zeros(1))


def test_to_torch_errors():
    with pytest.raises(ValueError, match="hard_sigmoid"):
        cells.to_torch(LSTM.init(seed=0, scheme="keras2"))
    with pytest.raises(ValueError, match="hard_sigmoid_keras3"):
        cells.to_torch(GRU.init(seed=0, scheme="torch", recurrent_activation="hard_sigmoid_keras3"))
    with pytest.raises(ValueError, match="reset_after"):
        cells.to_torch(GRU.init(seed=0, scheme="torch", reset_after=False))
    with pytest.raises(ValueError, match="single"):
        cells.to_torch(SRNN.init(seed=[0, 1]))
    # SRNN has no gates: its (ignored) recurrent_activation does not block conversion
    cells.to_torch(SRNN.init(seed=0, scheme="keras2"))


def test_from_torch_errors():
    with pytest.raises(ValueError, match="tanh"):
        cells.from_torch(torch.nn.RNN(1, 1, nonlinearity="relu"))
    with pytest.raises(ValueError, match="one-layer"):
        cells.from_torch(torch.nn.LSTM(1, 1, num_layers=2))
    with pytest.raises(ValueError, match="one-layer"):
        cells.from_torch(torch.nn.GRU(1, 1, bidirectional=True))
    with pytest.raises(ValueError, match="proj_size"):
        cells.from_torch(torch.nn.LSTM(1, 2, proj_size=1))
    with pytest.raises(TypeError):
        cells.from_torch(torch.nn.Linear(1, 1))
    with pytest.raises(ValueError, match="unknown cell"):
        cells.cell_class("tcn")


def test_replace_keeps_shapes_and_gradients():
    cell = SRNN.init(units=2, seed=[0, 1], dtype=torch.float64)
    params = CellParams(*(p.clone().requires_grad_(True) for p in cell.params))
    out = cell.replace(params).run(torch.ones(1, 3, 1, dtype=torch.float64)).sum()
    out.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params)
    with pytest.raises(ValueError, match="kernel"):
        cell.replace(CellParams(torch.zeros(3, 1, 2), *cell.params[1:]))


def test_a_device_that_is_not_here_is_a_value_error_naming_it():
    """Once torch's AssertionError ("not compiled with CUDA") escaped from the constructors."""
    import dynlatch
    from dynlatch import SRNN

    if torch.cuda.device_count() > 3:
        pytest.skip("this machine has a cuda:3")
    for make in (lambda: SRNN([[0.0]], [[2.0]], [0.0], device="cuda:3"),
                 lambda: SRNN([[0.0]], [[2.0]], [0.0]).to(device="cuda:3"),
                 lambda: dynlatch.Model.init("srnn", seeds=[0], device="cuda:3")):
        with pytest.raises(ValueError, match="device cuda:3 is not available"):
            make()
