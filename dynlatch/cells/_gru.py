"""The gated recurrent unit in both conventions: reset before the recurrent matmul (Keras ``reset_after=False``,
Cho et al. 2014) and after it (PyTorch, Keras ``reset_after=True``)."""

from __future__ import annotations

import functools
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from numba import njit

from . import _compiled as cc
from ._base import Cell, CellParams, StepFunction, Tensor
from ._compiled import KernelSpec
from ._init import check_scheme
from ._registry import register

KERNEL_RESET_BEFORE = KernelSpec(code=2, gates=3)
KERNEL_RESET_AFTER = KernelSpec(code=3, gates=3)
"""The compiled kernels of the two conventions (:mod:`dynlatch.cells._kernels`): three gate blocks, state h only;
reset-after also uses bias row 1 (the recurrent bias)."""


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
    one_unit_family: ClassVar[str | None] = "gru"

    def __init__(self, kernel: Any, recurrent_kernel: Any, bias: Any, *, reset_after: bool = True, **kw: Any):
        self.reset_after = bool(reset_after)
        super().__init__(kernel, recurrent_kernel, bias, **kw)

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "reset_after": self.reset_after}

    @classmethod
    def torch_options(cls) -> dict[str, Any]:
        return {"reset_after": True}

    @classmethod
    def variants(cls) -> tuple[dict[str, Any], ...]:
        return ({"reset_after": False}, {"reset_after": True})

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

    def one_unit_params(self, xw: Tensor) -> tuple[bool, Tensor]:
        """(offset, slope) of z, r and h, then the candidate's recurrent bias b^r_h, which reset-after keeps inside
        the reset product (so h's offset is x W_h + b_h alone); 0 for reset-before."""
        _, cols = super().one_unit_params(xw)
        recurrent_bias = torch.zeros_like(cols[:, 0])
        if self.reset_after:
            b = self.params.bias
            cols = torch.cat([cols[:, :4], (xw[:, 2] + b[:, 0, 2])[:, None], cols[:, 5:]], dim=1)
            recurrent_bias = b[:, 1, 2]
        return self.reset_after, torch.cat([cols, recurrent_bias[:, None]], dim=1)

    def kernel_code(self) -> int:
        return (KERNEL_RESET_AFTER if self.reset_after else KERNEL_RESET_BEFORE).code


# -- compiled kernels (batch innermost; see dynlatch.cells._compiled); ``after``: the reset-after convention ---------
@njit(cache=True, error_model="numpy", inline="always")
def forward_step(after, act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1):
    """One step of ``bs`` sequences from ``Hp`` (n, B) and inputs ``Xt`` (D, B): gate values ``At`` (z, r, h~) and
    derivatives ``Gt`` (K, B), ``Et`` (n, B) r * h (reset before) or h U_h + b^r_h (reset after), h' into ``Hn``."""
    for k in range(2 * n):
        row = At[k]
        cc.affine(row, th, Xt, Hp, k, bs, D, K, n, oU, ob0, True)
        if after:
            c = th[ob1 + k]
            for b in range(bs):
                row[b] += c
        cc.activate(row, Gt[k], act, bs)
    if not after:
        for i in range(n):
            for b in range(bs):
                Et[i, b] = At[n + i, b] * Hp[i, b]  # r * h
    for j in range(n):
        k = 2 * n + j
        row = At[k]
        cc.affine(row, th, Xt, Hp, k, bs, D, K, n, oU, ob0, False)
        if after:
            hu = Et[j]
            cc.affine(hu, th, Xt, Hp, k, bs, 0, K, n, oU, ob1, True)  # h U_h + b^h_h
            for b in range(bs):
                row[b] += At[n + j, b] * hu[b]
        else:
            cc.add_recurrent(row, th, Et, k, bs, n, K, oU)
        cc.activate(row, Gt[k], cc.TANH, bs)
        for b in range(bs):
            z = At[j, b]
            Hn[j, b] = z * Hp[j, b] + (1.0 - z) * row[b]


