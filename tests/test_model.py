"""Tests of dynlatch.Model's files (save/load) and of models without seeds.

Oracle: the model itself -- a loaded model has bit-identical parameters, options and seeds, and gives bit-identical
numbers under dynlatch.evaluate; damaged model files are WeightFileErrors naming the file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import dynlatch
from dynlatch import Model, cells, tasks
from dynlatch.cells import WeightFileError


def _model(kind, ra, readout, dtype, seeds=(4, 5, 6)):
    return Model.init(kind, seeds=list(seeds), units=2, init="torch", reset_after=ra, readout=readout, dtype=dtype,
                      recurrent_activation="hard_sigmoid" if kind == "lstm" else None)


def assert_same_model(a, b):
    assert type(a.cell) is type(b.cell) and a.cell._options() == b.cell._options()
    assert a.cell.batched == b.cell.batched and a.readout == b.readout and a.seeds == b.seeds
    for p, q in zip(a.parameters(), b.parameters()):
        assert p.dtype == q.dtype
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize("suffix", [".npz", ".json"])
@pytest.mark.parametrize("kind,ra", [("srnn", None), ("lstm", None), ("gru", False), ("gru", True)])
@pytest.mark.parametrize("readout", dynlatch.READOUTS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_round_trip_exact(tmp_path, suffix, kind, ra, readout, dtype):
    model = _model(kind, ra, readout, dtype)
    path = model.save(tmp_path / f"model{suffix}")
    loaded = Model.load(path)
    assert_same_model(loaded, model)
    # the cell alone is readable from a model file too
    cell = cells.load(path)
    for p, q in zip(cell.params, model.cell.params):
        torch.testing.assert_close(p.to(q.dtype), q, rtol=0, atol=0)


def test_round_trip_single_cell_and_no_seeds_and_evaluate(tmp_path):
    d = tasks.latching(length=5, n=20, noise=0.3, seed=0)
    single = cells.GRU.from_keras(np.full((1, 6), 0.2), np.full((2, 6), -0.7), np.zeros((2, 6)),
                                  dtype=torch.float64)
    model = Model(single, torch.ones(1, 2, 1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64), None,
                  "sigmoid")
    for suffix in (".npz", ".json"):
        loaded = Model.load(model.save(tmp_path / f"single{suffix}"))
        assert_same_model(loaded, model)
        a = dynlatch.evaluate(model, d.x_train, d.y_train, grad=True)
        b = dynlatch.evaluate(loaded, d.x_train, d.y_train, grad=True)
        np.testing.assert_array_equal(a.loss, b.loss)
        np.testing.assert_array_equal(a.grads["U_h"], b.grads["U_h"])
    trained = dynlatch.train(_model("srnn", None, "softmax", torch.float64), d, epochs=1, backend="numba").model
    assert_same_model(Model.load(trained.save(tmp_path / "trained.npz")), trained)


def test_model_without_seeds_cannot_train_but_selects(tmp_path):
    m = _model("lstm", None, "softmax", torch.float64)
    bare = Model(m.cell, m.weight, m.bias, None, m.readout)
    assert bare.select([2, 0]).seeds is None
    with pytest.raises(ValueError, match="seeds"):
        dynlatch.train(bare, tasks.latching(length=3, n=20, seed=0), epochs=1)


def test_save_is_atomic(tmp_path, monkeypatch):
    m = _model("srnn", None, "softmax", torch.float64)
    path = m.save(tmp_path / "m.json")
    before = path.read_bytes()
    monkeypatch.setattr(json, "dumps", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        _model("srnn", None, "softmax", torch.float64, seeds=(9, 9, 9)).save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.json"]
    with pytest.raises(ValueError, match="suffix|type"):
        m.save(tmp_path / "m.pt")


def _edit(tmp_path, **changes):
    m = _model("gru", True, "softmax", torch.float64)
    path = m.save(tmp_path / "m.json")
    record = json.loads(path.read_text())
    for k, v in changes.items():
        if v is None:
            record.pop(k)
        else:
            record[k] = v
    path.write_text(json.dumps(record))
    return path


@pytest.mark.parametrize(
    "changes,match",
    [
        (dict(format=None), "format"),
        (dict(format="keras"), "format"),
        (dict(readout="tanh"), "readout"),
        (dict(readout=None), "readout"),
        (dict(W_out=[[[1.0]]]), "read-out"),
        (dict(b_out=None), "b_out"),
        (dict(b_out=[[True, False]] * 3), "b_out"),
        (dict(seeds=[1, 2]), "seeds"),
        (dict(seeds=["a", "b", "c"]), "seeds"),
        (dict(seeds=[True, False, True]), "seeds"),
        (dict(dtype="int8"), "dtype"),
        (dict(batched="yes"), "batched"),
        (dict(kernel=None), "kernel"),
    ],
)
def test_damaged_model_files(tmp_path, changes, match):
    path = _edit(tmp_path, **changes)
    with pytest.raises(WeightFileError, match=match) as info:
        Model.load(path)
    assert str(path) in str(info.value)
