"""The long short-term memory cell, Keras ``LSTM`` / ``torch.nn.LSTM`` (one layer)."""

from __future__ import annotations

import functools
from typing import Callable, ClassVar

import numpy as np
import torch
from numba import njit

from . import _compiled as cc
from ._base import Cell, CellParams, StepFunction, Tensor, affine
from ._compiled import KernelSpec
from ._registry import register

KERNEL = KernelSpec(code=1, gates=4, cell_state=True, unit_tangents=True)
"""This cell's compiled kernels (:mod:`dynlatch.cells._kernels`): four gate blocks, state (h, c), and a specialised
one-unit tangent kernel (:func:`unit_tangents`)."""


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
    one_unit_family: ClassVar[str | None] = "lstm"
    tanh_blocks: ClassVar[tuple[str, ...]] = ("c",)

    def step_function(self) -> StepFunction:
        return functools.partial(lstm_step, gate=self.gate)

    def kernel_code(self) -> int:
        return KERNEL.code

    @classmethod
    def keras2_bias(cls, rows: int, units: int) -> np.ndarray:
        bias = np.zeros((rows, cls.n_gates * units))
        bias[:, units : 2 * units] = 1.0  # unit_forget_bias=True
        return bias


# -- compiled kernels (batch innermost; see dynlatch.cells._compiled) -------------------------------------------------
@njit(cache=True, error_model="numpy", inline="always")
def forward_step(act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1):
    """One step of ``bs`` sequences from (``Hp``, ``Cp``) (n, B) and inputs ``Xt`` (D, B): gate values ``At`` and
    their derivatives ``Gt`` (K, B), c' into ``Cn``, tanh(c') into ``Et``, h' into ``Hn``."""
    for k in range(K):
        cc.affine(At[k], th, Xt, Hp, k, bs, D, K, n, oU, ob0, True)
        cc.activate(At[k], Gt[k], cc.TANH if (k >= 2 * n and k < 3 * n) else act, bs)
    for j in range(n):
        for b in range(bs):
            c = At[n + j, b] * Cp[j, b] + At[j, b] * At[2 * n + j, b]
            Cn[j, b] = c
            tc = cc.tanh(c)
            Et[j, b] = tc
            Hn[j, b] = At[3 * n + j, b] * tc


@njit(cache=True, error_model="numpy", inline="always")
def backward_step(th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1):
    """Reverse mode through one step: from dLoss/dh' (``dH``) and dLoss/dc' (``dC``, replaced by dLoss/dc) the
    gate pre-activation gradients ``dZ``, the recurrent kernel's gradient (into ``Ga``) and dLoss/dh (``dHn``)."""
    for j in range(n):
        for b in range(bs):
            dHn[j, b] = 0.0
    for j in range(n):
        for b in range(bs):
            tc = Et[j, b]
            dh = dH[j, b]
            dc = dC[j, b] + dh * At[3 * n + j, b] * (1.0 - tc * tc)
            dC[j, b] = dc * At[n + j, b]
            dZ[j, b] = dc * At[2 * n + j, b] * Gt[j, b]
            dZ[n + j, b] = dc * Cp[j, b] * Gt[n + j, b]
            dZ[2 * n + j, b] = dc * At[j, b] * Gt[2 * n + j, b]
            dZ[3 * n + j, b] = dh * tc * Gt[3 * n + j, b]
    for k in range(K):
        cc.acc_recurrent(th, Ga, Hp, dZ[k], dHn, k, bs, n, K, oU)


@njit(cache=True, error_model="numpy", inline="always")
def tangent_step(act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU, ob0, ob1):
    """Forward mode through one step: (``Hn``, ``Cs``) <- (h', c') and, for every chosen parameter q, the tangents
    ``dH[q]``, ``dC[q]`` <- dh'/dp_q, dc'/dp_q by the chain rule through c' = f c + i g, h' = o tanh(c')."""
    forward_step(act, th, Xt, H, Cs, Hn, Cn, A, G, E, bs, n, D, K, oU, ob0, ob1)
    for q in range(qk.shape[0]):
        for k in range(K):
            cc.form_tangent(dZ[k], th, dH[q], H, Xt, k, bs, D, K, n, oU, qk[q], qc[q], qr[q], True, True, False)
        for j in range(n):
            for b in range(bs):
                di = G[j, b] * dZ[j, b]
                df = G[n + j, b] * dZ[n + j, b]
                dg = G[2 * n + j, b] * dZ[2 * n + j, b]
                do = G[3 * n + j, b] * dZ[3 * n + j, b]
                dc = df * Cs[j, b] + A[n + j, b] * dC[q, j, b] + di * A[2 * n + j, b] + A[j, b] * dg
                tc = E[j, b]
                dC[q, j, b] = dc
                dH[q, j, b] = do * tc + A[3 * n + j, b] * (1.0 - tc * tc) * dc
    for j in range(n):
        for b in range(bs):
            Cs[j, b] = Cn[j, b]


