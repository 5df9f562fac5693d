"""The table of compiled cell kernels: the one place the generic engines reach a kind's compiled step.

Each cell kind's module declares its :class:`~dynlatch.cells._compiled.KernelSpec` (code, gate blocks, whether the
state has a cell part, whether a one-unit tangent kernel exists) and writes three compiled functions of one step of
a minibatch (batch innermost, see :mod:`dynlatch.cells._compiled`):

* ``forward_step(act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1)``: the next state (``Hn``,
  ``Cn``) from (``Hp``, ``Cp``) and inputs ``Xt`` (D, B), keeping what the reverse pass needs: gate values ``At``,
  their derivatives ``Gt`` (K, B) and one kind-defined row block ``Et`` (n, B);
* ``backward_step(th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1)``: from dLoss/dh'
  (``dH``) and dLoss/dc' (``dC``, replaced by dLoss/dc) the gradient of every pre-activation column (``dZ``, K, B),
  the recurrent parameters' gradient per sequence (into ``Ga``) and dLoss/dh (``dHn``); the input side is generic;
* ``tangent_step(act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU, ob0, ob1)``: the
  next state into ``Hn`` (and ``Cs`` <- c') and the tangents ``dH[q]`` (``dC[q]``) of every chosen parameter q.

The dispatchers below select a kind's function by its code; they are inlined into the engines, so a step costs what
the kind's own code costs. numba compiles through plain module-level functions only (a function passed as a value
would be neither cached on disk nor inlined), hence one branch per code here. A new kind adds its module and one line
to :data:`SPECS` and to each dispatcher (``docs/extending.md``).
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
CELL_STATE = tuple(spec.cell_state for spec in SPECS)
"""Whether the state has a cell part c (row 1 of an initial state), by code."""
UNIT_TANGENTS = tuple(spec.unit_tangents for spec in SPECS)
"""Whether a specialised one-unit tangent kernel exists (:func:`unit_tangents`), by code."""

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
def forward_step(kind, act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1):
    """The ``forward_step`` of kernel ``kind``."""
    if kind == SRNN:
        _srnn.forward_step(act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1)
    elif kind == LSTM:
        _lstm.forward_step(act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1)
    elif kind == GRU_BEFORE:
        _gru.forward_step(False, act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1)
    elif kind == GRU_AFTER:
        _gru.forward_step(True, act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1)
    elif kind == MGU:
        _mgu.forward_step(act, th, Xt, Hp, Cp, Hn, Cn, At, Gt, Et, bs, n, D, K, oU, ob0, ob1)


@njit(cache=True, error_model="numpy", inline="always")
def backward_step(kind, th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1):
    """The ``backward_step`` of kernel ``kind``."""
    if kind == SRNN:
        _srnn.backward_step(th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1)
    elif kind == LSTM:
        _lstm.backward_step(th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1)
    elif kind == GRU_BEFORE:
        _gru.backward_step(False, th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1)
    elif kind == GRU_AFTER:
        _gru.backward_step(True, th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1)
    elif kind == MGU:
        _mgu.backward_step(th, Ga, Hp, Hn, Cp, At, Gt, Et, dH, dC, dZ, dR, dHn, bs, n, K, oU, ob1)


@njit(cache=True, error_model="numpy", inline="always")
def tangent_step(kind, act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU, ob0, ob1):
    """The ``tangent_step`` of kernel ``kind``."""
    if kind == SRNN:
        _srnn.tangent_step(act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU, ob0, ob1)
    elif kind == LSTM:
        _lstm.tangent_step(act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU, ob0, ob1)
    elif kind == GRU_BEFORE:
        _gru.tangent_step(False, act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU,
                          ob0, ob1)
    elif kind == GRU_AFTER:
        _gru.tangent_step(True, act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU,
                          ob0, ob1)
    elif kind == MGU:
        _mgu.tangent_step(act, th, Xt, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE, qk, qc, qr, bs, n, D, K, oU, ob0, ob1)


@njit(cache=True, error_model="numpy", inline="always")
def unit_tangents(kind, act, th, XT, start, bs, T, D, S0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ):
    """The specialised one-unit tangent kernel of ``kind`` (those with ``UNIT_TANGENTS``; see
    :func:`dynlatch.cells._lstm.unit_tangents` for the arguments)."""
    if kind == LSTM:
        _lstm.unit_tangents(act, th, XT, start, bs, T, D, S0, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ)
