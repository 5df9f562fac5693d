"""Sequence-classification tasks, generated deterministically from a seed.

* :func:`latching` -- Bengio et al. (1994)'s information latching as the question set it up: the first element is
  +1 (label 1) or -1 (label 0), every element gets N(0, noise) added, the label must survive T steps.
* :func:`bit_relay` -- the answer's second task: label 1 iff sign(x_0) == sign(x_{T//2}).

Both return a :class:`Dataset` with a train/validation split done right (shuffled and stratified), or, with
``split="keras-tail"``, the question's bug: data ordered positives first and the last ``val_fraction`` held out, as
Keras' ``validation_split`` does without shuffling -- so validation holds negatives only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks

__all__ = ["Dataset", "SPLITS", "TASKS", "bit_relay", "latching", "make_task", "validation_size"]

SPLITS: tuple[str, ...] = ("correct", "keras-tail")
TASKS: tuple[str, ...] = ("latching", "bit-relay")


@dataclass(frozen=True)
class Dataset:
    """A train/validation split of one task. Inputs are float64 (N, T, 1); labels int64 in {0, 1}."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: str
    length: int
    noise: float
    split: str
    seed: int

    @property
    def input_dim(self) -> int:
        return self.x_train.shape[-1]


def validation_size(n: int, val_fraction: float) -> int:
    """Sequences held out for validation (Keras' rule: ``n - int(n * (1 - val_fraction))``).

    Raises:
        ValueError: if either split would hold fewer than 2 sequences.
    """
    _checks.number("val_fraction", val_fraction, above=0, below=1)
    n = _checks.integer("n", n, minimum=4)
    n_val = n - int(n * (1.0 - val_fraction))
    if n_val < 2 or n - n_val < 2:
        raise _checks.CheckError("n", f"with val_fraction={val_fraction} leaves fewer than 2 sequences in a split; "
                                      f"got {n}")
    return n_val


def _check(*, length: int, n: int, noise: float, val_fraction: float, split: str, min_length: int,
           seed: int) -> None:
    _checks.integer("length", length, minimum=min_length)
    _checks.integer("n", n, minimum=4)
    _checks.number("noise", noise, at_least=0)
    _checks.choice("split", split, SPLITS)
    _checks.seed("seed", seed)
    validation_size(n, val_fraction)


def _split(x: np.ndarray, y: np.ndarray, *, val_fraction: float, split: str, rng: np.random.Generator):
    """Hold out a validation set. ``x, y`` arrive in generation order (label-1 sequences first)."""
    n = len(y)
    if split == "keras-tail":  # Keras validation_split: the last fraction, before any shuffling
        n_val = validation_size(n, val_fraction)
        return x[: n - n_val], y[: n - n_val], x[n - n_val :], y[n - n_val :]
    val_idx, train_idx = [], []
    for label in (0, 1):  # stratified: each class contributes its share to validation
        idx = rng.permutation(np.flatnonzero(y == label))
        k = int(round(len(idx) * val_fraction))
        val_idx.append(idx[:k])
        train_idx.append(idx[k:])
    tr = rng.permutation(np.concatenate(train_idx))
    va = rng.permutation(np.concatenate(val_idx))
    return x[tr], y[tr], x[va], y[va]


def latching(
    *, length: int, n: int = 10000, noise: float = 0.1, val_fraction: float = 0.2, split: str = "correct", seed: int = 0
) -> Dataset:
    """The information-latching data of the question.

    Args:
        length: sequence length T (>= 1).
        n: number of sequences, half of each class (the first ``n // 2`` positive, as in the question).
        noise: standard deviation of the Gaussian noise added to every element (the question: 0.1).
        val_fraction: fraction held out for validation.
        split: ``"correct"`` (shuffled, stratified) or ``"keras-tail"`` (the question's bug).
        seed: the data seed.

    Returns:
        A :class:`Dataset`.

    Raises:
        ValueError: for impossible settings, naming the parameter.
    """
    _check(length=length, n=n, noise=noise, val_fraction=val_fraction, split=split, min_length=1, seed=seed)
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=np.int64)
    y[: n // 2] = 1
    x = np.zeros((n, length, 1))
    x[:, 0, 0] = np.where(y == 1, 1.0, -1.0)
    x += rng.normal(0.0, noise, size=x.shape)
    parts = _split(x, y, val_fraction=val_fraction, split=split, rng=rng)
    return Dataset(*parts, task="latching", length=length, noise=noise, split=split, seed=seed)


def bit_relay(
    *, length: int, n: int = 10000, noise: float = 0.1, val_fraction: float = 0.2, split: str = "correct", seed: int = 0
) -> Dataset:
    """The bit-relay data of the answer: x_0 and x_{T//2} are +-1, label 1 iff their signs agree.

    Arguments, return value and errors as :func:`latching`; ``length`` must be >= 2. The four sign combinations are
    balanced (label-1 sequences first in generation order).
    """
    _check(length=length, n=n, noise=noise, val_fraction=val_fraction, split=split, min_length=2, seed=seed)
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=np.int64)
    y[: n // 2] = 1
    first = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    middle = np.where(y == 1, first, -first)
    x = np.zeros((n, length, 1))
    x[:, 0, 0] = first
    x[:, length // 2, 0] = middle
    x += rng.normal(0.0, noise, size=x.shape)
    parts = _split(x, y, val_fraction=val_fraction, split=split, rng=rng)
    return Dataset(*parts, task="bit-relay", length=length, noise=noise, split=split, seed=seed)


def make_task(task: str, **kw) -> Dataset:
    """Dispatch by name: ``"latching"`` or ``"bit-relay"`` (keywords as :func:`latching`)."""
    if task == "latching":
        return latching(**kw)
    if task == "bit-relay":
        return bit_relay(**kw)
    raise _checks.CheckError("task", f"must be one of {', '.join(TASKS)}; got {task!r}")
