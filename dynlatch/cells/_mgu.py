"""The minimal gated unit (Zhou et al. 2016): one gate that both forgets and resets."""

from __future__ import annotations

import functools
from typing import Callable, ClassVar

import torch
from numba import njit

from ._base import Cell, CellParams, StepFunction, Tensor
from . import _compiled as cc
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
@njit(cache=True, error_model="numpy")
def forward(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E):
    """Every step t < T of ``bs`` sequences of ``Xb`` (T, D, B) from ``H[t]`` (n, B) and inputs ``Xb[t]``: gate values
    ``A[t]`` (f, h~) and derivatives ``G[t]`` (K, B), ``E[t]`` (n, B) f * h, h_{t+1} into ``H[t + 1]``."""
    for t in range(T):
        Xt = Xb[t]
        Hp = H[t]
        Et = E[t]
        for k in range(n):
            row = A[t, k]
            cc.affine(row, th, Xt, Hp, k, bs, D, K, n, oU, ob0, True)
            cc.activate(row, G[t, k], act, bs)
        for i in range(n):
            for b in range(bs):
                Et[i, b] = A[t, i, b] * Hp[i, b]  # f * h
        for j in range(n):
            k = n + j
            row = A[t, k]
            cc.affine(row, th, Xt, Hp, k, bs, D, K, n, oU, ob0, False)
            cc.add_recurrent(row, th, Et, k, bs, n, K, oU)
            cc.activate(row, G[t, k], cc.TANH, bs)
            for b in range(bs):
                f = A[t, j, b]
                H[t + 1, j, b] = (1.0 - f) * Hp[j, b] + f * row[b]


@njit(cache=True, error_model="numpy")
def backward(th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn):
    """Reverse mode through every step t = T - 1, ..., 0: from dLoss/dh_{t+1} (``dH``) the pre-activation gradients
    ``dZ``, the recurrent kernel's gradient (into ``Ga``) and dLoss/dh_t (``dHn``); ``dR[:n]`` holds d(f * h)."""
    for t in range(T - 1, -1, -1):
        Hp = H[t]
        for j in range(n):
            for b in range(bs):
                f = A[t, j, b]
                dh = dH[j, b]
                dZ[n + j, b] = dh * f * G[t, n + j, b]
                dZ[j, b] = dh * (A[t, n + j, b] - Hp[j, b])  # the forget gate's direct part, before its derivative
                dHn[j, b] = dh * (1.0 - f)
        cc.zero_rows(dR, n, bs)
        Et = E[t]
        for j in range(n):
            cc.acc_recurrent(th, Ga, Et, dZ[n + j], dR, n + j, bs, n, K, oU)
        for i in range(n):
            for b in range(bs):
                dr = dR[i, b]
                dZ[i, b] = (dZ[i, b] + dr * Hp[i, b]) * G[t, i, b]
                dHn[i, b] += dr * A[t, i, b]
        cc.acc_recurrent_columns(th, Ga, Hp, dZ, dHn, 0, n, bs, n, K, oU)
        cc.accumulate_inputs(Ga, Xb[t], dZ, dHn, dC, SN, t, want_sn, bs, n, D, K, ob0)
        dH, dHn = dHn, dH


@njit(cache=True, error_model="numpy")
def tangents(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE):
    """Forward mode through every step of ``Xb`` (T, D, B), h_t kept in ``H`` (``Hn`` scratch): ``Hn`` <- h' and, for
    every chosen parameter q, ``dH[q]`` <- dh'/dp_q by the chain rule through h' = (1 - f) h + f h~: dh' = df (h~ - h) +
    (1 - f) dh + f dh~."""
    for t in range(T):
        Xt = Xb[t]
        for k in range(n):  # the step itself, as in forward, on the rows of one step
            cc.affine(A[k], th, Xt, H, k, bs, D, K, n, oU, ob0, True)
            cc.activate(A[k], G[k], act, bs)
        for i in range(n):
            for b in range(bs):
                E[i, b] = A[i, b] * H[i, b]  # f * h
        for j in range(n):
            k = n + j
            cc.affine(A[k], th, Xt, H, k, bs, D, K, n, oU, ob0, False)
            cc.add_recurrent(A[k], th, E, k, bs, n, K, oU)
            cc.activate(A[k], G[k], cc.TANH, bs)
            for b in range(bs):
                f = A[j, b]
                Hn[j, b] = (1.0 - f) * H[j, b] + f * A[k, b]
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
        cc.copy_rows(H, Hn, n, bs)
