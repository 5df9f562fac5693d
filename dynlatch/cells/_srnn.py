"""The simple (Elman) recurrent cell, Keras ``SimpleRNN`` / ``torch.nn.RNN(nonlinearity='tanh')``."""

from __future__ import annotations

from typing import ClassVar

import torch

from ._base import Cell, CellParams, Tensor, affine


def srnn_step(params: CellParams, h: Tensor, x: Tensor) -> Tensor:
    """One SRNN step, ``h' = tanh(x W + h U + b)``; shapes as in :func:`dynlatch.cells._base.affine`."""
    return torch.tanh(affine(params, x, h))


class SRNN(Cell):
    r"""Simple recurrent cell (Elman 1990; the single tanh neuron of Bengio, Simard & Frasconi 1994):

    .. math::
        h_t = \tanh(x_t W + h_{t-1} U + b)

    ``recurrent_activation`` is accepted for a uniform interface and ignored (there are no gates).
    """

    kind: ClassVar[str] = "srnn"
    n_gates: ClassVar[int] = 1
    gate_names: ClassVar[tuple[str, ...]] = ("h",)

    def step_batched(self, state: Tensor, x: Tensor) -> Tensor:
        return srnn_step(self.params, state, x)
