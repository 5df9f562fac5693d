"""Compiled building blocks shared by every cell kind's kernels: gate functions, affine forms, gradient sums.

Each cell kind's module (:mod:`dynlatch.cells._srnn`, ``_lstm``, ``_gru``, ``_mgu``) writes its unit step, the step's
reverse-mode derivative and its forward-mode (tangent) derivative as compiled functions built from these pieces;
:mod:`dynlatch.cells._kernels` is the table that the generic engines (:mod:`dynlatch._fastpath`,
:mod:`dynlatch._tangents`) call them through.

Buffers put the minibatch innermost and contiguous (rows ``(., B)``), so each innermost loop is a plain elementwise loop
over the batch that LLVM vectorises. The nonlinearities are written in straight-line arithmetic (no libm calls) so that
they vectorise too: :func:`expm1_exp` (Taylor form, the generic training kernels) and :func:`exp_pade` (Pade form with
one division, the tangent kernels and the one-unit training kernels). Everything is float64, without fastmath: with FMA
contraction or reassociation LLVM may round an element differently in a vectorised loop body than in its scalar
remainder, and which elements land where depends on memory alignment, so a model's result would change with its position
in the batch. :func:`fma` is explicit, hence used identically in both bodies.

Parameters of one model are one flat vector ``theta`` laid out as (:func:`dynlatch.cells._kernels.layout`)::

    kernel (D, K) | recurrent_kernel (n, K) | bias row 0 (K) | bias row 1 (K) | read-out weight (n, C) | read-out bias (C)

with ``K = gates * n``; column ``k`` of the kernel is ``theta[d * K + k]``, of the recurrent kernel
``theta[oU + i * K + k]``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .._activations import GATE_ACTIVATIONS, HARD_SIGMOID_SLOPE

TANH = len(GATE_ACTIVATIONS)  # activation code of tanh, next to the gate codes 0 (sigmoid), 1 and 2 (hard sigmoids)
HARD_SLOPE = tuple(HARD_SIGMOID_SLOPE.get(name, 0.0) for name in GATE_ACTIVATIONS)
"""Slope s of each gate code's hard sigmoid clip(s z + 0.5, 0, 1) (0 for the sigmoid, code 0)."""
_SLOPE_1, _SLOPE_2 = HARD_SLOPE[1], HARD_SLOPE[2]  # as scalars: indexing the tuple in a kernel costs ~10% (measured)


