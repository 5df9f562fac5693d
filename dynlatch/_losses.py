"""The read-out, the losses and the minibatch gather of the compiled engines (:mod:`dynlatch._fastpath`, reverse
mode; :mod:`dynlatch._tangents`, forward mode).

* :func:`readout`: a linear read-out of the final state h_T, with a softmax over ``C`` classes and cross-entropy, or
  one logit and the sigmoid's binary cross-entropy (Keras' ``Dense`` + ``softmax`` / ``sigmoid``), its loss, the
  number correct and the gradients;
* :func:`squared_error`: Bengio et al. (1994)'s cost 1/2 ||h_T - d_p||^2 per sequence;
* :func:`gather`: a minibatch's sequences copied batch innermost, so the kernels' inner loops vectorise.

Loss codes (``LOSS_*``) name them for the drivers. Float64, no fastmath (see :mod:`dynlatch._fastpath`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LOSS_SIGMOID, LOSS_SOFTMAX, LOSS_SQUARED_ERROR = 0, 1, 2


@njit(cache=True, error_model="numpy", inline="always")
def gather(X, idx, bs, Xb):
    """``Xb[t, d, b]`` <- ``X[idx[b], t, d]`` for the ``bs`` sequences of a minibatch (batch innermost)."""
    T = X.shape[1]
    D = X.shape[2]
    for t in range(T):  # step-major: one read stream per sequence, contiguous writes (see _fastpath._unit_forward)
        for d in range(D):
            for b in range(bs):
                Xb[t, d, b] = X[idx[b], t, d]


@njit(cache=True, error_model="numpy")
def readout(th, HT, Y, idx, bs, n, C, oWo, obo, softmax, want_grad, scale, g, dH):
    """Loss sum and number correct of the read-out on final states ``HT`` (n, B) of sequences ``idx``; with
    ``want_grad`` accumulate the read-out gradient (times ``scale``) into ``g`` and write dLoss/dh_T into ``dH``."""
    loss = 0.0
    correct = 0
    logits = np.empty(C)
    for b in range(bs):
        y = Y[idx[b]]
        for k in range(C):
            v = th[obo + k]
            for j in range(n):
                v += HT[j, b] * th[oWo + j * C + k]
            logits[k] = v
        if softmax:
            mx = logits[0]
            arg = 0
            for k in range(1, C):
                if logits[k] > mx:
                    mx = logits[k]
                    arg = k
            ly = logits[y]
            s = 0.0
            for k in range(C):
                e = 1.0 if k == arg else math.exp(logits[k] - mx)  # exp(0) = 1 exactly: one libm call fewer
                logits[k] = e
                s += e
            loss += mx + math.log(s) - ly
            correct += arg == y
            if want_grad:  # (softmax - onehot) * scale
                w = scale / s
                for k in range(C):
                    logits[k] = logits[k] * w - (scale if k == y else 0.0)
        else:
            z = logits[0]
            e = math.exp(-abs(z))
            loss += max(z, 0.0) - z * y + math.log1p(e)
            correct += (z > 0.0) == (y == 1)
            if want_grad:
                logits[0] = ((1.0 if z >= 0.0 else e) / (1.0 + e) - y) * scale
        if want_grad:
            for k in range(C):
                g[obo + k] += logits[k]
            for j in range(n):
                d = 0.0
                for k in range(C):
                    g[oWo + j * C + k] += HT[j, b] * logits[k]
                    d += th[oWo + j * C + k] * logits[k]
                dH[j, b] = d
    return loss, correct


@njit(cache=True, error_model="numpy")
def squared_error(HT, Tgt, idx, bs, n, want_grad, scale, dH):
    """Sum over sequences of Bengio et al. (1994)'s cost C_p = 1/2 sum_j (h_T^j - d_p^j)^2 on final states ``HT``
    (n, B) of sequences ``idx`` with targets ``Tgt`` (N, n); with ``want_grad`` write dLoss/dh_T (times ``scale``)
    into ``dH``."""
    loss = 0.0
    for b in range(bs):
        r = idx[b]
        for j in range(n):
            e = HT[j, b] - Tgt[r, j]
            loss += 0.5 * e * e
            if want_grad:
                dH[j, b] = e * scale
    return loss
