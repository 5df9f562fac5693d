"""The gated recurrent unit in both conventions: reset before the recurrent matmul (Keras ``reset_after=False``,
Cho et al. 2014) and after it (PyTorch, Keras ``reset_after=True``)."""

from __future__ import annotations

import functools
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from numba import njit

from ._base import Cell, CellParams, StepFunction, Tensor
from . import _compiled as cc
from ._compiled import KernelSpec
from ._init import check_scheme
from ._registry import register

UNIT_ROWS = 8
"""Rows per step of the one-unit training kernels (:data:`dynlatch.cells._compiled.LANES`): x_t, h_{t-1}, z,
(1 - z) h~' and (h - h~) z' (replaced by the candidate's and z's pre-activation gradients in the reverse pass), the
candidate's recurrent input e (r h reset before, h U_h + b^r_h reset after), e r' (replaced by r's pre-activation
gradient) and r."""
_Z, _AH, _AZ, _E, _AR, _R = 2, 3, 4, 5, 6, 7
KERNEL_RESET_BEFORE = KernelSpec(code=2, gates=3, unit_rows=UNIT_ROWS)
KERNEL_RESET_AFTER = KernelSpec(code=3, gates=3, unit_rows=UNIT_ROWS)
"""The compiled kernels of the two conventions (:mod:`dynlatch.cells._kernels`): three gate blocks, state h only;
reset-after also uses bias row 1 (the recurrent bias); one-unit training kernels for both."""


def gru_step(
    params: CellParams, h: Tensor, x: Tensor, gate: Callable[[Tensor], Tensor], reset_after: bool
) -> Tensor:
    """One GRU step of one model; ``h`` (..., n), ``x`` (..., D); gate blocks in Keras order z, r, h; bias rows
    (input, recurrent) on axis -2 (one row unless ``reset_after``); axes counted from the end."""
    n = h.shape[-1]
    W, U, b = params
    xw = torch.matmul(x, W) + b[..., 0, :]
    hu_zr = torch.matmul(h, U[..., : 2 * n])
    if reset_after:
        hu_zr = hu_zr + b[..., 1, : 2 * n]
    z, r = gate(xw[..., : 2 * n] + hu_zr).chunk(2, dim=-1)
    if reset_after:
        candidate = torch.tanh(xw[..., 2 * n :] + r * (torch.matmul(h, U[..., 2 * n :]) + b[..., 1, 2 * n :]))
    else:
        candidate = torch.tanh(xw[..., 2 * n :] + torch.matmul(r * h, U[..., 2 * n :]))
    return z * h + (1 - z) * candidate


