"""Forward-mode (tangent) derivatives of the loss with respect to a few chosen parameters: no stored trajectory, no
backward pass.

For a surface over two parameters ``p_1, p_2`` of a cell (every other parameter fixed) the gradient that matters is
``(dL/dp_1, dL/dp_2)``. Reverse mode (:func:`dynlatch._fastpath.evaluate`) gets every partial derivative at once but
must store the forward trajectory and run a backward pass through time. Forward mode carries, next to the state
``s_t``, its tangents ``ds_t/dp_q`` (one per chosen parameter, q = 1..Q), by the chain rule along the recursion::

    ds_t/dp_q = (dF/ds)(s_{t-1}, x_t) ds_{t-1}/dp_q + (dF/dp_q)(s_{t-1}, x_t),    ds_0/dp_q = 0,

and reads off ``dL/dp_q = sum_p dL/dh_T^(p) . dh_T^(p)/dp_q`` (the read-out's own parameters, if chosen, add their
direct derivative). The derivatives of the gate nonlinearities are those of the forward pass (``sigma' =
sigma (1 - sigma)``, ``tanh' = 1 - tanh^2``, the hard sigmoids' slope on the closed interval, as torch.clamp passes
the gradient), so no transcendental is evaluated twice; the cost per step is the forward pass plus Q tangent passes
of multiply-adds. The result is the same derivative reverse mode and autograd give (to rounding). Griewank & Walther,
*Evaluating Derivatives* (2008), ch. 3 (tangent mode); Williams & Zipser (1989) (real-time recurrent learning is the
same recursion for all parameters).

Layouts, codes and the cell equations are those of :mod:`dynlatch._fastpath` (batch innermost and contiguous, so
every inner loop vectorises; float64; no fastmath).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from ._fastpath import (GATES, GRU_AFTER, LOSS_SOFTMAX, LOSS_SQUARED_ERROR, LSTM, SRNN, TANH, _activate, _affine,
                        _gather, _layout, _readout, _squared_error, _tanh)
from ._fastpath import _LN2_HI, _LN2_LO, _LOG2E, _bits_as_f64

# -- one-division nonlinearities (Pade form of exp) -----------------------------------------------------------------
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: w + _MAGIC rounds w to an integer k and holds k in its low mantissa bits


@intrinsic
def _f64_bits(typingctx, x):
    """Reinterpret a float64 as its int64 bit pattern."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (llvm.fma: one instruction where the CPU has FMA, the same result everywhere; explicit,
    so that it is used identically in vectorised and scalar loop bodies, unlike fastmath contraction)."""

    def codegen(context, builder, signature, args):
        return builder.fma(args[0], args[1], args[2])

    return types.float64(types.float64, types.float64, types.float64), codegen


# Pade [6/6] of exp on |r| <= ln(2)/2: exp(r) = (E + r O) / (E - r O) with E, O even polynomials in r (the
# coefficients (12 - j)! 6! / (12! j! (6 - j)!) of r^j); truncation error below 2e-19 relative (Baker & Graves-Morris,
# *Pade Approximants* (1996), sec. 1.2).
_P1, _P2, _P3, _P4, _P5, _P6 = 0.5, 5.0 / 44.0, 1.0 / 66.0, 1.0 / 792.0, 1.0 / 15840.0, 1.0 / 665280.0
_BIAS_BITS = 1023 << 52  # the exponent bias, in place


@njit(cache=True, error_model="numpy", inline="always")
def _exp_pade(w):
    """exp(w) = s (E + rO) / (E - rO) for w <= 0 (clamped at -700), returned as the parts (s, E, rO).

    w = k ln 2 + r with k the nearest integer to w / ln 2 (by adding 1.5 * 2**52, which also leaves k in the low
    mantissa bits, so that s = 2**k is two integer operations and no float-to-int conversion, which AVX2 lacks) and
    |r| <= ln(2)/2; the Pade form of exp(r) costs six multiply-adds and shares its division with the caller's (a
    sigmoid or tanh needs one anyway), against eleven for the degree-13 Taylor polynomial of
    :func:`dynlatch._fastpath._expm1_exp`. The result for the caller's quotient agrees with the exact value within
    2 ulp (tested against mpmath)."""
    w = -700.0 if w < -700.0 else w
    t = _fma(w, _LOG2E, _MAGIC)
    kf = t - _MAGIC
    r = _fma(-kf, _LN2_LO, _fma(-kf, _LN2_HI, w))
    r2 = r * r
    E = _fma(r2, _fma(r2, _fma(r2, _P6, _P4), _P2), 1.0)
    rO = r * _fma(r2, _fma(r2, _P5, _P3), _P1)
    s = _bits_as_f64((_f64_bits(t) << 52) + _BIAS_BITS)  # the low mantissa bits of t hold k (two's complement)
    return s, E, rO


@njit(cache=True, error_model="numpy", inline="always")
def _sigmoid_pade(x):
    """1 / (1 + exp(-x)) with one division: with exp(-|x|) = s P / Q (:func:`_exp_pade`), Q / (Q + s P) for x >= 0
    and s P / (Q + s P) for x < 0. Within 2 ulp of the exact value; 1.5 ns per element in a vectorised loop on the
    2-core development machine, against 2.0 ns through the Taylor form."""
    s, E, rO = _exp_pade(-abs(x))
    Q = E - rO
    sP = s * (E + rO)
    return (Q if x >= 0.0 else sP) / (Q + sP)


@njit(cache=True, error_model="numpy", inline="always")
def _tanh_pade(x):
    """tanh(x) with one division: with exp(-2|x|) = s P / Q (:func:`_exp_pade`), tanh |x| = (Q - s P) / (Q + s P),
    the numerator formed as (1 - s) E - (1 + s) rO so that for |x| < ln(2)/4 (s = 1) it is -2 rO exactly, without
    the cancellation of 1 - exp(-2|x|). Within 2 ulp of the exact value (relative, also for tiny x)."""
    s, E, rO = _exp_pade(-2.0 * abs(x))
    r = _fma(1.0 - s, E, -(1.0 + s) * rO) / _fma(1.0 + s, E, (s - 1.0) * rO)
    return r if x >= 0.0 else -r


WEIGHT, RECURRENT, BIAS, RECURRENT_BIAS, READOUT = 0, 1, 2, 3, -1
"""Kinds of a chosen parameter (:func:`_classify`): kernel W[d, k], recurrent kernel U[i, k], bias row 0 b[k], bias
row 1 (GRU reset_after's recurrent bias) br[k], or a read-out parameter (no state tangent)."""


@njit(cache=True, error_model="numpy")
def _classify(p, n, D, K):
    """(kind, column k, row d or i) of flat parameter index ``p`` in the layout of :func:`dynlatch._fastpath.layout`."""
    oU = D * K
    ob0 = oU + n * K
    ob1 = ob0 + K
    oWo = ob1 + K
    if p < oU:
        return WEIGHT, p % K, p // K
    if p < ob0:
        return RECURRENT, (p - oU) % K, (p - oU) // K
    if p < ob1:
        return BIAS, p - ob0, 0
    if p < oWo:
        return RECURRENT_BIAS, p - ob1, 0
    return READOUT, -1, 0


@njit(cache=True, error_model="numpy", inline="always")
def _form_tangent(out, th, dIn, In, Xt, k, bs, D, K, n, oU, kind_q, col_q, row_q, with_input, with_rec, with_b1):
    """``out[:bs]`` <- the tangent of column k's affine form ``[x W[:, k] + b[k]] + [In U[:, k]] + [br[k]]`` (the
    bracketed parts as the flags say) along parameter q: ``dIn U[:, k]`` plus the form's explicit derivative with
    respect to q (x_t[d], In[i] or 1 when q is W[d, k], U[i, k] or a bias of column k)."""
    for b in range(bs):
        out[b] = 0.0
    if with_rec:
        for i in range(n):
            u = th[oU + i * K + k]
            for b in range(bs):
                out[b] += dIn[i, b] * u
    if col_q == k:
        if kind_q == WEIGHT and with_input:
            for b in range(bs):
                out[b] += Xt[row_q, b]
        elif kind_q == RECURRENT and with_rec:
            for b in range(bs):
                out[b] += In[row_q, b]
        elif (kind_q == BIAS and with_input) or (kind_q == RECURRENT_BIAS and with_b1):
            for b in range(bs):
                out[b] += 1.0


@njit(cache=True, error_model="numpy")
def _forward_tangents(kind, act, th, Xb, bs, T, n, D, S0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE):
    """Run ``bs`` sequences of ``Xb`` (T, D, B) from ``S0`` (2, n); leave h_T in ``H`` (n, B) and the tangents
    dh_T/dp_q in ``dH[q]`` (Q, n, B). Scratch: Cs, Hn, Cn, E, dE (n, B); A, G, dZ (K, B); dC (Q, n, B).
    Parameter q is (kind ``qk[q]``, column ``qc[q]``, row ``qr[q]``) (:func:`_classify`)."""
    K = GATES[kind] * n
    oW, oU, ob0, ob1, oWo, obo, P = _layout(kind, n, D, 1)
    Q = qk.shape[0]
    for j in range(n):
        h0 = S0[0, j]
        c0 = S0[1, j] if kind == LSTM else 0.0
        for b in range(bs):
            H[j, b] = h0
            Cs[j, b] = c0
        for q in range(Q):
            for b in range(bs):
                dH[q, j, b] = 0.0
                dC[q, j, b] = 0.0
    for t in range(T):
        Xt = Xb[t]
        if kind == SRNN:
            for j in range(n):
                row = Hn[j]
                _affine(row, th, Xt, H, j, bs, D, K, n, oU, ob0, True)
                _activate(row, G[j], TANH, bs)
            for q in range(Q):
                for j in range(n):
                    _form_tangent(dZ[j], th, dH[q], H, Xt, j, bs, D, K, n, oU, qk[q], qc[q], qr[q], True, True, False)
                for j in range(n):
                    for b in range(bs):
                        dH[q, j, b] = G[j, b] * dZ[j, b]
        elif kind == LSTM:
            for k in range(K):
                _affine(A[k], th, Xt, H, k, bs, D, K, n, oU, ob0, True)
                _activate(A[k], G[k], TANH if (k >= 2 * n and k < 3 * n) else act, bs)
            for j in range(n):
                for b in range(bs):
                    c = A[n + j, b] * Cs[j, b] + A[j, b] * A[2 * n + j, b]
                    Cn[j, b] = c
                    tc = _tanh(c)
                    E[j, b] = tc
                    Hn[j, b] = A[3 * n + j, b] * tc
            for q in range(Q):
                for k in range(K):
                    _form_tangent(dZ[k], th, dH[q], H, Xt, k, bs, D, K, n, oU, qk[q], qc[q], qr[q], True, True, False)
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
        else:
            after = kind == GRU_AFTER
            for k in range(2 * n):
                row = A[k]
                _affine(row, th, Xt, H, k, bs, D, K, n, oU, ob0, True)
                if after:
                    c = th[ob1 + k]
                    for b in range(bs):
                        row[b] += c
                _activate(row, G[k], act, bs)
            if not after:
                for i in range(n):
                    for b in range(bs):
                        E[i, b] = A[n + i, b] * H[i, b]  # r * h
            for j in range(n):
                k = 2 * n + j
                row = A[k]
                _affine(row, th, Xt, H, k, bs, D, K, n, oU, ob0, False)
                if after:
                    hu = E[j]
                    _affine(hu, th, Xt, H, k, bs, 0, K, n, oU, ob1, True)  # h U_h + b^h_h
                    for b in range(bs):
                        row[b] += A[n + j, b] * hu[b]
                else:
                    for i in range(n):
                        u = th[oU + i * K + k]
                        for b in range(bs):
                            row[b] += E[i, b] * u
                _activate(row, G[k], TANH, bs)
                for b in range(bs):
                    z = A[j, b]
                    Hn[j, b] = z * H[j, b] + (1.0 - z) * row[b]
            for q in range(Q):
                kq, cq, rq = qk[q], qc[q], qr[q]
                for k in range(2 * n):  # update and reset gates
                    _form_tangent(dZ[k], th, dH[q], H, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, True, after)
                    for b in range(bs):
                        dZ[k, b] *= G[k, b]
                if not after:  # dE: the tangent of r * h, the candidate's recurrent input
                    for i in range(n):
                        for b in range(bs):
                            dE[i, b] = dZ[n + i, b] * H[i, b] + A[n + i, b] * dH[q, i, b]
                for j in range(n):
                    k = 2 * n + j
                    if after:  # a = x W_h + b_h + r * hu, hu = h U_h + br_h
                        _form_tangent(dZ[k], th, dH[q], H, Xt, k, bs, D, K, n, oU, kq, cq, rq, False, True, True)
                        _form_tangent(dE[j], th, dH[q], H, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, False, False)
                        for b in range(bs):  # dZ[k] holds d hu, dE[j] the input part
                            da = dE[j, b] + dZ[n + j, b] * E[j, b] + A[n + j, b] * dZ[k, b]
                            dZ[k, b] = G[k, b] * da
                    else:  # a = x W_h + (r * h) U_h + b_h
                        _form_tangent(dZ[k], th, dE, E, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, True, False)
                        for b in range(bs):
                            dZ[k, b] *= G[k, b]
                for j in range(n):
                    k = 2 * n + j
                    for b in range(bs):
                        z = A[j, b]
                        dH[q, j, b] = dZ[j, b] * (H[j, b] - A[k, b]) + z * dH[q, j, b] + (1.0 - z) * dZ[k, b]
        for j in range(n):
            for b in range(bs):
                H[j, b] = Hn[j, b]


@njit(cache=True, error_model="numpy", inline="always")
def _lstm1_cell_and_coefficients(sig, i, f, g, o, cp, gi, gf, gg, go, Ui, Uf, Uc, Uo):
    """For one sequence: c' = f c + i g, tanh(c') and the coefficients of :func:`_lstm1_forward_tangents`'s tangent
    recursion, (c', tanh c', X_i, X_f, X_c, o' tanh c', dh's coefficient in dc', dh's in dh', o (1 - tanh^2 c')).
    With ``sig`` the gate derivatives follow from the gate values; otherwise ``gi .. go`` are they."""
    cc = f * cp + i * g
    tc = _tanh_pade(cc)
    xi = (i * (1.0 - i) if sig else gi) * g
    xf = (f * (1.0 - f) if sig else gf) * cp
    xc = i * (1.0 - g * g if sig else gg)
    otc = (o * (1.0 - o) if sig else go) * tc
    return cc, tc, xi, xf, xc, otc, _fma(xf, Uf, _fma(xi, Ui, xc * Uc)), otc * Uo, o * (1.0 - tc * tc)


@njit(cache=True, error_model="numpy", inline="always")
def _lstm1_step_two_tangents(sig, bs, h, c, hn, cn, ai, af, ag, ao, gi, gf, gg, go, Ui, Uf, Uc, Uo, dh0, dc0, dh1,
                             dc1, s0, s1, x0, x1):
    """One step's c', tanh(c'), h' and both tangents of :func:`_lstm1_forward_tangents` for two chosen parameters,
    in one loop (``s0``, ``s1``: their selector rows; ``x0``, ``x1``: the input rows their v_q reads)."""
    ei0, ef0, ec0, eo0, ax0, ah0, a10 = s0[0], s0[1], s0[2], s0[3], s0[4], s0[5], s0[6]
    ei1, ef1, ec1, eo1, ax1, ah1, a11 = s1[0], s1[1], s1[2], s1[3], s1[4], s1[5], s1[6]
    for b in range(bs):
        f, hp, cp = af[b], h[b], c[b]
        cc, tc, xi, xf, xc, otc, kc, kh, tt = _lstm1_cell_and_coefficients(sig, ai[b], f, ag[b], ao[b], cp, gi[b],
                                                                           gf[b], gg[b], go[b], Ui, Uf, Uc, Uo)
        cn[b] = cc
        hn[b] = ao[b] * tc
        v = ax0 * x0[b] + ah0 * hp + a10
        d = dh0[b]
        dcc = _fma(d, kc, _fma(v, ei0 * xi + ef0 * xf + ec0 * xc, f * dc0[b]))
        dc0[b] = dcc
        dh0[b] = _fma(d, kh, _fma(v * eo0, otc, tt * dcc))
        v = ax1 * x1[b] + ah1 * hp + a11
        d = dh1[b]
        dcc = _fma(d, kc, _fma(v, ei1 * xi + ef1 * xf + ec1 * xc, f * dc1[b]))
        dc1[b] = dcc
        dh1[b] = _fma(d, kh, _fma(v * eo1, otc, tt * dcc))


@njit(cache=True, error_model="numpy")
def _lstm1_forward_tangents(act, th, XT, start, bs, T, D, S0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ):
    """:func:`_forward_tangents` for a one-unit LSTM, in few, short loops per step: the gates two at a time (each
    loop body small enough that its constants stay in registers: one loop for all four spills, measured 25% slower),
    then one loop for the cell state, tanh(c), h and the coefficients the tangents share, then one loop per chosen
    parameter (for exactly two parameters, a surface's case, all in one loop: :func:`_lstm1_step_two_tangents`).
    Every row is indexed from 0 (``XT[t, d, start:start + bs]`` views): an index ``start + b`` makes numba emit a
    wraparound select per access, which made these loops ~15% slower. By the chain rule,
    with ``dz_k = dh U_k + [k = k_q] v_q`` (``v_q`` = x_t[d], h or 1 as q is W[d, k_q], U[k_q] or b[k_q]), the
    tangent of ``c' = f c + i g`` and ``h' = o tanh(c')`` is::

        dc' = dh (f' U_f c + i' U_i g + i g' U_c) + v_q X_q + f dc,       X_q = f' c, i' g, i g' (k_q = f, i, c)
        dh' = dh o' tanh(c') U_o + [k_q = o] v_q o' tanh(c') + o (1 - tanh(c')^2) dc'

    (primes on gates: derivatives of the nonlinearities at the pre-activations); the bracket coefficients are formed
    once per step for all parameters.
    Same results as :func:`_forward_tangents` (``dH[q, 0]`` holds dh_T/dp_q, to rounding); the inputs are read in
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
        if qk[q] == WEIGHT or qk[q] == RECURRENT or qk[q] == BIAS:  # a read-out parameter has no state tangent
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
                i = _sigmoid_pade((xb * Wi + bi) + zi[b] + hp * Ui)
                f = _sigmoid_pade((xb * Wf + bf) + zf[b] + hp * Uf)
                ai[b], af[b] = i, f  # their derivatives follow from the values, in the loop below
            for b in range(bs):
                hp = h[b]
                xb = x0[b]
                g = _tanh_pade((xb * Wc + bc) + zg[b] + hp * Uc)
                o = _sigmoid_pade((xb * Wo + bo) + zo[b] + hp * Uo)
                ag[b], ao[b] = g, o
        else:  # hard sigmoids (codes 1, 2): slope sl on the closed interval, as torch.clamp passes the gradient
            sl = 0.2 if act == 1 else 1.0 / 6.0
            for b in range(bs):
                hp = h[b]
                xb = x0[b]
                vi = sl * ((xb * Wi + bi) + zi[b] + hp * Ui) + 0.5
                vf = sl * ((xb * Wf + bf) + zf[b] + hp * Uf) + 0.5
                vo = sl * ((xb * Wo + bo) + zo[b] + hp * Uo) + 0.5
                g = _tanh_pade((xb * Wc + bc) + zg[b] + hp * Uc)
                ai[b] = 0.0 if vi < 0.0 else (1.0 if vi > 1.0 else vi)
                af[b] = 0.0 if vf < 0.0 else (1.0 if vf > 1.0 else vf)
                ao[b] = 0.0 if vo < 0.0 else (1.0 if vo > 1.0 else vo)
                ag[b] = g
                gi[b] = sl if (vi >= 0.0 and vi <= 1.0) else 0.0
                gf[b] = sl if (vf >= 0.0 and vf <= 1.0) else 0.0
                gg[b] = 1.0 - g * g
                go[b] = sl if (vo >= 0.0 and vo <= 1.0) else 0.0
        if Q == 2:  # the common case (a surface over two parameters): the tangents in the same loop
            _lstm1_step_two_tangents(sig, bs, h, c, hn, cn, ai, af, ag, ao, gi, gf, gg, go, Ui, Uf, Uc, Uo,
                                     dH[0, 0], dC[0, 0], dH[1, 0], dC[1, 0], sel[0], sel[1],
                                     XT[t, qr[0], start : start + bs], XT[t, qr[1], start : start + bs])
            h, hn = hn, h
            c, cn = cn, c
            continue
        for b in range(bs):  # c', tanh(c'), h' and the shared tangent coefficients (G now holds X_i, X_f, X_c, o'tc)
            cc, tc, xi, xf, xc, otc, kc, kh, tb = _lstm1_cell_and_coefficients(
                sig, ai[b], af[b], ag[b], ao[b], c[b], gi[b], gf[b], gg[b], go[b], Ui, Uf, Uc, Uo)
            cn[b] = cc
            hn[b] = ao[b] * tc
            gi[b], gf[b], gg[b], go[b] = xi, xf, xc, otc
            ac[b] = kc
            ah_[b] = kh
            tt[b] = tb
        for q in range(Q):  # as in _lstm1_step_two_tangents, from the coefficients stored above
            ei, ef, ec, eo, ax, ah, a1 = sel[q, 0], sel[q, 1], sel[q, 2], sel[q, 3], sel[q, 4], sel[q, 5], sel[q, 6]
            xq = XT[t, qr[q], start : start + bs]
            dh = dH[q, 0]
            dc = dC[q, 0]
            for b in range(bs):
                v = ax * xq[b] + ah * h[b] + a1
                dhp = dh[b]
                dcc = _fma(dhp, ac[b], _fma(v, ei * gi[b] + ef * gf[b] + ec * gg[b], af[b] * dc[b]))
                dc[b] = dcc
                dh[b] = _fma(dhp, ah_[b], _fma(v * eo, go[b], tt[b] * dcc))
        h, hn = hn, h
        c, cn = cn, c
    if T % 2 == 1:  # h_T and c_T were left in the second buffers
        for b in range(bs):
            H[0, b] = h[b]
            Cs[0, b] = c[b]


@njit(cache=True, error_model="numpy", parallel=True)
def evaluate_tangents(kind, act, loss_code, theta, S0, X, Y, Tgt, n, C, wrt, chunk):
    """Mean loss, accuracy and dLoss/dtheta[wrt[q]] of every model, by forward-mode tangents.

    Args:
        kind, act, loss_code, theta, S0, X, Y, Tgt, n, C: as :func:`dynlatch._fastpath.evaluate`.
        wrt: (Q,) int64 flat indices into theta (cell or read-out parameters).
        chunk: sequences per pass (the workspace is ~8 (2 Q n + 3 K + 6 n) chunk bytes; no trajectory is stored).

    Returns:
        out (M, 2): mean loss and accuracy (0 for the squared error); partials (M, Q): dLoss/dtheta[wrt[q]] (NaN
        where the loss is not finite).
    """
    M, P = theta.shape
    N, T, D = X.shape
    K = GATES[kind] * n
    Q = wrt.shape[0]
    out = np.empty((M, 2))
    partials = np.empty((M, Q))
    B = min(chunk, N)
    idx = np.arange(N)
    scale = 1.0 / N
    oWo, obo = _layout(kind, n, D, C)[4:6]
    qk = np.empty(Q, dtype=np.int64)
    qc = np.empty(Q, dtype=np.int64)
    qr = np.empty(Q, dtype=np.int64)
    for q in range(Q):
        qk[q], qc[q], qr[q] = _classify(wrt[q], n, D, K)
    lstm1 = kind == LSTM and n == 1
    XT = np.empty((T, D, N if lstm1 else 0))  # the one-unit LSTM kernel reads all sequences from here, batch last
    if lstm1:
        for r in range(N):
            for t in range(T):
                for d in range(D):
                    XT[t, d, r] = X[r, t, d]
    for m in prange(M):
        th = theta[m]
        Xb = np.empty((T, D, 0 if lstm1 else B))
        H = np.empty((n, B))
        Cs = np.empty((n, B))
        Hn = np.empty((n, B))
        Cn = np.empty((n, B))
        E = np.empty((3 if lstm1 else n, B))  # the one-unit LSTM kernel keeps three coefficient rows there
        dE = np.empty((n, B))
        A = np.empty((K, B))
        G = np.empty((K, B))
        dZ = np.empty((K, B))
        dH = np.empty((Q, n, B))
        dC = np.empty((Q, n, B))
        dL = np.empty((n, B))
        s0 = np.empty((2, n))
        for j in range(n):
            s0[0, j] = S0[m, 0, j]
            s0[1, j] = S0[m, 1, j]
        g = np.zeros(P)  # the read-out's own gradient (written by _readout)
        acc = np.zeros(Q)
        loss = 0.0
        correct = 0
        for start in range(0, N, B):
            bs = min(B, N - start)
            sub = idx[start:]
            if lstm1:
                _lstm1_forward_tangents(act, th, XT, start, bs, T, D, s0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC,
                                        dZ)
            else:
                _gather(X, sub, bs, Xb)
                _forward_tangents(kind, act, th, Xb, bs, T, n, D, s0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ,
                                  dE)
            if loss_code == LOSS_SQUARED_ERROR:
                loss += _squared_error(H, Tgt, sub, bs, n, True, scale, dL)
            else:
                lo, c = _readout(th, H, Y, sub, bs, n, C, oWo, obo, loss_code == LOSS_SOFTMAX, True, scale, g, dL)
                loss += lo
                correct += c
            for q in range(Q):
                s = 0.0
                for j in range(n):
                    for b in range(bs):
                        s += dL[j, b] * dH[q, j, b]
                acc[q] += s
        out[m, 0] = loss / N
        out[m, 1] = correct / N
        finite = math.isfinite(loss)
        for q in range(Q):
            partials[m, q] = (acc[q] + g[wrt[q]]) if finite else np.nan
    return out, partials
