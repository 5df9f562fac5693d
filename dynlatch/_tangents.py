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
                        _gather, _layout, _readout, _sigmoid, _squared_error, _tanh)
from ._fastpath import (_F2, _F3, _F4, _F5, _F6, _F7, _F8, _F9, _F10, _F11, _F12, _F13, _LN2_HI, _LN2_LO, _LOG2E,
                        _bits_as_f64)

# -- short-latency nonlinearities -----------------------------------------------------------------------------------
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: kf + _MAGIC holds the integer kf in its low mantissa bits (|kf| < 2**51)


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


@njit(cache=True, error_model="numpy", inline="always")
def _expm1_exp_short(y):
    """(expm1(y), exp(y)) for y <= 0, the same reduction and Taylor polynomial as
    :func:`dynlatch._fastpath._expm1_exp` (within 1 ulp), evaluated with a short dependency chain: the polynomial by
    Estrin's scheme (depth 4 instead of Horner's 11) with fused multiply-adds, and 2**k built by integer arithmetic
    on the bits of ``k + 1.5 * 2**52`` (no float-to-int conversion, which AVX2 lacks). A vectorised sigmoid loop
    costs 2.7 ns per element with it against 5.1 ns with the Horner form (measured on the 2-core development
    machine); the results agree to an ulp or two (explicit FMAs round the same in vector and scalar loop bodies)."""
    y = -700.0 if y < -700.0 else y
    kf = np.floor(y * _LOG2E + 0.5)
    r = _fma(-kf, _LN2_LO, _fma(-kf, _LN2_HI, y))
    r2 = r * r
    r4 = r2 * r2
    q01 = _fma(r, _F3, _F2)
    q23 = _fma(r, _F5, _F4)
    q45 = _fma(r, _F7, _F6)
    q67 = _fma(r, _F9, _F8)
    q89 = _fma(r, _F11, _F10)
    qab = _fma(r, _F13, _F12)
    q = _fma(r4, _fma(r4, _fma(r2, qab, q89), _fma(r2, q67, q45)), _fma(r2, q23, q01))
    p = _fma(r2, q, r)  # expm1(r)
    k = _f64_bits(kf + _MAGIC) - _f64_bits(_MAGIC)
    s = _bits_as_f64((k + 1023) << 52)  # 2**k
    return _fma(s, p, s - 1.0), _fma(s, p, s)


@njit(cache=True, error_model="numpy", inline="always")
def _tanh_short(x):
    """tanh through :func:`_expm1_exp_short`, as :func:`dynlatch._fastpath._tanh`."""
    e = _expm1_exp_short(-2.0 * abs(x))[0]
    r = -e / (2.0 + e)
    return r if x >= 0.0 else -r


@njit(cache=True, error_model="numpy", inline="always")
def _sigmoid_short(x):
    """1 / (1 + exp(-x)) through :func:`_expm1_exp_short`, as :func:`dynlatch._fastpath._sigmoid`."""
    e = _expm1_exp_short(-abs(x))[1]
    return (1.0 if x >= 0.0 else e) / (1.0 + e)


@njit(cache=True, error_model="numpy", inline="always")
def _activate_short(row, der, code, bs):
    """:func:`dynlatch._fastpath._activate` with :func:`_sigmoid_short` and :func:`_tanh_short`."""
    if code == TANH:
        for b in range(bs):
            a = _tanh_short(row[b])
            row[b] = a
            der[b] = 1.0 - a * a
    elif code == 0:
        for b in range(bs):
            a = _sigmoid_short(row[b])
            row[b] = a
            der[b] = a * (1.0 - a)
    else:
        _activate(row, der, code, bs)


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