@register
class GRU(Cell):
    r"""Gated recurrent unit (Cho et al. 2014):

    .. math::
        z_t &= \sigma(x_t W_z + h_{t-1} U_z + b_z) \\
        r_t &= \sigma(x_t W_r + h_{t-1} U_r + b_r) \\
        \tilde h_t &= \tanh(x_t W_h + (r_t \odot h_{t-1}) U_h + b_h)
            \quad\text{(reset\_after=False, Keras 2 default)} \\
        \tilde h_t &= \tanh(x_t W_h + b_h + r_t \odot (h_{t-1} U_h + b^r_h))
            \quad\text{(reset\_after=True, PyTorch)} \\
        h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t

    With ``reset_after=True`` the bias has two rows, input bias ``b_*`` and recurrent bias ``br_*``, as in Keras;
    for the z and r blocks the two simply add. PyTorch's gate order r, z, n is converted by
    :func:`dynlatch.cells.from_torch` / :func:`dynlatch.cells.to_torch`.
    """

    kind: ClassVar[str] = "gru"
    gate_names: ClassVar[tuple[str, ...]] = ("z", "r", "h")
    torch_modules: ClassVar[tuple[type, ...]] = (torch.nn.GRU, torch.nn.GRUCell)
    keras_layer: ClassVar[str] = "GRU"
    torch_gate_order: ClassVar[tuple[int, ...]] = (1, 0, 2)  # torch r, z, n = Keras blocks 1, 0, 2
    torch_bias_rows: ClassVar[int] = 2
    one_unit_family: ClassVar[str | None] = "gru"

    def __init__(self, kernel: Any, recurrent_kernel: Any, bias: Any, *, reset_after: bool = True, **kw: Any):
        self.reset_after = bool(reset_after)
        super().__init__(kernel, recurrent_kernel, bias, **kw)

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "reset_after": self.reset_after}

    @classmethod
    def torch_options(cls) -> dict[str, Any]:
        return {"reset_after": True}

    @classmethod
    def variants(cls) -> tuple[dict[str, Any], ...]:
        return ({"reset_after": False}, {"reset_after": True})

    @classmethod
    def rows_for(cls, options: dict[str, Any]) -> int:
        return 2 if options.get("reset_after", True) else 1

    @classmethod
    def keras_options(cls, bias: Any, K: int, *, reset_after: bool | None = None) -> dict[str, Any]:
        if bias is None:
            return {"reset_after": bool(reset_after)}
        inferred = np.ndim(bias) == 2
        if reset_after is not None and bool(reset_after) != inferred:
            raise ValueError(f"GRU reset_after={reset_after} needs bias of shape "
                             f"{'(2, 3*units)' if reset_after else '(3*units,)'}; got {np.shape(bias)}")
        return {"reset_after": inferred}

    @classmethod
    def scheme_options(cls, scheme: str) -> dict[str, Any]:
        return {**super().scheme_options(scheme), "reset_after": check_scheme(scheme) == "torch"}

    def step_function(self) -> StepFunction:
        return functools.partial(gru_step, gate=self.gate, reset_after=self.reset_after)

    def one_unit_params(self, xw: Tensor) -> tuple[bool, Tensor]:
        """(offset, slope) of z, r and h, then the candidate's recurrent bias b^r_h, which reset-after keeps inside
        the reset product (so h's offset is x W_h + b_h alone); 0 for reset-before."""
        _, cols = super().one_unit_params(xw)
        recurrent_bias = torch.zeros_like(cols[:, 0])
        if self.reset_after:
            b = self.params.bias
            cols = torch.cat([cols[:, :4], (xw[:, 2] + b[:, 0, 2])[:, None], cols[:, 5:]], dim=1)
            recurrent_bias = b[:, 1, 2]
        return self.reset_after, torch.cat([cols, recurrent_bias[:, None]], dim=1)

    def kernel_code(self) -> int:
        return (KERNEL_RESET_AFTER if self.reset_after else KERNEL_RESET_BEFORE).code


# -- compiled kernels (batch innermost; see dynlatch.cells._compiled); ``after``: the reset-after convention ---------
@njit(cache=True, error_model="numpy")
def forward(after, act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E):
    """Every step t < T of ``bs`` sequences of ``Xb`` (T, D, B) from ``H[t]`` (n, B) and inputs ``Xb[t]``: gate values
    ``A[t]`` (z, r, h~) and derivatives ``G[t]`` (K, B), ``E[t]`` (n, B) r * h (reset before) or h U_h + b^r_h (reset
    after), h_{t+1} into ``H[t + 1]``."""
    for t in range(T):
        Xt = Xb[t]
        Hp = H[t]
        for k in range(2 * n):
            row = A[t, k]
            cc.affine(row, th, Xt, Hp, k, bs, D, K, n, oU, ob0, True)
            if after:
                c = th[ob1 + k]
                for b in range(bs):
                    row[b] += c
            cc.activate(row, G[t, k], act, bs)
        if not after:
            for i in range(n):
                for b in range(bs):
                    E[t, i, b] = A[t, n + i, b] * Hp[i, b]  # r * h
        for j in range(n):
            k = 2 * n + j
            row = A[t, k]
            cc.affine(row, th, Xt, Hp, k, bs, D, K, n, oU, ob0, False)
            if after:
                hu = E[t, j]
                cc.affine(hu, th, Xt, Hp, k, bs, 0, K, n, oU, ob1, True)  # h U_h + b^h_h
                for b in range(bs):
                    row[b] += A[t, n + j, b] * hu[b]
            else:
                for i in range(n):
                    u = th[oU + i * K + k]
                    for b in range(bs):
                        row[b] += E[t, i, b] * u
            cc.activate(row, G[t, k], cc.TANH, bs)
            for b in range(bs):
                z = A[t, j, b]
                H[t + 1, j, b] = z * Hp[j, b] + (1.0 - z) * row[b]


