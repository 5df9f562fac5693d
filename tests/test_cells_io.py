"""Tests of dynlatch.cells._io: weight files under damage, Keras model files, atomic writes.

Oracles: the arrays written into hand-built files in the layouts Keras 2 (``model.save``/``save_weights`` HDF5:
``layer_names``/``weight_names`` attributes, ``<layer>/<layer>/kernel:0``) and Keras 3 (``.keras`` zip with
``model.weights.h5``, ``layers/<layer>/cell/vars/0..2``, ``config.json``) write; for damaged files, the contract that
``cells.load`` returns a valid cell or raises ``WeightFileError`` -- fuzzed with hypothesis over random bytes, random
JSON structures and mutated valid files.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynlatch import cells
from dynlatch.cells import GRU, LSTM, SRNN, Cell, WeightFileError
from dynlatch.cells import _io

FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

GOOD = {"cell": "lstm", "kernel": np.linspace(-1, 1, 8).reshape(1, 8), "recurrent_kernel": np.ones((2, 8)) * 0.3,
        "bias": np.arange(8.0) / 10, "recurrent_activation": "hard_sigmoid"}


def _json(path, record):
    path.write_text(json.dumps({k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in record.items()}))
    return path


def _npz(path, record):
    with open(path, "wb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in record.items()})
    return path


def assert_valid_cell(cell):
    assert isinstance(cell, Cell)
    assert cell.units >= 1 and cell.input_dim >= 1 and cell.models >= 1
    assert all(torch.isfinite(p).all() for p in cell.params)


def load_or_error(path):
    """The loader's contract: a valid cell or a WeightFileError naming the file; anything else fails the test."""
    try:
        cell = cells.load(path)
    except WeightFileError as e:
        assert str(path) in str(e)
        return None
    assert_valid_cell(cell)
    return cell


# ----------------------------------------------------------------------------------------------------------------
# damaged files, one by one
def _npy_bytes(a):
    f = io.BytesIO()
    np.save(f, a)
    return f.getvalue()


