"""The simple (Elman) recurrent cell, Keras ``SimpleRNN`` / ``torch.nn.RNN(nonlinearity='tanh')``."""

from __future__ import annotations

from typing import ClassVar

import torch

from ._base import Cell, CellParams, StepFunction, Tensor, affine
from ._registry import register

KERNEL_CODE = 0
"""Branch of the compiled kernels in :mod:`dynlatch._fastpath` that computes this cell."""


def srnn_step(params: CellParams, h: Tensor, x: Tensor) -> Tensor:
    """One SRNN step of one model, ``h' = tanh(x W + h U + b)``: ``h`` (..., n), ``x`` (..., D); params as in
    :class:`CellParams` (axes counted from the end)."""
    return torch.tanh(affine(params, x, h))


@register
class SRNN(Cell):
    r"""Simple recurrent cell (Elman 1990; the single tanh neuron of Bengio, Simard & Frasconi 1994):

    .. math::
        h_t = \tanh(x_t W + h_{t-1} U + b)

    Parameters ``W`` (input_dim, units), ``U`` (units, units), ``b`` (units,). ``recurrent_activation`` is accepted
    for a uniform interface and ignored (there are no gates).
    """

    kind: ClassVar[str] = "srnn"
    gate_names: ClassVar[tuple[str, ...]] = ("h",)
    torch_modules: ClassVar[tuple[type, ...]] = (torch.nn.RNN, torch.nn.RNNCell)
    keras_layer: ClassVar[str] = "SimpleRNN"

    def step_function(self) -> StepFunction:
        return srnn_step

    def kernel_code(self) -> int:
        return KERNEL_CODE