@njit(cache=True, error_model="numpy")
def backward(after, th, Xb, bs, T, n, D, K, oU, ob0, ob1, H, Cs, A, G, E, dH, dC, dZ, dR, dHn, Ga, SN, want_sn):
    """Reverse mode through every step t = T - 1, ..., 0: from dLoss/dh_{t+1} (``dH``) the pre-activation gradients
    ``dZ``, the recurrent kernel's and recurrent bias's gradients (into ``Ga``) and dLoss/dh_t (``dHn``); ``dR`` is
    scratch."""
    for t in range(T - 1, -1, -1):
        Hp = H[t]
        for j in range(n):
            for b in range(bs):
                z = A[t, j, b]
                dh = dH[j, b]
                dZ[2 * n + j, b] = dh * (1.0 - z) * G[t, 2 * n + j, b]
                dZ[j, b] = dh * (Hp[j, b] - A[t, 2 * n + j, b]) * G[t, j, b]
                dHn[j, b] = dh * z
        if after:
            # candidate: a = x W_h + b_h + r * (h U_h + b^h_h); dR[2n:] holds d(h U_h + b^h_h)
            for j in range(n):
                for b in range(bs):
                    da = dZ[2 * n + j, b]
                    dR[2 * n + j, b] = da * A[t, n + j, b]
                    dZ[n + j, b] = da * E[t, j, b] * G[t, n + j, b]
            for k in range(K):
                dr = dZ[k] if k < 2 * n else dR[k]
                for b in range(bs):
                    Ga[ob1 + k, b] += dr[b]
                cc.acc_recurrent(th, Ga, Hp, dr, dHn, k, bs, n, K, oU)
        else:
            # candidate: a = x W_h + (r * h) U_h + b_h; dR[:n] holds d(r * h)
            cc.zero_rows(dR, n, bs)
            for j in range(n):
                cc.acc_recurrent(th, Ga, E[t], dZ[2 * n + j], dR, 2 * n + j, bs, n, K, oU)
            for i in range(n):
                for b in range(bs):
                    dr = dR[i, b]
                    r = A[t, n + i, b]
                    dZ[n + i, b] = dr * Hp[i, b] * G[t, n + i, b]
                    dHn[i, b] += dr * r
            cc.acc_recurrent_columns(th, Ga, Hp, dZ, dHn, 0, 2 * n, bs, n, K, oU)
        cc.accumulate_inputs(Ga, Xb[t], dZ, dHn, dC, SN, t, want_sn, bs, n, D, K, ob0)
        dH, dHn = dHn, dH


@njit(cache=True, error_model="numpy")
def tangents(after, act, th, Xb, bs, T, n, D, K, oU, ob0, ob1, qk, qc, qr, H, Cs, Hn, Cn, A, G, E, dH, dC, dZ, dE):
    """Forward mode through every step of ``Xb`` (T, D, B), h_t kept in ``H`` (``Hn`` scratch): ``Hn`` <- h' and, for
    every chosen parameter q, ``dH[q]`` <- dh'/dp_q by the chain rule through h' = z h + (1 - z) h~."""
    for t in range(T):
        Xt = Xb[t]
        for k in range(2 * n):
            row = A[k]
            cc.affine(row, th, Xt, H, k, bs, D, K, n, oU, ob0, True)
            if after:
                c = th[ob1 + k]
                for b in range(bs):
                    row[b] += c
            cc.activate(row, G[k], act, bs)
        if not after:
            for i in range(n):
                for b in range(bs):
                    E[i, b] = A[n + i, b] * H[i, b]  # r * h
        for j in range(n):
            k = 2 * n + j
            row = A[k]
            cc.affine(row, th, Xt, H, k, bs, D, K, n, oU, ob0, False)
            if after:
                hu = E[j]
                cc.affine(hu, th, Xt, H, k, bs, 0, K, n, oU, ob1, True)  # h U_h + b^h_h
                for b in range(bs):
                    row[b] += A[n + j, b] * hu[b]
            else:
                for i in range(n):
                    u = th[oU + i * K + k]
                    for b in range(bs):
                        row[b] += E[i, b] * u
            cc.activate(row, G[k], cc.TANH, bs)
            for b in range(bs):
                z = A[j, b]
                Hn[j, b] = z * H[j, b] + (1.0 - z) * row[b]
        for q in range(qk.shape[0]):
            kq, cq, rq = qk[q], qc[q], qr[q]
            for k in range(2 * n):  # update and reset gates
                cc.form_tangent(dZ[k], th, dH[q], H, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, True, after)
                for b in range(bs):
                    dZ[k, b] *= G[k, b]
            if not after:  # dE: the tangent of r * h, the candidate's recurrent input
                for i in range(n):
                    for b in range(bs):
                        dE[i, b] = dZ[n + i, b] * H[i, b] + A[n + i, b] * dH[q, i, b]
            for j in range(n):
                k = 2 * n + j
                if after:  # a = x W_h + b_h + r * hu, hu = h U_h + br_h
                    cc.form_tangent(dZ[k], th, dH[q], H, Xt, k, bs, D, K, n, oU, kq, cq, rq, False, True, True)
                    cc.form_tangent(dE[j], th, dH[q], H, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, False, False)
                    for b in range(bs):  # dZ[k] holds d hu, dE[j] the input part
                        da = dE[j, b] + dZ[n + j, b] * E[j, b] + A[n + j, b] * dZ[k, b]
                        dZ[k, b] = G[k, b] * da
                else:  # a = x W_h + (r * h) U_h + b_h
                    cc.form_tangent(dZ[k], th, dE, E, Xt, k, bs, D, K, n, oU, kq, cq, rq, True, True, False)
                    for b in range(bs):
                        dZ[k, b] *= G[k, b]
            for j in range(n):
                k = 2 * n + j
                for b in range(bs):
                    z = A[j, b]
                    dH[q, j, b] = dZ[j, b] * (H[j, b] - A[k, b]) + z * dH[q, j, b] + (1.0 - z) * dZ[k, b]
        cc.copy_rows(H, Hn, n, bs)


