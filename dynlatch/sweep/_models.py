"""What every sharded study shares about seeds and trained models: independent seed streams and a model's arrays."""

from __future__ import annotations

import numpy as np

from .._model import Model

DATA_STREAM = 0xDA7A
"""The seed stream of data sets: ``derive_seed(seed, DATA_STREAM, T)`` seeds the data of length ``T``."""

PARAM_NAMES: tuple[str, ...] = ("kernel", "recurrent_kernel", "bias", "W_out", "b_out")
"""A model's arrays as kept in shards and ``weights.npz``: the cell's Keras-layout kernel (M, D, K), recurrent kernel
(M, n, K) and bias (M, nb, K), and the read-out weight (M, n, C) and bias (M, C)."""


def derive_seed(*parts: int) -> int:
    """A 32-bit seed determined by ``parts`` (independent streams for different parts)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def model_arrays(model: Model) -> dict[str, list]:
    """The parameters of ``model`` by :data:`PARAM_NAMES`, as float64 nested lists (exact for float32 and float64)."""
    tensors = (*model.cell.params, model.weight, model.bias)
    return {name: t.detach().cpu().double().numpy().tolist() for name, t in zip(PARAM_NAMES, tensors)}
