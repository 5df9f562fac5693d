"""The table of compiled cell kernels: the one place the generic engines reach a kind's compiled code.

Each cell kind's module declares its :class:`~dynlatch.cells._compiled.KernelSpec` (code, gate blocks, whether a
one-unit tangent kernel exists) and writes three compiled passes over the T steps of a minibatch (batch innermost,
see :mod:`dynlatch.cells._compiled`):

* ``forward(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E)``: the trajectory of ``bs`` sequences of
  ``Xb`` (T, D, B) from the states ``H[0]``, ``Cs[0]`` (n, B), keeping what the reverse pass needs: states
  ``H[t + 1]`` (and ``Cs[t + 1]``, a second state part such as the LSTM's c), gate values ``A[t]`` and their
  derivatives ``G[t]`` (K, B) and one kind-defined row block ``E[t]`` (n, B);
* ``backward(th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn)``: from
  dLoss/dh_T (``dH``) back to t = 0: per step the gradient of every pre-activation column (``dZ``, K, B), the
  recurrent parameters' gradients per sequence (into ``Ga``) and dLoss/dh_t, then the input side and the
  state-gradient norms, which are the same for every kind (:func:`~dynlatch.cells._compiled.accumulate_inputs`);
* for one unit and one input (n = D = 1; a kind with ``unit_rows``), ``unit_forward(act, th, S, Ln, nb, T)`` and
  ``unit_backward(th, S, Ln, nb, T, SN, want_sn)``: the same passes on a block of ``nb`` <= LANES sequences in the
  flat step and lane rows of :data:`~dynlatch.cells._compiled.LANES`, one vectorised loop per step;
* ``tangents(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE)``: the
  state h_T in ``H`` and its forward-mode tangents ``dH[q]`` of each chosen parameter q, no trajectory stored.

Each pass is one compiled function per kind, called once per minibatch: the time loop lives inside it, so no
per-step call or array hand-over costs anything (per-step inlined steps measured 10-35% slower on one-unit cells),
and each kind compiles on its own. The dispatchers below select a kind's pass by its code; numba compiles through
plain module-level functions only (a function passed as a value is neither cached on disk nor inlined), hence one
branch per code here. A new kind adds its module and one line to :data:`SPECS` and to each dispatcher
(``docs/extending.md``).
"""

from __future__ import annotations

from numba import njit

from . import _gru, _lstm, _mgu, _srnn

SPECS = tuple(sorted((_srnn.KERNEL, _lstm.KERNEL, _gru.KERNEL_RESET_BEFORE, _gru.KERNEL_RESET_AFTER, _mgu.KERNEL),
                     key=lambda spec: spec.code))
"""Every compiled kernel, indexed by its code."""
if [spec.code for spec in SPECS] != list(range(len(SPECS))):
    raise RuntimeError(f"kernel codes must be 0..{len(SPECS) - 1}; got {[spec.code for spec in SPECS]}")

GATES = tuple(spec.gates for spec in SPECS)
"""Gate blocks per unit, by code."""
UNIT_TANGENTS = tuple(spec.unit_tangents for spec in SPECS)
"""Whether a specialised one-unit tangent kernel exists (:func:`unit_tangents`), by code."""
UNIT_ROWS = tuple(spec.unit_rows for spec in SPECS)
"""Rows per step of the one-unit training kernels (:func:`unit_forward`, :func:`unit_backward`), by code; 0 where a
kind has none."""

SRNN, LSTM, GRU_BEFORE, GRU_AFTER, MGU = (_srnn.KERNEL.code, _lstm.KERNEL.code, _gru.KERNEL_RESET_BEFORE.code,
                                          _gru.KERNEL_RESET_AFTER.code, _mgu.KERNEL.code)


