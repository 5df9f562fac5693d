"""Bifurcations of one-parameter families: branches of fixed points and 2-cycles, fold / flip / border-collision
points, two-parameter fold curves, basins of attraction and ghost passage times.

Method. Every value of the parameter is one model (``cell.with_params(name=values)`` or ``map.with_params``), so one
call of the guaranteed one-unit finder (:func:`dynlatch.dynamics.fixed_points`) gives every branch point at every
value; 1-D user maps (Bengio's and Pascanu's neurons, the logistic map) use the same root engine on a given state
interval. The grid is first refined where an interval may hide events (its points do not all continue smoothly and
one-to-one across it with unchanged stability and multiplier signs: :func:`branches`). Between neighbouring values whose
*signature* (number of fixed points / 2-periodic points, number of stable ones) differs, the bifurcation is located,
not read off the grid:

* smooth maps: Newton on the augmented equations F^k(s; p) = s, det(D F^k - mu I) = 0 (:func:`locate_bifurcation`),
  k = 1 for fixed points and k = 2 for 2-cycles (D F^2 = J(F(s)) J(s)), mu = +1 (fold, including the symmetric
  pitchfork) or -1 (flip; for a 2-cycle the period doubling to a 4-cycle), seeded at the point whose stability changes
  (or, where a pair of points appears, at the pair's midpoint or, for cycles, at each point), the kind read from the
  sign of the critical multiplier (Kuznetsov, Elements of Applied Bifurcation Theory, ch. 4 and 10). Fixed points also
  solve the k = 2 system; such solutions are rejected, and a 2-cycle born at a fixed point's flip is that period-1 flip;
* hard sigmoids: where a gate's kink (pre-activation at +-0.5/slope) lies between the points involved, the multiplier
  jumps instead of passing +-1 (a border collision, di Bernardo et al., Piecewise-smooth Dynamical Systems, 2008);
  the parameter is bisected to 1e-10 on the signature, and the point reported at the kink (a bisected event is a
  border collision only when a point's pre-activation is within ``KINK_TOL`` of the kink).

Ghosts: just past a fold the vanished pair leaves a bottleneck in which a trajectory spends
T ~ pi / sqrt(a c eps) steps (eps the distance to the fold; Strogatz, Nonlinear Dynamics and Chaos, sec. 4.3), so
log T against log eps has slope -1/2 (:func:`passage_time`, :func:`scaling_exponent`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from .._activations import HARD_SIGMOID_SLOPE
from .._checks import CheckError, integer, number, real_array
from ._bifurcation import solve_augmented
from ._brackets import bisect
from ._jacobian import period_jacobian
from ._fixed_points import single_thread, fixed_points
from ._maps import DTYPE, Map, as_map, input_tensor, state_tensor
from ._one_unit import gates
from ._roots import evaluate_flat, find_roots

BISECTION_TOL = 1e-10


# -- parameter maps ---------------------------------------------------------------------------------------------------
def parameter_map(cell: Any, names: Sequence[str]) -> Map:
    """The map of a cell whose named one-element blocks (e.g. ``"U"``, ``"b_f"``) are map parameters, so that
    :func:`locate_bifurcation` can move them. Built from the cell's own step (``with_params`` + ``step_batched``).

    Raises:
        ValueError: for an unknown name or a block of more than one element.
    """
    base = cell.to(dtype=DTYPE)
    named = base.named_params()
    params = {}
    for name in names:
        if name not in named:
            raise ValueError(f"parameter {name!r} is not a parameter of the {base.kind}; it has {sorted(named)}")
        block = named[name].detach()
        if block.numel() != base.models:
            raise ValueError(f"parameter {name!r} must be a one-element block (one-unit cell); got shape "
                             f"{tuple(named[name].shape)}")
        params[name] = block.reshape(base.models).numpy()

    def step(p: dict[str, torch.Tensor], state: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        c = base.with_params(**{k: p[k] for k in names}) if base.models == p[names[0]].shape[0] else None
        if c is None:  # a map of M models built from a one-model cell
            c = base[[0] * p[names[0]].shape[0]].with_params(**{k: p[k] for k in names})
        return c.flatten_state(c.step_batched(c.unflatten_state(state), x))

    return Map(step, state_dim=base.state_dim, input_dim=base.input_dim, models=base.models, params=params,
               name=f"{base.kind}({','.join(names)})", device=base.device)


def _is_cell(obj: Any) -> bool:
    return hasattr(obj, "step_batched") and hasattr(obj, "named_params")


def _family(obj: Any, parameter: str, values: np.ndarray) -> Any:
    """One model per value: a batched cell or map."""
    if _is_cell(obj):
        if obj.units != 1:
            raise ValueError("branches needs a one-unit cell (the guaranteed finder); got "
                             f"{obj.units} units")
        base = obj.to(dtype=DTYPE)
        if base.models != 1:
            raise ValueError(f"branches needs a single cell (one model); got {base.models} models")
        if parameter not in base.named_params():
            raise ValueError(f"parameter {parameter!r} is not a parameter of the {base.kind}; it has "
                             f"{sorted(base.named_params())}")
        return base.with_params(**{parameter: torch.as_tensor(values, dtype=DTYPE)})
    m = as_map(obj, "cell_or_map")
    if m.models != 1:
        raise ValueError(f"branches needs a map of one model; got {m.models}")
    if parameter not in m.params:
        raise ValueError(f"parameter {parameter!r} is not a parameter of {m.name}; it has {sorted(m.params)}")
    if m.state_dim != 1:
        raise ValueError("branches of a user map needs a 1-D map (state_dim 1); use a one-unit cell otherwise")
    m1 = m[0]
    big = Map(m1.step, state_dim=1, input_dim=m1.input_dim, models=values.size,
              params={k: v.expand(values.size).numpy() for k, v in m1.params.items()}, name=m1.name, device=m1.device)
    return big.with_params(**{parameter: values})


def _map_table(m: Map, x: Any, periods: tuple[int, ...], state_range: tuple[float, float], grid: int
               ) -> dict[str, np.ndarray]:
    """Every fixed point / 2-periodic point of a 1-D map on ``state_range`` (same columns as the cell table)."""
    xs = input_tensor(m, x, 1)

    def power(p: int):
        def g(h: torch.Tensor) -> torch.Tensor:
            s = h.unsqueeze(-1)
            xx = None if xs is None else xs.expand(m.models, h.shape[1], m.input_dim)
            for _ in range(p):
                s = m(s, xx)
            return s[..., 0] - h
        return g

    cols: dict[str, list] = {k: [] for k in ("model", "h", "period", "multiplicity")}
    for p in periods:
        r = find_roots(power(p), m.models, lo=state_range[0], hi=state_range[1], grid=grid)
        model, h, mult = r.model, r.value, r.multiplicity
        if p == 2 and model.size:
            keep = np.abs(evaluate_flat(power(1), m.models, model, h)[0]) > 1e-8
            model, h, mult = model[keep], h[keep], mult[keep]
        cols["model"].append(model), cols["h"].append(h), cols["multiplicity"].append(mult)
        cols["period"].append(np.full(model.size, p))
    out = {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()}
    model = out["model"].astype(np.int64)
    mult = np.zeros(model.size)
    for p in periods:
        sel = out["period"] == p
        if sel.any():
            mult[sel] = evaluate_flat(power(p), m.models, model[sel], out["h"][sel], derivatives=1)[1] + 1.0
    order = np.lexsort((out["h"], out["period"], model))
    return {"model": model[order], "state": out["h"][order, None], "period": out["period"][order].astype(np.int64),
            "kind": np.array(["point"] * model.size, dtype=object)[order],
            "eigenvalues": mult[order, None].astype(complex), "stable": np.abs(mult[order]) < 1,
            "multiplicity": out["multiplicity"][order].astype(np.int64)}


def _table(family: Any, x: Any, periods: tuple[int, ...], state_range: tuple[float, float] | None, grid: int
           ) -> dict[str, np.ndarray]:
    if _is_cell(family):
        return fixed_points(family, x=x, periods=periods, as_table=True, grid=grid)
    if state_range is None:
        raise ValueError("state_range=(lo, hi) is needed for a user map (the interval searched for fixed points)")
    return _map_table(family, x, periods, state_range, grid)


# -- one-parameter branches -------------------------------------------------------------------------------------------
@dataclass
class Branches:
    """Fixed points and 2-cycles of a one-parameter family, and its located bifurcations.

    Attributes:
        parameter: the parameter's name.
        values: the grid (V,).
        rows: tidy columns, one row per point: ``value``, ``index`` (into ``values``), ``h`` (first state entry),
            ``state`` (R, d), ``period``, ``kind`` ("point"/"continuum"), ``stable``, ``multiplier`` (the
            eigenvalue of largest modulus, complex), ``multiplicity``, ``eigenvalues`` (R, d) complex (of the
            period-p map).
        events: located bifurcations, dicts with ``kind`` ("fold", "flip", "border_collision"), ``value``,
            ``state`` (list), ``period``, ``method`` ("newton" or "bisection"), ``bracket`` (the grid values
            around it) and, for border collisions, ``gate``, ``preactivation``, ``kink``; a period-2 event located by
            Newton also has ``cycle`` (its two points).
        missed: intervals (``period``, ``bracket``) whose signature changes only because the finder did not resolve
            a root there (a point continues smoothly across to a root missing from the table, e.g. two roots closer
            than the finder's grid spacing near a transcritical crossing): no event.
    """

    parameter: str
    values: np.ndarray
    rows: dict[str, np.ndarray]
    events: list[dict[str, Any]] = field(default_factory=list)
    missed: list[dict[str, Any]] = field(default_factory=list)

    def tidy(self) -> list[dict[str, Any]]:
        """The rows as a list of dicts (for CSV)."""
        r = self.rows
        return [{"parameter": self.parameter, "value": float(r["value"][i]), "h": float(r["h"][i]),
                 "state": " ".join(f"{v:.10g}" for v in r["state"][i]), "period": int(r["period"][i]),
                 "kind": str(r["kind"][i]), "stable": bool(r["stable"][i]),
                 "multiplier_re": float(r["multiplier"][i].real), "multiplier_abs": float(abs(r["multiplier"][i]))}
                for i in range(r["value"].size)]


def _signature(rows: dict[str, np.ndarray], idx: np.ndarray, V: int, period: int) -> np.ndarray:
    sel = (rows["period"] == period) & (rows["kind"] == "point")
    count = np.bincount(idx[sel], minlength=V)
    stable = np.bincount(idx[sel & rows["stable"]], minlength=V)
    return np.stack([count, stable], 1)


def _points(rows: dict[str, np.ndarray], i: int, period: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sel = (rows["index"] == i) & (rows["period"] == period) & (rows["kind"] == "point")
    return rows["state"][sel], rows["stable"][sel], rows["multiplier"][sel]


def _kink_preactivations(cell: Any, x: Any) -> list[tuple[str, float, float, float]] | None:
    """(gate, offset, slope, kink) for each hard gate of a one-model one-unit cell (pre-activation offset + slope h)."""
    if not _is_cell(cell) or cell.recurrent_activation not in HARD_SIGMOID_SLOPE:
        return None
    names = ["" if name in cell.tanh_blocks else name for name in cell.gate_names]  # "": not a gate
    edge = 0.5 / HARD_SIGMOID_SLOPE[cell.recurrent_activation]
    xt = input_tensor(as_map(cell), x, 1)
    g = gates(cell, xt)
    out = []
    for j, name in enumerate(names):
        if name:
            for e in (-edge, edge):
                out.append((name, float(g[j].offset[0, 0]), float(g[j].slope[0, 0]), e))
    return out


def _crosses_kink(cell1: Any, cell2: Any, x: Any, h1: Sequence[float], h2: Sequence[float]) -> bool:
    """Whether some hard gate's pre-activation passes a kink between the states h1 (at cell1) and h2 (at cell2)."""
    k1, k2 = _kink_preactivations(cell1, x), _kink_preactivations(cell2, x)
    if not k1:
        return False
    for (_, o1, s1, e), (_, o2, s2, _) in zip(k1, k2):
        a = [o1 + s1 * h for h in h1] + [o2 + s2 * h for h in h2]
        if min(a) < e < max(a) or any(abs(v - e) < 1e-12 for v in a):
            return True
    return False


def branches(cell_or_map: Any, parameter: str, values: Any, *, x: Any = 0.0, periods: tuple[int, ...] = (1, 2),
             state_range: tuple[float, float] | None = None, grid: int = 1025, locate: bool = True,
             refine: bool = True, min_interval: float | None = None, max_values: int = 4096) -> Branches:
    """Fixed points and 2-cycles, with their stability, as one named parameter varies; folds, flips and border
    collisions of both located (module docstring).

    Args:
        cell_or_map: a single one-unit cell (parameter by Keras name, e.g. ``"U"``, ``"U_c"``, ``"b_f"``), or a 1-D
            :class:`Map` of one model (Bengio's, Pascanu's neuron) with ``state_range``.
        parameter: the parameter that varies.
        values: its values, increasing, (V,) with V >= 2.
        x: the constant input.
        periods: subset of (1, 2).
        state_range: interval searched for a user map's fixed points.
        grid: state grid of the root finder.
        locate: locate the bifurcations (else only the branches).
        refine: insert values where an interval is not *clean* (below), splitting it (in 4) until it is clean or at most
            ``min_interval`` wide; the result's ``values`` are then the refined grid.
        min_interval: the width delta at which refinement stops; default 1e-3 of the span of ``values``.
        max_values: refinement stops once the grid has this many values.

    Bifurcations are located for the fixed points (period 1) and for the 2-cycles (period 2: a fold of cycles, where
    an eigenvalue of D(F o F) at the cycle is +1, and a flip of a cycle, -1, the period doubling to a 4-cycle; a
    2-cycle born at a fixed point's flip is reported once, as that period-1 flip), between neighbouring values whose
    signature (number of points of the period, number stable) differs.

    Refinement and what it guarantees. An interval [a, b] is *clean* when, for each period, both ends have the same
    number of points and every point at one end continues to a distinct point at the other (tangent predictor
    ds/dp = (I - D F^k)^(-1) dF^k/dp, then Newton on F^k(s) = s at the far value; the corrector moves the prediction
    by at most half the predicted step, both ways, and the two continuations are inverse to each other), with the same
    stability and the same numbers of real multipliers above +1 and below -1 at both ends. A fold ends a branch (its
    point cannot be continued across), a flip moves a real multiplier past -1, a border collision changes stability
    or the count: so an interval holding one event is never clean, and after refinement it is at most
    ``min_interval`` wide. Hence events more than ``min_interval`` apart lie in different intervals of the refined
    grid and are each located (Newton, or bisection on the signature at a kink). Not seen: events that undo each
    other inside one clean interval (a pair of points born and annihilated between two values, a multiplier leaving
    and re-entering the unit circle), and two events closer than ``min_interval`` that leave the signature
    unchanged.

    Returns:
        :class:`Branches`.

    Raises:
        ValueError: for a bad parameter, values (not finite, not increasing, fewer than 2), min_interval or map.
    """
    values = real_array("values", values, finite=False).astype(np.float64).reshape(-1)
    if values.size < 2 or not np.all(np.isfinite(values)) or not np.all(np.diff(values) > 0):
        raise ValueError("values must be at least 2 finite, strictly increasing numbers")
    periods = tuple(sorted(set(int(p) for p in periods)))
    if not periods or not set(periods) <= {1, 2}:
        raise ValueError(f"periods must be a non-empty subset of (1, 2); got {periods}")
    if min_interval is None:
        min_interval = 1e-3 * float(values[-1] - values[0])
    if not (np.isfinite(min_interval) and min_interval > 0):
        raise ValueError(f"min_interval must be a positive number; got {min_interval}")
    if int(max_values) < values.size:
        raise ValueError(f"max_values must be at least the number of values ({values.size}); got {max_values}")
    fam = _family(cell_or_map, parameter, values)
    t = _columns(_table(fam, x, periods, state_range, grid))
    if refine:
        values, t = _refine(cell_or_map, parameter, values, t, x, periods, state_range, grid, float(min_interval),
                            int(max_values))
    rows = _rows(values, t)
    out = Branches(parameter, values, rows)
    if locate:
        out.events, out.missed = _locate_events(cell_or_map, None, parameter, values, rows, x, periods, state_range,
                                                grid)
    return out


_COLUMNS = ("model", "state", "period", "kind", "eigenvalues", "stable", "multiplicity")


def _columns(t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: t[k] for k in _COLUMNS}


def _rows(values: np.ndarray, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    idx = t["model"].astype(np.int64)
    eig = t["eigenvalues"]
    lead = eig[np.arange(idx.size), np.argmax(np.abs(eig), axis=1)] if idx.size else np.zeros(0, complex)
    return {"index": idx, "value": values[idx], "h": t["state"][:, 0], "state": t["state"], "period": t["period"],
            "kind": t["kind"], "stable": t["stable"].astype(bool), "multiplier": lead,
            "multiplicity": t["multiplicity"], "eigenvalues": eig}


# -- refinement: intervals that may hide events ---------------------------------------------------------------------
SMOOTH_RATIO = 0.5
"""A continuation step is smooth when Newton's corrector moves the tangent prediction by at most this fraction of the
predicted move (plus ``MATCH_TOL``)."""
MATCH_TOL = 1e-7
"""A continued point matches a tabulated point within this max-norm distance."""
REFINE_SPLIT = 4
"""An interval that is not clean is split into this many equal parts per refinement round."""
NEWTON_STEPS = 25
"""Newton iterations per attempt at an event (a good seed converges in fewer than 10)."""
KINK_TOL = 1e-6
"""A bisected event is a border collision when a point's gate pre-activation is this close to a kink."""
"""An interval that is not clean is split into this many equal parts per refinement round."""
"""A continued point matches a tabulated point within this max-norm distance."""


def _continue_points(pm: Map, parameter: str, period: int, s0: np.ndarray, p0: np.ndarray, p1: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Natural-parameter continuation of N points of F^period (``pm``: autonomous, one model per point) from p0 to
    p1: tangent predictor, Newton corrector. Returns (states (N, d), smooth (N,) bool: converged and the corrector
    moved the prediction by at most SMOOTH_RATIO of the predicted move)."""
    N, d = s0.shape
    eye = torch.eye(d, dtype=DTYPE)
    s = torch.as_tensor(s0, dtype=DTYPE).unsqueeze(1)
    eps = 1e-6 * np.maximum(1.0, np.abs(p0))
    with torch.no_grad():
        up = period_jacobian(pm.with_params(**{parameter: p0 + eps}), s, None, period)[1]
        down = period_jacobian(pm.with_params(**{parameter: p0 - eps}), s, None, period)[1]
    dp = torch.as_tensor((up - down).numpy() / (2 * eps)[:, None, None], dtype=DTYPE)
    J, _ = period_jacobian(pm.with_params(**{parameter: p0}), s, None, period)
    tangent, info = torch.linalg.solve_ex(eye - J, dp.unsqueeze(-1))
    move = torch.as_tensor(p1 - p0, dtype=DTYPE)[:, None, None] * tangent[..., 0]
    pred = s + move
    ok = (info == 0)[:, 0] & torch.isfinite(pred).all(dim=2)[:, 0]
    pred = torch.where(ok[:, None, None], pred, s)
    m1 = pm.with_params(**{parameter: p1})
    c = pred.clone()
    for _ in range(40):
        J1, img = period_jacobian(m1, c, None, period)
        step, _info = torch.linalg.solve_ex(J1 - eye, -(img - c).unsqueeze(-1))
        step = torch.nan_to_num(step[..., 0], nan=0.0, posinf=0.0, neginf=0.0).clamp(-1.0, 1.0)
        c = c + step
        if float(step.abs().max()) <= 1e-14:
            break
    with torch.no_grad():
        res = (period_jacobian(m1, c, None, period)[1] - c).abs().amax(dim=(1, 2))
    correction = (c - pred).abs().amax(dim=(1, 2))
    smooth = ok & (res <= 1e-10) & (correction <= SMOOTH_RATIO * move.abs().amax(dim=(1, 2)) + MATCH_TOL)
    return c[:, 0].numpy(), smooth.numpy()


def _structure(eig: np.ndarray, stable: np.ndarray) -> np.ndarray:
    """Per point: (stable, real multipliers > 1, real multipliers < -1)."""
    real = np.abs(eig.imag) <= 1e-12
    return np.stack([stable.astype(np.int64), np.sum(real & (eig.real > 1), 1), np.sum(real & (eig.real < -1), 1)], 1)


def _clean(obj: Any, parameter: str, values: np.ndarray, t: dict[str, np.ndarray], x: Any, periods: tuple[int, ...],
           check: np.ndarray) -> np.ndarray:
    """Which of the intervals [values[i], values[i+1]] flagged in ``check`` are clean (see :func:`branches`)."""
    V = values.size
    clean = check.copy()
    idx = t["model"].astype(np.int64)
    for period in periods:
        sel = np.nonzero((t["period"] == period) & (t["kind"] == "point"))[0]
        pidx = idx[sel]
        counts = np.bincount(pidx, minlength=V)
        clean &= counts[:-1] == counts[1:]
        fwd = sel[(pidx < V - 1)]
        fwd = fwd[clean[idx[fwd]]]
        bwd = sel[(pidx > 0)]
        bwd = bwd[clean[idx[bwd] - 1]]
        src = np.concatenate([fwd, bwd])
        if src.size == 0:
            continue
        tgt = np.concatenate([idx[fwd] + 1, idx[bwd] - 1])
        pm = _autonomous(_parameter_family(obj, parameter, values[idx[src]]), x)
        c, smooth = _continue_points(pm, parameter, period, t["state"][src], values[idx[src]], values[tgt])
        struct = _structure(t["eigenvalues"][sel], t["stable"][sel])
        row_of = {int(r): k for k, r in enumerate(sel)}
        start = np.searchsorted(pidx, np.arange(V))  # rows of one period are sorted by index
        stop = np.searchsorted(pidx, np.arange(V), side="right")
        match = np.full(src.size, -1)
        for k in range(src.size):
            if not smooth[k]:
                continue
            cand = np.arange(start[tgt[k]], stop[tgt[k]])
            dist = np.abs(t["state"][sel[cand]] - c[k]).max(axis=1)
            j = int(np.argmin(dist))
            if dist[j] <= MATCH_TOL * (1.0 + np.abs(c[k]).max()) * 10:
                match[k] = cand[j]
        partner = {int(row_of[int(r)]): int(mk) for r, mk in zip(src[: fwd.size], match[: fwd.size])}
        back = {int(row_of[int(r)]): int(mk) for r, mk in zip(src[fwd.size :], match[fwd.size :])}
        for i in np.nonzero(clean)[0]:
            left = range(start[i], stop[i])
            right = range(start[i + 1], stop[i + 1])
            images = [partner.get(k, -1) for k in left]
            ok = all(j >= 0 for j in images) and len(set(images)) == len(images)
            ok = ok and all(back.get(j, -1) == k for k, j in zip(left, images))
            ok = ok and all(back.get(j, -1) >= 0 for j in right)
            ok = ok and all(np.array_equal(struct[k], struct[j]) for k, j in zip(left, images))
            clean[i] = ok
    return clean


def _refine(obj: Any, parameter: str, values: np.ndarray, t: dict[str, np.ndarray], x: Any,
            periods: tuple[int, ...], state_range: Any, grid: int, min_interval: float, max_values: int
            ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Split every interval that is not clean and wider than ``min_interval`` into ``REFINE_SPLIT`` equal parts until
    none is left (or the grid has ``max_values`` values); returns the refined grid and its table (models = indices
    into it)."""
    check = np.ones(values.size - 1, bool)
    while True:
        with single_thread():
            clean = _clean(obj, parameter, values, t, x, periods, check)
        todo = np.nonzero(check & ~clean & (np.diff(values) > min_interval))[0]
        todo = todo[: (max_values - values.size) // (REFINE_SPLIT - 1)]
        if todo.size == 0:
            return values, t
        frac = np.arange(1, REFINE_SPLIT) / REFINE_SPLIT
        new = (values[todo, None] + frac * (values[todo + 1] - values[todo])[:, None]).reshape(-1)
        tn = _columns(_table(_family(obj, parameter, new), x, periods, state_range, grid))
        merged = np.concatenate([values, new])
        order = np.argsort(merged, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        tn = {**tn, "model": tn["model"] + values.size}
        cat = {k: np.concatenate([t[k], tn[k]]) for k in _COLUMNS}
        cat["model"] = rank[cat["model"].astype(np.int64)]
        rows_order = np.lexsort((cat["state"][:, 0], cat["period"], cat["model"]))
        t = {k: v[rows_order] for k, v in cat.items()}
        check = np.zeros(merged.size - 1, bool)  # only the parts of the intervals just split need checking
        for i in rank[todo]:
            check[i : i + REFINE_SPLIT] = True
        values = merged[order]


def _one(fam: Any, cell_or_map: Any, parameter: str, v: float) -> Any:
    if _is_cell(cell_or_map):
        return cell_or_map.to(dtype=DTYPE).with_params(**{parameter: torch.tensor([v], dtype=DTYPE)})
    return _family(cell_or_map, parameter, np.array([v]))


def _locate_events(obj: Any, fam: Any, parameter: str, values: np.ndarray, rows: dict[str, np.ndarray], x: Any,
                   periods: tuple[int, ...], state_range: Any, grid: int) -> list[dict[str, Any]]:
    V = values.size
    events: list[dict[str, Any]] = []
    is_cell = _is_cell(obj)
    missed = []
    pmap = _autonomous(_parameter_family(obj, parameter, values[:1]), x)
    for period in periods:
        sig = _signature(rows, rows["index"], V, period)
        for i in np.nonzero(np.any(sig[1:] != sig[:-1], axis=1))[0]:
            a, b = values[i], values[i + 1]
            sa, sta, mua = _points(rows, i, period)
            sb, stb, mub = _points(rows, i + 1, period)
            seed, kind, ha, hb = _seed(sa, sta, mua, sb, stb, mub)
            if seed is None:
                continue
            kinked = is_cell and _crosses_kink(_one(fam, obj, parameter, a), _one(fam, obj, parameter, b), x, ha, hb)
            event = None
            if not kinked:
                more = sa if len(sa) > len(sb) else sb
                if period == 2 and kind == "fold":
                    # first: a 2-cycle born or dying at a fixed point's flip (a pitchfork of F o F on the fixed
                    # point, which lies between the cycle's two points)
                    event = _newton(pmap, parameter, seed, 0.5 * (a + b), "flip", a, b, 1)
                    if event is not None and np.abs(more - np.asarray(event["state"])).max() > 2 * np.abs(
                            more - seed).max() + 1e-6:
                        event = None  # a flip of another fixed point, far from this cycle
                if event is None:
                    event = _newton(pmap, parameter, seed, 0.5 * (a + b), kind, a, b, period)
                if event is None and kind == "fold" and len(more) >= 3:  # ties: try every neighbouring pair
                    s_sorted = more[np.argsort(more[:, 0])]
                    for k in range(len(s_sorted) - 1):
                        event = _newton(pmap, parameter, 0.5 * (s_sorted[k] + s_sorted[k + 1]), 0.5 * (a + b),
                                        kind, a, b, period)
                        if event is not None:
                            break
                if event is None and period == 2 and kind == "fold":  # a cycle's points are far apart: each alone
                    for point in more:
                        event = _newton(pmap, parameter, point, 0.5 * (a + b), kind, a, b, period)
                        if event is not None:
                            break
            if event is None and not kinked and _continues_across(obj, parameter, x, period, a, b, sa, sb):
                missed.append({"period": period, "bracket": [float(a), float(b)]})
                continue
            if event is None:
                event = _bisect(obj, fam, parameter, a, b, sig[i], period, x, state_range, grid)
                if event is not None:
                    event["period"] = period
            if event is not None and not any(_same_event(event, e) for e in events):
                event["bracket"] = [float(a), float(b)]
                events.append(event)
    return sorted(events, key=lambda e: (e["value"], e["period"])), missed


def _continues_across(obj: Any, parameter: str, x: Any, period: int, a: float, b: float, sa: np.ndarray,
                      sb: np.ndarray) -> bool:
    """Whether a point of the side with more points continues smoothly to a point of the period at the other end
    that the finder's table lacks: then the signature change is the finder not resolving two roots closer than its
    grid spacing, not a bifurcation."""
    more, fewer, p0, p1 = (sa, sb, a, b) if len(sa) > len(sb) else (sb, sa, b, a)
    if len(more) == 0:
        return False
    pm = _autonomous(_parameter_family(obj, parameter, np.full(len(more), p0)), x)
    with single_thread():
        c, smooth = _continue_points(pm, parameter, period, more, np.full(len(more), p0), np.full(len(more), p1))
        if period == 2 and smooth.any():  # a 2-cycle point, not a fixed point
            one = period_jacobian(pm.with_params(**{parameter: np.full(len(more), p1)}),
                                  torch.as_tensor(c).unsqueeze(1), None, 1)[1][:, 0].numpy()
            smooth &= np.abs(one - c).max(axis=1) > 1e-6
    for k in np.nonzero(smooth)[0]:
        if len(fewer) == 0 or np.abs(fewer - c[k]).max(axis=1).min() > 1e-6:
            return True
    return False


def _same_event(e1: dict[str, Any], e2: dict[str, Any]) -> bool:
    """One bifurcation seen from two grid intervals (a grid value sitting exactly on it; for a 2-cycle, located at
    either of its points)."""
    if not (abs(e1["value"] - e2["value"]) <= 1e-6 and e1["kind"] == e2["kind"] and e1["period"] == e2["period"]):
        return False
    if "state" not in e1 or "state" not in e2:  # a bisected event has no state: the value decides
        return True
    s1 = np.atleast_2d(e1.get("cycle", [e1["state"]]))
    s2 = np.asarray(e2["state"])
    return bool(np.abs(s1 - s2).max(axis=1).min() <= 1e-6)


def _seed(sa, sta, mua, sb, stb, mub) -> tuple[np.ndarray | None, str, list[float], list[float]]:
    """Seed state and kind for Newton: a point whose stability changes (matched by nearest state), else the midpoint
    of the closest pair on the side with more points (a fold); with the h of the points involved on each side."""
    if len(sa) and len(sb):
        a_few = len(sa) <= len(sb)
        few, many = ((sa, sta, mua), (sb, stb, mub)) if a_few else ((sb, stb, mub), (sa, sta, mua))
        for k in range(len(few[0])):
            j = int(np.argmin(np.abs(many[0] - few[0][k]).max(axis=1)))
            if few[1][k] != many[1][j]:
                mu = few[2][k] if not few[1][k] else many[2][j]
                hf, hm = [float(few[0][k][0])], [float(many[0][j][0])]
                return (0.5 * (few[0][k] + many[0][j]), "flip" if mu.real < 0 else "fold",
                        *((hf, hm) if a_few else (hm, hf)))
    a_more = len(sa) > len(sb)
    more = sa if a_more else sb
    if len(more) < 2:
        return None, "fold", [], []
    s = more[np.argsort(more[:, 0])]
    gaps = np.abs(np.diff(s[:, 0]))
    k = int(np.argmin(gaps))
    pair = [float(s[k, 0]), float(s[k + 1, 0])]
    fewer = sb if a_more else sa
    for j in (k - 1, k + 1):  # a pitchfork: three close points, the middle one continuing the other side's point
        mid = max(j, k)
        near_mid = len(fewer) and np.abs(fewer[:, 0] - s[mid, 0]).min() < 0.5 * min(gaps[mid - 1], gaps[mid]) \
            if 0 <= j < gaps.size else False
        if 0 <= j < gaps.size and gaps[j] <= 2 * gaps[k] and near_mid:
            return s[mid].copy(), "fold", *(([float(v) for v in s[mid - 1 : mid + 2, 0]], []) if a_more
                                             else ([], [float(v) for v in s[mid - 1 : mid + 2, 0]]))
    return 0.5 * (s[k] + s[k + 1]), "fold", *((pair, []) if a_more else ([], pair))


def _parameter_family(obj: Any, parameter: str, values: np.ndarray) -> Map:
    """The map of ``obj`` with one model per parameter value, the parameter movable by ``with_params``."""
    if not _is_cell(obj):
        return _family(obj, parameter, values)
    one = parameter_map(obj.to(dtype=DTYPE), [parameter])
    return Map(one.step, state_dim=one.state_dim, input_dim=one.input_dim, models=values.size,
               params={parameter: values}, name=one.name, device=one.device)


def _autonomous(m: Map, x: Any) -> Map:
    """``m`` with its constant input ``x`` (scalar or (D,)) built in: an autonomous map with the same parameters."""
    if m.input_dim == 0:
        return m
    xs = torch.as_tensor(np.broadcast_to(np.asarray(0.0 if x is None else x, dtype=np.float64), (m.input_dim,)).copy(),
                         dtype=DTYPE)
    inner = m
    return Map(lambda p, s, _x: inner.step(p, s, xs.expand(*s.shape[:-1], inner.input_dim)),
               state_dim=m.state_dim, input_dim=0, models=m.models, params={k: v.numpy() for k, v in m.params.items()},
               name=m.name, device=m.device)


def _newton(pmap: Map, parameter: str, seed: np.ndarray, value: float, kind: str, a: float, b: float,
            period: int = 1) -> dict[str, Any] | None:
    """Newton on the augmented equations of ``period`` (``pmap`` autonomous, one model); None if it fails, lands
    outside the bracket [a, b] or (period 2) on a fixed point instead of a 2-cycle."""
    m = pmap.with_params(**{parameter: np.array([value])})
    try:
        s, p, converged, fixed = solve_augmented(m, parameter=parameter, state=seed, value=value, kind=kind,
                                                 period=period, max_iter=NEWTON_STEPS)
    except (ValueError, RuntimeError):
        return None
    slack = 1e-6 * (b - a)  # a fold sitting on a grid value
    if not converged[0] or fixed[0] or not (a - slack <= p[0] <= b + slack) or not np.all(np.isfinite(s)):
        return None
    event = {"kind": kind, "value": float(p[0]), "state": [float(v) for v in s[0]], "method": "newton",
             "period": period}
    if period == 2:
        with torch.no_grad():
            image = m.with_params(**{parameter: p})(torch.as_tensor(s).unsqueeze(1))[0, 0].numpy()
        event["cycle"] = [event["state"], [float(v) for v in image]]
    return event


def _signature_at(obj: Any, fam: Any, parameter: str, v: float, period: int, x: Any, state_range: Any, grid: int
                  ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    one = _one(fam, obj, parameter, v)
    t = _table(one, x, (period,), state_range, grid)
    sel = (t["period"] == period) & (t["kind"] == "point")
    return np.array([int(sel.sum()), int((sel & t["stable"]).sum())]), {k: v_[sel] for k, v_ in t.items()}


def _bisect(obj: Any, fam: Any, parameter: str, a: float, b: float, sig_a: np.ndarray, period: int, x: Any,
            state_range: Any, grid: int) -> dict[str, Any] | None:
    """Bisect the parameter on the signature (count, stable count) to ``BISECTION_TOL``; a border collision when the
    point nearest a kink sits at it."""
    def side(mid: np.ndarray) -> int:
        s, _ = _signature_at(obj, fam, parameter, float(mid), period, x, state_range, grid)
        return -1 if np.array_equal(s, sig_a) else 1

    ends = bisect(side, float(a), float(b), tol=BISECTION_TOL)
    lo, hi = float(ends[0]), float(ends[1])
    s_hi, _ = _signature_at(obj, fam, parameter, hi, period, x, state_range, grid)
    event: dict[str, Any] = {"kind": "fold" if s_hi[0] != sig_a[0] else "unclassified", "value": 0.5 * (lo + hi),
                             "method": "bisection"}
    best = None
    for v in (lo, hi):
        _, t = _signature_at(obj, fam, parameter, v, period, x, state_range, grid)
        kinks = _kink_preactivations(_one(fam, obj, parameter, v), x) or []
        for j in range(t["state"].shape[0]):
            h = t["state"][j, 0]
            for gate, off, slope, e in kinks:
                d = abs(off + slope * h - e)
                if best is None or d < best[0]:
                    best = (d, gate, off + slope * h, e, t["state"][j], abs(t["eigenvalues"][j]).max())
    if best is not None and best[0] <= KINK_TOL:
        event.update(kind="border_collision", gate=best[1], preactivation=float(best[2]), kink=float(best[3]),
                     state=[float(u) for u in best[4]])
    return event


# -- two-parameter curves ---------------------------------------------------------------------------------------------
def fold_curve_2d(cell_or_map: Any, p1: str, values1: Any, p2: str, values2: Any, *, x: Any = 0.0,
                  periods: tuple[int, ...] = (1,), state_range: tuple[float, float] | None = None,
                  grid: int = 513) -> list[dict[str, Any]]:
    """Two-parameter bifurcation curves: for each value of ``p1``, the values of ``p2`` at which folds, flips and
    border collisions occur (located by :func:`branches` along ``values2``).

    Returns:
        tidy rows ``{p1, p2, value1, value2, kind, method, state}``.

    Raises:
        ValueError: as :func:`branches`, or for non-finite ``values1``.
    """
    values1 = np.asarray(values1, dtype=np.float64).reshape(-1)
    if values1.size < 1 or not np.all(np.isfinite(values1)):
        raise ValueError("values1 must be finite numbers")
    rows = []
    for v1 in values1:
        if _is_cell(cell_or_map):
            base = cell_or_map.to(dtype=DTYPE).with_params(**{p1: torch.tensor([v1], dtype=DTYPE)})[0]
        else:
            base = as_map(cell_or_map).with_params(**{p1: np.array([v1])})
        br = branches(base, p2, values2, x=x, periods=periods, state_range=state_range, grid=grid)
        for e in br.events:
            rows.append({"p1": p1, "p2": p2, "value1": float(v1), "value2": e["value"], "kind": e["kind"],
                         "method": e["method"], "state": e.get("state")})
    return rows


# -- basins -----------------------------------------------------------------------------------------------------------
@dataclass
class Basins:
    """Which attractor each grid state converges to.

    Attributes:
        labels: (M, *grid shape) int, the attractor index per model (-1: not converged).
        attractors: per model, a list of attractor states (a fixed point (d,), or a 2-cycle (2, d) ordered by its first
            coordinate).
    """

    labels: np.ndarray
    attractors: list[list[np.ndarray]]


def basins(map_or_cell: Any, grid: Any, *, x: Any = 0.0, steps: int = 2000, tol: float = 1e-6) -> Basins:
    """Basins of attraction of a 1-D or 2-D autonomous (or constant-input) map over a grid of states, batched over
    models and grid points.

    Args:
        map_or_cell: a map or cell with state_dim 1 or 2.
        grid: for d = 1 an array of states (P,); for d = 2 a pair ``(xs, ys)`` giving the grid ``meshgrid(xs, ys)``
            (labels (M, len(ys), len(xs))).
        x: constant input.
        steps: iterations before the final state is read.
        tol: two final states closer than this (max-norm) are one attractor; a trajectory whose period-2 image differs
            from it by more is not converged.

    Returns:
        :class:`Basins`.

    Raises:
        ValueError: for d > 2, a bad grid or steps < 2.
    """
    m = as_map(map_or_cell)
    if m.state_dim not in (1, 2):
        raise ValueError(f"basins needs a 1-D or 2-D map; got state_dim {m.state_dim}")
    steps = integer("steps", steps, minimum=2)
    tol = number("tol", tol, above=0)
    if m.state_dim == 1:
        g = real_array("grid", grid, finite=False).astype(np.float64).reshape(-1)
        shape = g.shape
        pts = g[:, None]
    else:
        if isinstance(grid, (str, bytes)) or not hasattr(grid, "__len__") or len(grid) != 2:
            raise CheckError("grid", f"must be a pair (xs, ys) for a 2-D map; got {grid!r}")
        xs, ys = (real_array("grid", a, finite=False).astype(np.float64).reshape(-1) for a in grid)
        X, Y = np.meshgrid(xs, ys)
        shape = X.shape
        pts = np.stack([X.ravel(), Y.ravel()], 1)
    if pts.size == 0 or not np.all(np.isfinite(pts)):
        raise ValueError("grid must be non-empty and finite")
    P = pts.shape[0]
    s = state_tensor(m, np.broadcast_to(pts, (m.models, P, m.state_dim)).copy())
    xt = input_tensor(m, x, P)
    with torch.no_grad(), single_thread():
        for _ in range(int(steps)):
            s = m(s, xt)
        s1 = m(s, xt)
        s2 = m(s1, xt)
    a, a1, a2 = s.numpy(), s1.numpy(), s2.numpy()
    converged = np.abs(a2 - a).max(-1) <= tol
    fixed = np.abs(a1 - a).max(-1) <= tol
    labels = np.full((m.models, P), -1, np.int64)
    attractors: list[list[np.ndarray]] = []
    for k in range(m.models):
        reps: list[np.ndarray] = []
        for p in range(P):
            if not converged[k, p]:
                continue
            rep = a[k, p] if fixed[k, p] else np.stack(sorted([a[k, p], a1[k, p]], key=lambda v: v[0]))
            for j, r in enumerate(reps):
                if r.shape == rep.shape and np.abs(r - rep).max() <= 100 * tol:
                    labels[k, p] = j
                    break
            else:
                labels[k, p] = len(reps)
                reps.append(rep)
        attractors.append(reps)
    return Basins(labels.reshape(m.models, *shape), attractors)


# -- ghosts -----------------------------------------------------------------------------------------------------------
def passage_time(map_or_cell: Any, state0: Any, *, x: Any = 0.0, threshold: float, max_steps: int = 100000,
                 target: Any = None) -> np.ndarray:
    """Steps a trajectory needs to leave a neighbourhood of its start: the first t with max|s_t - s_0| > threshold,
    per model (started in a fold's ghost, the passage time through the bottleneck, ~ eps^(-1/2)); with ``target``
    (e.g. the remaining attractor), the first t with max|s_t - target| < threshold instead.

    Args:
        map_or_cell: a map or cell (M models).
        state0: start, (d,) or (M, d).
        x: constant input (scalar, (D,) or (M, D)).
        threshold: the neighbourhood's radius (> 0).
        max_steps: give up after this many steps (reported as -1).
        target: None, or a state (d,) or (M, d) to be reached.

    Returns:
        (M,) int array.

    Raises:
        ValueError: for a non-positive threshold or max_steps, or bad shapes.
    """
    m = as_map(map_or_cell)
    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive number; got {threshold}")
    if int(max_steps) < 1:
        raise ValueError(f"max_steps must be >= 1; got {max_steps}")
    s0 = state_tensor(m, state0)
    xt = input_tensor(m, x, s0.shape[1])
    goal = None if target is None else state_tensor(m, target, name="target")
    s = s0
    out = np.full(m.models, -1, np.int64)
    with torch.no_grad():
        for t in range(1, int(max_steps) + 1):
            s = m(s, xt)
            if goal is None:
                done = (s - s0).abs().amax(dim=(1, 2)) > threshold
            else:
                done = (s - goal).abs().amax(dim=(1, 2)) < threshold
            left = done.numpy() & (out < 0)
            out[left] = t
            if (out >= 0).all():
                break
    return out


def scaling_exponent(distance: Any, steps: Any) -> float:
    """Least-squares slope of log(steps) against log(distance) (the ghost's prediction: -1/2)."""
    d, T = np.asarray(distance, dtype=np.float64), np.asarray(steps, dtype=np.float64)
    ok = (d > 0) & (T > 0)
    if ok.sum() < 2:
        raise ValueError("need at least two positive (distance, steps) pairs")
    return float(np.polyfit(np.log(d[ok]), np.log(T[ok]), 1)[0])


# -- example maps ----------------------------------------------------------------------------------------------------
def logistic_map(r: float = 3.0) -> Map:
    """The logistic map x -> r x (1 - x) (parameter ``r``): its 2-cycle, born at the fixed point's flip r = 3, doubles
    its period at r = 1 + sqrt(6) (May, Nature 261, 1976)."""
    return Map(lambda p, s, x: p["r"][:, None, None] * s * (1 - s), state_dim=1, params={"r": r}, name="logistic")


def odd_cycle_map(p: float = 0.0) -> Map:
    """F(s) = -s + s (p - (s^2 - 1)^2) (parameter ``p``): the symmetric 2-cycles {+-s} solve F(s) = -s, i.e.
    s^2 = 1 +- sqrt(p), a stable and an unstable one born in a fold of 2-cycles at p = 0, s = +-1 (closed form)."""
    return Map(lambda q, s, x: -s + s * (q["p"][:, None, None] - (s**2 - 1) ** 2), state_dim=1, params={"p": p},
               name="odd cycle map")
