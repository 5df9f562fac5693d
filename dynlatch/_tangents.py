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

Layouts and codes are those of :mod:`dynlatch._fastpath`; each kind's tangent step is written in its own module
of :mod:`dynlatch.cells` (``tangents``, and for the one-unit LSTM a specialised kernel, ``unit_tangents``),
reached through :mod:`dynlatch.cells._kernels` (batch innermost and contiguous, so every inner loop vectorises;
float64; no fastmath).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._losses import LOSS_SOFTMAX, LOSS_SQUARED_ERROR, gather, readout, squared_error
from .cells import _kernels as kernels
from .cells._compiled import classify
from .cells._kernels import GATES, UNIT_TANGENTS, compiled_layout


@njit(cache=True, error_model="numpy")
def forward_tangents(kind, act, th, Xb, bs, T, n, D, S0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE):
    """Run ``bs`` sequences of ``Xb`` (T, D, B) from ``S0`` (2, n); leave h_T in ``H`` (n, B) and the tangents
    dh_T/dp_q in ``dH[q]`` (Q, n, B). Scratch: Cs, Hn, Cn, E, dE (n, B); A, G, dZ (K, B); dC (Q, n, B).
    Parameter q is (kind ``qk[q]``, column ``qc[q]``, row ``qr[q]``) (:func:`dynlatch.cells._compiled.classify`)."""
    K = GATES[kind] * n
    oW, oU, ob0, ob1, oWo, obo, P = compiled_layout(kind, n, D, 1)
    Q = qk.shape[0]
    for j in range(n):
        h0 = S0[0, j]
        c0 = S0[1, j]
        for b in range(bs):
            H[j, b] = h0
            Cs[j, b] = c0
        for q in range(Q):
            for b in range(bs):
                dH[q, j, b] = 0.0
                dC[q, j, b] = 0.0
    kernels.tangents(kind, act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ,
                     dE)


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
    oWo, obo = compiled_layout(kind, n, D, C)[4:6]
    qk = np.empty(Q, dtype=np.int64)
    qc = np.empty(Q, dtype=np.int64)
    qr = np.empty(Q, dtype=np.int64)
    for q in range(Q):
        qk[q], qc[q], qr[q] = classify(wrt[q], n, D, K)
    unit = n == 1 and UNIT_TANGENTS[kind]
    XT = np.empty((T, D, N if unit else 0))  # a one-unit kernel reads all sequences from here, batch last
    if unit:
        for r in range(N):
            for t in range(T):
                for d in range(D):
                    XT[t, d, r] = X[r, t, d]
    for m in prange(M):
        th = theta[m]
        Xb = np.empty((T, D, 0 if unit else B))
        H = np.empty((n, B))
        Cs = np.empty((n, B))
        Hn = np.empty((n, B))
        Cn = np.empty((n, B))
        E = np.empty((3 if unit else n, B))  # a one-unit kernel keeps three coefficient rows there
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
            if unit:
                kernels.unit_tangents(kind, act, th, XT, start, bs, T, D, s0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH,
                                      dC, dZ)
            else:
                gather(X, sub, bs, Xb)
                forward_tangents(kind, act, th, Xb, bs, T, n, D, s0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ,
                                  dE)
            if loss_code == LOSS_SQUARED_ERROR:
                loss += squared_error(H, Tgt, sub, bs, n, True, scale, dL)
            else:
                lo, c = readout(th, H, Y, sub, bs, n, C, oWo, obo, loss_code == LOSS_SOFTMAX, True, scale, g, dL)
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
