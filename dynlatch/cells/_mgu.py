"""The minimal gated unit (Zhou et al. 2016): one gate that both forgets and resets."""

from __future__ import annotations

import functools
from typing import Callable, ClassVar

import torch
from numba import njit

from . import _compiled as cc
from ._base import Cell, CellParams, StepFunction, Tensor
from ._compiled import KernelSpec
from ._registry import register

KERNEL = KernelSpec(code=4, gates=2)
"""This cell's compiled kernels (:mod:`dynlatch.cells._kernels`): two gate blocks (f, h), state h only."""


def mgu_step(params: CellParams, h: Tensor, x: Tensor, gate: Callable[[Tensor], Tensor]) -> Tensor:
    """One MGU step of one model; ``h`` (..., n), ``x`` (..., D); gate blocks f, h; axes counted from the end."""
    n = h.shape[-1]
    W, U, b = params
    xw = torch.matmul(x, W) + b[..., 0, :]
    f = gate(xw[..., :n] + torch.matmul(h, U[..., :n]))
    candidate = torch.tanh(xw[..., n:] + torch.matmul(f * h, U[..., n:]))
    return (1 - f) * h + f * candidate


@register
class MGU(Cell):
    r"""Minimal gated unit (Zhou, Wu, Zhang & Zhou 2016, *Minimal gated unit for recurrent neural networks*,
    Int. J. Autom. Comput. 13, 226-234):

    .. math::
        f_t &= \sigma(x_t W_f + h_{t-1} U_f + b_f) \\
        \tilde h_t &= \tanh(x_t W_h + (f_t \odot h_{t-1}) U_h + b_h) \\
        h_t &= (1 - f_t) \odot h_{t-1} + f_t \odot \tilde h_t

    A GRU whose reset gate is its update gate's complement tied to one forget gate (GRU ``z = 1 - f``, ``r = f``,
    reset before the recurrent product). :math:`\sigma` is ``recurrent_activation``. Neither Keras nor PyTorch ships
    it, so it has no ``torch.nn`` counterpart; weight files name it ``"mgu"``.
    """

    kind: ClassVar[str] = "mgu"
    gate_names: ClassVar[tuple[str, ...]] = ("f", "h")
    one_unit_family: ClassVar[str | None] = "gru"

    def step_function(self) -> StepFunction:
        return functools.partial(mgu_step, gate=self.gate)

    def kernel_code(self) -> int:
        return KERNEL.code

    def one_unit_params(self, xw: Tensor) -> tuple[bool, Tensor]:
        """The GRU family with tied gates, reset before the product: z = 1 - f (pre-activation -(a_f + u_f h), since
        1 - sigma(a) = sigma(-a) for the sigmoid and each hard sigmoid), r = f, the same candidate."""
        _, cols = super().one_unit_params(xw)
        a_f, u_f, a_h, u_h = cols.unbind(dim=1)
        return False, torch.stack([-a_f, -u_f, a_f, u_f, a_h, u_h, torch.zeros_like(a_f)], dim=1)


# -- compiled kernels (batch innermost; see dynlatch.cells._compiled) -------------------------------------------------
@njit(cache=True, error_model="numpy", inline="always")
def forward_step(act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1):
    """One step of ``bs`` sequences from ``Hp`` (n, B) and inputs ``Xt`` (D, B): gate values ``At`` (f, h~) and
    derivatives ``Gt`` (K, B), ``Et`` (n, B) f * h, h' into ``Hn``."""
    for k in range(n):
        row = At[k]
        cc.affine(row, th, Xt, Hp, k, bs, D, K, n, oU, ob0, True)
        cc.activate(row, Gt[k], act, bs)
    for i in range(n):
        for b in range(bs):
            Et[i, b] = At[i, b] * Hp[i, b]  # f * h
    for j in range(n):
        k = n + j
        row = At[k]
        cc.affine(row, th, Xt, Hp, k, bs, D, K, n, oU, ob0, False)
        cc.add_recurrent(row, th, Et, k, bs, n, K, oU)
        cc.activate(row, Gt[k], cc.TANH, bs)
        for b in range(bs):
            f = At[j, b]
            Hn[j, b] = (1.0 - f) * Hp[j, b] + f * row[b]


@njit(cache=True, error_model="numpy", inline="always")
def backward_step(th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1):
    """Reverse mode through one step: from dLoss/dh' (``dH``) the pre-activation gradients ``dZ``, the recurrent
    kernel's gradient (into ``Ga``) and dLoss/dh (``dHn``); ``dR[:n]`` holds d(f * h)."""
    for j in range(n):
        for b in range(bs):
            f = At[j, b]
            dh = dH[j, b]
            dZ[n + j, b] = dh * f * Gt[n + j, b]
            dZ[j, b] = dh * (At[n + j, b] - Hp[j, b])  # the forget gate's direct part, before its derivative
            dHn[j, b] = dh * (1.0 - f)
    for i in range(n):
        for b in range(bs):
            dR[i, b] = 0.0
    for j in range(n):
        cc.acc_recurrent(th, Ga, Et, dZ[n + j], dR, n + j, bs, n, K, oU)
    for i in range(n):
        for b in range(bs):
            dr = dR[i, b]
            dZ[i, b] = (dZ[i, b] + dr * Hp[i, b]) * Gt[i, b]
            dHn[i, b] += dr * At[i, b]
    for k in range(n):
        cc.acc_recurrent(th, Ga, Hp, dZ[k], dHn, k, bs, n, K, oU)


@njit(cache=True, error_model="numpy", inline="always")
def tangent_step(act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU, ob0, ob1):
    """Forward mode through one step: ``Hn`` <- h' and, for every chosen parameter q, ``dH[q]`` <- dh'/dp_q by the
    chain rule through h' = (1 - f) h + f h~: dh' = df (h~ - h) + (1 - f) dh + f dh~."""
    forward_step(act, th, Xt, H, Cs, Hn, Cn, A, G, E, bs, n, D, K, oU, ob0, ob1)
    for q in range(qk.shape[0]):
        kq, cq, rq = qk[q], qc[q], qr[q]
        for k in range(n):  # forget gate
            cc.form_tangent(dZ[k], th, dH[q], H, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, True, False)
            for b in range(bs):
                dZ[k, b] *= G[k, b]
        for i in range(n):  # dE: the tangent of f * h, the candidate's recurrent input
            for b in range(bs):
                dE[i, b] = dZ[i, b] * H[i, b] + A[i, b] * dH[q, i, b]
        for j in range(n):
            k = n + j
            cc.form_tangent(dZ[k], th, dE, E, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, True, False)
            for b in range(bs):
                dZ[k, b] *= G[k, b]
        for j in range(n):
            k = n + j
            for b in range(bs):
                f = A[j, b]
                dH[q, j, b] = dZ[j, b] * (A[k, b] - H[j, b]) + (1.0 - f) * dH[q, j, b] + f * dZ[k, b]