@njit(cache=True, error_model="numpy", inline="always")
def _unit_cell_and_coefficients(sig, i, f, g, o, cp, gi, gf, gg, go, Ui, Uf, Uc, Uo):
    """For one sequence: c' = f c + i g, tanh(c') and the coefficients of :func:`unit_tangents`'s tangent
    recursion, (c', tanh c', X_i, X_f, X_c, o' tanh c', dh's coefficient in dc', dh's in dh', o (1 - tanh^2 c')).
    With ``sig`` the gate derivatives follow from the gate values; otherwise ``gi .. go`` are they."""
    c_new = f * cp + i * g
    tc = cc.tanh_pade(c_new)
    xi = (i * (1.0 - i) if sig else gi) * g
    xf = (f * (1.0 - f) if sig else gf) * cp
    xc = i * (1.0 - g * g if sig else gg)
    otc = (o * (1.0 - o) if sig else go) * tc
    return c_new, tc, xi, xf, xc, otc, cc.fma(xf, Uf, cc.fma(xi, Ui, xc * Uc)), otc * Uo, o * (1.0 - tc * tc)


@njit(cache=True, error_model="numpy", inline="always")
def _unit_step_two_tangents(sig, bs, h, c, hn, cn, ai, af, ag, ao, gi, gf, gg, go, Ui, Uf, Uc, Uo, dh0, dc0, dh1,
                             dc1, s0, s1, x0, x1):
    """One step's c', tanh(c'), h' and both tangents of :func:`unit_tangents` for two chosen parameters,
    in one loop (``s0``, ``s1``: their selector rows; ``x0``, ``x1``: the input rows their v_q reads)."""
    ei0, ef0, ec0, eo0, ax0, ah0, a10 = s0[0], s0[1], s0[2], s0[3], s0[4], s0[5], s0[6]
    ei1, ef1, ec1, eo1, ax1, ah1, a11 = s1[0], s1[1], s1[2], s1[3], s1[4], s1[5], s1[6]
    for b in range(bs):
        f, hp, cp = af[b], h[b], c[b]
        c_new, tc, xi, xf, xc, otc, kc, kh, tt = _unit_cell_and_coefficients(sig, ai[b], f, ag[b], ao[b], cp, gi[b],
                                                                           gf[b], gg[b], go[b], Ui, Uf, Uc, Uo)
        cn[b] = c_new
        hn[b] = ao[b] * tc
        v = ax0 * x0[b] + ah0 * hp + a10
        d = dh0[b]
        dcc = cc.fma(d, kc, cc.fma(v, ei0 * xi + ef0 * xf + ec0 * xc, f * dc0[b]))
        dc0[b] = dcc
        dh0[b] = cc.fma(d, kh, cc.fma(v * eo0, otc, tt * dcc))
        v = ax1 * x1[b] + ah1 * hp + a11
        d = dh1[b]
        dcc = cc.fma(d, kc, cc.fma(v, ei1 * xi + ef1 * xf + ec1 * xc, f * dc1[b]))
        dc1[b] = dcc
        dh1[b] = cc.fma(d, kh, cc.fma(v * eo1, otc, tt * dcc))


