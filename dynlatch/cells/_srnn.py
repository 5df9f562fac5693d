"""The simple (Elman) recurrent cell, Keras ``SimpleRNN`` / ``torch.nn.RNN(nonlinearity='tanh')``."""

from __future__ import annotations

from typing import ClassVar

import torch
from numba import njit

from ._base import Cell, CellParams, StepFunction, Tensor, affine
from . import _compiled as cc
from ._compiled import KernelSpec
from ._registry import register

UNIT_ROWS = 3
"""Rows per step of the one-unit training kernels (:data:`dynlatch.cells._compiled.LANES`): x_t, h_{t-1},
1 - h_t^2 (replaced by the pre-activation gradient in the reverse pass)."""
_G = 2
KERNEL = KernelSpec(code=0, gates=1, unit_rows=UNIT_ROWS)
"""This cell's compiled kernels (:mod:`dynlatch.cells._kernels`): one gate block, state h only, and one-unit
training kernels (:func:`unit_forward`, :func:`unit_backward`)."""


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
@njit(cache=True, error_model="numpy")
def forward(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E):
    """Every step t < T of ``bs`` sequences of ``Xb`` (T, D, B): ``H[t + 1]`` (n, B) <- tanh(x_t W + h_t U + b) from
    ``H[t]`` and inputs ``Xt`` (D, B). Buffers as :func:`dynlatch._fastpath.forward` stores the trajectory (states (T +
    1, n, B))."""
    for t in range(T):
        Xt = Xb[t]
        Hp = H[t]
        for j in range(n):
            row = H[t + 1, j]
            cc.affine(row, th, Xt, Hp, j, bs, D, K, n, oU, ob0, True)
            for b in range(bs):
                row[b] = cc.tanh(row[b])


@njit(cache=True, error_model="numpy")
def backward(th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn):
    """Reverse mode through every step t = T - 1, ..., 0: from dLoss/dh_{t+1} (``dH``) the pre-activation gradient
    ``dZ`` = dH (1 - h^2), the recurrent kernel's gradient (into ``Ga``) and dLoss/dh_t (into ``dHn``)."""
    for t in range(T - 1, -1, -1):
        Hp = H[t]
        cc.zero_rows(dHn, n, bs)
        for j in range(n):
            for b in range(bs):
                h = H[t + 1, j, b]
                dZ[j, b] = dH[j, b] * (1.0 - h * h)
        cc.acc_recurrent_columns(th, Ga, Hp, dZ, dHn, 0, K, bs, n, K, oU)
        cc.accumulate_inputs(Ga, Xb[t], dZ, dHn, dC, SN, t, want_sn, bs, n, D, K, ob0)
        dH, dHn = dHn, dH


@njit(cache=True, error_model="numpy")
def tangents(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE):
    """Forward mode through every step of ``Xb`` (T, D, B), h_t kept in ``H`` (``Hn`` scratch): ``Hn`` <- h' and, for
    every chosen parameter q, ``dH[q]`` <- dh'/dp_q = tanh'(a) (dh/dp_q U + the explicit derivative of a)."""
    for t in range(T):
        Xt = Xb[t]
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
        cc.copy_rows(H, Hn, n, bs)


# -- one-unit training kernels (blocks of cc.LANES sequences, see dynlatch.cells._compiled.LANES) ---------------------
@njit(cache=True, error_model="numpy")
def unit_forward(act, th, S, Ln, nb, T):
    """:func:`forward` for one unit and one input (n = D = 1) on a block of ``nb`` <= LANES sequences, one loop per
    step: h' = tanh(b + x W + h U) (Pade form) from h in the lane rows, storing h and 1 - h'^2 per step."""
    L = cc.LANES
    R = UNIT_ROWS
    W, U, bias = th[0], th[1], th[2]
    for t in range(T):
        s = S[t * R * L : (t + 1) * R * L]
        for b in range(nb):
            hp = Ln[cc.H_ROW * L + b]
            h = cc.tanh_pade((bias + s[cc.X_ROW * L + b] * W) + hp * U)
            Ln[cc.H_ROW * L + b] = h
            s[cc.HPREV_ROW * L + b] = hp
            s[_G * L + b] = 1.0 - h * h


@njit(cache=True, error_model="numpy")
def unit_backward(th, S, Ln, nb, T, SN, want_sn):
    """:func:`backward` for one unit (n = D = 1) on a block stored by :func:`unit_forward`, one loop per step:
    dz = dLoss/dh' (1 - h'^2), dLoss/dh = U dz, and per sequence W += x dz, U += h dz, b += dz into the accumulator
    rows. With ``want_sn``, ``SN[t]`` += the block's ||dLoss/dh_t||^2."""
    L = cc.LANES
    R = UNIT_ROWS
    A = cc.ACC_ROW
    U = th[1]
    for t in range(T - 1, -1, -1):
        s = S[t * R * L : (t + 1) * R * L]
        for b in range(nb):
            dz = Ln[cc.DH_ROW * L + b] * s[_G * L + b]
            Ln[A * L + b] += s[cc.X_ROW * L + b] * dz
            Ln[(A + 1) * L + b] += s[cc.HPREV_ROW * L + b] * dz
            Ln[(A + 2) * L + b] += dz
            Ln[cc.DH_ROW * L + b] = U * dz
        if want_sn:
            cc.add_state_norm(SN, t, Ln, nb)