def _huge_claim_npz(path):
    """A valid .npz whose kernel header claims shape (10**12, 8) but holds a few bytes."""
    good = io.BytesIO()
    np.savez(good, **{k: np.asarray(v) for k, v in GOOD.items()})
    zin = zipfile.ZipFile(io.BytesIO(good.getvalue()))
    with zipfile.ZipFile(path, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "kernel.npy":
                data = data.replace(b"(1, 8)", b"(1000000000000, 8)")
            zout.writestr(name, data)
    return path


DAMAGED = {
    "empty.npz": lambda p: p.write_bytes(b""),
    "text.npz": lambda p: p.write_text("not a zip"),
    "array.npz": lambda p: p.write_bytes(_npy_bytes(np.ones(3))),
    "binary.json": lambda p: p.write_bytes(bytes(range(256))),
    "empty.json": lambda p: p.write_bytes(b""),
    "list.json": lambda p: p.write_text("[1, 2]"),
    "cell_list.json": lambda p: _json(p, {**GOOD, "cell": ["lstm"]}),
    "cell_number.json": lambda p: _json(p, {**GOOD, "cell": 3}),
    "cell_dict.json": lambda p: _json(p, {**GOOD, "cell": {"kind": "lstm"}}),
    "act_list.json": lambda p: _json(p, {**GOOD, "recurrent_activation": ["sigmoid"]}),
    "nested.json": lambda p: _json(p, {**GOOD, "kernel": [[[[[0.5] * 8]]]]}),
    "kernel_dict.json": lambda p: _json(p, {**GOOD, "kernel": {"a": 1}}),
    "ragged.json": lambda p: _json(p, {**GOOD, "recurrent_kernel": [[0.1] * 8, [0.2] * 7]}),
    "strings.json": lambda p: _json(p, {**GOOD, "bias": ["0"] * 8}),
    "bools.json": lambda p: _json(p, {**GOOD, "bias": [True] * 8}),
    "bigint.json": lambda p: _json(p, {**GOOD, "bias": [10**400] * 8}),
    "deep.json": lambda p: p.write_text("[" * 100000 + "]" * 100000),
    "nan.json": lambda p: p.write_text(json.dumps({**{k: v.tolist() if isinstance(v, np.ndarray) else v
                                                     for k, v in GOOD.items()}, "bias": [float("nan")] * 8})),
    "zero_units.json": lambda p: _json(p, {"cell": "srnn", "kernel": np.zeros((1, 0)),
                                           "recurrent_kernel": np.zeros((0, 0)), "bias": np.zeros(0)}),
    "reset_after_srnn.json": lambda p: _json(p, {"cell": "srnn", "kernel": [[1.0]], "recurrent_kernel": [[1.0]],
                                                 "bias": [0.0], "reset_after": True}),
    "reset_after_string.json": lambda p: _json(p, {"cell": "gru", "kernel": np.zeros((1, 3)),
                                                   "recurrent_kernel": np.zeros((1, 3)), "bias": np.zeros(3),
                                                   "reset_after": "yes"}),
    "bool_kernel.npz": lambda p: _npz(p, {**GOOD, "kernel": np.ones((1, 8), dtype=bool)}),
    "complex.npz": lambda p: _npz(p, {**GOOD, "kernel": np.ones((1, 8), dtype=complex)}),
    "string_kernel.npz": lambda p: _npz(p, {**GOOD, "kernel": np.array("abc")}),
    "cell_array.npz": lambda p: _npz(p, {**GOOD, "cell": np.array(["lstm", "gru"])}),
    "huge_claim.npz": _huge_claim_npz,
    "truncated.npz": lambda p: p.write_bytes(_npz(p, GOOD).read_bytes()[:300]),
    "torch_rank3.npz": lambda p: _npz(p, {"weight_ih_l0": np.zeros((4, 1, 1)), "weight_hh_l0": np.zeros((4, 1))}),
    "not_hdf5.h5": lambda p: p.write_text("hello"),
    "empty.h5": lambda p: h5py.File(p, "w").close(),
    "not_zip.keras": lambda p: p.write_bytes(b"PK\x03\x04garbage"),
    "no_weights.keras": lambda p: zipfile.ZipFile(p, "w").writestr("config.json", "{}"),
}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_files_are_weight_file_errors(tmp_path, name):
    path = tmp_path / name
    DAMAGED[name](path)
    with pytest.raises(WeightFileError) as info:
        cells.load(path)
    assert str(path) in str(info.value)


def test_folder_and_missing_file(tmp_path):
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(WeightFileError, match="folder"):
        cells.load(tmp_path / "dir.npz")
    with pytest.raises(FileNotFoundError):
        cells.load(tmp_path / "missing.keras")


@pytest.mark.parametrize("writer", [_json, _npz], ids=["json", "npz"])
def test_good_record_still_loads_exactly(tmp_path, writer):
    cell = cells.load(writer(tmp_path / ("good.json" if writer is _json else "good.npz"), GOOD))
    assert type(cell) is LSTM and cell.recurrent_activation == "hard_sigmoid"
    np.testing.assert_array_equal(cell.params.kernel[0].numpy(), GOOD["kernel"])
    np.testing.assert_array_equal(cell.params.bias[0, 0].numpy(), GOOD["bias"])


# ----------------------------------------------------------------------------------------------------------------
# fuzzing
KEYS = ["cell", "kernel", "recurrent_kernel", "bias", "recurrent_activation", "reset_after", "weight_ih_l0",
        "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "junk"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["srnn", "lstm", "gru", "sigmoid", "hard_sigmoid", ""]),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.sampled_from(KEYS), children, max_size=4),
    max_leaves=40,
)
# rectangular numeric arrays, so that some generated records are valid cells
arrays = st.integers(1, 3).flatmap(lambda n: st.sampled_from([1, 3, 4]).flatmap(
    lambda g: st.lists(st.lists(st.floats(-2, 2), min_size=g * n, max_size=g * n), min_size=1, max_size=n)))


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), json_values | arrays, max_size=6), st.sampled_from(["json", "npz"]))
def test_fuzz_random_records(tmp_path_factory, record, suffix):
    path = tmp_path_factory.mktemp("f") / f"w.{suffix}"
    if suffix == "json":
        path.write_text(json.dumps(record))
    else:
        try:
            arrays_only = {k: np.asarray(v) for k, v in record.items()}
            _npz(path, arrays_only)
        except (ValueError, TypeError):  # ragged: not storable without pickles
            return
    load_or_error(path)


