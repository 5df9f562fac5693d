"""The one-unit cells as scalar equations: point forms and derivative enclosures, compiled (numba), per model.

A one-unit cell at constant input x is a map of scalars: every gate pre-activation is affine in h,
``a_j(h) = offset_j + slope_j h`` (:func:`gates`, read from ``cell.params``; block j of gate g is column j), and the
gate functions are the cell's (sigmoid, Keras 2's hard sigmoid clip(0.2 z + 0.5, 0, 1), Keras 3's clip(z / 6 + 0.5,
0, 1)). This module is the one place where these scalar equations are written, in two forms that the certified root
finder (:mod:`dynlatch.dynamics._roots`) and the fixed-point table (:mod:`dynlatch.dynamics._fixed_points`) use:

* **point forms** (one h, one model): F(h) of the SRNN (tanh(a + u h)) and GRU (z h + (1 - z) h~), the GRU gap
  h~(h) - h, the LSTM's scalar fixed-point equation g(h) = o tanh(c*) - h with c* = i tanh(a_c + u_c h) / (1 - f);
* **enclosures** (an interval [h_lo, h_hi], one model): an interval holding every value of the function on it, and
  one holding every (Clarke generalised) derivative, by interval arithmetic on the same expressions (the plain
  enclosures of :mod:`dynlatch.dynamics._intervals`; the finder allows for their rounding).

Equations (``EQ_*`` codes, used by the compiled kernels):

* ``EQ_SRNN_FIXED``: tanh(a + u h) - h;   ``EQ_SRNN_CYCLE``: F(F(h)) - h;
* ``EQ_GRU_FIXED``: h~(h) - h, the fixed points off the flat pieces of a hard update gate (the fixed-point condition
  is (1 - z)(h~ - h) = 0, and 1 - z > 0 there); ``EQ_GRU_CYCLE``: F(F(h)) - h;
* ``EQ_LSTM_FIXED``: o tanh(c*) - h where 1 - f > 0 (where 1 - f = 0 and i g != 0 its limit sign(i g) o - h).

The torch-facing helpers :func:`next_h`, :func:`fixed_point_equation` and :func:`lstm_cell_state` evaluate the same
compiled point forms on (M, P) grids; ``tests/test_dynamics_one_unit.py`` checks them against ``cell.step_batched``
for every kind and gate function, and the enclosures against sampled values and finite differences.

The compiled kernel of the certified root finder (method and guarantee: :mod:`dynlatch.dynamics._roots`) is here
too; its bracketing refinements are :mod:`dynlatch.dynamics._brackets`'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from numba import njit, prange

from .._activations import gate_code
from ..cells._compiled import hard_slope
from ._brackets import bisect_sign_change, illinois
from ._intervals import INF, affine_range, gate_slope_range, gate_value, mul, sech2_range

Tensor = torch.Tensor

KIND_CODE = {"srnn": 0, "gru": 1, "lstm": 2}
EQ_SRNN_FIXED, EQ_SRNN_CYCLE, EQ_GRU_FIXED, EQ_GRU_CYCLE, EQ_LSTM_FIXED = 0, 1, 2, 3, 4
# point forms evaluated by the grid helpers
FORM_NEXT_H, FORM_FIXED_POINT, FORM_LSTM_CELL_STATE = 0, 1, 2



@dataclass
class Gate:
    """Pre-activation of one gate block as an affine function of h: a(h) = offset + slope * h, each (M, 1).

    For GRU with reset_after the candidate block's recurrent bias sits inside the reset product and is kept
    separately in ``recurrent_bias``.
    """

    offset: Tensor
    slope: Tensor
    recurrent_bias: Tensor | None = None

    def __call__(self, h: Tensor) -> Tensor:
        return self.offset + self.slope * h


def gates(cell: Any, x: Tensor) -> list[Gate]:
    """The affine pre-activations of every block of a one-unit cell at constant input ``x`` (M, 1, D), in the kind's
    own block order (a block kept apart from its recurrent bias by a reset-after product gets ``recurrent_bias``)."""
    W, U, b = cell.params
    xw = torch.matmul(x[:, :1, :], W)[:, 0, :]  # (M, K)
    reset_after = bool(getattr(cell, "reset_after", False))
    out = []
    for j, name in enumerate(cell.gate_names):
        if reset_after and name in cell.tanh_blocks:
            out.append(Gate(xw[:, j : j + 1] + b[:, 0, j : j + 1], U[:, 0, j : j + 1], b[:, 1, j : j + 1]))
        else:
            out.append(Gate(xw[:, j : j + 1] + b[:, :, j].sum(1, keepdim=True), U[:, 0, j : j + 1]))
    return out


@dataclass
class OneUnitSystem:
    """A batch of one-unit cells at constant input as scalar systems, the compiled kernels' input.

    Attributes:
        kind: the equation family, ``"srnn"``, ``"gru"`` or ``"lstm"`` (a cell's ``one_unit_family``).
        gate: gate-function code (0 sigmoid, 1 Keras-2 hard sigmoid, 2 Keras-3 hard sigmoid).
        reset_after: GRU convention (False for the others).
        params: (M, P) float64, per model the (offset, slope) of every gate block in Keras order, then for the GRU
            the candidate's recurrent bias (0 unless reset_after): SRNN (a, u); GRU (a_z, u_z, a_r, u_r, a_h, u_h,
            b^r_h); LSTM (a_i, u_i, a_f, u_f, a_c, u_c, a_o, u_o).
    """

    kind: str
    gate: int
    reset_after: bool
    params: np.ndarray

    @property
    def models(self) -> int:
        return self.params.shape[0]

    def __getitem__(self, index: Any) -> "OneUnitSystem":
        return OneUnitSystem(self.kind, self.gate, self.reset_after, np.ascontiguousarray(self.params[index]))


def one_unit_system(cell: Any, x: Tensor) -> OneUnitSystem:
    """The scalar system of a batch of one-unit cells at constant input ``x`` (M, 1, D): the equations of the kind's
    ``one_unit_family`` with the parameters its :meth:`~dynlatch.cells.Cell.one_unit_params` gives.

    Raises:
        ValueError: for a cell of more than one unit, or of a kind without a one-unit reduction.
    """
    if cell.units != 1:
        raise ValueError(f"one_unit_system needs a one-unit cell; got {cell.units} units")
    family = cell.one_unit_family
    if family not in KIND_CODE:
        raise ValueError(f"the {cell.kind} cell declares no one-unit reduction (one_unit_family = {family!r}); "
                         f"the known ones are {', '.join(KIND_CODE)}")
    with torch.no_grad():
        cell = cell.to(dtype=torch.float64)
        xw = torch.matmul(x[:, :1, :].to(torch.float64), cell.params.kernel)[:, 0, :]
        reset_after, params = cell.one_unit_params(xw)
        params = params.cpu().numpy().astype(np.float64)
    code = gate_code(cell.recurrent_activation) if cell.gated else 0
    return OneUnitSystem(family, code, reset_after, np.ascontiguousarray(params))


# -- point forms ------------------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def srnn_next(h: float, p: np.ndarray) -> float:
    """SRNN: F(h) = tanh(a + u h)."""
    return np.tanh(p[0] + p[1] * h)


@njit(cache=True, error_model="numpy")
def gru_candidate(h: float, p: np.ndarray, code: int, reset_after: bool) -> float:
    """GRU candidate h~(h) = tanh(a_h + r (u_h h + b^r_h)) (reset_after) or tanh(a_h + u_h (r h))."""
    r = gate_value(p[2] + p[3] * h, code)
    if reset_after:
        return np.tanh(p[4] + r * (p[5] * h + p[6]))
    return np.tanh(p[4] + p[5] * (r * h))


@njit(cache=True, error_model="numpy")
def gru_next(h: float, p: np.ndarray, code: int, reset_after: bool) -> float:
    """GRU: F(h) = z h + (1 - z) h~, z = gate(a_z + u_z h) (as the cell's step computes it)."""
    z = gate_value(p[0] + p[1] * h, code)
    return z * h + (1.0 - z) * gru_candidate(h, p, code, reset_after)


@njit(cache=True, error_model="numpy")
def lstm_parts(h: float, p: np.ndarray, code: int) -> tuple[float, float, float]:
    """LSTM at hidden value h: (i g, 1 - f, o) with 1 - f = gate(-a_f) (the gates are point-symmetric)."""
    drive = gate_value(p[0] + p[1] * h, code) * np.tanh(p[4] + p[5] * h)
    one_minus_f = gate_value(-(p[2] + p[3] * h), code)
    return drive, one_minus_f, gate_value(p[6] + p[7] * h, code)


@njit(cache=True, error_model="numpy")
def lstm_equation(h: float, p: np.ndarray, code: int) -> float:
    """LSTM: o tanh(c*) - h, c* = i g / (1 - f). Where 1 - f = 0 (a hard forget gate's kink, at the end of a piece):
    the limit sign(i g) o - h, and -h where i g = 0 too (c* = 0, the limit where a hard input gate is shut)."""
    drive, omf, o = lstm_parts(h, p, code)
    if omf > 0.0:
        return o * np.tanh(drive / omf) - h
    if drive > 0.0:
        return o - h
    if drive < 0.0:
        return -o - h
    return -h


@njit(cache=True, error_model="numpy")
def lstm_cell_value(h: float, p: np.ndarray, code: int) -> float:
    """c at the LSTM fixed point with hidden value h: i g / (1 - f), or artanh(h / o) where 1 - f = 0."""
    drive, omf, o = lstm_parts(h, p, code)
    if omf > 0.0:
        return drive / omf
    return np.arctanh(h / o)


@njit(cache=True, error_model="numpy")
def map_next(kind: int, h: float, p: np.ndarray, code: int, reset_after: bool) -> float:
    """F(h) of an SRNN (kind 0) or GRU (kind 1)."""
    if kind == 0:
        return srnn_next(h, p)
    return gru_next(h, p, code, reset_after)


@njit(cache=True, error_model="numpy")
def point(h: float, eq: int, p: np.ndarray, code: int, reset_after: bool) -> float:
    """The value at h of equation ``eq`` (``EQ_*``)."""
    if eq == EQ_SRNN_FIXED:
        return srnn_next(h, p) - h
    if eq == EQ_SRNN_CYCLE:
        return srnn_next(srnn_next(h, p), p) - h
    if eq == EQ_GRU_FIXED:
        return gru_candidate(h, p, code, reset_after) - h
    if eq == EQ_GRU_CYCLE:
        return gru_next(gru_next(h, p, code, reset_after), p, code, reset_after) - h
    return lstm_equation(h, p, code)


# -- enclosures -------------------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def srnn_next_range(lo: float, hi: float, p: np.ndarray) -> tuple[float, float, float, float]:
    """Enclosures of F and F' = u sech^2(a + u h) over h in [lo, hi]: (F_lo, F_hi, F'_lo, F'_hi)."""
    zl, zh = affine_range(p[0], p[1], lo, hi)
    sl, sh = sech2_range(zl, zh)
    dl, dh = mul(sl, sh, p[1], p[1])
    return np.tanh(zl), np.tanh(zh), dl, dh


@njit(cache=True, error_model="numpy")
def gru_ranges(lo: float, hi: float, p: np.ndarray, code: int, reset_after: bool):
    """Enclosures over h in [lo, hi] of z, 1 - z, z', h~ and h~': ten numbers (lo, hi of each)."""
    zl, zh = affine_range(p[0], p[1], lo, hi)
    Zl, Zh = gate_value(zl, code), gate_value(zh, code)
    OZl, OZh = gate_value(-zh, code), gate_value(-zl, code)
    gl, gh = gate_slope_range(zl, zh, code)
    Zdl, Zdh = mul(gl, gh, p[1], p[1])
    rl, rh = affine_range(p[2], p[3], lo, hi)
    Rl, Rh = gate_value(rl, code), gate_value(rh, code)
    gl, gh = gate_slope_range(rl, rh, code)
    Rdl, Rdh = mul(gl, gh, p[3], p[3])
    if reset_after:
        Al, Ah = affine_range(p[6], p[5], lo, hi)  # u_h h + b^r_h
        ql, qh = mul(Rl, Rh, Al, Ah)
        ql, qh = p[4] + ql, p[4] + qh
        t1l, t1h = mul(Rdl, Rdh, Al, Ah)
        t2l, t2h = mul(Rl, Rh, p[5], p[5])
        Qdl, Qdh = t1l + t2l, t1h + t2h
    else:
        rhl, rhh = mul(Rl, Rh, lo, hi)
        ql, qh = mul(p[5], p[5], rhl, rhh)
        ql, qh = p[4] + ql, p[4] + qh
        t1l, t1h = mul(Rdl, Rdh, lo, hi)
        Qdl, Qdh = mul(p[5], p[5], t1l + Rl, t1h + Rh)
    sl, sh = sech2_range(ql, qh)
    Cdl, Cdh = mul(sl, sh, Qdl, Qdh)
    return Zl, Zh, OZl, OZh, Zdl, Zdh, np.tanh(ql), np.tanh(qh), Cdl, Cdh


@njit(cache=True, error_model="numpy")
def gru_next_range(lo: float, hi: float, p: np.ndarray, code: int, reset_after: bool
                   ) -> tuple[float, float, float, float]:
    """Enclosures of F = z h + (1 - z) h~ and F' = z' (h - h~) + z + (1 - z) h~' over [lo, hi]."""
    Zl, Zh, OZl, OZh, Zdl, Zdh, Cl, Ch, Cdl, Cdh = gru_ranges(lo, hi, p, code, reset_after)
    al, ah = mul(Zl, Zh, lo, hi)
    bl, bh = mul(OZl, OZh, Cl, Ch)
    t1l, t1h = mul(Zdl, Zdh, lo - Ch, hi - Cl)
    t3l, t3h = mul(OZl, OZh, Cdl, Cdh)
    return al + bl, ah + bh, t1l + Zl + t3l, t1h + Zh + t3h


@njit(cache=True, error_model="numpy")
def lstm_range(lo: float, hi: float, p: np.ndarray, code: int) -> tuple[float, float, float, float]:
    """Enclosures of g = o tanh(c*) - h and g' over [lo, hi] (c* = D / E, D = i tanh(a_c + u_c h), E = 1 - f):
    g' = o' tanh(c*) + o sech^2(c*) c*' - 1, c*' = (D' E - D E') / E^2."""
    zl, zh = affine_range(p[0], p[1], lo, hi)
    Il, Ih = gate_value(zl, code), gate_value(zh, code)
    sl, sh = gate_slope_range(zl, zh, code)
    Idl, Idh = mul(sl, sh, p[1], p[1])
    zl, zh = affine_range(p[2], p[3], lo, hi)
    El, Eh = gate_value(-zh, code), gate_value(-zl, code)
    sl, sh = gate_slope_range(zl, zh, code)
    Edl, Edh = mul(sl, sh, -p[3], -p[3])
    zl, zh = affine_range(p[4], p[5], lo, hi)
    Tl, Th = np.tanh(zl), np.tanh(zh)
    sl, sh = sech2_range(zl, zh)
    Tdl, Tdh = mul(sl, sh, p[5], p[5])
    zl, zh = affine_range(p[6], p[7], lo, hi)
    Ol, Oh = gate_value(zl, code), gate_value(zh, code)
    sl, sh = gate_slope_range(zl, zh, code)
    Odl, Odh = mul(sl, sh, p[7], p[7])
    Dl, Dh = mul(Il, Ih, Tl, Th)
    t1l, t1h = mul(Idl, Idh, Tl, Th)
    t2l, t2h = mul(Il, Ih, Tdl, Tdh)
    Ddl, Ddh = t1l + t2l, t1h + t2h
    if El > 0.0:
        Cl, Ch = mul(Dl, Dh, 1.0 / Eh, 1.0 / El)
        a1l, a1h = mul(Ddl, Ddh, El, Eh)
        a2l, a2h = mul(Dl, Dh, Edl, Edh)
        Cdl, Cdh = mul(a1l - a2h, a1h - a2l, 1.0 / (Eh * Eh), 1.0 / (El * El))
    elif Dl == 0.0 and Dh == 0.0 and Ddl == 0.0 and Ddh == 0.0:  # i g = 0 on the interval (a shut hard input gate)
        Cl = Ch = Cdl = Cdh = 0.0
    else:
        if Dl > 0.0:
            Cl, Ch = Dl / Eh, INF
        elif Dh < 0.0:
            Cl, Ch = -INF, Dh / Eh
        else:
            Cl, Ch = -INF, INF
        Cdl, Cdh = -INF, INF
    Sl, Sh = np.tanh(Cl), np.tanh(Ch)
    s2l, s2h = sech2_range(Cl, Ch)
    Sdl, Sdh = mul(s2l, s2h, Cdl, Cdh)
    gl, gh = mul(Ol, Oh, Sl, Sh)
    u1l, u1h = mul(Odl, Odh, Sl, Sh)
    v1l, v1h = mul(Ol, Oh, Sdl, Sdh)
    return gl - hi, gh - lo, u1l + v1l - 1.0, u1h + v1h - 1.0


@njit(cache=True, error_model="numpy")
def map_next_range(kind: int, lo: float, hi: float, p: np.ndarray, code: int, reset_after: bool):
    if kind == 0:
        return srnn_next_range(lo, hi, p)
    return gru_next_range(lo, hi, p, code, reset_after)


@njit(cache=True, error_model="numpy")
def enclosure(eq: int, lo: float, hi: float, mid: float, f_mid: float, p: np.ndarray, code: int, reset_after: bool,
              eta_map: float) -> tuple[float, float, float, float]:
    """Enclosures (g_lo, g_hi, g'_lo, g'_hi) of equation ``eq`` over [lo, hi] (rounding not included).

    For the 2-cycle equations g = F(F(h)) - h the inner image F([lo, hi]) is enclosed by the intersection of the
    interval evaluation and the mean value form F(mid) +- r max|F'| (``f_mid`` = F(mid), widened by ``eta_map``),
    then g' = F'(F(h)) F'(h) - 1 by interval products.
    """
    if eq == EQ_SRNN_FIXED:
        Fl, Fh, dl, dh = srnn_next_range(lo, hi, p)
        return Fl - hi, Fh - lo, dl - 1.0, dh - 1.0
    if eq == EQ_GRU_FIXED:
        ranges = gru_ranges(lo, hi, p, code, reset_after)
        return ranges[6] - hi, ranges[7] - lo, ranges[8] - 1.0, ranges[9] - 1.0
    if eq == EQ_LSTM_FIXED:
        return lstm_range(lo, hi, p, code)
    kind = 0 if eq == EQ_SRNN_CYCLE else 1
    Fl, Fh, dl, dh = map_next_range(kind, lo, hi, p, code, reset_after)
    spread = 0.5 * (hi - lo) * max(abs(dl), abs(dh)) + eta_map
    Jl = max(Fl, f_mid - spread)
    Jh = min(Fh, f_mid + spread)
    if not Jl <= Jh:  # rounding: keep the interval evaluation
        Jl, Jh = Fl, Fh
    F2l, F2h, d2l, d2h = map_next_range(kind, Jl, Jh, p, code, reset_after)
    ql, qh = mul(d2l, d2h, dl, dh)
    return F2l - hi, F2h - lo, ql - 1.0, qh - 1.0


# -- grid evaluation of the point forms (the torch-facing helpers) ----------------------------------------------------
@njit(cache=True, error_model="numpy", parallel=True)
def evaluate_form(form: int, kind: int, params: np.ndarray, H: np.ndarray, code: int, reset_after: bool
                  ) -> np.ndarray:
    """A point form at H (M, P), row m with the parameters of model m: F(h) (``FORM_NEXT_H``, SRNN / GRU), the
    fixed-point condition (``FORM_FIXED_POINT``: SRNN F - h, GRU (1 - z)(h~ - h), LSTM o tanh(c*) - h with 0 on a
    line of fixed points (1 - f = 0, i g = 0, |h| < o) and NaN where 1 - f = 0 otherwise) or the LSTM's c*
    (``FORM_LSTM_CELL_STATE``)."""
    M, P = H.shape
    out = np.empty((M, P))
    for m in prange(M):
        p = params[m]
        for k in range(P):
            h = H[m, k]
            if form == FORM_NEXT_H:
                out[m, k] = map_next(kind, h, p, code, reset_after)
            elif form == FORM_LSTM_CELL_STATE:
                out[m, k] = lstm_cell_value(h, p, code)
            elif kind == 0:
                out[m, k] = srnn_next(h, p) - h
            elif kind == 1:
                one_minus_z = gate_value(-(p[0] + p[1] * h), code)
                out[m, k] = one_minus_z * (gru_candidate(h, p, code, reset_after) - h)
            else:
                drive, omf, o = lstm_parts(h, p, code)
                if omf > 0.0:
                    out[m, k] = o * np.tanh(drive / omf) - h
                elif drive == 0.0 and abs(h) < o:
                    out[m, k] = 0.0
                else:
                    out[m, k] = np.nan
    return out


@njit(cache=True, error_model="numpy", parallel=True)
def evaluate_equation(eq: int, params: np.ndarray, H: np.ndarray, code: int, reset_after: bool) -> np.ndarray:
    """Equation ``eq`` (``EQ_*``) at H (M, P)."""
    M, P = H.shape
    out = np.empty((M, P))
    for m in prange(M):
        for k in range(P):
            out[m, k] = point(H[m, k], eq, params[m], code, reset_after)
    return out


@njit(cache=True, error_model="numpy", parallel=True)
def evaluate_enclosure(eq: int, params: np.ndarray, lo: np.ndarray, hi: np.ndarray, code: int, reset_after: bool
                       ) -> np.ndarray:
    """Enclosures (g_lo, g_hi, g'_lo, g'_hi) of equation ``eq`` over [lo[m, k], hi[m, k]], (M, P, 4)."""
    M, P = lo.shape
    out = np.empty((M, P, 4))
    kind = 0 if eq == EQ_SRNN_CYCLE else 1
    for m in prange(M):
        p = params[m]
        for k in range(P):
            mid = 0.5 * (lo[m, k] + hi[m, k])
            f_mid = map_next(kind, mid, p, code, reset_after) if eq == EQ_SRNN_CYCLE or eq == EQ_GRU_CYCLE else 0.0
            r = enclosure(eq, lo[m, k], hi[m, k], mid, f_mid, p, code, reset_after, 0.0)
            out[m, k, 0], out[m, k, 1], out[m, k, 2], out[m, k, 3] = r
    return out


def _grid_form(form: int, cell: Any, x: Tensor) -> Callable[[Tensor], Tensor]:
    system = one_unit_system(cell, x)
    kind = KIND_CODE[system.kind]

    def f(h: Tensor) -> Tensor:
        H = np.ascontiguousarray(np.broadcast_to(h.detach().cpu().numpy().astype(np.float64),
                                                 (system.models, h.shape[-1])))
        out = evaluate_form(form, kind, system.params, H, system.gate, system.reset_after)
        return torch.as_tensor(out, dtype=torch.float64)

    return f


def next_h(cell: Any, x: Tensor) -> Callable[[Tensor], Tensor]:
    """F(h) of a one-unit cell whose state is h alone (the SRNN and GRU families: SRNN, GRU, MGU) at constant input
    ``x`` (M, 1, D): h (M, P) -> (M, P) (compiled point form)."""
    if cell.one_unit_family not in ("srnn", "gru"):
        raise ValueError(f"next_h is for one-unit maps of h alone (SRNN and GRU families), not the {cell.kind}")
    return _grid_form(FORM_NEXT_H, cell, x)


def fixed_point_equation(cell: Any, x: Tensor) -> Callable[[Tensor], Tensor]:
    """g(h) whose roots in [-1, 1] are the h of every fixed point (see :mod:`dynlatch.dynamics._fixed_points`).

    SRNN: tanh(a(h)) - h. GRU: (1 - z)(h~ - h), with 1 - z = gate(-a_z) exactly 0 on a hard gate's flat piece (a
    continuum). LSTM: o tanh(c*) - h, c* = i g / (1 - f); where 1 - f = 0: 0 if i g = 0 and |h| < o (a line of fixed
    points), NaN (no fixed point) otherwise.
    """
    return _grid_form(FORM_FIXED_POINT, cell, x)


def lstm_cell_state(cell: Any, x: Tensor, h: Tensor) -> Tensor:
    """c at the LSTM fixed point with hidden value h (M, P): c* = i g / (1 - f), or artanh(h / o) on a line of fixed
    points."""
    return _grid_form(FORM_LSTM_CELL_STATE, cell, x)(h)


# -- certified subdivision (the method and its guarantee: :mod:`dynlatch.dynamics._roots`) -----------------------------------------------------------------
EPS = float(np.finfo(np.float64).eps)
STACK = 256
STATUS_OK, STATUS_BUDGET = 0, 1


@njit(cache=True, error_model="numpy")
def _sign_eta(v: float, eta: float) -> int:
    """Sign of v beyond the allowance eta (0 inside it, and for NaN)."""
    if v > eta:
        return 1
    if v < -eta:
        return -1
    return 0


@njit(cache=True, error_model="numpy")
def _emit(out_h: np.ndarray, out_mult: np.ndarray, n: int, x: float, mult: int) -> int:
    if n < out_h.size:
        out_h[n] = x
        out_mult[n] = mult
    return n + 1


@njit(cache=True, error_model="numpy")
def _close_cluster(eq: int, p: np.ndarray, code: int, ra: bool, A: float, B: float, sL: int, sR: int, mono: bool,
                   best_x: float, gA: float, gB: float, out_h: np.ndarray, out_mult: np.ndarray, n: int) -> int:
    """Report a cluster of unresolved leaves (module docstring)."""
    if mono:
        if sL != 0 and sR != 0:
            if sL != sR:
                return _emit(out_h, out_mult, n, bisect_sign_change(point, (eq, p, code, ra), A, B, sL), 1)
            return n
        # an end within eta of 0 (NaN ends carry no information)
        a_ok = sL == 0 and (sR != 0 or gB != gB or abs(gA) <= abs(gB))
        x = A if a_ok else B
        gx = gA if a_ok else gB
        if gx == gx:
            return _emit(out_h, out_mult, n, x, 1)
        return n
    if sL * sR < 0:
        return _emit(out_h, out_mult, n, bisect_sign_change(point, (eq, p, code, ra), A, B, sL), 3)
    return _emit(out_h, out_mult, n, best_x, 2)


@njit(cache=True, error_model="numpy")
def certify_piece(eq: int, p: np.ndarray, code: int, ra: bool, lo: float, hi: float, eta: float, eta_map: float,
                  dslack: float, tol: float, max_leaves: int, out_h: np.ndarray, out_mult: np.ndarray, n: int
                  ) -> tuple[int, int]:
    """Every root of equation ``eq`` on the smooth piece [lo, hi] by certified subdivision (module docstring).

    Returns:
        (number of roots written so far (may exceed the capacity of ``out_h``), status).
    """
    cycle = eq == EQ_SRNN_CYCLE or eq == EQ_GRU_CYCLE
    kind = 0 if eq == EQ_SRNN_CYCLE else 1
    sa = np.empty(STACK)
    sb = np.empty(STACK)
    sga = np.empty(STACK)
    sgb = np.empty(STACK)
    g_lo = point(lo, eq, p, code, ra)
    g_hi = point(hi, eq, p, code, ra)
    sa[0], sb[0], sga[0], sgb[0] = lo, hi, g_lo, g_hi
    top = 1
    prev = _sign_eta(g_lo, eta)
    open_ = False
    A = B = best_x = gA = gB = 0.0
    best_g = np.inf
    sL = 0
    mono_all = True
    direction = 0
    leaves = 0
    status = STATUS_OK
    while top > 0:
        top -= 1
        a, b, ga, gb = sa[top], sb[top], sga[top], sgb[top]
        m = 0.5 * (a + b)
        r = 0.5 * (b - a)
        if cycle:
            fm = map_next(kind, m, p, code, ra)
            gm = map_next(kind, fm, p, code, ra) - m
        else:
            fm = 0.0
            gm = point(m, eq, p, code, ra)
        gl, gh, dl, dh = enclosure(eq, a, b, m, fm, p, code, ra, eta_map)
        ds = dslack * (1.0 + abs(dl) + abs(dh))
        dl -= ds
        dh += ds
        D = max(abs(dl), abs(dh))
        leaf = 0  # 1 resolved, 2 unresolved
        s_left = s_right = 0
        unresolved_mono = False
        if gl - eta > 0.0:
            leaf, s_left, s_right = 1, 1, 1
        elif gh + eta < 0.0:
            leaf, s_left, s_right = 1, -1, -1
        elif abs(gm) - eta > r * D * (1.0 + 1e-12):
            s = 1 if gm > 0.0 else -1
            leaf, s_left, s_right = 1, s, s
        elif dl > 0.0 or dh < 0.0:
            s_left = _sign_eta(ga, eta)
            s_right = _sign_eta(gb, eta)
            if s_left != 0 and s_right != 0:
                leaf = 1
            else:
                leaf = 2
                unresolved_mono = True
        elif b - a <= tol or not (a < m < b) or top + 2 > STACK:
            leaf = 2
        if leaf == 0:
            sa[top], sb[top], sga[top], sgb[top] = m, b, gm, gb
            sa[top + 1], sb[top + 1], sga[top + 1], sgb[top + 1] = a, m, ga, gm
            top += 2
            continue
        leaves += 1
        if leaves > max_leaves:
            status = STATUS_BUDGET
            break
        if leaf == 1:
            if open_:
                n = _close_cluster(eq, p, code, ra, A, B, sL, s_left, mono_all, best_x, gA, gB, out_h, out_mult, n)
                open_ = False
            if s_left != s_right:
                n = _emit(out_h, out_mult, n, illinois(point, (eq, p, code, ra), a, b, ga, gb), 1)
            prev = s_right
            continue
        # unresolved leaf: open or extend the cluster
        d = 1 if dl > 0.0 else -1
        if not open_:
            open_ = True
            A, gA, sL = a, ga, prev
            mono_all = unresolved_mono
            direction = d
            best_g = np.inf
            best_x = m
        elif not unresolved_mono or d != direction:
            mono_all = False
        if not unresolved_mono and abs(gm) < best_g:
            best_g, best_x = abs(gm), m
        B, gB = b, gb
    if open_ and status == STATUS_OK:
        n = _close_cluster(eq, p, code, ra, A, B, sL, _sign_eta(g_hi, eta), mono_all, best_x, gA, gB, out_h, out_mult,
                           n)
    return n, status


@njit(cache=True, error_model="numpy")
def _pieces(kind: int, p: np.ndarray, code: int) -> tuple[np.ndarray, int]:
    """[-1, 1] cut at the kinks of the hard gates (GRU z, r; LSTM i, f, o): sorted bounds and their count."""
    out = np.empty(8)
    out[0] = -1.0
    n = 1
    if code != 0 and kind != 0:
        e = 0.5 / hard_slope(code)
        cols = (0, 2, -1) if kind == 1 else (0, 2, 6)
        for c in cols:
            if c < 0:
                continue
            a, u = p[c], p[c + 1]
            if u == 0.0:
                continue
            for edge in (-e, e):
                k = (edge - a) / u
                if -1.0 < k < 1.0:
                    out[n] = k
                    n += 1
    out[n] = 1.0
    n += 1
    b = np.sort(out[:n])
    uniq = np.empty(n)
    u_n = 0
    for i in range(n):
        if u_n == 0 or b[i] > uniq[u_n - 1]:
            uniq[u_n] = b[i]
            u_n += 1
    return uniq, u_n


@njit(cache=True, error_model="numpy")
def _add_continuum(lo_out: np.ndarray, hi_out: np.ndarray, n: int, lo: float, hi: float) -> int:
    """Append [lo, hi], merging it into the previous continuum when they touch."""
    if n > 0 and n <= lo_out.size and lo <= hi_out[n - 1]:
        hi_out[n - 1] = max(hi_out[n - 1], hi)
        return n
    if n < lo_out.size:
        lo_out[n] = lo
        hi_out[n] = hi
    return n + 1


@njit(cache=True, error_model="numpy")
def _lstm_line(p: np.ndarray, code: int, lo: float, hi: float, lo_out: np.ndarray, hi_out: np.ndarray, n: int) -> int:
    """{h in [lo, hi] : |h| < o(h)} on a piece where o is affine (its kinks are piece bounds), split at 0."""
    cuts = (lo, min(max(0.0, lo), hi), hi)
    for j in range(2):
        l, r = cuts[j], cuts[j + 1]
        if not r > l:
            continue
        fl = abs(l) - gate_value(p[6] + p[7] * l, code)
        fr = abs(r) - gate_value(p[6] + p[7] * r, code)
        if fl < 0.0 and fr < 0.0:
            n = _add_continuum(lo_out, hi_out, n, l, r)
        elif fl < 0.0:
            n = _add_continuum(lo_out, hi_out, n, l, l + (r - l) * fl / (fl - fr))
        elif fr < 0.0:
            n = _add_continuum(lo_out, hi_out, n, l + (r - l) * fl / (fl - fr), r)
    return n


@njit(cache=True, error_model="numpy", parallel=True)
def certified_kernel(eq: int, params: np.ndarray, code: int, ra: bool, tol: float, max_leaves: int,
                      out_h: np.ndarray, out_mult: np.ndarray, n_out: np.ndarray, cont_lo: np.ndarray,
                      cont_hi: np.ndarray, n_cont: np.ndarray, status: np.ndarray) -> None:
    """The certified subdivision of equation ``eq`` for every model (parallel over models): roots into ``out_h`` /
    ``out_mult`` (counts ``n_out``), continua into ``cont_lo`` / ``cont_hi`` (counts ``n_cont``), ``status`` per
    model (``STATUS_OK`` or ``STATUS_BUDGET``); the method is :mod:`dynlatch.dynamics._roots`'."""
    M = params.shape[0]
    cycle = eq == EQ_SRNN_CYCLE or eq == EQ_GRU_CYCLE
    kind = 0 if eq <= EQ_SRNN_CYCLE else (1 if eq <= EQ_GRU_CYCLE else 2)
    for m in prange(M):
        p = params[m]
        S = 1.0
        for j in range(p.size):
            S += abs(p[j])
        eta = 32.0 * EPS * S
        eta_map = eta
        if cycle:
            _, _, dl, dh = map_next_range(kind, -1.0, 1.0, p, code, ra)
            eta = eta * (2.0 + max(abs(dl), abs(dh)))
        dslack = 64.0 * EPS * S
        bounds, nb = _pieces(kind, p, code)
        n = 0
        nc = 0
        st = STATUS_OK
        for i in range(nb - 1):
            lo, hi = bounds[i], bounds[i + 1]
            hm = 0.5 * (lo + hi)
            if kind == 1 and code != 0 and gate_value(-(p[0] + p[1] * hm), code) == 0.0:
                if not cycle:  # update gate exactly 1: every h of the piece is fixed
                    nc = _add_continuum(cont_lo[m], cont_hi[m], nc, lo, hi)
                continue
            if kind == 2 and code != 0 and gate_value(-(p[2] + p[3] * hm), code) == 0.0:
                # forget gate exactly 1: c' = c + i g; fixed only where i g = 0 (and then c = artanh(h / o))
                if gate_value(p[0] + p[1] * hm, code) == 0.0 or (p[5] == 0.0 and p[4] == 0.0):
                    nc = _lstm_line(p, code, lo, hi, cont_lo[m], cont_hi[m], nc)
                elif p[5] != 0.0:
                    h0 = -p[4] / p[5]
                    if lo <= h0 <= hi and abs(h0) < gate_value(p[6] + p[7] * h0, code):
                        n = _emit(out_h[m], out_mult[m], n, h0, 1)
                continue
            n, s = certify_piece(eq, p, code, ra, lo, hi, eta, eta_map, dslack, tol, max_leaves, out_h[m], out_mult[m],
                                 n)
            if s != STATUS_OK:
                st = s
        n_out[m] = n
        n_cont[m] = nc
        status[m] = st


@njit(cache=True, error_model="numpy", parallel=True)
def points_at(eq: int, params: np.ndarray, model: np.ndarray, h: np.ndarray, code: int, ra: bool) -> np.ndarray:
    """Equation ``eq`` at the flat points (model[k], h[k])."""
    out = np.empty(h.size)
    for k in prange(h.size):
        out[k] = point(h[k], eq, params[model[k]], code, ra)
    return out


@njit(cache=True, error_model="numpy", parallel=True)
def forms_at(form: int, kind: int, params: np.ndarray, model: np.ndarray, h: np.ndarray, code: int, ra: bool
             ) -> np.ndarray:
    """Point form ``form`` (``FORM_*``) of kind ``kind`` at the flat points (model[k], h[k])."""
    out = np.empty(h.size)
    for k in prange(h.size):
        p = params[model[k]]
        if form == FORM_NEXT_H:
            out[k] = map_next(kind, h[k], p, code, ra)
        else:
            out[k] = lstm_cell_value(h[k], p, code)
    return out
