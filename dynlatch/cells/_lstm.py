"""The long short-term memory cell, Keras ``LSTM`` / ``torch.nn.LSTM`` (one layer)."""

from __future__ import annotations

import functools
from typing import Callable, ClassVar

import numpy as np
import torch
from numba import njit

from ._base import Cell, CellParams, StepFunction, Tensor, affine
from . import _compiled as cc
from ._compiled import KernelSpec
from ._registry import register

UNIT_ROWS = 8
"""Rows per step of the one-unit training kernels (:data:`dynlatch.cells._compiled.LANES`): x_t, h_{t-1}, then
X_i, X_f, X_c, X_o (replaced by the pre-activation gradients in the reverse pass), f, o (1 - tanh^2 c')."""
_XI, _F, _P = 2, 6, 7
KERNEL = KernelSpec(code=1, gates=4, unit_tangents=True, unit_rows=UNIT_ROWS)
"""This cell's compiled kernels (:mod:`dynlatch.cells._kernels`): four gate blocks, state (h, c), a specialised
one-unit tangent kernel (:func:`unit_tangents`) and one-unit training kernels (:func:`unit_forward`,
:func:`unit_backward`)."""


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
@njit(cache=True, error_model="numpy")
def forward(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E):
    """Every step t < T of ``bs`` sequences of ``Xb`` (T, D, B) from (``H[t]``, ``Cs[t]``) (n, B) and inputs ``Xb[t]``:
    gate values ``A[t]`` and their derivatives ``G[t]`` (K, B), c_{t+1} into ``Cs[t + 1]``, tanh(c_{t+1}) into ``E[t]``,
    h_{t+1} into ``H[t + 1]``."""
    for t in range(T):
        Xt = Xb[t]
        Hp = H[t]
        for k in range(K):
            cc.affine(A[t, k], th, Xt, Hp, k, bs, D, K, n, oU, ob0, True)
            cc.activate(A[t, k], G[t, k], cc.TANH if (k >= 2 * n and k < 3 * n) else act, bs)
        for j in range(n):
            for b in range(bs):
                c = A[t, n + j, b] * Cs[t, j, b] + A[t, j, b] * A[t, 2 * n + j, b]
                Cs[t + 1, j, b] = c
                tc = cc.tanh(c)
                E[t, j, b] = tc
                H[t + 1, j, b] = A[t, 3 * n + j, b] * tc


@njit(cache=True, error_model="numpy")
def backward(th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn):
    """Reverse mode through every step t = T - 1, ..., 0: from dLoss/dh_{t+1} (``dH``) and dLoss/dc_{t+1} (``dC``,
    replaced by dLoss/dc_t) the gate pre-activation gradients ``dZ``, the recurrent kernel's gradient (into ``Ga``) and
    dLoss/dh_t (``dHn``)."""
    for t in range(T - 1, -1, -1):
        Hp = H[t]
        cc.zero_rows(dHn, n, bs)
        for j in range(n):
            for b in range(bs):
                tc = E[t, j, b]
                dh = dH[j, b]
                dc = dC[j, b] + dh * A[t, 3 * n + j, b] * (1.0 - tc * tc)
                dC[j, b] = dc * A[t, n + j, b]
                dZ[j, b] = dc * A[t, 2 * n + j, b] * G[t, j, b]
                dZ[n + j, b] = dc * Cs[t, j, b] * G[t, n + j, b]
                dZ[2 * n + j, b] = dc * A[t, j, b] * G[t, 2 * n + j, b]
                dZ[3 * n + j, b] = dh * tc * G[t, 3 * n + j, b]
        cc.acc_recurrent_columns(th, Ga, Hp, dZ, dHn, 0, K, bs, n, K, oU)
        cc.accumulate_inputs(Ga, Xb[t], dZ, dHn, dC, SN, t, want_sn, bs, n, D, K, ob0)
        dH, dHn = dHn, dH