@FUZZ
@given(st.binary(max_size=600), st.sampled_from([".json", ".npz", ".h5", ".keras"]))
def test_fuzz_random_bytes(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("b") / f"w{suffix}"
    path.write_bytes(data)
    load_or_error(path)


def _valid_bytes(kind, tmp):
    if kind == "json":
        return _json(tmp / "v.json", GOOD).read_bytes()
    if kind == "npz":
        return _npz(tmp / "v.npz", GOOD).read_bytes()
    if kind == "h5":
        return write_keras2_h5(tmp / "v.h5", "lstm", units=2).read_bytes()
    return write_keras3(tmp / "v.keras", "gru", units=2).read_bytes()


@FUZZ
@given(st.sampled_from(["json", "npz", "h5", "keras"]),
       st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
       st.one_of(st.none(), st.integers(0, 10**6)))
def test_fuzz_mutated_valid_files(tmp_path_factory, kind, flips, cut):
    tmp = tmp_path_factory.mktemp("m")
    data = bytearray(_valid_bytes(kind, tmp))
    for pos, value in flips:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp / f"mutated.{kind}"
    path.write_bytes(bytes(data))
    load_or_error(path)


# ----------------------------------------------------------------------------------------------------------------
# Keras model files, written with h5py in the layouts Keras writes
def _arrays(kind, units, D=1, reset_after=False, seed=0):
    G = {"srnn": 1, "lstm": 4, "gru": 3}[kind]
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(D, G * units)).astype(np.float32)
    U = rng.normal(size=(units, G * units)).astype(np.float32)
    b = rng.normal(size=(2, G * units) if reset_after else (G * units,)).astype(np.float32)
    return W, U, b


CLASS = {"srnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def _layer_config(kind, name, recurrent_activation, reset_after):
    cfg = {"name": name, "units": 2, "activation": "tanh", "return_sequences": False}
    if kind != "srnn":
        cfg["recurrent_activation"] = recurrent_activation
    if kind == "gru":
        cfg["reset_after"] = reset_after
    return {"class_name": CLASS[kind], "config": cfg}


def write_keras2_h5(path, kind, *, units, recurrent_activation="hard_sigmoid", reset_after=False, style="tf1",
                    with_config=True, whole_model=True, arrays=None):
    """A Keras 2 HDF5 file: ``model.save`` (``model_weights`` group, ``model_config`` attribute) or ``save_weights``
    (layer groups at the root). style "tf1": weight names ``lstm_1/kernel:0`` (Keras 2.0-2.2, the question's era);
    "tf2": ``lstm/lstm_cell/kernel:0`` (tf.keras 2.x). A Dense read-out layer follows the recurrent one."""
    W, U, b = arrays or _arrays(kind, units, reset_after=reset_after)
    layer = {"srnn": "simple_rnn_1", "lstm": "lstm_1", "gru": "gru_1"}[kind]
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if whole_model else f
        if whole_model:
            f.attrs["keras_version"] = b"2.1.6" if style == "tf1" else b"2.11.0"
            f.attrs["backend"] = b"tensorflow"
            if with_config:
                layers = [_layer_config(kind, layer, recurrent_activation, reset_after),
                          {"class_name": "Dense", "config": {"name": "dense_1", "units": 2}}]
                config = {"class_name": "Sequential", "config": layers if style == "tf1" else {"layers": layers}}
                f.attrs["model_config"] = json.dumps(config).encode()
        root.attrs["layer_names"] = [layer.encode(), b"dense_1"]
        g = root.create_group(layer)
        prefix = f"{layer}/" if style == "tf1" else f"{layer}/{kind}_cell/"
        names = [f"{prefix}kernel:0", f"{prefix}recurrent_kernel:0", f"{prefix}bias:0"]
        g.attrs["weight_names"] = [n.encode() for n in names]
        for n, a in zip(names, (W, U, b)):
            g.create_dataset(n, data=a)
        d = root.create_group("dense_1")
        d.attrs["weight_names"] = [b"dense_1/kernel:0", b"dense_1/bias:0"]
        d.create_dataset("dense_1/kernel:0", data=np.ones((units, 2), np.float32))
        d.create_dataset("dense_1/bias:0", data=np.zeros(2, np.float32))
    return path


def _keras3_weights(f, kind, layer, W, U, b):
    g = f.create_group(f"layers/{layer}/cell/vars")
    for i, a in enumerate((W, U, b)):
        g.create_dataset(str(i), data=a)
    d = f.create_group("layers/dense/vars")
    d.create_dataset("0", data=np.ones((U.shape[0], 2), np.float32))
    d.create_dataset("1", data=np.zeros(2, np.float32))
    f.create_group("optimizer/vars")


def write_keras3(path, kind, *, units, recurrent_activation="sigmoid", reset_after=True, with_config=True,
                 arrays=None):
    """A Keras 3 ``.keras`` archive: config.json, metadata.json, model.weights.h5 (``layers/<layer>/cell/vars/i``)."""
    W, U, b = arrays or _arrays(kind, units, reset_after=reset_after and kind == "gru")
    layer = {"srnn": "simple_rnn", "lstm": "lstm", "gru": "gru"}[kind]
    h5 = io.BytesIO()
    with h5py.File(h5, "w") as f:
        _keras3_weights(f, kind, layer, W, U, b)
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": "input_layer"}},
        {"module": "keras.layers", **_layer_config(kind, layer, recurrent_activation, reset_after)},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2}}]}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.5.0"}))
        if with_config:
            z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", h5.getvalue())
    return path


