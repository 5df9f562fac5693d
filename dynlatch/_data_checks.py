"""Input checks for the data handed to :func:`dynlatch.train` and :func:`dynlatch.evaluate`, in one place.

Every check runs before any kernel does: the compiled kernels index arrays without bounds checks, so a label of 2 for
a two-class read-out or a label array shorter than the inputs would read out of bounds (a garbage loss of -1e170, or a
segmentation fault) instead of failing. Each failure is a ``ValueError`` whose message starts with the argument's name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _checks

READOUT_CLASSES = {"softmax": None, "sigmoid": 2}  # sigmoid labels are {0, 1}; softmax labels 0..C-1


def check_arrays(
    x: Any,
    y: Any = None,
    *,
    input_dim: int,
    readout: str | None = None,
    classes: int | None = None,
    x_name: str = "x",
    y_name: str = "y",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Check inputs and labels and return them as C-contiguous float64 (N, T, D) and int64 (N,) arrays.

    Args:
        x: inputs (N, T, D): real numbers (integers or floats), finite, N >= 1, T >= 1, D == ``input_dim``.
        y: labels (N,), required when ``readout`` is given: integers (or integral floats), in 0..C-1 for softmax
            (C = ``classes``, default 2), in {0, 1} for sigmoid. Bool labels are refused (use 0/1 integers).
        input_dim: the model's input size D.
        readout: ``"softmax"``, ``"sigmoid"`` or None (no labels checked; ``y`` must then be None).
        classes: number of softmax classes.
        x_name, y_name: the argument names used in messages (e.g. ``x_train``).

    Returns:
        ``(x, y)`` converted (``y`` None when not given).

    Raises:
        ValueError: naming the argument and the problem.
    """
    a = _checks.numeric_array(x_name, x)
    if a.ndim != 3:
        raise ValueError(f"{x_name} must have shape (N, T, input_dim); got shape {a.shape}")
    N, T, D = a.shape
    if N < 1 or T < 1:
        raise ValueError(f"{x_name} must hold at least one sequence of at least one step; got shape {a.shape}")
    if D != input_dim:
        raise ValueError(f"{x_name} has {D} input features; the model expects input_dim={input_dim}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{x_name} contains NaN or inf values")
    if readout is None:
        if y is not None:
            raise ValueError(f"{y_name} was given but no read-out uses labels")
        return a, None
    return a, check_labels(y, N=N, readout=readout, classes=classes, name=y_name)


def check_labels(y: Any, *, N: int, readout: str, classes: int | None = None, name: str = "y") -> np.ndarray:
    """Check class labels (see :func:`check_arrays`) and return them as a C-contiguous int64 (N,) array.

    Raises:
        ValueError: naming the argument and the problem.
    """
    if readout not in READOUT_CLASSES:
        raise ValueError(f"unknown readout {readout!r}; choose one of {', '.join(READOUT_CLASSES)}")
    C = READOUT_CLASSES[readout] or (2 if classes is None else int(classes))
    b = _checks.numeric_array(name, y)
    if b.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels (N,); got shape {b.shape}")
    if b.shape[0] != N:
        raise ValueError(f"{name} has {b.shape[0]} labels for {N} input sequences")
    if b.dtype.kind == "f":
        if not np.isfinite(b).all():
            raise ValueError(f"{name} contains NaN or inf values")
        if not (b == np.round(b)).all():
            raise ValueError(f"{name} must hold integer class labels; got non-integral values")
    if b.size and (b.min() < 0 or b.max() > C - 1):
        allowed = "{0, 1}" if readout == "sigmoid" else f"0..{C - 1}"
        raise ValueError(f"{name} must hold labels in {allowed} for the {readout} read-out; got values in "
                         f"[{b.min()}, {b.max()}]")
    return np.ascontiguousarray(b, dtype=np.int64)


def check_target(target: Any, *, n: int, N: int, name: str = "target") -> np.ndarray:
    """Check a squared-error target, (n,) for every sequence or (N, n) per sequence; return it as float64 (N, n).

    Raises:
        ValueError: naming ``target``.
    """
    t = _checks.numeric_array(name, target)
    if t.shape == (n,):
        t = np.broadcast_to(t, (N, n))
    elif t.shape != (N, n):
        raise ValueError(f"{name} must have shape ({n},) or ({N}, {n}) (units, or sequences x units); got {t.shape}")
    t = np.ascontiguousarray(t, dtype=np.float64)
    if not np.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return t


def check_dataset(data: Any, *, input_dim: int, readout: str, classes: int | None = None):
    """Check a train/validation split (:class:`dynlatch.tasks.Dataset` or anything with ``x_train``, ``y_train``,
    ``x_val``, ``y_val``) with :func:`check_arrays`.

    Returns:
        ``(x_train, y_train, x_val, y_val)`` converted.

    Raises:
        ValueError: naming the failing array (``x_train``, ``y_val``, ...) and the problem.
    """
    out = []
    for split in ("train", "val"):
        xs, ys = f"x_{split}", f"y_{split}"
        for attr in (xs, ys):
            if not hasattr(data, attr):
                raise ValueError(f"data has no {attr}; expected a dynlatch.tasks.Dataset")
        out += check_arrays(getattr(data, xs), getattr(data, ys), input_dim=input_dim, readout=readout,
                            classes=classes, x_name=xs, y_name=ys)
    return tuple(out)