@njit(cache=True, error_model="numpy")
def _lstm1_forward_tangents(act, th, XT, start, bs, T, D, S0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ):
    """:func:`_forward_tangents` for a one-unit LSTM, fused: per step one loop over the batch computes the four gates,
    their derivatives and the new cell state, a second one tanh(c) and h, and one loop per chosen parameter its
    tangents (no per-column passes).
    Same results (``dH[q, 0]`` holds dh_T/dp_q); the inputs are read in place from ``XT`` (T, D, N), all sequences
    transposed once, at sequences ``start .. start + bs`` (no per-chunk gather); ``dZ`` (4, B) holds the input part
    of the gates."""
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
    tcs = E[0]
    Wi, Wf, Wc, Wo = th[0], th[1], th[2], th[3]
    bi, bf, bc, bo = th[ob0], th[ob0 + 1], th[ob0 + 2], th[ob0 + 3]
    for t in range(T):
        Xt = XT[t]
        if D > 1:  # x_t W[:, k] + b[k] in passes; for D = 1 it is one multiply-add in the fused loop
            for k in range(4):
                zk = dZ[k]
                bk = th[ob0 + k]
                for b in range(bs):
                    zk[b] = bk
                for d in range(D):
                    w = th[d * 4 + k]
                    for b in range(bs):
                        zk[b] += Xt[d, start + b] * w
        if act == 0:  # one fused loop for the gates and the cell state; tanh(c) in a second, short one
            x0 = Xt[0]
            one = D == 1
            for b in range(bs):
                hp = h[b]
                xb = x0[start + b]
                i = _sigmoid_short(((xb * Wi + bi) if one else zi[b]) + hp * Ui)
                f = _sigmoid_short(((xb * Wf + bf) if one else zf[b]) + hp * Uf)
                g = _tanh_short(((xb * Wc + bc) if one else zg[b]) + hp * Uc)
                o = _sigmoid_short(((xb * Wo + bo) if one else zo[b]) + hp * Uo)
                ai[b], af[b], ag[b], ao[b] = i, f, g, o
                gi[b] = i * (1.0 - i)
                gf[b] = f * (1.0 - f)
                gg[b] = 1.0 - g * g
                go[b] = o * (1.0 - o)
                cn[b] = f * c[b] + i * g
        elif D == 1:  # hard sigmoids (codes 1, 2), fused as for the sigmoid: slope s on the closed interval
            x0 = Xt[0]
            sl = 0.2 if act == 1 else 1.0 / 6.0
            for b in range(bs):
                hp = h[b]
                xb = x0[start + b]
                vi = sl * ((xb * Wi + bi) + hp * Ui) + 0.5
                vf = sl * ((xb * Wf + bf) + hp * Uf) + 0.5
                vo = sl * ((xb * Wo + bo) + hp * Uo) + 0.5
                g = _tanh_short((xb * Wc + bc) + hp * Uc)
                i = 0.0 if vi < 0.0 else (1.0 if vi > 1.0 else vi)
                f = 0.0 if vf < 0.0 else (1.0 if vf > 1.0 else vf)
                o = 0.0 if vo < 0.0 else (1.0 if vo > 1.0 else vo)
                ai[b], af[b], ag[b], ao[b] = i, f, g, o
                gi[b] = sl if (vi >= 0.0 and vi <= 1.0) else 0.0
                gf[b] = sl if (vf >= 0.0 and vf <= 1.0) else 0.0
                gg[b] = 1.0 - g * g
                go[b] = sl if (vo >= 0.0 and vo <= 1.0) else 0.0
                cn[b] = f * c[b] + i * g
        else:
            if D == 1:
                for k in range(4):
                    zk = dZ[k]
                    bk = th[ob0 + k]
                    w = th[k]
                    for b in range(bs):
                        zk[b] = Xt[0, start + b] * w + bk
            for k in range(4):
                u = th[oU + k]
                row = A[k]
                zk = dZ[k]
                for b in range(bs):
                    row[b] = zk[b] + h[b] * u
                _activate_short(row, G[k], TANH if k == 2 else act, bs)
            for b in range(bs):
                cn[b] = af[b] * c[b] + ai[b] * ag[b]
        for b in range(bs):
            tc = _tanh_short(cn[b])
            tcs[b] = tc
            hn[b] = ao[b] * tc
        for q in range(Q):  # d(pre-activation k)/dp_q = dh U[k] + [k == column of q] (x_t[d], h or 1)
            kq = qk[q]
            ei = 1.0 if qc[q] == 0 else 0.0
            ef = 1.0 if qc[q] == 1 else 0.0
            eg = 1.0 if qc[q] == 2 else 0.0
            eo = 1.0 if qc[q] == 3 else 0.0
            ax = 1.0 if kq == WEIGHT else 0.0
            ah = 1.0 if kq == RECURRENT else 0.0
            a1 = 1.0 if kq == BIAS else 0.0
            xq = Xt[qr[q] if kq == WEIGHT else 0]
            dh = dH[q, 0]
            dc = dC[q, 0]
            for b in range(bs):
                v = ax * xq[start + b] + ah * h[b] + a1
                dhp = dh[b]
                di = gi[b] * (dhp * Ui + ei * v)
                df = gf[b] * (dhp * Uf + ef * v)
                dg = gg[b] * (dhp * Uc + eg * v)
                do = go[b] * (dhp * Uo + eo * v)
                dcc = df * c[b] + af[b] * dc[b] + di * ag[b] + ai[b] * dg
                tc = tcs[b]
                dc[b] = dcc
                dh[b] = do * tc + ao[b] * (1.0 - tc * tc) * dcc
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
        E = np.empty((n, B))
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
