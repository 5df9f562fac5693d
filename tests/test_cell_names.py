"""Cells read and rebuilt by their Keras parameter names (REFERENCES: LSTM blocks i, f, c, o; GRU z, r, h; Keras
names W, U, b per block; GRU reset_after's recurrent bias row br_*), checked against the Keras-layout arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dynlatch import Model
from dynlatch.cells import GRU, LSTM, SRNN

EXPECTED = {
    (SRNN, None): ["W", "U", "b"],
    (LSTM, None): ["W_i", "W_f", "W_c", "W_o", "U_i", "U_f", "U_c", "U_o", "b_i", "b_f", "b_c", "b_o"],
    (GRU, False): ["W_z", "W_r", "W_h", "U_z", "U_r", "U_h", "b_z", "b_r", "b_h"],
    (GRU, True): ["W_z", "W_r", "W_h", "U_z", "U_r", "U_h", "b_z", "b_r", "b_h", "br_z", "br_r", "br_h"],
}


def build(cls, reset_after, **kw):
    opts = {} if reset_after is None else {"reset_after": reset_after}
    return cls.init(scheme="torch", dtype=torch.float64, **opts, **kw)


@pytest.mark.parametrize("cls,reset_after", list(EXPECTED))
@pytest.mark.parametrize("units", [1, 3])
def test_names_index_the_keras_blocks(cls, reset_after, units):
    cell = build(cls, reset_after, units=units, input_dim=2, seed=[0, 1])
    assert list(cell.param_names()) == EXPECTED[(cls, reset_after)]
    named = cell.named_params()
    arrays = cell.numpy()  # Keras layout (M, D, K), (M, n, K), (M, [2,] K)
    bias = arrays["bias"] if arrays["bias"].ndim == 3 else arrays["bias"][:, None]
    for j, g in enumerate(cell.gate_names):
        suffix = "" if cls is SRNN else f"_{g}"
        cols = slice(j * units, (j + 1) * units)
        np.testing.assert_array_equal(named["W" + suffix].numpy(), arrays["kernel"][:, :, cols])
        np.testing.assert_array_equal(named["U" + suffix].numpy(), arrays["recurrent_kernel"][:, :, cols])
        np.testing.assert_array_equal(named["b" + suffix].numpy(), bias[:, 0, cols])
        if reset_after:
            np.testing.assert_array_equal(named["br" + suffix].numpy(), bias[:, 1, cols])
    single = cell[1].named_params()
    assert all(torch.equal(single[k], named[k][1]) for k in named)


def test_keras2_lstm_forget_bias_is_one_by_name():
    cell = LSTM.init(seed=[3, 4], scheme="keras2")
    assert torch.equal(cell.named_params()["b_f"], torch.ones(2, 1))
    assert torch.equal(cell.named_params()["b_i"], torch.zeros(2, 1))


def test_with_params_linspace_makes_models_that_differ_only_there():
    cell = LSTM.init(seed=0, scheme="keras2", dtype=torch.float64)
    grid = torch.linspace(-3, 3, 512, dtype=torch.float64)
    many = cell.with_params(U_c=grid)
    assert many.batched and many.models == 512
    named, base = many.named_params(), cell.named_params()
    torch.testing.assert_close(named["U_c"].reshape(-1), grid, rtol=0, atol=0)
    for k, v in base.items():
        if k != "U_c":
            assert torch.equal(named[k], v.expand_as(named[k])), k
    # each model computes what a single cell with that U_c computes
    x = torch.randn(3, 7, 1, dtype=torch.float64)
    h = many.run(x)
    for m in (0, 200, 511):
        U = cell.numpy()["recurrent_kernel"].copy()
        U[0, 2] = grid[m].item()  # block c of a 1-unit LSTM is column 2
        alone = LSTM.from_keras(cell.numpy()["kernel"], U, cell.numpy()["bias"],
                                recurrent_activation="hard_sigmoid", dtype=torch.float64)
        torch.testing.assert_close(h[m], alone.run(x), rtol=0, atol=0)


def test_with_params_blocks_per_model_and_shared():
    cell = GRU.init(units=2, seed=[0, 1, 2], scheme="torch", dtype=torch.float64)
    U_h = torch.arange(12, dtype=torch.float64).reshape(3, 2, 2)
    new = cell.with_params(U_h=U_h, b_z=torch.tensor([0.5, -0.5], dtype=torch.float64))
    assert new.models == 3
    assert torch.equal(new.named_params()["U_h"], U_h)
    assert torch.equal(new.named_params()["b_z"], torch.tensor([[0.5, -0.5]] * 3, dtype=torch.float64))
    assert torch.equal(new.named_params()["br_h"], cell.named_params()["br_h"])
    assert torch.equal(cell.named_params()["b_z"], GRU.init(units=2, seed=[0, 1, 2], scheme="torch",
                                                            dtype=torch.float64).named_params()["b_z"])  # unchanged


def test_with_params_keeps_gradients():
    cell = SRNN.init(seed=0, dtype=torch.float64)
    w = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64, requires_grad=True)
    out = cell.with_params(U=w).run(torch.ones(1, 4, 1, dtype=torch.float64))[:, 0, -1, 0].sum()
    out.backward()
    assert w.grad is not None and torch.all(w.grad != 0)


@pytest.mark.parametrize("kw,match", [
    ({"U_x": 1.0}, "no parameter 'U_x'"),
    ({"U_c": torch.zeros(2, 2)}, "U_c must have shape"),
    ({"U_c": torch.zeros(3), "W_c": torch.zeros(4)}, "different model counts"),
    ({"b_f": float("nan")}, "NaN"),
])
def test_with_params_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        LSTM.init(seed=0).with_params(**kw)
    with pytest.raises(ValueError, match="values give 3 models; the cell has 2"):
        LSTM.init(seed=[0, 1]).with_params(U_c=torch.zeros(3))


def test_model_cell_is_read_by_name():
    model = Model.init("srnn", seeds=[0, 1, 2], init="keras2")
    U = model.cell.named_params()["U"].reshape(-1)
    assert set(U.abs().tolist()) == {1.0}  # Keras-2 orthogonal 1 x 1 recurrent kernel: exactly +-1


def test_name_blocks_split_numpy_arrays_such_as_gradients():
    cell = GRU.init(units=3, input_dim=3, seed=[0, 1], scheme="torch")
    W, U, b = np.arange(2 * 3 * 9.0).reshape(2, 3, 9), np.arange(2 * 3 * 9.0).reshape(2, 3, 9) + 100, \
        np.arange(2 * 2 * 9.0).reshape(2, 2, 9) + 1000
    named = cell.name_blocks((W, U, b))
    assert list(named) == EXPECTED[(GRU, True)]
    np.testing.assert_array_equal(named["U_r"], U[:, :, 3:6])
    np.testing.assert_array_equal(named["br_h"], b[:, 1, 6:9])
    np.testing.assert_array_equal(named["b_z"], b[:, 0, 0:3])
