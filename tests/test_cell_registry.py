"""A new cell kind is one module: a Cell subclass with its step function, registered by name. Shown with a torch-only
copy of the minimal gated unit (Zhou et al. 2016) registered at test time, checked against a numpy transcription of
its equations; without a compiled kernel it trains on the torch backend, to the same models as the shipped
:class:`dynlatch.cells.MGU` (compiled), and weight files, names, init and with_params work for it unchanged."""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np
import pytest
import torch

import dynlatch
from dynlatch import cells, tasks
from dynlatch.cells import Cell, mgu_step


class MGU(Cell):
    kind: ClassVar[str] = "mgu_torch_only"
    gate_names: ClassVar[tuple[str, ...]] = ("f", "h")

    def step_function(self):
        return functools.partial(mgu_step, gate=self.gate)


@pytest.fixture
def mgu():
    cells.register(MGU)
    yield MGU
    cells.unregister("mgu_torch_only")


def numpy_mgu(W, U, b, x):
    n = U.shape[0]
    h = np.zeros((x.shape[0], n))
    for t in range(x.shape[1]):
        f = 1 / (1 + np.exp(-(x[:, t] @ W[:, :n] + h @ U[:, :n] + b[:n])))
        hh = np.tanh(x[:, t] @ W[:, n:] + (f * h) @ U[:, n:] + b[n:])
        h = (1 - f) * h + f * hh
    return h


def test_registered_kind_is_found_by_name(mgu):
    assert "mgu_torch_only" in cells.kinds() and cells.cell_class("mgu_torch_only") is MGU
    assert cells.CELL_CLASSES["mgu_torch_only"] is MGU
    assert MGU.n_gates == 2


def test_new_kind_runs_its_equations(mgu):
    rng = np.random.default_rng(0)
    W, U, b = rng.normal(size=(2, 6)), rng.normal(size=(3, 6)), rng.normal(size=6)
    cell = MGU.from_keras(W, U, b)
    x = rng.normal(size=(4, 9, 2))
    np.testing.assert_allclose(cell.run(torch.as_tensor(x))[:, -1].numpy(), numpy_mgu(W, U, b, x), atol=1e-12)
    assert cell.param_names() == ("W_f", "W_h", "U_f", "U_h", "b_f", "b_h")
    assert cell.kernel_code() is None


def test_new_kind_inits_saves_loads_and_takes_named_values(mgu, tmp_path):
    cell = MGU.init(units=2, seed=[0, 1], scheme="keras2", dtype=torch.float64)
    assert cell.recurrent_activation == "hard_sigmoid" and cell.models == 2
    back = cells.load(cells.save(cell, tmp_path / "mgu.npz"))
    assert type(back) is MGU and all(torch.equal(a, b) for a, b in zip(back.params, cell.params))
    assert cell.with_params(b_f=torch.tensor([1.0, 2.0], dtype=torch.float64)).named_params()["b_f"].tolist() == \
        [[1.0, 2.0], [1.0, 2.0]]
    with pytest.raises(ValueError, match="no torch.nn counterpart"):
        cells.to_torch(cell[0])


def test_new_kind_trains_on_the_torch_backend(mgu):
    data = tasks.latching(length=3, n=200, seed=0)
    model = dynlatch.Model.init("mgu_torch_only", seeds=[0, 1], init="torch", dtype=torch.float64)
    result = dynlatch.train(model, data, epochs=2)
    assert result.backend == "torch" and not result.diverged.any()
    assert np.all(result.history["train_loss"][:, 1] < result.history["train_loss"][:, 0])
    shipped = dynlatch.train(dynlatch.Model.init("mgu", seeds=[0, 1], init="torch", dtype=torch.float64), data,
                             epochs=2)
    assert shipped.backend == "numba"
    np.testing.assert_allclose(shipped.history["train_loss"], result.history["train_loss"], rtol=1e-10, atol=0)
    with pytest.raises(ValueError, match="no compiled kernel"):
        dynlatch.train(model, data, epochs=1, backend="numba")
