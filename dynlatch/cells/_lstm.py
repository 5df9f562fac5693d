"""The long short-term memory cell, Keras ``LSTM`` / ``torch.nn.LSTM`` (one layer)."""

from __future__ import annotations

from typing import Callable, ClassVar

import torch

from ._base import Cell, CellParams, State, Tensor, affine


def lstm_step(
    params: CellParams, state: tuple[Tensor, Tensor], x: Tensor, gate: Callable[[Tensor], Tensor]
) -> tuple[Tensor, Tensor]:
    """One LSTM step on ``state = (h, c)``; gate blocks in Keras/PyTorch order i, f, c (g), o."""
    h, c = state
    i, f, g, o = affine(params, x, h).chunk(4, dim=-1)
    c = gate(f) * c + gate(i) * torch.tanh(g)
    return gate(o) * torch.tanh(c), c


class LSTM(Cell):
    r"""Long short-term memory cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000):

    .. math::
        i_t &= \sigma(x_t W_i + h_{t-1} U_i + b_i) \\
        f_t &= \sigma(x_t W_f + h_{t-1} U_f + b_f) \\
        g_t &= \tanh(x_t W_c + h_{t-1} U_c + b_c) \\
        o_t &= \sigma(x_t W_o + h_{t-1} U_o + b_o) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)

    :math:`\sigma` is ``recurrent_activation``. The state is the pair ``(h, c)``; :meth:`run` returns the ``h``
    sequence. PyTorch's two biases are merged into one (they only ever enter as a sum).
    """

    kind: ClassVar[str] = "lstm"
    n_gates: ClassVar[int] = 4
    gate_names: ClassVar[tuple[str, ...]] = ("i", "f", "c", "o")

    def step_batched(self, state: State, x: Tensor) -> State:
        return lstm_step(self.params, state, x, self.gate)

    def hidden(self, state: State) -> Tensor:
        return state[0]

    def zero_state(self, batch: int) -> State:
        h = super().zero_state(batch)
        return h, torch.zeros_like(h)
