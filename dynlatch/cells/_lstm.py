"""The long short-term memory cell, Keras ``LSTM`` / ``torch.nn.LSTM`` (one layer)."""

from __future__ import annotations

import functools
from typing import Callable, ClassVar

import numpy as np
import torch

from ._base import Cell, CellParams, StepFunction, Tensor, affine
from ._registry import register

KERNEL_CODE = 1
"""Branch of the compiled kernels in :mod:`dynlatch._fastpath` that computes this cell."""


def lstm_step(
    params: CellParams, state: tuple[Tensor, Tensor], x: Tensor, gate: Callable[[Tensor], Tensor]
) -> tuple[Tensor, Tensor]:
    """One LSTM step of one model on ``state = (h, c)``, each (..., n), ``x`` (..., D); gate blocks in
    Keras/PyTorch order i, f, c (g), o; axes counted from the end."""
    h, c = state
    i, f, g, o = affine(params, x, h).chunk(4, dim=-1)
    c = gate(f) * c + gate(i) * torch.tanh(g)
    return gate(o) * torch.tanh(c), c


@register
class LSTM(Cell):
    r"""Long short-term memory cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000):

    .. math::
        i_t &= \sigma(x_t W_i + h_{t-1} U_i + b_i) \\
        f_t &= \sigma(x_t W_f + h_{t-1} U_f + b_f) \\
        g_t &= \tanh(x_t W_c + h_{t-1} U_c + b_c) \\
        o_t &= \sigma(x_t W_o + h_{t-1} U_o + b_o) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)

    :math:`\sigma` is ``recurrent_activation``. The state is the pair ``(h, c)`` (flattened: ``[h, c]``);
    :meth:`run` returns the ``h`` sequence. PyTorch's two biases are merged into one (they only ever enter as a sum).
    Keras 2 initialises ``b_f = 1`` (``unit_forget_bias=True``).
    """

    kind: ClassVar[str] = "lstm"
    gate_names: ClassVar[tuple[str, ...]] = ("i", "f", "c", "o")
    state_names: ClassVar[tuple[str, ...]] = ("h", "c")
    torch_modules: ClassVar[tuple[type, ...]] = (torch.nn.LSTM, torch.nn.LSTMCell)
    keras_layer: ClassVar[str] = "LSTM"

    def step_function(self) -> StepFunction:
        return functools.partial(lstm_step, gate=self.gate)

    def kernel_code(self) -> int:
        return KERNEL_CODE

    @classmethod
    def keras2_bias(cls, rows: int, units: int) -> np.ndarray:
        bias = np.zeros((rows, cls.n_gates * units))
        bias[:, units : 2 * units] = 1.0  # unit_forget_bias=True
        return bias
