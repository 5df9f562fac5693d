"""The gated recurrent unit in both conventions: reset before the recurrent matmul (Keras ``reset_after=False``,
Cho et al. 2014) and after it (PyTorch, Keras ``reset_after=True``)."""

from __future__ import annotations

import functools
from typing import Any, Callable, ClassVar

import numpy as np
import torch

from ._base import Cell, CellParams, StepFunction, Tensor
from ._init import check_scheme
from ._registry import register

KERNEL_CODE_RESET_BEFORE, KERNEL_CODE_RESET_AFTER = 2, 3
"""Branches of the compiled kernels in :mod:`dynlatch._fastpath` that compute the two conventions."""


def gru_step(
    params: CellParams, h: Tensor, x: Tensor, gate: Callable[[Tensor], Tensor], reset_after: bool
) -> Tensor:
    """One GRU step of one model; ``h`` (..., n), ``x`` (..., D); gate blocks in Keras order z, r, h; bias rows
    (input, recurrent) on axis -2 (one row unless ``reset_after``); axes counted from the end."""
    n = h.shape[-1]
    W, U, b = params
    xw = torch.matmul(x, W) + b[..., 0, :]
    hu_zr = torch.matmul(h, U[..., : 2 * n])
    if reset_after:
        hu_zr = hu_zr + b[..., 1, : 2 * n]
    z, r = gate(xw[..., : 2 * n] + hu_zr).chunk(2, dim=-1)
    if reset_after:
        candidate = torch.tanh(xw[..., 2 * n :] + r * (torch.matmul(h, U[..., 2 * n :]) + b[..., 1, 2 * n :]))
    else:
        candidate = torch.tanh(xw[..., 2 * n :] + torch.matmul(r * h, U[..., 2 * n :]))
    return z * h + (1 - z) * candidate


@register
class GRU(Cell):
    r"""Gated recurrent unit (Cho et al. 2014):

    .. math::
        z_t &= \sigma(x_t W_z + h_{t-1} U_z + b_z) \\
        r_t &= \sigma(x_t W_r + h_{t-1} U_r + b_r) \\
        \tilde h_t &= \tanh(x_t W_h + (r_t \odot h_{t-1}) U_h + b_h)
            \quad\text{(reset\_after=False, Keras 2 default)} \\
        \tilde h_t &= \tanh(x_t W_h + b_h + r_t \odot (h_{t-1} U_h + b^r_h))
            \quad\text{(reset\_after=True, PyTorch)} \\
        h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t

    With ``reset_after=True`` the bias has two rows, input bias ``b_*`` and recurrent bias ``br_*``, as in Keras;
    for the z and r blocks the two simply add. PyTorch's gate order r, z, n is converted by
    :func:`dynlatch.cells.from_torch` / :func:`dynlatch.cells.to_torch`.
    """

    kind: ClassVar[str] = "gru"
    gate_names: ClassVar[tuple[str, ...]] = ("z", "r", "h")
    torch_modules: ClassVar[tuple[type, ...]] = (torch.nn.GRU, torch.nn.GRUCell)
    keras_layer: ClassVar[str] = "GRU"
    torch_gate_order: ClassVar[tuple[int, ...]] = (1, 0, 2)  # torch r, z, n = Keras blocks 1, 0, 2
    torch_bias_rows: ClassVar[int] = 2

    def __init__(self, kernel: Any, recurrent_kernel: Any, bias: Any, *, reset_after: bool = True, **kw: Any):
        self.reset_after = bool(reset_after)
        super().__init__(kernel, recurrent_kernel, bias, **kw)

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "reset_after": self.reset_after}

    @classmethod
    def torch_options(cls) -> dict[str, Any]:
        return {"reset_after": True}

    @classmethod
    def rows_for(cls, options: dict[str, Any]) -> int:
        return 2 if options.get("reset_after", True) else 1

    @classmethod
    def keras_options(cls, bias: Any, K: int, *, reset_after: bool | None = None) -> dict[str, Any]:
        if bias is None:
            return {"reset_after": bool(reset_after)}
        inferred = np.ndim(bias) == 2
        if reset_after is not None and bool(reset_after) != inferred:
            raise ValueError(f"GRU reset_after={reset_after} needs bias of shape "
                             f"{'(2, 3*units)' if reset_after else '(3*units,)'}; got {np.shape(bias)}")
        return {"reset_after": inferred}

    @classmethod
    def scheme_options(cls, scheme: str) -> dict[str, Any]:
        return {**super().scheme_options(scheme), "reset_after": check_scheme(scheme) == "torch"}

    def step_function(self) -> StepFunction:
        return functools.partial(gru_step, gate=self.gate, reset_after=self.reset_after)

    def kernel_code(self) -> int:
        return KERNEL_CODE_RESET_AFTER if self.reset_after else KERNEL_CODE_RESET_BEFORE