@njit(cache=True, error_model="numpy")
def unit_tangents(act, th, XT, start, bs, T, D, S0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ):
    """:func:`dynlatch._tangents.forward_tangents` for a one-unit LSTM, in few, short loops per step: the gates two at a time (each
    loop body small enough that its constants stay in registers: one loop for all four spills, measured 25% slower),
    then one loop for the cell state, tanh(c), h and the coefficients the tangents share, then one loop per chosen
    parameter (for exactly two parameters, a surface's case, all in one loop: :func:`_unit_step_two_tangents`).
    Every row is indexed from 0 (``XT[t, d, start:start + bs]`` views): an index ``start + b`` makes numba emit a
    wraparound select per access, which made these loops ~15% slower. By the chain rule,
    with ``dz_k = dh U_k + [k = k_q] v_q`` (``v_q`` = x_t[d], h or 1 as q is W[d, k_q], U[k_q] or b[k_q]), the
    tangent of ``c' = f c + i g`` and ``h' = o tanh(c')`` is::

        dc' = dh (f' U_f c + i' U_i g + i g' U_c) + v_q X_q + f dc,       X_q = f' c, i' g, i g' (k_q = f, i, c)
        dh' = dh o' tanh(c') U_o + [k_q = o] v_q o' tanh(c') + o (1 - tanh(c')^2) dc'

    (primes on gates: derivatives of the nonlinearities at the pre-activations); the bracket coefficients are formed
    once per step for all parameters.
    Same results as :func:`dynlatch._tangents.forward_tangents` (``dH[q, 0]`` holds dh_T/dp_q, to rounding); the inputs are read in
    place from ``XT`` (T, D, N), all sequences transposed once, at sequences ``start .. start + bs`` (no per-chunk
    gather); ``dZ`` (4, B) holds the input part of the gates when D > 1 (zero for D = 1); ``G`` (4, B) the hard
    gates' derivatives, then X_i, X_f, X_c, o' tanh(c'); ``E`` (3, B) the shared coefficients of dh, and
    o (1 - tanh(c')^2)."""
    oU = 4 * D
    ob0 = oU + 4
    Ui, Uf, Uc, Uo = th[oU], th[oU + 1], th[oU + 2], th[oU + 3]
    Q = qk.shape[0]
    h0 = S0[0, 0]
    c0 = S0[1, 0]
    for b in range(bs):
        H[0, b] = h0
        Cs[0, b] = c0
    for q in range(Q):
        for b in range(bs):
            dH[q, 0, b] = 0.0
            dC[q, 0, b] = 0.0
    h, c, hn, cn = H[0], Cs[0], Hn[0], Cn[0]
    ai, af, ag, ao = A[0], A[1], A[2], A[3]
    gi, gf, gg, go = G[0], G[1], G[2], G[3]
    zi, zf, zg, zo = dZ[0], dZ[1], dZ[2], dZ[3]
    ac, ah_, tt = E[0], E[1], E[2]  # dh's coefficient in dc' and in dh' (the latter without dc'), o (1 - tanh^2)
    # The gate loops form each pre-activation as (x_t[0] W[0, k] + b[k]) + dZ[k] + h U[k], without a branch (a
    # select there keeps LLVM from vectorising the hard-sigmoid loop): for D = 1 the input part is the first term and
    # dZ is zero, for D > 1 dZ holds the whole input part and the first term is zero.
    sel = np.zeros((max(Q, 1), 7))  # per parameter: one-hot column (i, f, c, o), then a_x, a_h, a_1 (v_q's source)
    for q in range(Q):
        if qk[q] == cc.WEIGHT or qk[q] == cc.RECURRENT or qk[q] == cc.BIAS:  # a read-out parameter has no state tangent
            sel[q, qc[q]] = 1.0
            sel[q, 4 + qk[q]] = 1.0
    one = D == 1
    sig = act == 0  # sigmoid gates: their derivatives follow from their values (else G holds them)
    Wi, Wf, Wc, Wo = (th[0], th[1], th[2], th[3]) if one else (0.0, 0.0, 0.0, 0.0)
    bi, bf, bc, bo = (th[ob0], th[ob0 + 1], th[ob0 + 2], th[ob0 + 3]) if one else (0.0, 0.0, 0.0, 0.0)
    if one:
        for k in range(4):
            for b in range(bs):
                dZ[k, b] = 0.0
    for t in range(T):
        x0 = XT[t, 0, start : start + bs]  # 1-D views, indexed by b >= 0: no wraparound selects, loops vectorise
        if not one:  # x_t W[:, k] + b[k] in passes
            for k in range(4):
                zk = dZ[k]
                bk = th[ob0 + k]
                for b in range(bs):
                    zk[b] = bk
                for d in range(D):
                    w = th[d * 4 + k]
                    xd = XT[t, d, start : start + bs]
                    for b in range(bs):
                        zk[b] += xd[b] * w
        if act == 0:  # sigmoid gates
            for b in range(bs):
                hp = h[b]
                xb = x0[b]
                i = cc.sigmoid_pade((xb * Wi + bi) + zi[b] + hp * Ui)
                f = cc.sigmoid_pade((xb * Wf + bf) + zf[b] + hp * Uf)
                ai[b], af[b] = i, f  # their derivatives follow from the values, in the loop below
            for b in range(bs):
                hp = h[b]
                xb = x0[b]
                g = cc.tanh_pade((xb * Wc + bc) + zg[b] + hp * Uc)
                o = cc.sigmoid_pade((xb * Wo + bo) + zo[b] + hp * Uo)
                ag[b], ao[b] = g, o
        else:  # hard sigmoids (codes 1, 2): slope sl on the closed interval, as torch.clamp passes the gradient
            sl = cc.HARD_SLOPE[act]
            for b in range(bs):
                hp = h[b]
                xb = x0[b]
                vi = sl * ((xb * Wi + bi) + zi[b] + hp * Ui) + 0.5
                vf = sl * ((xb * Wf + bf) + zf[b] + hp * Uf) + 0.5
                vo = sl * ((xb * Wo + bo) + zo[b] + hp * Uo) + 0.5
                g = cc.tanh_pade((xb * Wc + bc) + zg[b] + hp * Uc)
                ai[b] = 0.0 if vi < 0.0 else (1.0 if vi > 1.0 else vi)
                af[b] = 0.0 if vf < 0.0 else (1.0 if vf > 1.0 else vf)
                ao[b] = 0.0 if vo < 0.0 else (1.0 if vo > 1.0 else vo)
                ag[b] = g
                gi[b] = sl if (vi >= 0.0 and vi <= 1.0) else 0.0
                gf[b] = sl if (vf >= 0.0 and vf <= 1.0) else 0.0
                gg[b] = 1.0 - g * g
                go[b] = sl if (vo >= 0.0 and vo <= 1.0) else 0.0
        if Q == 2:  # the common case (a surface over two parameters): the tangents in the same loop
            _unit_step_two_tangents(sig, bs, h, c, hn, cn, ai, af, ag, ao, gi, gf, gg, go, Ui, Uf, Uc, Uo,
                                     dH[0, 0], dC[0, 0], dH[1, 0], dC[1, 0], sel[0], sel[1],
                                     XT[t, qr[0], start : start + bs], XT[t, qr[1], start : start + bs])
            h, hn = hn, h
            c, cn = cn, c
            continue
        for b in range(bs):  # c', tanh(c'), h' and the shared tangent coefficients (G now holds X_i, X_f, X_c, o'tc)
            c_new, tc, xi, xf, xc, otc, kc, kh, tb = _unit_cell_and_coefficients(
                sig, ai[b], af[b], ag[b], ao[b], c[b], gi[b], gf[b], gg[b], go[b], Ui, Uf, Uc, Uo)
            cn[b] = c_new
            hn[b] = ao[b] * tc
            gi[b], gf[b], gg[b], go[b] = xi, xf, xc, otc
            ac[b] = kc
            ah_[b] = kh
            tt[b] = tb
        for q in range(Q):  # as in _unit_step_two_tangents, from the coefficients stored above
            ei, ef, ec, eo, ax, ah, a1 = sel[q, 0], sel[q, 1], sel[q, 2], sel[q, 3], sel[q, 4], sel[q, 5], sel[q, 6]
            xq = XT[t, qr[q], start : start + bs]
            dh = dH[q, 0]
            dc = dC[q, 0]
            for b in range(bs):
                v = ax * xq[b] + ah * h[b] + a1
                dhp = dh[b]
                dcc = cc.fma(dhp, ac[b], cc.fma(v, ei * gi[b] + ef * gf[b] + ec * gg[b], af[b] * dc[b]))
                dc[b] = dcc
                dh[b] = cc.fma(dhp, ah_[b], cc.fma(v * eo, go[b], tt[b] * dcc))
        h, hn = hn, h
        c, cn = cn, c
    if T % 2 == 1:  # h_T and c_T were left in the second buffers
        for b in range(bs):
            H[0, b] = h[b]
            Cs[0, b] = c[b]
