"""The simple (Elman) recurrent cell, Keras ``SimpleRNN`` / ``torch.nn.RNN(nonlinearity='tanh')``."""

from __future__ import annotations

from typing import ClassVar

import torch
from numba import njit

from . import _compiled as cc
from ._base import Cell, CellParams, StepFunction, Tensor, affine
from ._compiled import KernelSpec
from ._registry import register

KERNEL = KernelSpec(code=0, gates=1)
"""This cell's compiled kernels (:mod:`dynlatch.cells._kernels`): one gate block, state h only."""


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
    one_unit_family: ClassVar[str | None] = "srnn"
    gated: ClassVar[bool] = False

    def step_function(self) -> StepFunction:
        return srnn_step

    def kernel_code(self) -> int:
        return KERNEL.code


# -- compiled kernels (batch innermost; see dynlatch.cells._compiled) -------------------------------------------------
@njit(cache=True, error_model="numpy", inline="always")
def forward_step(act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1):
    """One step of ``bs`` sequences: ``Hn`` (n, B) <- tanh(x_t W + h U + b) from ``Hp`` and inputs ``Xt`` (D, B)."""
    for j in range(n):
        row = Hn[j]
        cc.affine(row, th, Xt, Hp, j, bs, D, K, n, oU, ob0, True)
        for b in range(bs):
            row[b] = cc.tanh(row[b])


@njit(cache=True, error_model="numpy", inline="always")
def backward_step(th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1):
    """Reverse mode through one step: from dLoss/dh' (``dH``) the pre-activation gradient ``dZ`` = dH (1 - h'^2),
    the recurrent kernel's gradient (into ``Ga``) and dLoss/dh (into ``dHn``)."""
    for j in range(n):
        for b in range(bs):
            dHn[j, b] = 0.0
    for j in range(n):
        for b in range(bs):
            h = Hn[j, b]
            dZ[j, b] = dH[j, b] * (1.0 - h * h)
    for k in range(K):
        cc.acc_recurrent(th, Ga, Hp, dZ[k], dHn, k, bs, n, K, oU)


@njit(cache=True, error_model="numpy", inline="always")
def tangent_step(act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU, ob0, ob1):
    """Forward mode through one step: ``Hn`` <- h' and, for every chosen parameter q, ``dH[q]`` <- dh'/dp_q =
    tanh'(a) (dh/dp_q U + the explicit derivative of a)."""
    for j in range(n):
        row = Hn[j]
        cc.affine(row, th, Xt, H, j, bs, D, K, n, oU, ob0, True)
        cc.activate(row, G[j], cc.TANH, bs)
    for q in range(qk.shape[0]):
        for j in range(n):
            cc.form_tangent(dZ[j], th, dH[q], H, Xt, j, bs, D, K, n, oU, qk[q], qc[q], qr[q], True, True, False)
        for j in range(n):
            for b in range(bs):
                dH[q, j, b] = G[j, b] * dZ[j, b]
