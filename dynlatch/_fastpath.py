"""Compiled CPU training kernels: forward, hand-derived backward through time, clipping and Adam, one model per thread.

This is the speed path of :func:`dynlatch.train` (``backend="numba"``). The cell equations are those of
:mod:`dynlatch.cells` (the single source of truth, and the oracle these kernels are tested against to float
tolerance); here they are written out as scalar loops with the minibatch innermost, so that a one-unit cell costs a
few nanoseconds per sequence step instead of the ~5-10 us per op that a Python-driven tensor program pays.

Everything is float64. Parameters of one model are one flat vector ``theta`` laid out as::

    kernel (D, K) | recurrent_kernel (n, K) | bias row 0 (K) | bias row 1 (K) | read-out weight (n, C) | read-out bias (C)

with ``K = gates * n``. Bias row 1 is GRU-reset_after's recurrent bias; other cells keep it at zero (its gradient is
never accumulated, so Adam leaves it exactly zero).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

SRNN, LSTM, GRU_BEFORE, GRU_AFTER = 0, 1, 2, 3
GATES = (1, 4, 3, 3)
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}  # no "nnan"/"ninf": divergence is detected from NaN/inf


def kind_code(kind: str, reset_after: bool = False) -> int:
    """Kernel code of a cell kind (GRU split by convention)."""
    if kind == "gru":
        return GRU_AFTER if reset_after else GRU_BEFORE
    return {"srnn": SRNN, "lstm": LSTM}[kind]


def layout(kind: int, n: int, D: int, C: int) -> tuple[int, int, int, int, int, int, int]:
    """Offsets (oW, oU, ob0, ob1, oWo, obo) and size P of the flat parameter vector."""
    K = GATES[kind] * n
    oU = D * K
    ob0 = oU + n * K
    ob1 = ob0 + K
    oWo = ob1 + K
    obo = oWo + n * C
    return 0, oU, ob0, ob1, oWo, obo, obo + C


_layout = njit(cache=True)(layout)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _tanh(x):
    """tanh through expm1: ~2.5x faster than libm's tanh here, within 2 ulp (relative accuracy kept near 0)."""
    e = math.expm1(-2.0 * abs(x))
    r = -e / (2.0 + e)
    return r if x >= 0.0 else -r


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _gate(z, code):
    if code == 0:
        return 1.0 / (1.0 + math.exp(-z))
    s = 0.2 if code == 1 else 1.0 / 6.0
    v = s * z + 0.5
    return 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _gate_grad(z, a, code):
    if code == 0:
        return a * (1.0 - a)
    s = 0.2 if code == 1 else 1.0 / 6.0
    v = s * z + 0.5
    return s if (v >= 0.0 and v <= 1.0) else 0.0  # torch.clamp passes the gradient on the closed interval


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _affine(th, X, r, t, Hp, b, k, D, K, n, oU, ob, with_h):
    """x_t W[:, k] + b[k] (+ h U[:, k] when with_h) for one sequence row ``b``."""
    a = th[ob + k]
    for d in range(D):
        a += X[r, t, d] * th[d * K + k]
    if with_h:
        for i in range(n):
            a += Hp[b, i] * th[oU + i * K + k]
    return a


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _forward(kind, act, th, X, idx, bs, T, n, D, H, Cs, Z, A, E):
    """Run ``bs`` sequences ``X[idx[:bs]]`` from the zero state, storing what the backward pass needs."""
    K = GATES[kind] * n
    oW, oU, ob0, ob1, oWo, obo, P = _layout(kind, n, D, 1)
    for b in range(bs):
        for j in range(n):
            H[0, b, j] = 0.0
            Cs[0, b, j] = 0.0
    for t in range(T):
        Hp = H[t]
        for b in range(bs):
            r = idx[b]
            if kind == SRNN:
                for j in range(n):
                    H[t + 1, b, j] = _tanh(_affine(th, X, r, t, Hp, b, j, D, K, n, oU, ob0, True))
            elif kind == LSTM:
                for k in range(K):
                    z = _affine(th, X, r, t, Hp, b, k, D, K, n, oU, ob0, True)
                    Z[t, b, k] = z
                    A[t, b, k] = _tanh(z) if (k >= 2 * n and k < 3 * n) else _gate(z, act)
                for j in range(n):
                    c = A[t, b, n + j] * Cs[t, b, j] + A[t, b, j] * A[t, b, 2 * n + j]
                    Cs[t + 1, b, j] = c
                    tc = _tanh(c)
                    E[t, b, j] = tc
                    H[t + 1, b, j] = A[t, b, 3 * n + j] * tc
            else:
                after = kind == GRU_AFTER
                for k in range(2 * n):
                    z = _affine(th, X, r, t, Hp, b, k, D, K, n, oU, ob0, True)
                    if after:
                        z += th[ob1 + k]
                    Z[t, b, k] = z
                    A[t, b, k] = _gate(z, act)
                if not after:
                    for i in range(n):
                        E[t, b, i] = A[t, b, n + i] * Hp[b, i]  # r * h
                for j in range(n):
                    k = 2 * n + j
                    a = _affine(th, X, r, t, Hp, b, k, D, K, n, oU, ob0, False)
                    if after:
                        hu = th[ob1 + k]
                        for i in range(n):
                            hu += Hp[b, i] * th[oU + i * K + k]
                        E[t, b, j] = hu
                        a += A[t, b, n + j] * hu
                    else:
                        for i in range(n):
                            a += E[t, b, i] * th[oU + i * K + k]
                    hh = _tanh(a)
                    A[t, b, k] = hh
                    z = A[t, b, j]
                    H[t + 1, b, j] = z * Hp[b, j] + (1.0 - z) * hh


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _readout(th, HT, Y, idx, bs, n, C, oWo, obo, softmax, want_grad, scale, g, dH):
    """Loss sum and number correct of the read-out on final states ``HT``; with ``want_grad`` accumulate the
    read-out gradient (times ``scale``) into ``g`` and write dLoss/dh_T into ``dH``."""
    loss = 0.0
    correct = 0
    logits = np.empty(C)
    for b in range(bs):
        y = Y[idx[b]]
        for k in range(C):
            v = th[obo + k]
            for j in range(n):
                v += HT[b, j] * th[oWo + j * C + k]
            logits[k] = v
        if softmax:
            mx = logits[0]
            arg = 0
            for k in range(1, C):
                if logits[k] > mx:
                    mx = logits[k]
                    arg = k
            s = 0.0
            for k in range(C):
                s += math.exp(logits[k] - mx)
            lse = mx + math.log(s)
            loss += lse - logits[y]
            correct += arg == y
            if want_grad:
                for k in range(C):
                    logits[k] = (math.exp(logits[k] - lse) - (1.0 if k == y else 0.0)) * scale
        else:
            z = logits[0]
            loss += max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
            correct += (z > 0.0) == (y == 1)
            if want_grad:
                logits[0] = (1.0 / (1.0 + math.exp(-z)) - y) * scale
        if want_grad:
            for k in range(C):
                g[obo + k] += logits[k]
            for j in range(n):
                d = 0.0
                for k in range(C):
                    g[oWo + j * C + k] += HT[b, j] * logits[k]
                    d += th[oWo + j * C + k] * logits[k]
                dH[b, j] = d
    return loss, correct


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _acc_input(g, dZ, X, idx, t, bs, D, K):
    """Input-side gradient: kernel += x_t^T dZ."""
    for b in range(bs):
        r = idx[b]
        for k in range(K):
            dz = dZ[b, k]
            for d in range(D):
                g[d * K + k] += X[r, t, d] * dz


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _acc_recurrent(th, g, dR, Hsrc, dHout, bs, n, K, oU, k0, k1):
    """Recurrent-side gradients of columns k0..k1: U += Hsrc^T dR, dHout += dR U^T."""
    for b in range(bs):
        for k in range(k0, k1):
            dz = dR[b, k]
            for i in range(n):
                g[oU + i * K + k] += Hsrc[b, i] * dz
                dHout[b, i] += th[oU + i * K + k] * dz


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _backward(kind, act, th, g, X, idx, bs, T, n, D, H, Cs, Z, A, E, dH, dC, dZ, dR, dHn):
    """Backpropagation through time from dLoss/dh_T (in ``dH``); accumulates into ``g``."""
    K = GATES[kind] * n
    oW, oU, ob0, ob1, oWo, obo, P = _layout(kind, n, D, 1)
    for b in range(bs):
        for j in range(n):
            dC[b, j] = 0.0
    for t in range(T - 1, -1, -1):
        for b in range(bs):
            for j in range(n):
                dHn[b, j] = 0.0
        if kind == SRNN:
            for b in range(bs):
                for j in range(n):
                    h = H[t + 1, b, j]
                    dZ[b, j] = dH[b, j] * (1.0 - h * h)
            _acc_recurrent(th, g, dZ, H[t], dHn, bs, n, K, oU, 0, K)
        elif kind == LSTM:
            for b in range(bs):
                for j in range(n):
                    i_, f_, c_, o_ = A[t, b, j], A[t, b, n + j], A[t, b, 2 * n + j], A[t, b, 3 * n + j]
                    tc = E[t, b, j]
                    dh = dH[b, j]
                    dc = dC[b, j] + dh * o_ * (1.0 - tc * tc)
                    dC[b, j] = dc * f_
                    dZ[b, j] = dc * c_ * _gate_grad(Z[t, b, j], i_, act)
                    dZ[b, n + j] = dc * Cs[t, b, j] * _gate_grad(Z[t, b, n + j], f_, act)
                    dZ[b, 2 * n + j] = dc * i_ * (1.0 - c_ * c_)
                    dZ[b, 3 * n + j] = dh * tc * _gate_grad(Z[t, b, 3 * n + j], o_, act)
            _acc_recurrent(th, g, dZ, H[t], dHn, bs, n, K, oU, 0, K)
        else:
            after = kind == GRU_AFTER
            for b in range(bs):
                for j in range(n):
                    z = A[t, b, j]
                    hh = A[t, b, 2 * n + j]
                    dh = dH[b, j]
                    dZ[b, 2 * n + j] = dh * (1.0 - z) * (1.0 - hh * hh)
                    dZ[b, j] = dh * (H[t, b, j] - hh) * _gate_grad(Z[t, b, j], z, act)
                    dHn[b, j] += dh * z
            if after:
                for b in range(bs):
                    for j in range(n):
                        da = dZ[b, 2 * n + j]
                        r = A[t, b, n + j]
                        dR[b, 2 * n + j] = da * r  # d(h U_h + b^h_h)
                        dZ[b, n + j] = da * E[t, b, j] * _gate_grad(Z[t, b, n + j], r, act)
                for b in range(bs):
                    for k in range(2 * n):
                        dR[b, k] = dZ[b, k]
                    for k in range(K):
                        g[ob1 + k] += dR[b, k]
                _acc_recurrent(th, g, dR, H[t], dHn, bs, n, K, oU, 0, K)
            else:
                # candidate: a = x W_h + (r * h) U_h + b_h; dR holds d(r * h) in its first n columns
                for b in range(bs):
                    for i in range(n):
                        dR[b, i] = 0.0
                for b in range(bs):
                    for j in range(n):
                        da = dZ[b, 2 * n + j]
                        for i in range(n):
                            g[oU + i * K + 2 * n + j] += E[t, b, i] * da
                            dR[b, i] += th[oU + i * K + 2 * n + j] * da
                for b in range(bs):
                    for i in range(n):
                        r = A[t, b, n + i]
                        dZ[b, n + i] = dR[b, i] * H[t, b, i] * _gate_grad(Z[t, b, n + i], r, act)
                        dHn[b, i] += dR[b, i] * r
                _acc_recurrent(th, g, dZ, H[t], dHn, bs, n, K, oU, 0, 2 * n)
        for b in range(bs):
            for k in range(K):
                g[ob0 + k] += dZ[b, k]
        _acc_input(g, dZ, X, idx, t, bs, D, K)
        for b in range(bs):
            for j in range(n):
                dH[b, j] = dHn[b, j]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _batch_loss_grad(kind, act, softmax, th, g, X, Y, idx, bs, n, C, want_grad, H, Cs, Z, A, E, dH, dC, dZ, dR, dHn):
    T = X.shape[1]
    D = X.shape[2]
    oW, oU, ob0, ob1, oWo, obo, P = _layout(kind, n, D, C)
    _forward(kind, act, th, X, idx, bs, T, n, D, H, Cs, Z, A, E)
    loss, correct = _readout(th, H[T], Y, idx, bs, n, C, oWo, obo, softmax, want_grad, 1.0 / bs, g, dH)
    if want_grad and math.isfinite(loss):
        _backward(kind, act, th, g, X, idx, bs, T, n, D, H, Cs, Z, A, E, dH, dC, dZ, dR, dHn)
    return loss, correct


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _evaluate_one(kind, act, softmax, th, X, Y, n, C, chunk):
    N, T = X.shape[0], X.shape[1]
    K = GATES[kind] * n
    H = np.zeros((T + 1, chunk, n))
    Cs = np.zeros((T + 1, chunk, n))
    Z = np.zeros((T, chunk, K))
    A = np.zeros((T, chunk, K))
    E = np.zeros((T, chunk, n))
    dummy2 = np.zeros((1, 1))
    g = np.zeros(1)
    idx = np.arange(N)
    loss = 0.0
    correct = 0
    for start in range(0, N, chunk):
        bs = min(chunk, N - start)
        l, c = _batch_loss_grad(kind, act, softmax, th, g, X, Y, idx[start:], bs, n, C, False,
                                H, Cs, Z, A, E, dummy2, dummy2, dummy2, dummy2, dummy2)
        loss += l
        correct += c
    return loss / N, correct / N


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, parallel=True)
def evaluate(kind, act, softmax, theta, X, Y, n, C):
    """Mean loss and accuracy (M, 2) of every model on ``(X, Y)``."""
    M = theta.shape[0]
    out = np.empty((M, 2))
    for m in prange(M):
        out[m, 0], out[m, 1] = _evaluate_one(kind, act, softmax, theta[m], X, Y, n, C, 256)
    return out


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, parallel=True)
def loss_and_grad(kind, act, softmax, theta, X, Y, n, C):
    """Mean loss (M,) and its gradient (M, P) for every model on one batch ``(X, Y)`` (a test and analysis hook)."""
    M, P = theta.shape
    N, T, D = X.shape
    K = GATES[kind] * n
    losses = np.empty(M)
    grads = np.zeros((M, P))
    for m in prange(M):
        H = np.zeros((T + 1, N, n))
        Cs = np.zeros((T + 1, N, n))
        Z = np.zeros((T, N, K))
        A = np.zeros((T, N, K))
        E = np.zeros((T, N, n))
        l, c = _batch_loss_grad(kind, act, softmax, theta[m], grads[m], X, Y, np.arange(N), N, n, C, True,
                                H, Cs, Z, A, E, np.zeros((N, n)), np.zeros((N, n)), np.zeros((N, K)),
                                np.zeros((N, K)), np.zeros((N, n)))
        losses[m] = l / N
    return losses, grads


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, parallel=True)
def train_epoch(kind, act, softmax, n, C, theta, adam_m, adam_v, steps, active, X, Y, perms, batch,
                lr, beta1, beta2, eps, clip, Xv, Yv, out):
    """One epoch of minibatch Adam for every active model, then validation.

    Args:
        theta, adam_m, adam_v: (M, P) parameters and Adam moments, updated in place.
        steps: (M,) Adam step counts, updated in place.
        active: (M,) bool; a model whose loss or gradient turns non-finite is set inactive (diverged) and stops,
            keeping the parameters that produced the non-finite value.
        X, Y: training data (N, T, D), (N,); perms: (M, N) this epoch's order per model.
        clip: gradient-norm threshold (Pascanu et al. 2013: g <- clip * g / ||g|| if ||g|| > clip); <= 0 disables.
        out: (M, 4) written with train loss, train accuracy, val loss, val accuracy (NaN for inactive models).
    """
    M, P = theta.shape
    N, T, D = X.shape
    K = GATES[kind] * n
    for m in prange(M):
        out[m, 0] = np.nan
        out[m, 1] = np.nan
        out[m, 2] = np.nan
        out[m, 3] = np.nan
        if not active[m]:
            continue
        th = theta[m]
        H = np.zeros((T + 1, batch, n))
        Cs = np.zeros((T + 1, batch, n))
        Z = np.zeros((T, batch, K))
        A = np.zeros((T, batch, K))
        E = np.zeros((T, batch, n))
        dH = np.zeros((batch, n))
        dC = np.zeros((batch, n))
        dZ = np.zeros((batch, K))
        dR = np.zeros((batch, K))
        dHn = np.zeros((batch, n))
        g = np.zeros(P)
        total_loss = 0.0
        total_correct = 0
        for start in range(0, N, batch):
            bs = min(batch, N - start)
            g[:] = 0.0
            loss, correct = _batch_loss_grad(kind, act, softmax, th, g, X, Y, perms[m, start:], bs, n, C, True,
                                             H, Cs, Z, A, E, dH, dC, dZ, dR, dHn)
            norm2 = 0.0
            for p in range(P):
                norm2 += g[p] * g[p]
            if not (math.isfinite(loss) and math.isfinite(norm2)):
                active[m] = False
                break
            if clip > 0.0 and norm2 > clip * clip:
                s = clip / math.sqrt(norm2)
                for p in range(P):
                    g[p] *= s
            steps[m] += 1
            t = steps[m]
            step_size = lr / (1.0 - beta1 ** t)
            bc2 = math.sqrt(1.0 - beta2 ** t)
            for p in range(P):  # torch.optim.Adam's update, term for term
                adam_m[m, p] = beta1 * adam_m[m, p] + (1.0 - beta1) * g[p]
                adam_v[m, p] = beta2 * adam_v[m, p] + (1.0 - beta2) * g[p] * g[p]
                th[p] -= step_size * adam_m[m, p] / (math.sqrt(adam_v[m, p]) / bc2 + eps)
            total_loss += loss
            total_correct += correct
        if not active[m]:
            continue
        out[m, 0] = total_loss / N
        out[m, 1] = total_correct / N
        out[m, 2], out[m, 3] = _evaluate_one(kind, act, softmax, th, Xv, Yv, n, C, 256)
