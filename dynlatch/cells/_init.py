"""Initialisation schemes: Keras 2 defaults of 2018 and PyTorch defaults (see ``REFERENCES.md``)."""

from __future__ import annotations

from typing import Any

import numpy as np

INIT_SCHEMES: tuple[str, ...] = ("keras2", "torch")
"""``"keras2"``: glorot-uniform kernel, orthogonal recurrent kernel, zero bias, unit forget bias (LSTM), hard-sigmoid
gates, GRU reset_after=False -- the Keras 2.0-2.2 defaults the question ran with. ``"torch"``: every weight and bias
U(-1/sqrt(units), 1/sqrt(units)), sigmoid gates, GRU reset_after=True -- ``torch.nn`` defaults."""

# Seeds: model seed s draws its cell from default_rng([s, 0]), its read-out from [s, 2] and its data order from [s, 1].
INIT_STREAM, ORDER_STREAM, READOUT_STREAM = 0, 1, 2


def default_options(kind: str, scheme: str) -> dict[str, Any]:
    """Gate nonlinearity (and GRU convention) that go with an initialisation scheme."""
    check_scheme(scheme)
    opts: dict[str, Any] = {"recurrent_activation": "hard_sigmoid" if scheme == "keras2" else "sigmoid"}
    if kind == "gru":
        opts["reset_after"] = scheme == "torch"
    return opts


def check_scheme(scheme: str) -> str:
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")
    return scheme


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Keras ``glorot_uniform`` for a 2-D weight: U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, size=shape)


def orthogonal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Keras 2 ``Orthogonal`` (gain 1): the orthonormal factor of the SVD of a standard normal matrix.

    A (1, 1) matrix is exactly +1 or -1; a (1, k) one is a random unit-norm row.
    """
    a = rng.normal(0.0, 1.0, size=shape)
    u, _, v = np.linalg.svd(a, full_matrices=False)
    q = u if u.shape == shape else v
    return q[: shape[0], : shape[1]]


def initial_arrays(
    kind: str, n_gates: int, *, units: int, input_dim: int, scheme: str, reset_after: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kernel, recurrent_kernel, bias) of one model in Keras layout, drawn from ``rng``."""
    K = n_gates * units
    rows = 2 if kind == "gru" and reset_after else 1
    if scheme == "keras2":
        kernel = glorot_uniform(rng, (input_dim, K))
        recurrent = orthogonal(rng, (units, K))
        bias = np.zeros((rows, K))
        if kind == "lstm":
            bias[:, units : 2 * units] = 1.0  # unit_forget_bias=True
        return kernel, recurrent, bias
    k = 1.0 / np.sqrt(units)
    kernel = rng.uniform(-k, k, size=(input_dim, K))
    recurrent = rng.uniform(-k, k, size=(units, K))
    b = rng.uniform(-k, k, size=(2, K))
    bias = b if rows == 2 else b.sum(0, keepdims=True)  # torch's b_ih + b_hh, merged
    return kernel, recurrent, bias


def model_rng(seed: int, stream: int) -> np.random.Generator:
    """The generator of one of a model seed's independent streams (init, data order, read-out)."""
    return np.random.default_rng([int(seed), stream])