def layout(kind: int, n: int, D: int, C: int) -> tuple[int, int, int, int, int, int, int]:
    """Offsets (oW, oU, ob0, ob1, oWo, obo) and size P of the flat parameter vector of kernel ``kind``:

        kernel (D, K) | recurrent_kernel (n, K) | bias row 0 (K) | bias row 1 (K) | read-out (n, C) | read-out bias (C)

    with K = gates * n. Bias row 1 is the GRU reset-after recurrent bias; other kernels keep it at zero."""
    K = GATES[kind] * n
    oU = D * K
    ob0 = oU + n * K
    ob1 = ob0 + K
    oWo = ob1 + K
    obo = oWo + n * C
    return 0, oU, ob0, ob1, oWo, obo, obo + C


compiled_layout = njit(cache=True)(layout)


@njit(cache=True, error_model="numpy", inline="always")
def forward(kind, act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E):
    """The ``forward`` of kernel ``kind``."""
    if kind == SRNN:
        _srnn.forward(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E)
    elif kind == LSTM:
        _lstm.forward(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E)
    elif kind == GRU_BEFORE or kind == GRU_AFTER:
        _gru.forward(kind == GRU_AFTER, act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E)
    elif kind == MGU:
        _mgu.forward(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E)


@njit(cache=True, error_model="numpy", inline="always")
def backward(kind, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn):
    """The ``backward`` of kernel ``kind``."""
    if kind == SRNN:
        _srnn.backward(th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn)
    elif kind == LSTM:
        _lstm.backward(th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn)
    elif kind == GRU_BEFORE or kind == GRU_AFTER:
        _gru.backward(kind == GRU_AFTER, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn,
                      Ga, SN, want_sn)
    elif kind == MGU:
        _mgu.backward(th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn)


@njit(cache=True, error_model="numpy", inline="always")
def tangents(kind, act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE):
    """The ``tangents`` of kernel ``kind``."""
    if kind == SRNN:
        _srnn.tangents(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE)
    elif kind == LSTM:
        _lstm.tangents(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE)
    elif kind == GRU_BEFORE or kind == GRU_AFTER:
        _gru.tangents(kind == GRU_AFTER, act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G,
                      E, dH, dC, dZ, dE)
    elif kind == MGU:
        _mgu.tangents(act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE)


@njit(cache=True, error_model="numpy", inline="always")
def unit_tangents(kind, act, th, XT, start, bs, T, D, S0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ):
    """The specialised one-unit tangent kernel of ``kind`` (those with ``UNIT_TANGENTS``; see
    :func:`dynlatch.cells._lstm.unit_tangents` for the arguments)."""
    if kind == LSTM:
        _lstm.unit_tangents(act, th, XT, start, bs, T, D, S0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ)


@njit(cache=True, error_model="numpy", inline="always")
def unit_forward(kind, act, th, S, Ln, nb, T):
    """The one-unit ``unit_forward`` of kernel ``kind`` (those with ``UNIT_ROWS``)."""
    if kind == SRNN:
        _srnn.unit_forward(act, th, S, Ln, nb, T)
    elif kind == LSTM:
        _lstm.unit_forward(act, th, S, Ln, nb, T)
    elif kind == GRU_BEFORE or kind == GRU_AFTER:
        _gru.unit_forward(kind == GRU_AFTER, act, th, S, Ln, nb, T)


@njit(cache=True, error_model="numpy", inline="always")
def unit_backward(kind, th, S, Ln, nb, T, SN, want_sn):
    """The one-unit ``unit_backward`` of kernel ``kind`` (those with ``UNIT_ROWS``)."""
    if kind == SRNN:
        _srnn.unit_backward(th, S, Ln, nb, T, SN, want_sn)
    elif kind == LSTM:
        _lstm.unit_backward(th, S, Ln, nb, T, SN, want_sn)
    elif kind == GRU_BEFORE or kind == GRU_AFTER:
        _gru.unit_backward(kind == GRU_AFTER, th, S, Ln, nb, T, SN, want_sn)