# -- one-unit training kernels (blocks of cc.LANES sequences, see dynlatch.cells._compiled.LANES) ---------------------
@njit(cache=True, error_model="numpy", inline="always")
def _unit_step(after, sigmoid, slope, p, s, Ln, b):
    """One step of :func:`unit_forward` for sequence ``b`` of the block (``p``: W, U, b and b^r, three each)."""
    L = cc.LANES
    Wz, Wr, Wh, Uz, Ur, Uh, bz, br, bh, rz, rr, rh = p
    x = s[cc.X_ROW * L + b]
    hp = Ln[cc.H_ROW * L + b]
    if after:
        z, dz = cc.gate(sigmoid, slope, ((bz + x * Wz) + hp * Uz) + rz)
        r, dr = cc.gate(sigmoid, slope, ((br + x * Wr) + hp * Ur) + rr)
        e = rh + hp * Uh
        hh = cc.tanh_pade((bh + x * Wh) + r * e)
        s[_AR * L + b] = e * dr
    else:
        z, dz = cc.gate(sigmoid, slope, (bz + x * Wz) + hp * Uz)
        r, dr = cc.gate(sigmoid, slope, (br + x * Wr) + hp * Ur)
        e = r * hp
        hh = cc.tanh_pade((bh + x * Wh) + e * Uh)
        s[_AR * L + b] = hp * dr
    Ln[cc.H_ROW * L + b] = z * hp + (1.0 - z) * hh
    s[cc.HPREV_ROW * L + b] = hp
    s[_Z * L + b] = z
    s[_AH * L + b] = (1.0 - z) * (1.0 - hh * hh)
    s[_AZ * L + b] = (hp - hh) * dz
    s[_E * L + b] = e
    s[_R * L + b] = r


