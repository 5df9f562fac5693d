"""The gated recurrent unit in both conventions: reset before the recurrent matmul (Keras ``reset_after=False``,
Cho et al. 2014) and after it (PyTorch, Keras ``reset_after=True``)."""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import torch

from ._base import Cell, CellParams, Tensor


def gru_step(
    params: CellParams, h: Tensor, x: Tensor, gate: Callable[[Tensor], Tensor], reset_after: bool
) -> Tensor:
    """One GRU step; gate blocks in Keras order z, r, h."""
    n = h.shape[-1]
    W, U, b = params
    xw = torch.matmul(x, W) + b[:, 0:1]
    U_zr, U_h = U[..., : 2 * n], U[..., 2 * n :]
    hu_zr = torch.matmul(h, U_zr)
    if reset_after:
        hu_zr = hu_zr + b[:, 1:2, : 2 * n]
    z, r = gate(xw[..., : 2 * n] + hu_zr).chunk(2, dim=-1)
    if reset_after:
        candidate = torch.tanh(xw[..., 2 * n :] + r * (torch.matmul(h, U_h) + b[:, 1:2, 2 * n :]))
    else:
        candidate = torch.tanh(xw[..., 2 * n :] + torch.matmul(r * h, U_h))
    return z * h + (1 - z) * candidate


class GRU(Cell):
    r"""Gated recurrent unit (Cho et al. 2014):

    .. math::
        z_t &= \sigma(x_t W_z + h_{t-1} U_z + b_z) \\
        r_t &= \sigma(x_t W_r + h_{t-1} U_r + b_r) \\
        \tilde h_t &= \tanh(x_t W_h + (r_t \odot h_{t-1}) U_h + b_h)
            \quad\text{(reset\_after=False, Keras 2 default)} \\
        \tilde h_t &= \tanh(x_t W_h + b^{x}_h + r_t \odot (h_{t-1} U_h + b^{h}_h))
            \quad\text{(reset\_after=True, PyTorch)} \\
        h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t

    With ``reset_after=True`` the bias has two rows, input bias :math:`b^x` and recurrent bias :math:`b^h`, as in
    Keras; for the z and r blocks the two simply add. PyTorch's gate order r, z, n is converted by
    :meth:`from_torch` / :meth:`to_torch`.
    """

    kind: ClassVar[str] = "gru"
    n_gates: ClassVar[int] = 3
    gate_names: ClassVar[tuple[str, ...]] = ("z", "r", "h")

    def __init__(self, kernel: Any, recurrent_kernel: Any, bias: Any, *, reset_after: bool = True, **kw: Any):
        self.reset_after = bool(reset_after)
        super().__init__(kernel, recurrent_kernel, bias, **kw)

    @property
    def bias_rows(self) -> int:
        return 2 if self.reset_after else 1

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "reset_after": self.reset_after}

    def step_batched(self, state: Tensor, x: Tensor) -> Tensor:
        return gru_step(self.params, state, x, self.gate, self.reset_after)