@njit(cache=True, error_model="numpy")
def tangents(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE):
    """Forward mode through every step of ``Xb`` (T, D, B), h_t kept in ``H`` (``Hn`` scratch): (``Hn``, ``Cs``) <- (h',
    c') and, for every chosen parameter q, the tangents ``dH[q]``, ``dC[q]`` <- dh'/dp_q, dc'/dp_q by the chain rule
    through c' = f c + i g, h' = o tanh(c')."""
    for t in range(T):
        Xt = Xb[t]
        for k in range(K):
            cc.affine(A[k], th, Xt, H, k, bs, D, K, n, oU, ob0, True)
            cc.activate(A[k], G[k], cc.TANH if (k >= 2 * n and k < 3 * n) else act, bs)
        for j in range(n):
            for b in range(bs):
                c = A[n + j, b] * Cs[j, b] + A[j, b] * A[2 * n + j, b]
                Cn[j, b] = c
                tc = cc.tanh(c)
                E[j, b] = tc
                Hn[j, b] = A[3 * n + j, b] * tc
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
        cc.copy_rows(H, Hn, n, bs)


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
    """:func:`dynlatch._tangents.forward_tangents` for a one-unit LSTM, in few, short loops per step: the gates two
    at a time (each loop body small enough that its constants stay in registers: one loop for all four spills,
    measured 25% slower), then one loop for the cell state, tanh(c), h and the coefficients the tangents share, then
    one loop per chosen parameter (for exactly two parameters, a surface's case, all in one loop:
    :func:`_unit_step_two_tangents`).
    Every row is indexed from 0 (``XT[t, d, start:start + bs]`` views): an index ``start + b`` makes numba emit a
    wraparound select per access, which made these loops ~15% slower. By the chain rule,
    with ``dz_k = dh U_k + [k = k_q] v_q`` (``v_q`` = x_t[d], h or 1 as q is W[d, k_q], U[k_q] or b[k_q]), the
    tangent of ``c' = f c + i g`` and ``h' = o tanh(c')`` is::

        dc' = dh (f' U_f c + i' U_i g + i g' U_c) + v_q X_q + f dc,       X_q = f' c, i' g, i g' (k_q = f, i, c)
        dh' = dh o' tanh(c') U_o + [k_q = o] v_q o' tanh(c') + o (1 - tanh(c')^2) dc'

    (primes on gates: derivatives of the nonlinearities at the pre-activations); the bracket coefficients are formed
    once per step for all parameters.
    Same results as :func:`dynlatch._tangents.forward_tangents` (``dH[q, 0]`` holds dh_T/dp_q, to rounding); the
    inputs are read in place from ``XT`` (T, D, N), all sequences transposed once, at sequences
    ``start .. start + bs`` (no per-chunk gather); ``dZ`` (4, B) holds the input part of the gates when D > 1 (zero
    for D = 1); ``G`` (4, B) the hard gates' derivatives, then X_i, X_f, X_c, o' tanh(c'); ``E`` (3, B) the shared
    coefficients of dh, and o (1 - tanh(c')^2)."""
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
            sl = cc.hard_slope(act)
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


# -- one-unit training kernels (blocks of cc.LANES sequences, see dynlatch.cells._compiled.LANES) ---------------------
@njit(cache=True, error_model="numpy", inline="always")
def _unit_step(sigmoid, slope, p, s, Ln, b):
    """One step of :func:`unit_forward` for sequence ``b`` of the block (``p``: W, U and b, four each)."""
    L = cc.LANES
    Wi, Wf, Wc, Wo, Ui, Uf, Uc, Uo, bi, bf, bc, bo = p
    x = s[cc.X_ROW * L + b]
    hp = Ln[cc.H_ROW * L + b]
    cp = Ln[cc.C_ROW * L + b]
    i, di = cc.gate(sigmoid, slope, (bi + x * Wi) + hp * Ui)
    f, df = cc.gate(sigmoid, slope, (bf + x * Wf) + hp * Uf)
    g = cc.tanh_pade((bc + x * Wc) + hp * Uc)
    o, do = cc.gate(sigmoid, slope, (bo + x * Wo) + hp * Uo)
    c_new = f * cp + i * g
    tc = cc.tanh_pade(c_new)
    Ln[cc.H_ROW * L + b] = o * tc
    Ln[cc.C_ROW * L + b] = c_new
    s[cc.HPREV_ROW * L + b] = hp
    s[_XI * L + b] = di * g
    s[(_XI + 1) * L + b] = df * cp
    s[(_XI + 2) * L + b] = i * (1.0 - g * g)
    s[(_XI + 3) * L + b] = do * tc
    s[_F * L + b] = f
    s[_P * L + b] = o * (1.0 - tc * tc)


