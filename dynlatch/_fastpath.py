"""Compiled CPU training kernels: forward, hand-derived backward through time, clipping and Adam, one model per thread.

This is the speed path of :func:`dynlatch.train` and :func:`dynlatch.evaluate` (``backend="numba"``); the
evaluator's kernel (:func:`evaluate`) adds Bengio et al.'s squared-error loss, a nonzero initial state and the norms
of the state gradients to the same forward and backward passes. The drivers here are generic over cell kinds: each
kind's module in :mod:`dynlatch.cells` writes its compiled unit step and the step's reverse-mode derivative, reached
through the table :mod:`dynlatch.cells._kernels` (the kinds' torch steps are the oracle these kernels are tested
against to float tolerance). As scalar loops a one-unit cell costs a few nanoseconds per sequence step instead of
the ~5-10 us per op that a Python-driven tensor program pays.

Everything is float64. Parameters of one model are one flat vector ``theta`` (:func:`layout`)::

    kernel (D, K) | recurrent_kernel (n, K) | bias row 0 (K) | bias row 1 (K) | read-out weight (n, C) | read-out bias (C)

with ``K = gates * n``. Bias row 1 is GRU-reset_after's recurrent bias; other cells keep it at zero (its gradient is
never accumulated, so Adam leaves it exactly zero).

Speed comes from putting the minibatch innermost and contiguous in every buffer (``(T, rows, batch)``; the batch's
inputs are gathered into such a buffer first), so that each innermost loop is a plain elementwise loop over the
batch that LLVM vectorises (:mod:`dynlatch.cells._compiled`), and the backward pass keeps one gradient accumulator
per (parameter, sequence) and sums over the batch only once per minibatch, so it has no reductions or
read-modify-write chains inside the time loop.

One-unit models with one input (n = D = 1: every model of the latching sweep) run through the kinds' one-unit
kernels instead (``unit_forward``, ``unit_backward``; :data:`dynlatch.cells._compiled.LANES`): the minibatch in
blocks of 16 sequences, each step of a block one loop over its sequences that LLVM vectorises without runtime alias
checks, the per-sequence gradients accumulated in the same loop. Every entry point takes the path first
(:func:`path_for`; :mod:`dynlatch._kernel_path`), and :func:`_run_forward` and :func:`_run_backward` choose their
kernels by its type while numba compiles them: a one-unit run compiles none of the generic kernels and a generic run
none of the one-unit ones.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload

from ._kernel_path import GENERIC, UNIT, Path, PathType
from ._losses import LOSS_SOFTMAX, LOSS_SQUARED_ERROR, gather, readout, squared_error
from .cells import _compiled as cc
from .cells import _kernels as kernels
from .cells._kernels import GATES, UNIT_ROWS, compiled_layout, layout

_layout = compiled_layout
# No fastmath flags, deliberately: with FMA contraction or reassociation LLVM may round an element differently in a
# vectorised loop body than in its scalar remainder, and which elements land where depends on memory alignment, so a
# model's result would change (by an ulp) with its position in the batch. Plain IEEE arithmetic costs nothing here
# (measured) and keeps "a model alone == the same model in a batch" bit for bit; NaN/inf also propagate as they must
# for divergence detection.
EVAL_CHUNK = 64  # sequences per forward pass in evaluation (keeps the stored states cache-resident)
_OVERLOAD_JIT = {"error_model": "numpy"}  # path choices: compiled into their callers (and into their caches)


def path_for(kind: int, n: int, D: int) -> Path:
    """The path of a model of kernel ``kind`` with ``n`` units and ``D`` inputs: :data:`UNIT` (the one-unit kernels)
    where n = D = 1 and the kind has them, else :data:`GENERIC`; the first argument of every entry point here."""
    return UNIT if n == 1 and D == 1 and UNIT_ROWS[kind] > 0 else GENERIC


def _is_unit(path: types.Type) -> bool:
    """Whether ``path``, the numba type of a path token, is the one-unit path (read while numba types a call)."""
    if not isinstance(path, PathType):
        raise TypingError(f"expected a kernel path token (dynlatch._kernel_path), got {path}")
    return path.unit


def _unit_path(path):
    """Whether ``path`` is :data:`UNIT`, as a compile-time constant (compiled only)."""
    raise NotImplementedError("compiled only: call it from a numba-compiled function")


@overload(_unit_path, jit_options=_OVERLOAD_JIT)
def _unit_path_constant(path):
    unit = _is_unit(path)
    return lambda path: unit


# -- forward ---------------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _forward(kind, act, th, Xb, bs, T, n, D, H, Cs, A, G, E, S0):
    """Run the ``bs`` sequences of ``Xb`` (T, D, B) from the state ``S0`` (2, n) (row 0 h_0, row 1 c_0, the same for
    every sequence; zeros in training), storing what the backward pass needs.

    States H, Cs (T + 1, n, B); activations A and their derivatives G (T, K, B); E (T, n, B) a row block each kind
    defines (LSTM tanh(c), GRU reset-before r * h, reset-after h U_h + b^h_h, MGU f * h; unused by the SRNN).
    """
    K = GATES[kind] * n
    oW, oU, ob0, ob1, oWo, obo, P = _layout(kind, n, D, 1)
    for j in range(n):
        h0 = S0[0, j]
        c0 = S0[1, j]
        for b in range(bs):
            H[0, j, b] = h0
            Cs[0, j, b] = c0
    kernels.forward(kind, act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E)


# -- backward --------------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _backward(kind, th, g, Xb, bs, T, n, D, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn):
    """Backpropagation through time from dLoss/dh_T (in ``dH``, (n, B)); adds the cell's gradient into ``g``.

    Per-sequence gradients accumulate in ``Ga`` (rows of theta up to the read-out, B) and are summed over the batch
    at the end. dH, dC, dHn (n, B), dZ, dR (K, B) are scratch (dH and dHn are swapped each step). With ``want_sn``,
    ``SN[t]`` (T + 1,) += sum over the batch of ||dLoss/ds_t||^2, s_t the full state (h_t, and c_t for the LSTM) as
    the coordinates of the map s_t -> s_{t+1}: partial derivatives, each state part held fixed while the other moves.
    """
    K = GATES[kind] * n
    oW, oU, ob0, ob1, oWo, obo, P = _layout(kind, n, D, 1)
    for p in range(oWo):
        for b in range(bs):
            Ga[p, b] = 0.0
    for j in range(n):
        for b in range(bs):
            dC[j, b] = 0.0
    kernels.backward(kind, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn)
    for p in range(oWo):
        s = 0.0
        for b in range(bs):
            s += Ga[p, b]
        g[p] += s


# -- one minibatch ---------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _workspace(path, kind, T, n, D, B):
    """Buffers for minibatches of up to B sequences of length T (see :func:`_forward` and :func:`_backward`; for the
    one-unit kernels the step and lane rows ``S``, ``Ln`` of every block, see :func:`_unit_forward`, the trajectory
    buffers then empty and ``H[0]`` the final states)."""
    K = GATES[kind] * n
    oWo = _layout(kind, n, D, 1)[4]
    unit = _unit_path(path)
    blocks = (B + cc.LANES - 1) // cc.LANES
    S = np.zeros(blocks * T * UNIT_ROWS[kind] * cc.LANES if unit else 0)
    Ln = np.zeros(blocks * (cc.ACC_ROW + oWo) * cc.LANES if unit else 0)
    Tg = 0 if unit else T
    Xb = np.zeros((Tg, D, B))
    H = np.zeros((Tg + 1, n, B))
    Cs = np.zeros((Tg + 1, n, B))
    A = np.zeros((Tg, K, B))
    G = np.zeros((Tg, K, B))
    E = np.zeros((Tg, n, B))
    dH = np.zeros((n, B))
    dC = np.zeros((n, B))
    dZ = np.zeros((K, B))
    dR = np.zeros((K, B))
    dHn = np.zeros((n, B))
    Ga = np.zeros((oWo, B))
    S0 = np.zeros((2, n))
    SN = np.zeros(T + 1)
    return Xb, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, S0, SN, S, Ln


# -- one unit, one input: blocks of LANES sequences --------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _unit_forward(kind, act, th, X, idx, bs, S0, S, Ln, HT):
    """The cell on sequences ``X[idx[:bs]]`` (N, T, 1) from the state ``S0`` (2, 1), in blocks of LANES sequences:
    each block's inputs copied into its step rows (``S``), its trajectory run by the kind's ``unit_forward`` (lane
    rows ``Ln``), its final states h_T written to ``HT`` (1, B)."""
    T = X.shape[1]
    L = cc.LANES
    R = UNIT_ROWS[kind]
    step = T * R * L
    lanes = (cc.ACC_ROW + _layout(kind, 1, 1, 1)[4]) * L
    for q in range((bs + L - 1) // L):
        nb = min(L, bs - q * L)
        Sq = S[q * step : (q + 1) * step]
        Lq = Ln[q * lanes : (q + 1) * lanes]
        rows = idx[q * L : q * L + nb]
        for t in range(T):  # step-major: 16 read streams along the sequences, one contiguous write per step
            xt = Sq[(t * R + cc.X_ROW) * L : (t * R + cc.X_ROW + 1) * L]
            for b in range(nb):
                xt[b] = X[rows[b], t, 0]
        for b in range(nb):
            Lq[cc.H_ROW * L + b] = S0[0, 0]
            Lq[cc.C_ROW * L + b] = S0[1, 0]
        kernels.unit_forward(kind, act, th, Sq, Lq, nb, T)
        for b in range(nb):
            HT[0, q * L + b] = Lq[cc.H_ROW * L + b]


@njit(cache=True, error_model="numpy")
def _unit_backward(kind, th, g, bs, T, dH, S, Ln, SN, want_sn):
    """Backpropagation through time of :func:`_unit_forward`'s blocks from dLoss/dh_T (``dH``, (1, B)): each block by
    the kind's ``unit_backward``, its per-sequence gradients (lane rows from ``ACC_ROW``) then summed over the block
    into ``g``, block after block."""
    L = cc.LANES
    step = T * UNIT_ROWS[kind] * L
    cell = _layout(kind, 1, 1, 1)[4]  # the cell's parameters, one accumulator row each
    lanes = (cc.ACC_ROW + cell) * L
    for q in range((bs + L - 1) // L):
        nb = min(L, bs - q * L)
        Sq = S[q * step : (q + 1) * step]
        Lq = Ln[q * lanes : (q + 1) * lanes]
        for b in range(nb):
            Lq[cc.DH_ROW * L + b] = dH[0, q * L + b]
            Lq[cc.DC_ROW * L + b] = 0.0
        for p in range(cell):
            for b in range(nb):
                Lq[(cc.ACC_ROW + p) * L + b] = 0.0
        kernels.unit_backward(kind, th, Sq, Lq, nb, T, SN, want_sn)
        for p in range(cell):
            g[p] += cc.lane_sum(Lq, cc.ACC_ROW + p, nb)


def _run_forward(path, kind, act, th, X, idx, bs, n, ws):
    """The cell on sequences ``X[idx[:bs]]`` from the workspace's initial state ``S0``, by the one-unit kernels
    (:data:`UNIT`) or the generic passes; returns the final states h_T (n, B). Compiled only
    (:func:`_run_forward_path`)."""
    raise NotImplementedError("compiled only: call it from a numba-compiled function")


@overload(_run_forward, prefer_literal=True, jit_options=_OVERLOAD_JIT)
def _run_forward_path(path, kind, act, th, X, idx, bs, n, ws):
    if _is_unit(path):
        def run_unit(path, kind, act, th, X, idx, bs, n, ws):
            H, S0, S, Ln = ws[1], ws[12], ws[14], ws[15]
            _unit_forward(kind, act, th, X, idx, bs, S0, S, Ln, H[0])
            return H[0]
        return run_unit

    def run_generic(path, kind, act, th, X, idx, bs, n, ws):
        Xb, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, S0, SN, S, Ln = ws
        T = X.shape[1]
        gather(X, idx, bs, Xb)
        _forward(kind, act, th, Xb, bs, T, n, X.shape[2], H, Cs, A, G, E, S0)
        return H[T]
    return run_generic


def _run_backward(path, kind, th, g, bs, T, n, D, ws, want_sn):
    """Backpropagation through time of :func:`_run_forward` from dLoss/dh_T in the workspace's ``dH`` (see
    :func:`_backward`; the norm of dLoss/ds_T itself is the caller's, :func:`_add_final_state_norm`). Compiled only
    (:func:`_run_backward_path`)."""
    raise NotImplementedError("compiled only: call it from a numba-compiled function")


@njit(cache=True, error_model="numpy")
def _add_final_state_norm(SN, T, dH, n, bs):
    """``SN[T]`` += ||dLoss/ds_T||^2: the loss reads h_T only, so dLoss/ds_T = (dLoss/dh_T, 0)."""
    sq = 0.0
    for j in range(n):
        for b in range(bs):
            sq += dH[j, b] * dH[j, b]
    SN[T] += sq


@overload(_run_backward, prefer_literal=True, jit_options=_OVERLOAD_JIT)
def _run_backward_path(path, kind, th, g, bs, T, n, D, ws, want_sn):
    if _is_unit(path):
        def run_unit(path, kind, th, g, bs, T, n, D, ws, want_sn):
            dH, SN, S, Ln = ws[6], ws[13], ws[14], ws[15]
            _unit_backward(kind, th, g, bs, T, dH, S, Ln, SN, want_sn)
        return run_unit

    def run_generic(path, kind, th, g, bs, T, n, D, ws, want_sn):
        Xb, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, S0, SN, S, Ln = ws
        _backward(kind, th, g, Xb, bs, T, n, D, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn)
    return run_generic


@njit(cache=True, error_model="numpy", inline="always")
def _batch_loss_grad(path, kind, act, softmax, th, g, X, Y, idx, bs, n, C, ws):
    """Loss sum and number correct on sequences ``X[idx[:bs]]``; add the gradient of the mean loss into ``g``
    (skipping the backward pass when the loss is not finite). Inlined into its callers: numba increments and
    decrements the reference count of every array argument at a call, atomically, and with the workspace's sixteen
    arrays that cost about 6% of a one-unit training run at T = 1 (measured)."""
    dH = ws[6]
    T = X.shape[1]
    D = X.shape[2]
    oW, oU, ob0, ob1, oWo, obo, P = _layout(kind, n, D, C)
    HT = _run_forward(path, kind, act, th, X, idx, bs, n, ws)
    loss, correct = readout(th, HT, Y, idx, bs, n, C, oWo, obo, softmax, True, 1.0 / bs, g, dH)
    if math.isfinite(loss):
        _run_backward(path, kind, th, g, bs, T, n, D, ws, False)
    return loss, correct


@njit(cache=True, error_model="numpy")
def _evaluate_one(path, kind, act, softmax, th, X, Y, n, C, chunk):
    """Mean loss and accuracy of one model on ``(X, Y)``, forward passes of ``chunk`` sequences."""
    N, T, D = X.shape
    ws = _workspace(path, kind, T, n, D, chunk)
    dH = ws[6]
    oWo, obo = _layout(kind, n, D, C)[4:6]
    g = np.zeros(1)
    idx = np.arange(N)
    loss = 0.0
    correct = 0
    for start in range(0, N, chunk):
        bs = min(chunk, N - start)
        HT = _run_forward(path, kind, act, th, X, idx[start:], bs, n, ws)
        l, c = readout(th, HT, Y, idx[start:], bs, n, C, oWo, obo, softmax, False, 1.0 / bs, g, dH)
        loss += l
        correct += c
    return loss / N, correct / N




@njit(cache=True, error_model="numpy", parallel=True)
def evaluate(path, kind, act, loss_code, theta, S0, X, Y, Tgt, n, C, want_grad, want_sn, chunk):
    """Mean loss, accuracy, gradient and state-gradient norms of every model on ``(X, Y)`` or ``(X, Tgt)``.

    Args:
        path: :func:`path_for` of the models (:data:`UNIT` or :data:`GENERIC`).
        kind, act: cell and gate codes; loss_code: ``LOSS_SIGMOID`` / ``LOSS_SOFTMAX`` (:mod:`dynlatch._losses`) (read-out of ``C`` classes on
            h_T, labels ``Y`` (N,)) or ``LOSS_SQUARED_ERROR`` (1/2 ||h_T - Tgt[p]||^2 per sequence, Tgt (N, n)).
        theta: (M, P) flat parameters (a read-out of C columns after the cell's; C = 0 for a bare cell).
        S0: (M, 2, n) initial state per model (row 0 h_0, row 1 c_0 for the LSTM, zeros otherwise), shared by all
            sequences.
        X: (N, T, D) inputs shared by all models.
        want_grad, want_sn: also compute the gradient / the state-gradient norms.
        chunk: sequences per forward pass (bounds the per-thread workspace: ~8 (T K + ...) chunk bytes).

    Returns:
        out (M, 2): mean loss over the N sequences and accuracy (0 for the squared error);
        grads (M, P) (or (M, 0)): dLoss/dtheta (NaN where the loss is not finite);
        norms (M, T + 1) (or (M, 0)): ||dLoss/ds_t||, the Frobenius norm over sequences and state components of
            the partial derivatives in the state coordinates (h_t, c_t) (see :func:`_backward`).
    """
    M, P = theta.shape
    N, T, D = X.shape
    out = np.empty((M, 2))
    grads = np.zeros((M, P if want_grad else 0))
    norms = np.zeros((M, T + 1 if want_sn else 0))
    B = min(chunk, N)
    idx = np.arange(N)
    backward = want_grad or want_sn
    scale = 1.0 / N
    oWo, obo = _layout(kind, n, D, C)[4:6]
    for m in prange(M):
        th = theta[m]
        ws = _workspace(path, kind, T, n, D, B)
        dH, S0w, SN = ws[6], ws[12], ws[13]
        for j in range(n):
            S0w[0, j] = S0[m, 0, j]
            S0w[1, j] = S0[m, 1, j]
        g = np.zeros(P)
        loss = 0.0
        correct = 0
        for start in range(0, N, B):
            bs = min(B, N - start)
            sub = idx[start:]
            HT = _run_forward(path, kind, act, th, X, sub, bs, n, ws)
            if loss_code == LOSS_SQUARED_ERROR:
                loss += squared_error(HT, Tgt, sub, bs, n, backward, scale, dH)
            else:
                lo, c = readout(th, HT, Y, sub, bs, n, C, oWo, obo, loss_code == LOSS_SOFTMAX, backward, scale,
                                 g, dH)
                loss += lo
                correct += c
            if backward:
                if want_sn:
                    _add_final_state_norm(SN, T, dH, n, bs)
                _run_backward(path, kind, th, g, bs, T, n, D, ws, want_sn)
        out[m, 0] = loss / N
        out[m, 1] = correct / N
        finite = math.isfinite(loss)
        if want_grad:
            for p in range(P):
                grads[m, p] = g[p] if finite else np.nan
        if want_sn:
            for t in range(T + 1):
                norms[m, t] = math.sqrt(SN[t]) if finite else np.nan
    return out, grads, norms


@njit(cache=True, error_model="numpy", parallel=True)
def loss_and_grad(path, kind, act, softmax, theta, X, Y, n, C):
    """Mean loss (M,) and its gradient (M, P) for every model on one batch ``(X, Y)`` (a test and analysis hook;
    ``path`` as :func:`evaluate`'s)."""
    M, P = theta.shape
    N, T, D = X.shape
    losses = np.empty(M)
    grads = np.zeros((M, P))
    for m in prange(M):
        ws = _workspace(path, kind, T, n, D, N)
        l, c = _batch_loss_grad(path, kind, act, softmax, theta[m], grads[m], X, Y, np.arange(N), N, n, C, ws)
        losses[m] = l / N
    return losses, grads


@njit(cache=True, error_model="numpy", inline="always")
def _update(th, g, adam_m, adam_v, t, lo, hi, lr, beta1, beta2, eps, sgd):
    """One optimiser step on ``th[lo:hi]`` (step number ``t``): ``torch.optim.SGD``'s update (p - lr g) with ``sgd``,
    else ``torch.optim.Adam``'s, term for term, with its moments ``adam_m``, ``adam_v`` updated in place."""
    if sgd:
        for p in range(lo, hi):
            th[p] -= lr * g[p]
        return
    step_size = lr / (1.0 - beta1 ** t)
    bc2 = math.sqrt(1.0 - beta2 ** t)
    for p in range(lo, hi):
        adam_m[p] = beta1 * adam_m[p] + (1.0 - beta1) * g[p]
        adam_v[p] = beta2 * adam_v[p] + (1.0 - beta2) * g[p] * g[p]
        th[p] -= step_size * adam_m[p] / (math.sqrt(adam_v[p]) / bc2 + eps)


@njit(cache=True, error_model="numpy", inline="always")
def _step(th, g, adam_m, adam_v, steps, m, lo, hi, loss, lr, beta1, beta2, eps, sgd, clip):
    """Clip the gradient ``g[lo:hi]`` to norm ``clip`` (Pascanu et al. 2013; <= 0 disables) and take one optimiser
    step (:func:`_update`, counted in ``steps[m]``). Returns False, without a step, when the loss or the gradient is
    not finite (the model has diverged)."""
    norm2 = 0.0
    for p in range(lo, hi):
        norm2 += g[p] * g[p]
    if not (math.isfinite(loss) and math.isfinite(norm2)):
        return False
    if clip > 0.0 and norm2 > clip * clip:
        s = clip / math.sqrt(norm2)
        for p in range(lo, hi):
            g[p] *= s
    steps[m] += 1
    _update(th, g, adam_m, adam_v, steps[m], lo, hi, lr, beta1, beta2, eps, sgd)
    return True


@njit(cache=True, error_model="numpy", parallel=True)
def train_epoch(path, kind, act, softmax, n, C, theta, adam_m, adam_v, steps, active, X, Y, perms, batch,
                lr, beta1, beta2, eps, sgd, clip, trainable, Xv, Yv, out):
    """One epoch of minibatch Adam (or plain SGD, ``sgd``) for every active model, then validation.

    Args:
        path: :func:`path_for` of the models (:data:`UNIT` or :data:`GENERIC`).
        theta, adam_m, adam_v: (M, P) parameters and Adam moments, updated in place.
        steps: (M,) Adam step counts, updated in place.
        active: (M,) bool; a model whose loss or gradient turns non-finite is set inactive (diverged) and stops,
            keeping the parameters that produced the non-finite value.
        X, Y: training data (N, T, D), (N,); perms: (M, N) this epoch's order per model.
        clip: gradient-norm threshold (Pascanu et al. 2013: g <- clip * g / ||g|| if ||g|| > clip); <= 0 disables.
        trainable: (P,) 1.0 for a trained parameter, 0.0 for a frozen one: the gradient is multiplied by it before
            the norm, so a frozen parameter's Adam moments stay 0 and the parameter keeps its value exactly.
        out: (M, 4) written with train loss, train accuracy, val loss, val accuracy (NaN for inactive models).
    """
    M, P = theta.shape
    N, T, D = X.shape
    for m in prange(M):
        out[m, 0] = np.nan
        out[m, 1] = np.nan
        out[m, 2] = np.nan
        out[m, 3] = np.nan
        if not active[m]:
            continue
        th = theta[m]
        ws = _workspace(path, kind, T, n, D, batch)
        g = np.zeros(P)
        total_loss = 0.0
        total_correct = 0
        for start in range(0, N, batch):
            bs = min(batch, N - start)
            g[:] = 0.0
            loss, correct = _batch_loss_grad(path, kind, act, softmax, th, g, X, Y, perms[m, start:], bs, n, C, ws)
            for p in range(P):
                g[p] *= trainable[p]
            if not _step(th, g, adam_m[m], adam_v[m], steps, m, 0, P, loss, lr, beta1, beta2, eps, sgd, clip):
                active[m] = False
                break
            total_loss += loss
            total_correct += correct
        if not active[m]:
            continue
        out[m, 0] = total_loss / N
        out[m, 1] = total_correct / N
        out[m, 2], out[m, 3] = _evaluate_one(path, kind, act, softmax, th, Xv, Yv, n, C, EVAL_CHUNK)


# -- the read-out alone on a frozen cell ---------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", parallel=True)
def final_states(path, kind, act, theta, X, n, chunk):
    """The final states h_T (M, n, N) of every model's cell on every sequence of ``X`` (N, T, D), from h_0 = 0
    (``path`` as :func:`evaluate`'s)."""
    M = theta.shape[0]
    N, T, D = X.shape
    out = np.empty((M, n, N))
    for m in prange(M):
        ws = _workspace(path, kind, T, n, D, chunk)
        idx = np.arange(N)
        for start in range(0, N, chunk):
            bs = min(chunk, N - start)
            HT = _run_forward(path, kind, act, theta[m], X, idx[start:], bs, n, ws)
            for j in range(n):
                for b in range(bs):
                    out[m, j, start + b] = HT[j, b]
    return out


@njit(cache=True, error_model="numpy")
def _readout_loss(th, HT, Y, idx, bs, n, C, oWo, obo, softmax, want_grad, g, Hb, dH):
    """:func:`_readout` on the stored final states ``HT`` (n, N) of sequences ``idx[:bs]`` (gathered into ``Hb``)."""
    for b in range(bs):
        r = idx[b]
        for j in range(n):
            Hb[j, b] = HT[j, r]
    return readout(th, Hb, Y, idx, bs, n, C, oWo, obo, softmax, want_grad, 1.0 / bs, g, dH)


@njit(cache=True, error_model="numpy", parallel=True)
def train_readout_epoch(softmax, n, C, oWo, theta, adam_m, adam_v, steps, active, HT, Y, perms, batch,
                        lr, beta1, beta2, eps, sgd, clip, HTv, Yv, out):
    """:func:`train_epoch` with the cell frozen, on its stored final states: ``HT`` (M, n, N) and ``HTv`` of the
    training and validation sequences (:func:`final_states`). Only ``theta[:, oWo:]`` (the read-out) moves. The
    arithmetic is :func:`train_epoch`'s with every cell entry of ``trainable`` 0, so the results are bit-identical
    at the cost of one forward pass instead of one per epoch and no backward pass."""
    M, P = theta.shape
    N = HT.shape[2]
    obo = oWo + n * C
    for m in prange(M):
        out[m, 0] = np.nan
        out[m, 1] = np.nan
        out[m, 2] = np.nan
        out[m, 3] = np.nan
        if not active[m]:
            continue
        th = theta[m]
        g = np.zeros(P)
        Hb = np.zeros((n, batch))
        dH = np.zeros((n, batch))
        total_loss = 0.0
        total_correct = 0
        for start in range(0, N, batch):
            bs = min(batch, N - start)
            g[oWo:] = 0.0
            loss, correct = _readout_loss(th, HT[m], Y, perms[m, start:], bs, n, C, oWo, obo, softmax, True, g,
                                          Hb, dH)
            if not _step(th, g, adam_m[m], adam_v[m], steps, m, oWo, P, loss, lr, beta1, beta2, eps, sgd, clip):
                active[m] = False
                break
            total_loss += loss
            total_correct += correct
        if not active[m]:
            continue
        out[m, 0] = total_loss / N
        out[m, 1] = total_correct / N
        Nv = HTv.shape[2]
        Hv = np.zeros((n, EVAL_CHUNK))
        idx = np.arange(Nv)
        loss = 0.0
        correct = 0
        for start in range(0, Nv, EVAL_CHUNK):  # in _evaluate_one's chunks: the same sums in the same order
            bs = min(EVAL_CHUNK, Nv - start)
            l, c = _readout_loss(th, HTv[m], Yv, idx[start:], bs, n, C, oWo, obo, softmax, False, g, Hv, dH)
            loss += l
            correct += c
        out[m, 2] = loss / Nv
        out[m, 3] = correct / Nv