@njit(cache=True, error_model="numpy")
def unit_forward(after, act, th, S, Ln, nb, T):
    """:func:`forward` for one unit and one input (n = D = 1) on a block of ``nb`` <= LANES sequences, one loop per
    step: from h in the lane rows,

        z = sigma(b_z + x W_z + h U_z [+ b^r_z]),  r = sigma(b_r + x W_r + h U_r [+ b^r_r]),
        h~ = tanh(b_h + x W_h + e),  e = (r h) U_h (reset before) or r (h U_h + b^r_h) (reset after),
        h' = z h + (1 - z) h~,

    storing per step h, z, (1 - z) h~', (h - h~) z', e's factor (r h or h U_h + b^r_h) times r' (as e r') and r
    (primes: derivatives at the pre-activations). Gates and tanh in the Pade forms of
    :mod:`dynlatch.cells._compiled`."""
    L = cc.LANES
    R = UNIT_ROWS
    p = (th[0], th[1], th[2], th[3], th[4], th[5], th[6], th[7], th[8], th[9], th[10], th[11])
    slope = cc.hard_slope(act)
    for t in range(T):
        s = S[t * R * L : (t + 1) * R * L]
        if after and act == 0:
            for b in range(nb):
                _unit_step(True, True, slope, p, s, Ln, b)
        elif after:
            for b in range(nb):
                _unit_step(True, False, slope, p, s, Ln, b)
        elif act == 0:
            for b in range(nb):
                _unit_step(False, True, slope, p, s, Ln, b)
        else:
            for b in range(nb):
                _unit_step(False, False, slope, p, s, Ln, b)


@njit(cache=True, error_model="numpy")
def unit_backward(after, th, S, Ln, nb, T, SN, want_sn):
    """:func:`backward` for one unit (n = D = 1) on a block stored by :func:`unit_forward`, one loop per step: from
    dLoss/dh' (lane row) the pre-activation gradients da (candidate) = dh' (1 - z) h~', dz = dh' (h - h~) z', and

        reset before: de = da U_h, dr = de h r',  dLoss/dh = dh' z + de r + U_z dz + U_r dr,
        reset after:  de = da r,   dr = da e r',  dLoss/dh = dh' z + U_z dz + U_r dr + U_h de,

    with per sequence W_k += x dz_k, U_k += h dz_k (U_h += e da reset before, h de after), b_k += dz_k and reset after
    b^r_k += dz_k (b^r_h += de) into the accumulator rows. With ``want_sn``, ``SN[t]`` += the block's
    ||dLoss/dh_t||^2."""
    L = cc.LANES
    R = UNIT_ROWS
    A = cc.ACC_ROW
    Uz, Ur, Uh = th[3], th[4], th[5]
    for t in range(T - 1, -1, -1):
        s = S[t * R * L : (t + 1) * R * L]
        if after:
            for b in range(nb):
                dh = Ln[cc.DH_ROW * L + b]
                da = dh * s[_AH * L + b]
                dz = dh * s[_AZ * L + b]
                de = da * s[_R * L + b]
                dr = da * s[_AR * L + b]
                x = s[cc.X_ROW * L + b]
                hp = s[cc.HPREV_ROW * L + b]
                Ln[A * L + b] += x * dz
                Ln[(A + 1) * L + b] += x * dr
                Ln[(A + 2) * L + b] += x * da
                Ln[(A + 3) * L + b] += hp * dz
                Ln[(A + 4) * L + b] += hp * dr
                Ln[(A + 5) * L + b] += hp * de
                Ln[(A + 6) * L + b] += dz
                Ln[(A + 7) * L + b] += dr
                Ln[(A + 8) * L + b] += da
                Ln[(A + 9) * L + b] += dz
                Ln[(A + 10) * L + b] += dr
                Ln[(A + 11) * L + b] += de
                Ln[cc.DH_ROW * L + b] = ((dh * s[_Z * L + b] + Uz * dz) + Ur * dr) + Uh * de
        else:
            for b in range(nb):
                dh = Ln[cc.DH_ROW * L + b]
                da = dh * s[_AH * L + b]
                dz = dh * s[_AZ * L + b]
                de = Uh * da
                dr = de * s[_AR * L + b]
                x = s[cc.X_ROW * L + b]
                hp = s[cc.HPREV_ROW * L + b]
                Ln[A * L + b] += x * dz
                Ln[(A + 1) * L + b] += x * dr
                Ln[(A + 2) * L + b] += x * da
                Ln[(A + 3) * L + b] += hp * dz
                Ln[(A + 4) * L + b] += hp * dr
                Ln[(A + 5) * L + b] += s[_E * L + b] * da
                Ln[(A + 6) * L + b] += dz
                Ln[(A + 7) * L + b] += dr
                Ln[(A + 8) * L + b] += da
                Ln[cc.DH_ROW * L + b] = ((dh * s[_Z * L + b] + de * s[_R * L + b]) + Uz * dz) + Ur * dr
        if want_sn:
            cc.add_state_norm(SN, t, Ln, nb)