def _expected(kind, W, U, b, **opts):
    return cells.cell_class(kind).from_keras(W, U, b, **opts)


def assert_same(cell, kind, W, U, b, act, reset_after=None):
    assert cell.kind == kind and cell.recurrent_activation == act
    if kind == "gru":
        assert cell.reset_after == reset_after
    np.testing.assert_array_equal(cell.params.kernel[0].numpy(), W)
    np.testing.assert_array_equal(cell.params.recurrent_kernel[0].numpy(), U)
    np.testing.assert_array_equal(cell.params.bias[0].numpy().reshape(np.shape(b)), b)
    assert cell.dtype == torch.float32


@pytest.mark.parametrize("kind", ["srnn", "lstm", "gru"])
@pytest.mark.parametrize("style", ["tf1", "tf2"])
@pytest.mark.parametrize("whole_model", [True, False], ids=["model.save", "save_weights"])
def test_keras2_h5(tmp_path, kind, style, whole_model):
    W, U, b = _arrays(kind, 2, reset_after=False)
    path = write_keras2_h5(tmp_path / "m.h5", kind, units=2, style=style, whole_model=whole_model, arrays=(W, U, b))
    cell = cells.load(path)
    # the stored config says hard_sigmoid (Keras 2's clip(0.2 z + 0.5)); without a config the default is sigmoid
    act = "hard_sigmoid" if whole_model and kind != "srnn" else "sigmoid"
    assert_same(cell, kind, W, U, b, act if kind != "srnn" else "sigmoid", reset_after=False)


def test_keras2_gru_reset_after_from_bias_shape_and_config(tmp_path):
    W, U, b = _arrays("gru", 3, reset_after=True)
    path = write_keras2_h5(tmp_path / "g.h5", "gru", units=3, style="tf2", reset_after=True, arrays=(W, U, b),
                           recurrent_activation="sigmoid")
    assert_same(cells.load(path), "gru", W, U, b, "sigmoid", reset_after=True)
    bad = write_keras2_h5(tmp_path / "bad.h5", "gru", units=3, style="tf2", reset_after=False, arrays=(W, U, b))
    with pytest.raises(WeightFileError, match="bias"):  # config says reset_after=False, the bias has two rows
        cells.load(bad)


@pytest.mark.parametrize("kind", ["srnn", "lstm", "gru"])
@pytest.mark.parametrize("with_config", [True, False])
def test_keras3_archive(tmp_path, kind, with_config):
    W, U, b = _arrays(kind, 2, reset_after=kind == "gru")
    path = write_keras3(tmp_path / "m.keras", kind, units=2, recurrent_activation="hard_sigmoid",
                        with_config=with_config, arrays=(W, U, b))
    cell = cells.load(path)
    # Keras 3's "hard_sigmoid" is clip(z / 6 + 0.5, 0, 1)
    act = "hard_sigmoid_keras3" if with_config and kind != "srnn" else "sigmoid"
    assert_same(cell, kind, W, U, b, act, reset_after=True)
    x = torch.randn(3, 5, 1)
    torch.testing.assert_close(cell.run(x), _expected(kind, W, U, b, recurrent_activation=act).run(x), rtol=0, atol=0)