@njit(cache=True, error_model="numpy", inline="always")
def backward_step(after, th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1):
    """Reverse mode through one step: from dLoss/dh' (``dH``) the pre-activation gradients ``dZ``, the recurrent
    kernel's and recurrent bias's gradients (into ``Ga``) and dLoss/dh (``dHn``); ``dR`` is scratch."""
    for j in range(n):
        for b in range(bs):
            z = At[j, b]
            dh = dH[j, b]
            dZ[2 * n + j, b] = dh * (1.0 - z) * Gt[2 * n + j, b]
            dZ[j, b] = dh * (Hp[j, b] - At[2 * n + j, b]) * Gt[j, b]
            dHn[j, b] = dh * z
    if after:
        # candidate: a = x W_h + b_h + r * (h U_h + b^h_h); dR[2n:] holds d(h U_h + b^h_h)
        for j in range(n):
            for b in range(bs):
                da = dZ[2 * n + j, b]
                dR[2 * n + j, b] = da * At[n + j, b]
                dZ[n + j, b] = da * Et[j, b] * Gt[n + j, b]
        for k in range(K):
            dr = dZ[k] if k < 2 * n else dR[k]
            for b in range(bs):
                Ga[ob1 + k, b] += dr[b]
            cc.acc_recurrent(th, Ga, Hp, dr, dHn, k, bs, n, K, oU)
    else:
        # candidate: a = x W_h + (r * h) U_h + b_h; dR[:n] holds d(r * h)
        for i in range(n):
            for b in range(bs):
                dR[i, b] = 0.0
        for j in range(n):
            cc.acc_recurrent(th, Ga, Et, dZ[2 * n + j], dR, 2 * n + j, bs, n, K, oU)
        for i in range(n):
            for b in range(bs):
                dr = dR[i, b]
                r = At[n + i, b]
                dZ[n + i, b] = dr * Hp[i, b] * Gt[n + i, b]
                dHn[i, b] += dr * r
        for k in range(2 * n):
            cc.acc_recurrent(th, Ga, Hp, dZ[k], dHn, k, bs, n, K, oU)


@njit(cache=True, error_model="numpy", inline="always")
def tangent_step(after, act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU, ob0, ob1):
    """Forward mode through one step: ``Hn`` <- h' and, for every chosen parameter q, ``dH[q]`` <- dh'/dp_q by the
    chain rule through h' = z h + (1 - z) h~."""
    forward_step(after, act, th, Xt, H, Cs, Hn, Cn, A, G, E, bs, n, D, K, oU, ob0, ob1)
    for q in range(qk.shape[0]):
        kq, cq, rq = qk[q], qc[q], qr[q]
        for k in range(2 * n):  # update and reset gates
            cc.form_tangent(dZ[k], th, dH[q], H, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, True, after)
            for b in range(bs):
                dZ[k, b] *= G[k, b]
        if not after:  # dE: the tangent of r * h, the candidate's recurrent input
            for i in range(n):
                for b in range(bs):
                    dE[i, b] = dZ[n + i, b] * H[i, b] + A[n + i, b] * dH[q, i, b]
        for j in range(n):
            k = 2 * n + j
            if after:  # a = x W_h + b_h + r * hu, hu = h U_h + br_h
                cc.form_tangent(dZ[k], th, dH[q], H, Xt, k, bs, D, K, n, oU, kq, cq, rq, False, True, True)
                cc.form_tangent(dE[j], th, dH[q], H, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, False, False)
                for b in range(bs):  # dZ[k] holds d hu, dE[j] the input part
                    da = dE[j, b] + dZ[n + j, b] * E[j, b] + A[n + j, b] * dZ[k, b]
                    dZ[k, b] = G[k, b] * da
            else:  # a = x W_h + (r * h) U_h + b_h
                cc.form_tangent(dZ[k], th, dE, E, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, True, False)
                for b in range(bs):
                    dZ[k, b] *= G[k, b]
        for j in range(n):
            k = 2 * n + j
            for b in range(bs):
                z = A[j, b]
                dH[q, j, b] = dZ[j, b] * (H[j, b] - A[k, b]) + z * dH[q, j, b] + (1.0 - z) * dZ[k, b]