# -- nonlinearities --------------------------------------------------------------------------------------------
@intrinsic
def bits_as_f64(typingctx, bits):
    """Reinterpret an int64 bit pattern as a float64 (to build 2**k)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def select(typingctx, cond, a, b):
    """``a if cond else b`` for floats, as one LLVM ``select`` instead of numba's branch and join blocks. The kernels'
    helpers are inlined by numba, which copies the callee's IR once per block, so each conditional expression in a
    helper costs compile time at every call site; a select costs none. Both operands are evaluated (they are plain
    values here)."""

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])

    return types.float64(types.boolean, types.float64, types.float64), codegen


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split in two (fdlibm): k * _LN2_HI is exact for |k| < 2**11
_LN2_LO = 1.90821492927058770002e-10
_F2, _F3, _F4, _F5, _F6, _F7 = (1.0 / math.factorial(i) for i in range(2, 8))
_F8, _F9, _F10, _F11, _F12, _F13 = (1.0 / math.factorial(i) for i in range(8, 14))


@njit(cache=True, error_model="numpy", inline="always")
def expm1_exp(y):
    """(expm1(y), exp(y)) for y <= 0, within 1 ulp, in branch-free arithmetic that vectorises (libm calls don't).

    y = k ln2 + r with |r| <= ln2 / 2; expm1(r) by its Taylor series to r**13 (truncation < 2e-17 relative);
    then exp(y) = 2**k (1 + expm1(r)). y is clamped at -700 (exp(-700) ~ 1e-304: no subnormal 2**k); NaN passes.
    """
    y = select(y < -700.0, -700.0, y)
    kf = np.floor(y * _LOG2E + 0.5)
    r = (y - kf * _LN2_HI) - kf * _LN2_LO
    q = _F12 + r * _F13
    q = _F11 + r * q
    q = _F10 + r * q
    q = _F9 + r * q
    q = _F8 + r * q
    q = _F7 + r * q
    q = _F6 + r * q
    q = _F5 + r * q
    q = _F4 + r * q
    q = _F3 + r * q
    q = _F2 + r * q
    p = r + (r * r) * q  # expm1(r)
    s = bits_as_f64((np.int64(kf) + 1023) << 52)  # 2**k
    sp = s * p
    return sp + (s - 1.0), sp + s


@njit(cache=True, error_model="numpy", inline="always")
def tanh(x):
    """tanh through expm1 (within 3 ulp, relative accuracy kept near 0; vectorises, unlike libm's tanh)."""
    e = expm1_exp(-2.0 * abs(x))[0]
    r = -e / (2.0 + e)
    return select(x >= 0.0, r, -r)


@njit(cache=True, error_model="numpy", inline="always")
def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow (within 4 ulp; below ~1e-304 it returns ~1e-304, not 0)."""
    e = expm1_exp(-abs(x))[1]
    return select(x >= 0.0, 1.0, e) / (1.0 + e)


@njit(cache=True, error_model="numpy", inline="always")
def hard_slope(code):
    """The slope s of gate code ``code``'s hard sigmoid clip(s z + 0.5, 0, 1) (code 1 or 2)."""
    return _SLOPE_1 if code == 1 else _SLOPE_2


@njit(cache=True, error_model="numpy", inline="always")
def hard_sigmoid(slope, z):
    """(clip(slope z + 0.5, 0, 1), its derivative): the slope on the closed interval (as torch.clamp passes the
    gradient), 0 outside."""
    v = slope * z + 0.5
    return select(v < 0.0, 0.0, select(v > 1.0, 1.0, v)), select((v >= 0.0) & (v <= 1.0), slope, 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def activate(row, der, code, bs):
    """In place: ``row[:bs]`` <- f(row) and ``der[:bs]`` <- f'(row) for activation ``code`` (gate codes or TANH).

    The hard sigmoids' derivative is their slope on the closed interval (as torch.clamp passes the gradient)."""
    if code == TANH:
        for b in range(bs):
            a = tanh(row[b])
            row[b] = a
            der[b] = 1.0 - a * a
    elif code == 0:
        for b in range(bs):
            a = sigmoid(row[b])
            row[b] = a
            der[b] = a * (1.0 - a)
    else:
        s = hard_slope(code)
        for b in range(bs):
            row[b], der[b] = hard_sigmoid(s, row[b])


# -- affine forms and their gradients -------------------------------------------------------------------
@njit(cache=True, error_model="numpy", inline="always")
def affine(out, th, Xt, Hs, k, bs, D, K, n, oU, ob, with_h):
    """``out[:bs]`` <- b[k] + x_t W[:, k] (+ h U[:, k] when with_h), for column k and rows Xt (D, B), Hs (n, B)."""
    c = th[ob + k]
    for b in range(bs):
        out[b] = c
    for d in range(D):
        w = th[d * K + k]
        for b in range(bs):
            out[b] += Xt[d, b] * w
    if with_h:
        add_recurrent(out, th, Hs, k, bs, n, K, oU)


@njit(cache=True, error_model="numpy", inline="always")
def add_recurrent(out, th, Hs, k, bs, n, K, oU):
    """``out[:bs]`` += Hs U[:, k] for rows Hs (n, B) (h, or a gated h such as the GRU's r * h)."""
    for i in range(n):
        u = th[oU + i * K + k]
        for b in range(bs):
            out[b] += Hs[i, b] * u


@njit(cache=True, error_model="numpy", inline="always")
def acc_input(Ga, Xt, dz, k, bs, D, K, ob):
    """Input-side gradients of column k, per sequence: bias ``ob + k`` += dz, kernel ``(d, k)`` += x_t[d] dz."""
    for b in range(bs):
        Ga[ob + k, b] += dz[b]
    for d in range(D):
        p = d * K + k
        for b in range(bs):
            Ga[p, b] += Xt[d, b] * dz[b]


@njit(cache=True, error_model="numpy", inline="always")
def acc_recurrent(th, Ga, Hs, dz, dHn, k, bs, n, K, oU):
    """Recurrent-side gradients of column k: U[:, k] += Hs dz (per sequence), dHn += U[:, k] dz."""
    for i in range(n):
        p = oU + i * K + k
        u = th[p]
        for b in range(bs):
            Ga[p, b] += Hs[i, b] * dz[b]
            dHn[i, b] += u * dz[b]


@njit(cache=True, error_model="numpy", inline="always")
def acc_recurrent_columns(th, Ga, Hs, dZ, dHn, k0, k1, bs, n, K, oU):
    """:func:`acc_recurrent` for the columns k0 <= k < k1 of the pre-activation gradients ``dZ`` (K, B)."""
    for k in range(k0, k1):
        acc_recurrent(th, Ga, Hs, dZ[k], dHn, k, bs, n, K, oU)


@njit(cache=True, error_model="numpy", inline="always")
def accumulate_inputs(Ga, Xt, dZ, dHn, dC, SN, t, want_sn, bs, n, D, K, ob):
    """The input side of one reverse step, the same for every kind: bias row 0 and kernel gradients per sequence from
    the pre-activation gradients ``dZ`` (K, B); with ``want_sn``, ``SN[t]`` += ||dLoss/dh_t||^2 + ||dLoss/dc_t||^2
    over the batch (``dHn``, and ``dC``, zero for a kind without a cell state)."""
    for k in range(K):
        acc_input(Ga, Xt, dZ[k], k, bs, D, K, ob)
    if want_sn:  # dHn is dLoss/dh_t now, and dC dLoss/dc_t (partial derivatives)
        sq = 0.0
        for j in range(n):
            for b in range(bs):
                sq += dHn[j, b] * dHn[j, b] + dC[j, b] * dC[j, b]
        SN[t] += sq


@njit(cache=True, error_model="numpy", inline="always")
def zero_rows(dst, n, bs):
    """``dst[:n, :bs]`` <- 0."""
    for j in range(n):
        for b in range(bs):
            dst[j, b] = 0.0


@njit(cache=True, error_model="numpy", inline="always")
def copy_rows(dst, src, n, bs):
    """``dst[:n, :bs]`` <- ``src[:n, :bs]``."""
    for j in range(n):
        for b in range(bs):
            dst[j, b] = src[j, b]


# -- one-division nonlinearities (Pade form of exp) -----------------------------------------------------------------
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: w + _MAGIC rounds w to an integer k and holds k in its low mantissa bits


@intrinsic
def f64_bits(typingctx, x):
    """Reinterpret a float64 as its int64 bit pattern."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def fma(typingctx, a, b, c):
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
def exp_pade(w):
    """exp(w) = s (E + rO) / (E - rO) for w <= 0 (clamped at -700), returned as the parts (s, E, rO).

    w = k ln 2 + r with k the nearest integer to w / ln 2 (by adding 1.5 * 2**52, which also leaves k in the low
    mantissa bits, so that s = 2**k is two integer operations and no float-to-int conversion, which AVX2 lacks) and
    |r| <= ln(2)/2; the Pade form of exp(r) costs six multiply-adds and shares its division with the caller's (a
    sigmoid or tanh needs one anyway), against eleven for the degree-13 Taylor polynomial of
    :func:`dynlatch._fastpath.expm1_exp`. The result for the caller's quotient agrees with the exact value within
    2 ulp (tested against mpmath)."""
    w = select(w < -700.0, -700.0, w)
    t = fma(w, _LOG2E, _MAGIC)
    kf = t - _MAGIC
    r = fma(-kf, _LN2_LO, fma(-kf, _LN2_HI, w))
    r2 = r * r
    E = fma(r2, fma(r2, fma(r2, _P6, _P4), _P2), 1.0)
    rO = r * fma(r2, fma(r2, _P5, _P3), _P1)
    s = bits_as_f64((f64_bits(t) << 52) + _BIAS_BITS)  # the low mantissa bits of t hold k (two's complement)
    return s, E, rO


@njit(cache=True, error_model="numpy", inline="always")
def sigmoid_pade(x):
    """1 / (1 + exp(-x)) with one division: with exp(-|x|) = s P / Q (:func:`exp_pade`), Q / (Q + s P) for x >= 0
    and s P / (Q + s P) for x < 0. Within 2 ulp of the exact value; 1.5 ns per element in a vectorised loop on the
    2-core development machine, against 2.0 ns through the Taylor form."""
    s, E, rO = exp_pade(-abs(x))
    Q = E - rO
    sP = s * (E + rO)
    return select(x >= 0.0, Q, sP) / (Q + sP)


@njit(cache=True, error_model="numpy", inline="always")
def tanh_pade(x):
    """tanh(x) with one division: with exp(-2|x|) = s P / Q (:func:`exp_pade`), tanh |x| = (Q - s P) / (Q + s P),
    the numerator formed as (1 - s) E - (1 + s) rO so that for |x| < ln(2)/4 (s = 1) it is -2 rO exactly, without
    the cancellation of 1 - exp(-2|x|). Within 2 ulp of the exact value (relative, also for tiny x)."""
    s, E, rO = exp_pade(-2.0 * abs(x))
    r = fma(1.0 - s, E, -(1.0 + s) * rO) / fma(1.0 + s, E, (s - 1.0) * rO)
    return select(x >= 0.0, r, -r)


WEIGHT, RECURRENT, BIAS, RECURRENT_BIAS, READOUT = 0, 1, 2, 3, -1
"""Kinds of a chosen parameter (:func:`_classify`): kernel W[d, k], recurrent kernel U[i, k], bias row 0 b[k], bias
row 1 (GRU reset_after's recurrent bias) br[k], or a read-out parameter (no state tangent)."""


@njit(cache=True, error_model="numpy")
def classify(p, n, D, K):
    """(kind, column k, row d or i) of flat parameter index ``p`` in the layout of
    :func:`dynlatch.cells._kernels.layout`."""
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
def form_tangent(out, th, dIn, In, Xt, k, bs, D, K, n, oU, kind_q, col_q, row_q, with_input, with_rec, with_b1):
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


class KernelSpec(NamedTuple):
    """What the generic engines need to know of one compiled cell kernel (one per kind and convention).

    Attributes:
        code: the kernel's index in :data:`dynlatch.cells._kernels.SPECS` (``Cell.kernel_code()``).
        gates: gate blocks per unit (K = gates * units columns).
        unit_tangents: whether the kind has a specialised one-unit tangent kernel (``unit_tangents``).
        unit_rows: rows per step of the kind's one-unit training kernels (``unit_forward``, ``unit_backward``; see
            :data:`LANES`), 0 for a kind without them.
    """

    code: int
    gates: int
    unit_tangents: bool = False
    unit_rows: int = 0


# -- one-unit training kernels: blocks of LANES sequences ------------------------------------------------------------
LANES = 16
"""Sequences per block of the one-unit training kernels (n = 1, D = 1): the row stride of their buffers.

A block's buffers are two flat arrays. Its steps ``S``: per step t, ``rows`` rows of LANES values at
``(t * rows + r) * LANES + b`` (row 0 the input x_t, row 1 h_{t-1}, then what the kind's reverse step reads). Its
lanes ``Ln``: rows :data:`H_ROW` (h), :data:`C_ROW` (c), :data:`DH_ROW` (dLoss/dh), :data:`DC_ROW` (dLoss/dc), then
one gradient accumulator per cell parameter p at row ``ACC_ROW + p`` (flat layout of
:func:`dynlatch.cells._kernels.layout`). Because LANES and every row number are constants, all rows of a step lie
at constant offsets from one base pointer: LLVM then vectorises each step's one loop over the block's sequences
without a runtime alias check between rows (numba cannot mark arrays as not aliasing; with a separate array per row
the checks, some 80 per loop, either made LLVM keep the loop scalar for 16 sequences or cost more than the loop).
The input part of the pre-activations is formed in the loop (x_t W + b, D = 1), so that no row depends on D."""
H_ROW, C_ROW, DH_ROW, DC_ROW, ACC_ROW = 0, 1, 2, 3, 4
X_ROW, HPREV_ROW = 0, 1


@njit(cache=True, error_model="numpy", inline="always")
def gate(sigmoid, slope, z):
    """(f(z), f'(z)) of a gate: with ``sigmoid`` the sigmoid (Pade form, f' = f (1 - f)), else the hard sigmoid
    (:func:`hard_sigmoid`).

    Callers pass ``sigmoid`` as a constant, one loop per value: a branch on a variable inside a loop is turned into
    a select, which computes the sigmoid for hard gates too (measured: 5 divisions per LSTM step instead of 2)."""
    if sigmoid:
        a = sigmoid_pade(z)
        return a, a * (1.0 - a)
    return hard_sigmoid(slope, z)


@njit(cache=True, error_model="numpy", inline="always")
def lane_sum(Ln, row, nb):
    """Sum of ``Ln[row * LANES + b]`` over the block's ``nb`` sequences, in order."""
    s = 0.0
    for b in range(nb):
        s += Ln[row * LANES + b]
    return s


@njit(cache=True, error_model="numpy", inline="always")
def add_state_norm(SN, t, Ln, nb):
    """``SN[t]`` += ||dLoss/dh_t||^2 + ||dLoss/dc_t||^2 over the block (lane rows DH_ROW and DC_ROW)."""
    sq = 0.0
    for b in range(nb):
        dh = Ln[DH_ROW * LANES + b]
        dc = Ln[DC_ROW * LANES + b]
        sq += dh * dh + dc * dc
    SN[t] += sq