def test_keras3_weights_h5(tmp_path):
    W, U, b = _arrays("lstm", 2)
    with h5py.File(tmp_path / "m.weights.h5", "w") as f:
        _keras3_weights(f, "lstm", "lstm", W, U, b)
    assert_same(cells.load(tmp_path / "m.weights.h5"), "lstm", W, U, b, "sigmoid")


def test_keras_files_that_do_not_fit(tmp_path):
    W, U, b = _arrays("lstm", 2)
    path = write_keras2_h5(tmp_path / "m.h5", "gru", units=2, arrays=(W, U, b))  # config GRU, weights LSTM
    with pytest.raises(WeightFileError, match="GRU"):
        cells.load(path)
    with h5py.File(tmp_path / "dense.h5", "w") as f:
        f.create_dataset("dense/dense/kernel:0", data=np.ones((2, 2)))
    with pytest.raises(WeightFileError, match="no SimpleRNN, LSTM or GRU"):
        cells.load(tmp_path / "dense.h5")
    with h5py.File(tmp_path / "five.h5", "w") as f:
        f.create_dataset("r/r/kernel:0", data=np.ones((1, 10)))
        f.create_dataset("r/r/recurrent_kernel:0", data=np.ones((2, 10)))
    with pytest.raises(WeightFileError, match="5 gates"):
        cells.load(tmp_path / "five.h5")
    with h5py.File(tmp_path / "nan.h5", "w") as f:
        f.create_dataset("r/r/kernel:0", data=np.full((1, 4), np.nan))
        f.create_dataset("r/r/recurrent_kernel:0", data=np.ones((1, 4)))
    with pytest.raises(WeightFileError, match="NaN"):
        cells.load(tmp_path / "nan.h5")
    with h5py.File(tmp_path / "bool.h5", "w") as f:
        f.create_dataset("r/r/kernel:0", data=np.ones((1, 4), dtype=bool))
        f.create_dataset("r/r/recurrent_kernel:0", data=np.ones((1, 4)))
    with pytest.raises(WeightFileError, match="numeric"):
        cells.load(tmp_path / "bool.h5")


# ----------------------------------------------------------------------------------------------------------------
# atomic writes
def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    path = tmp_path / "cell.npz"
    old = SRNN.init(seed=1)
    cells.save(old, path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        cells.save(SRNN.init(seed=2), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["cell.npz"]
    monkeypatch.undo()
    # each writer gets its own temporary file in the target's folder
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (seen.append(src), real_replace(src, dst)))
    for suffix in (".npz", ".json", ".npz"):
        cells.save(LSTM.init(seed=3), tmp_path / f"c{suffix}")
    assert len(set(seen)) == 3 and all(os.path.dirname(s) == str(tmp_path) for s in seen)
    assert sorted(os.listdir(tmp_path)) == ["c.json", "c.npz", "cell.npz"]
    assert cells.load(tmp_path / "c.json").kind == "lstm"


@pytest.mark.parametrize("suffix", [".json", ".npz"])
@pytest.mark.parametrize("kind,ra", [("srnn", None), ("lstm", None), ("gru", False), ("gru", True)])
def test_save_load_round_trip_batched(tmp_path, suffix, kind, ra):
    cell = cells.cell_class(kind).init(units=2, seed=[1, 2, 3], reset_after=ra, dtype=torch.float64)
    loaded = cells.load(cells.save(cell, tmp_path / f"c{suffix}"))
    assert loaded.batched and loaded.models == 3 and loaded._options() == cell._options()
    for a, b in zip(loaded.params, cell.params):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), json_values | arrays, max_size=2),
       st.sets(st.sampled_from(list(GOOD)), max_size=2), st.sampled_from(["json", "npz"]))
def test_fuzz_valid_record_with_keys_replaced_or_removed(tmp_path_factory, replaced, removed, suffix):
    record = {k: v for k, v in GOOD.items() if k not in removed}
    record.update(replaced)
    path = tmp_path_factory.mktemp("r") / f"w.{suffix}"
    if suffix == "json":
        _json(path, record)
    else:
        try:
            _npz(path, record)
        except (ValueError, TypeError):
            return
    cell = load_or_error(path)
    if not removed and not replaced:
        assert cell is not None
