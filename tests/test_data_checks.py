"""Tests of dynlatch._data_checks: the one place where train and evaluate check their data.

Oracle: a validity predicate computed in the test from how each case was generated (dtype, shape, injected NaN,
label values), independently of the checks' code; the known failure cases (labels {1, 2} gave a loss of -1e170 on
the numba backend; labels five rows short segfaulted) must be ValueErrors naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dynlatch
from dynlatch import Model, tasks
from dynlatch._data_checks import check_arrays, check_dataset, check_labels, check_target

FUZZ = settings(max_examples=800, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
END_TO_END = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

GOOD_X = ("float64", "float32", "float16", "int64", "int8", "uint8")
BAD_X = ("bool", "complex128", "object", "str")
GOOD_Y = ("int64", "int32", "uint8", "float64")
BAD_Y = ("bool", "complex64", "object", "str")


@pytest.fixture(scope="module")
def data():
    return tasks.latching(length=4, n=40, noise=0.2, seed=0)


def _model(readout="softmax", input_dim=1):
    return Model.init("srnn", seeds=[0, 1], input_dim=input_dim, readout=readout, dtype=torch.float64)


def _dataset(data, **arrays):
    from dataclasses import replace

    return replace(data, **arrays)


# ----------------------------------------------------------------------------------------------------------------
# the reported reproducers, on both backends
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_labels_out_of_range_are_refused_before_training(data, backend):
    bad = _dataset(data, y_train=data.y_train + 1)  # labels {1, 2}: the numba backend returned a loss of ~-1e170
    with pytest.raises(ValueError, match=r"^y_train must hold labels in 0\.\.1"):
        dynlatch.train(_model(), bad, epochs=1, backend=backend)
    with pytest.raises(ValueError, match=r"^y_val .*\{0, 1\}"):
        dynlatch.train(_model("sigmoid"), _dataset(data, y_val=data.y_val * 2), epochs=1, backend=backend)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_short_labels_are_refused_before_training(data, backend):
    bad = _dataset(data, y_train=data.y_train[:-5])  # segfaulted (exit 139) on the numba backend
    with pytest.raises(ValueError, match=rf"^y_train has {len(data.y_train) - 5} labels for {len(data.y_train)}"):
        dynlatch.train(_model(), bad, epochs=1, backend=backend)


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(x_train=np.zeros((5, 4))), r"^x_train must have shape \(N, T, input_dim\)"),
        (dict(x_val=np.zeros((0, 4, 1))), "^x_val must hold at least one sequence"),
        (dict(x_train=np.zeros((30, 0, 1))), "^x_train must hold at least one sequence"),
        (dict(x_train=np.zeros((30, 4, 2))), "^x_train has 2 input features; the model expects input_dim=1"),
        (dict(x_val=np.full((10, 4, 1), np.nan)), "^x_val contains NaN"),
        (dict(x_train=np.full((30, 4, 1), np.inf)), "^x_train contains NaN or inf"),
        (dict(x_train=np.zeros((30, 4, 1), dtype=complex)), "^x_train must be a real numeric array.*complex"),
        (dict(x_train=np.zeros((30, 4, 1), dtype=bool)), "^x_train must be a real numeric array.*bool"),
        (dict(x_train=[[[0.0]], [[0.0], [1.0]]]), "^x_train is not a rectangular"),
        (dict(y_train=np.zeros((30, 1), dtype=int)), r"^y_train must be a 1-D array"),
        (dict(y_train=np.full(30, 0.5)), "^y_train must hold integer class labels"),
        (dict(y_val=np.full(10, np.nan)), "^y_val contains NaN"),
        (dict(y_val=np.zeros(10, dtype=bool)), "^y_val must be a real numeric array.*bool"),
        (dict(y_train=np.full(30, -1)), "^y_train must hold labels"),
        (dict(y_train=None), "^y_train is missing"),
    ],
)
def test_each_check_names_its_argument(data, change, match):
    bad = _consistent(data, change)
    with pytest.raises(ValueError, match=match):
        check_dataset(bad, input_dim=1, readout="softmax")
    with pytest.raises(ValueError, match=match):
        dynlatch.train(_model(), bad, epochs=1, backend="torch")


def _consistent(data, change):
    """``data`` with ``change`` applied and the changed array's partner (x_train for y_train, ...) resized to the same
    number of sequences, so that only the intended check fails."""
    from dataclasses import replace

    (key, value), = change.items()
    partner = ("y_" if key[0] == "x" else "x_") + key.split("_")[1]
    arrays = {key: value}
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        if key[0] == "x":
            arrays[partner] = np.zeros(value.shape[0], dtype=np.int64)
        else:
            x = getattr(data, partner)
            arrays[partner] = np.resize(x, (value.shape[0],) + x.shape[1:])
    return replace(data, **arrays)


def test_good_arrays_come_back_contiguous_float64_and_int64():
    x = np.asfortranarray(np.arange(24, dtype=np.int8).reshape(2, 4, 3))
    X, Y = check_arrays(x, np.array([1.0, 0.0]), input_dim=3, readout="softmax")
    assert X.dtype == np.float64 and X.flags.c_contiguous and (X == x).all()
    assert Y.dtype == np.int64 and list(Y) == [1, 0]
    X2, Y2 = check_arrays(torch.ones(2, 1, 3), torch.tensor([1, 1]), input_dim=3, readout="sigmoid")
    assert X2.dtype == np.float64 and list(Y2) == [1, 1]
    assert check_arrays(x, None, input_dim=3)[1] is None
    np.testing.assert_array_equal(check_labels([0, 4], N=2, readout="softmax", classes=5), [0, 4])
    np.testing.assert_array_equal(check_target([1, 2], n=2, N=3), [[1, 2]] * 3)
    with pytest.raises(ValueError, match="^target must have shape"):
        check_target([[1, 2]] * 2, n=2, N=3)


# ----------------------------------------------------------------------------------------------------------------
# fuzzing: thousands of generated datasets against a predicate written from the generation parameters
@st.composite
def datasets(draw, max_n=5):
    """(x, y, input_dim, readout, valid): about half the cases are clean, the others carry one or more faults (dtype,
    shape, non-finite values, label count, label values); ``valid`` follows from the faults drawn."""
    readout = draw(st.sampled_from(["softmax", "sigmoid"]))
    input_dim = draw(st.integers(1, 3))
    faults = draw(st.sets(st.sampled_from(["x_dtype", "ndim", "empty", "features", "nonfinite", "y_dtype", "y_2d",
                                           "y_len", "y_value"]), min_size=1, max_size=3)) if draw(st.booleans()) else set()
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    N, T = draw(st.integers(1, max_n)), draw(st.integers(1, max_n))
    shape = [N, T, input_dim]
    if "ndim" in faults:
        shape = draw(st.sampled_from([[N, T], [N], [], [N, T, input_dim, 2]]))
    if "empty" in faults and len(shape) >= 2:
        shape[draw(st.integers(0, 1))] = 0
    if "features" in faults and len(shape) >= 3:
        shape[2] = input_dim + draw(st.sampled_from([-1, 1, 2]))
    x = rng.uniform(-5, 5, size=tuple(shape))
    if "nonfinite" in faults and x.size:
        x.flat[rng.integers(x.size)] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    x_dtype = draw(st.sampled_from(BAD_X if "x_dtype" in faults else GOOD_X))
    if x_dtype in ("str", "object"):
        x = x.astype(x_dtype)
    elif np.dtype(x_dtype).kind in "iub":
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0).astype(x_dtype)
        faults.discard("nonfinite")  # integers hold no NaN
    else:
        x = x.astype(x_dtype)
    n_x = shape[0] if len(shape) >= 1 else 1
    y_len = n_x + (draw(st.sampled_from([-5, -1, 1, 3])) if "y_len" in faults else 0)
    y_len = max(y_len, 0)
    if y_len == n_x:
        faults.discard("y_len")
    y = rng.integers(0, 2, size=y_len).astype(float)
    if "y_value" in faults and y_len:
        y[rng.integers(y_len)] = draw(st.sampled_from([2, -1, 0.5, np.nan, np.inf, 10**6]))
    elif "y_value" in faults:
        faults.discard("y_value")
    y_dtype = draw(st.sampled_from(BAD_Y if "y_dtype" in faults else GOOD_Y))
    if y_dtype in ("str", "object"):
        y = y.astype(y_dtype)
    elif np.dtype(y_dtype).kind in "iub":
        y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0).astype(np.int64).astype(y_dtype)
        if "y_value" in faults and not (y.astype(np.int64).min() < 0 or y.astype(np.int64).max() > 1):
            faults.discard("y_value")  # the fault did not survive the cast (0.5 -> 0, NaN -> 0)
    else:
        y = y.astype(y_dtype)
    if "y_2d" in faults:
        y = y.reshape(-1, 1)
    valid = not faults and x.shape == (N, T, input_dim)
    return x, y, input_dim, readout, valid


@FUZZ
@given(datasets())
def test_fuzz_check_arrays(case):
    x, y, input_dim, readout, valid = case
    try:
        X, Y = check_arrays(x, y, input_dim=input_dim, readout=readout, x_name="x_train", y_name="y_train")
    except ValueError as e:
        assert not valid, f"refused a valid dataset: {e}"
        assert str(e).startswith(("x_train", "y_train")), str(e)
        return
    assert valid, "accepted an invalid dataset"
    assert X.dtype == np.float64 and X.flags.c_contiguous and X.shape[2] == input_dim
    assert Y.dtype == np.int64 and Y.shape == (X.shape[0],) and set(Y.tolist()) <= {0, 1}
    assert np.isfinite(X).all()


def _tiny_split(x, y):
    return tasks.Dataset(x, y, x, y, task="latching", length=1, noise=0.0, split="correct", seed=0)


@pytest.mark.slow
@END_TO_END
@given(datasets(max_n=4))
def test_fuzz_train_and_evaluate_torch(case):
    x, y, input_dim, readout, valid = case
    model = Model.init("gru", seeds=[0], input_dim=input_dim, readout=readout, dtype=torch.float64)
    try:
        result = dynlatch.train(model, _tiny_split(x, y), epochs=1, batch_size=2, backend="torch")
    except ValueError as e:
        assert not valid, f"refused a valid dataset: {e}"
        assert str(e).startswith(("x_train", "y_train")), str(e)
    else:
        assert valid
        assert np.isfinite(result.history["train_loss"]).all()
    try:
        r = dynlatch.evaluate(model, x, y, backend="torch")
    except ValueError as e:
        assert not valid and str(e).startswith(("x", "y")), str(e)
    else:
        assert valid and np.isfinite(r.loss).all()


@pytest.mark.slow
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(max_n=4))
def test_fuzz_train_and_evaluate_numba(case):
    x, y, input_dim, readout, valid = case
    model = Model.init("lstm", seeds=[0], input_dim=input_dim, readout=readout, dtype=torch.float64)
    try:
        result = dynlatch.train(model, _tiny_split(x, y), epochs=1, batch_size=2, backend="numba")
    except ValueError as e:
        assert not valid and str(e).startswith(("x_train", "y_train")), str(e)
    else:
        assert valid and np.isfinite(result.history["train_loss"]).all()
        r = dynlatch.evaluate(model, x, y, backend="numba")
        np.testing.assert_allclose(r.loss, dynlatch.evaluate(model, x, y, backend="torch").loss, rtol=1e-12)