@njit(cache=True, error_model="numpy")
def unit_forward(act, th, S, Ln, nb, T):
    """:func:`forward` for one unit and one input (n = D = 1) on a block of ``nb`` <= LANES sequences, one loop per
    step: from (h, c) in the lane rows and x_t in step row 0,

        i, f, o = sigma(b + x W + h U) (their columns),  g = tanh(b_c + x W_c + h U_c),
        c' = f c + i g,  h' = o tanh(c'),

    and per step the coefficients of the reverse pass: h, X_i = i' g, X_f = f' c, X_c = i g', X_o = o' tanh(c'), f
    and o (1 - tanh^2 c') (primes on gates: derivatives at the pre-activations). Gates and tanh in the Pade forms of
    :mod:`dynlatch.cells._compiled`."""
    L = cc.LANES
    R = UNIT_ROWS
    p = (th[0], th[1], th[2], th[3], th[4], th[5], th[6], th[7], th[8], th[9], th[10], th[11])
    slope = cc.hard_slope(act)
    for t in range(T):
        s = S[t * R * L : (t + 1) * R * L]
        if act == 0:
            for b in range(nb):
                _unit_step(True, slope, p, s, Ln, b)
        else:
            for b in range(nb):
                _unit_step(False, slope, p, s, Ln, b)


@njit(cache=True, error_model="numpy")
def unit_backward(th, S, Ln, nb, T, SN, want_sn):
    """:func:`backward` for one unit (n = D = 1) on a block stored by :func:`unit_forward`, one loop per step: from
    dLoss/dh' and dLoss/dc' in the lane rows,

        dc = dLoss/dc' + dLoss/dh' o (1 - tanh^2 c'),   dz_k = dc X_k (k = i, f, c),   dz_o = dLoss/dh' X_o,
        dLoss/dc = dc f,   dLoss/dh = sum_k U_k dz_k,

    and per sequence the gradients W_k += x dz_k, U_k += h dz_k, b_k += dz_k into the accumulator rows. With
    ``want_sn``, ``SN[t]`` += the block's ||dLoss/dh_t||^2 + ||dLoss/dc_t||^2."""
    L = cc.LANES
    R = UNIT_ROWS
    A = cc.ACC_ROW
    Ui, Uf, Uc, Uo = th[4], th[5], th[6], th[7]
    for t in range(T - 1, -1, -1):
        s = S[t * R * L : (t + 1) * R * L]
        for b in range(nb):
            dh = Ln[cc.DH_ROW * L + b]
            dc = Ln[cc.DC_ROW * L + b] + dh * s[_P * L + b]
            Ln[cc.DC_ROW * L + b] = dc * s[_F * L + b]
            zi = dc * s[_XI * L + b]
            zf = dc * s[(_XI + 1) * L + b]
            zc = dc * s[(_XI + 2) * L + b]
            zo = dh * s[(_XI + 3) * L + b]
            x = s[cc.X_ROW * L + b]
            hp = s[cc.HPREV_ROW * L + b]
            Ln[A * L + b] += x * zi
            Ln[(A + 1) * L + b] += x * zf
            Ln[(A + 2) * L + b] += x * zc
            Ln[(A + 3) * L + b] += x * zo
            Ln[(A + 4) * L + b] += hp * zi
            Ln[(A + 5) * L + b] += hp * zf
            Ln[(A + 6) * L + b] += hp * zc
            Ln[(A + 7) * L + b] += hp * zo
            Ln[(A + 8) * L + b] += zi
            Ln[(A + 9) * L + b] += zf
            Ln[(A + 10) * L + b] += zc
            Ln[(A + 11) * L + b] += zo
            Ln[cc.DH_ROW * L + b] = ((zi * Ui + zf * Uf) + zc * Uc) + zo * Uo
        if want_sn:
            cc.add_state_norm(SN, t, Ln, nb)
