"""Tests of dynlatch.tasks: the latching and bit-relay data, the correct split and the question's keras-tail bug."""

from __future__ import annotations

import numpy as np
import pytest

from dynlatch import tasks

MAKERS = {"latching": tasks.latching, "bit-relay": tasks.bit_relay}


def all_parts(d):
    return np.concatenate([d.x_train, d.x_val]), np.concatenate([d.y_train, d.y_val])


@pytest.mark.parametrize("task", list(MAKERS))
@pytest.mark.parametrize("n", [400, 1001])
@pytest.mark.parametrize("val_fraction", [0.2, 0.35])
def test_shapes_dtypes_and_class_balance(task, n, val_fraction):
    d = MAKERS[task](length=7, n=n, val_fraction=val_fraction, seed=3)
    assert d.task == task and d.length == 7 and d.split == "correct" and d.seed == 3 and d.input_dim == 1
    assert d.x_train.dtype == np.float64 and d.y_train.dtype == np.int64
    assert d.x_train.shape[1:] == (7, 1) and d.x_val.shape[1:] == (7, 1)
    assert len(d.x_train) + len(d.x_val) == n and len(d.y_train) == len(d.x_train) and len(d.y_val) == len(d.x_val)
    assert set(np.unique(d.y_train)) == {0, 1} and set(np.unique(d.y_val)) == {0, 1}
    _, y = all_parts(d)
    assert (y == 1).sum() == n // 2 and (y == 0).sum() == n - n // 2
    # stratified: each class contributes ~val_fraction of itself to validation (rounding: at most one off)
    for label, count in ((1, n // 2), (0, n - n // 2)):
        assert abs((d.y_val == label).sum() - val_fraction * count) <= 1
    assert abs(len(d.y_val) - val_fraction * n) <= 2
    # both halves balanced
    assert abs(d.y_train.mean() - 0.5) < 0.01 and abs(d.y_val.mean() - 0.5) < 0.01
    # the validation and training sets are disjoint and shuffled (not label-ordered)
    assert not np.array_equal(d.y_train, np.sort(d.y_train)) and not np.array_equal(d.y_train, np.sort(d.y_train)[::-1])
    rows = {r.tobytes() for r in d.x_train.reshape(len(d.x_train), -1)}
    assert not any(r.tobytes() in rows for r in d.x_val.reshape(len(d.x_val), -1))


@pytest.mark.parametrize("task", list(MAKERS))
@pytest.mark.parametrize("split", tasks.SPLITS)
def test_determinism_by_seed(task, split):
    a = MAKERS[task](length=6, n=200, split=split, seed=11)
    b = MAKERS[task](length=6, n=200, split=split, seed=11)
    c = MAKERS[task](length=6, n=200, split=split, seed=12)
    for name in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.x_train, c.x_train)
    assert tasks.make_task(task, length=6, n=200, split=split, seed=11).x_val.tobytes() == a.x_val.tobytes()


@pytest.mark.parametrize("length", [1, 2, 9])
def test_latching_noise_free_sequences(length):
    d = tasks.latching(length=length, n=300, noise=0.0, seed=0)
    x, y = all_parts(d)
    np.testing.assert_array_equal(x[:, 0, 0], np.where(y == 1, 1.0, -1.0))
    np.testing.assert_array_equal(x[:, 1:], 0.0)


@pytest.mark.parametrize("noise", [0.1, 0.447])
def test_latching_noise_statistics(noise):
    n, T = 4000, 10
    d = tasks.latching(length=T, n=n, noise=noise, seed=5)
    x, y = all_parts(d)
    clean = np.zeros_like(x)
    clean[:, 0, 0] = np.where(y == 1, 1.0, -1.0)
    eps = (x - clean).ravel()
    m = eps.size  # 40000 draws: std of the sample std ~ noise / sqrt(2m), of the mean ~ noise / sqrt(m)
    assert abs(eps.std() / noise - 1.0) < 5 / np.sqrt(2 * m)
    assert abs(eps.mean()) < 5 * noise / np.sqrt(m)
    # Gaussian: ~68.3% within one standard deviation, independent of the label
    assert abs(np.mean(np.abs(eps) < noise) - 0.6827) < 0.01
    # first element's sign still matches the label (noise << 1 at these settings for noise 0.1)
    if noise <= 0.1:
        np.testing.assert_array_equal(np.sign(x[:, 0, 0]) > 0, y == 1)


@pytest.mark.parametrize("length", [2, 3, 8, 11])
@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_bit_relay_labels(length, noise):
    d = tasks.bit_relay(length=length, n=400, noise=noise, seed=1)
    x, y = all_parts(d)
    same = np.sign(x[:, 0, 0]) == np.sign(x[:, length // 2, 0])
    np.testing.assert_array_equal(y == 1, same)
    if noise == 0.0:
        assert set(np.unique(x[:, 0, 0])) == {-1.0, 1.0}
        assert set(np.unique(x[:, length // 2, 0])) == {-1.0, 1.0}
        others = np.delete(x[..., 0], [0, length // 2], axis=1)
        np.testing.assert_array_equal(others, 0.0)
    # the four sign combinations are balanced, so neither element alone predicts the label
    for s0 in (-1, 1):
        for s1 in (-1, 1):
            frac = np.mean((np.sign(x[:, 0, 0]) == s0) & (np.sign(x[:, length // 2, 0]) == s1))
            assert abs(frac - 0.25) < 0.01


@pytest.mark.parametrize("task", list(MAKERS))
@pytest.mark.parametrize("n", [1000, 10000])
def test_keras_tail_split_has_only_negatives(task, n):
    d = MAKERS[task](length=5, n=n, split="keras-tail", seed=0)
    assert len(d.y_val) == n // 5  # Keras: split_at = int(N * (1 - 0.2))
    assert (d.y_val == 0).all()
    # and the training set is biased towards positives: 50% of N positives in 80% of N
    assert d.y_train.mean() == pytest.approx((n // 2) / (n - n // 5))
    if task == "latching":
        assert (d.x_val[:, 0, 0] < 0).all()


def test_keras_tail_matches_keras_validation_split_formula():
    # Keras 2 training.py: split_at = int(int(x[0].shape[0]) * (1. - validation_split))
    for n, vf in [(10000, 0.2), (997, 0.2), (50, 0.3), (7, 0.5)]:
        d = tasks.latching(length=3, n=n, val_fraction=vf, split="keras-tail", seed=0)
        assert len(d.y_train) == int(n * (1.0 - vf))
        x_full = np.concatenate([d.x_train, d.x_val])
        y_full = np.concatenate([d.y_train, d.y_val])
        # generation order is kept: positives first
        np.testing.assert_array_equal(y_full, (np.arange(n) < n // 2).astype(np.int64))
        np.testing.assert_array_equal(np.sign(x_full[:, 0, 0]), np.where(y_full == 1, 1.0, -1.0))


@pytest.mark.parametrize(
    "kw",
    [
        dict(length=0), dict(length=-3), dict(n=3), dict(noise=-0.1), dict(noise=float("nan")),
        dict(noise=float("inf")), dict(val_fraction=0.0), dict(val_fraction=1.0), dict(val_fraction=-0.5),
        dict(split="random"),
    ],
)
@pytest.mark.parametrize("task", list(MAKERS))
def test_bad_arguments(task, kw):
    args = dict(length=5, n=100)
    args.update(kw)
    with pytest.raises(ValueError):
        MAKERS[task](**args)


def test_bit_relay_needs_two_steps_and_unknown_task():
    with pytest.raises(ValueError, match="length"):
        tasks.bit_relay(length=1, n=100)
    tasks.latching(length=1, n=100)  # a one-step latch is allowed
    with pytest.raises(ValueError, match="task must be one of"):
        tasks.make_task("adding", length=5)
