"""Initialisation schemes (Keras 2 defaults of 2018 and PyTorch defaults, see ``REFERENCES.md``) and seed streams.

What a scheme draws for each kind is :meth:`dynlatch.cells.Cell.initial_arrays` (the LSTM's forget bias lives with
the LSTM); this module holds what all kinds share.
"""

from __future__ import annotations

import numpy as np

INIT_SCHEMES: tuple[str, ...] = ("keras2", "torch")
"""``"keras2"``: glorot-uniform kernel, orthogonal recurrent kernel, zero bias, unit forget bias (LSTM), hard-sigmoid
gates, GRU reset_after=False -- the Keras 2.0-2.2 defaults the question ran with. ``"torch"``: every weight and bias
U(-1/sqrt(units), 1/sqrt(units)), sigmoid gates, GRU reset_after=True -- ``torch.nn`` defaults."""

# Seeds: model seed s draws its cell from default_rng([s, 0]), its read-out from [s, 2] and its data order from [s, 1].
INIT_STREAM, ORDER_STREAM, READOUT_STREAM = 0, 1, 2


def check_scheme(scheme: str) -> str:
    """Return ``scheme`` if it is known.

    Raises:
        ValueError: naming the known schemes.
    """
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


def model_rng(seed: int, stream: int) -> np.random.Generator:
    """The generator of one of a model seed's independent streams (init, data order, read-out)."""
    return np.random.default_rng([int(seed), stream])
