"""Every fixed point and 2-cycle of one-unit cells (guaranteed to a stated tolerance), batched over models.

Reductions to one scalar equation in h on the invariant interval [-1, 1] (every state reachable from |h| <= 1 stays
there: tanh is in (-1, 1), a GRU's h' is a convex combination of h and a tanh, an LSTM's h' = o tanh(c)):

* SRNN: g(h) = F(h) - h. GRU (both reset conventions): F(h) - h = (1 - z)(h~ - h), so off the flat pieces of a hard
  update gate (where 1 - z = 0 and every h is fixed: a continuum) the fixed points are the roots of h~(h) - h.
  2-cycles are the roots of F(F(h)) - h that are not fixed points.
* LSTM: at a fixed point c* = f c* + i g, so c*(h) = i(h) g(h) / (1 - f(h)) and
  g(h) = o(h) tanh(c*(h)) - h, with 1 - f = gate(-a_f) (gates are point-symmetric: 1 - sigma(a) = sigma(-a),
  exactly for the hard sigmoids). Where a hard forget gate is exactly 1: if i g = 0 there every (h, artanh(h / o))
  with |h| < o is fixed (a line of fixed points, a perfect integrator, reported as a continuum); else only an h
  where the candidate tanh(a_c + u_c h) = 0, if |h| < o there (c = artanh(h / o)).

Every root is found by certified subdivision (:func:`dynlatch.dynamics._roots.certified_roots`; the equations and
their derivative enclosures are the compiled scalar forms of :mod:`dynlatch.dynamics._one_unit`, from the cells'
parameters). The guarantee, stated precisely in :mod:`dynlatch.dynamics._roots`: assuming each float evaluation of
the scalar equation is within eta (~32 eps (1 + sum |offsets| + |slopes|)) of its exact value, every root in [-1, 1]
is reported, either as a simple root (exactly one in a bracket where the derivative provably has one sign, refined
to adjacent floats) or as an unresolved cluster of width <= ``tol`` (default 1e-10) reported as one point of
multiplicity 3 (g changes sign across it: a triple root such as the pitchfork of SimpleRNN(1) at U = 1, b = 0) or
2 (it does not: a fold's double root, or two roots closer than ``tol``, or a near-tangency with min |g| <= eta).
Continua (a hard update gate exactly 1; a hard forget gate exactly 1 with i g = 0) are found from the pieces
between the hard gates' kinks, with exact ends. A model whose subdivision exceeds its budget is reported with
``guaranteed_complete=False`` (and a warning). LSTM 2-cycles: the certified interval branch-and-bound of
:mod:`dynlatch.dynamics._lstm_cycles` (Krawczyk); a model with a box it could not resolve (width <= 1e-6: a possibly
non-simple cycle, reported with multiplicity 2, or a line of fixed points) is reported ``guaranteed_complete=False``.
n-unit cells and other maps: :func:`dynlatch.dynamics.slow_points`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
import warnings

import numpy as np
import torch

from ._jacobian import period_jacobian
from ._lstm_cycles import lstm_cycle_search
from .._checks import integer, number, seed as check_seed
from ._maps import DTYPE, Map, as_map, cell_map, input_tensor
from . import _one_unit as ou
from ._one_unit import OneUnitSystem, one_unit_system
from ._roots import certified_roots, lstm_cell_at, next_at
from ._slow_points import slow_point_table

DEFAULT_GRID = 1025
DEFAULT_TOL = 1e-10
LSTM_CYCLE_CHUNK = 256


@dataclass
class FixedPoint:
    """One fixed point, point of a 2-cycle, or continuum of fixed points.

    Attributes:
        state: the state (numpy 1-D; LSTM [h, c]); for a continuum its midpoint.
        period: 1 or 2.
        orbit: id shared by the two points of a 2-cycle (unique per model).
        kind: "point" or "continuum".
        extent: for a continuum, its two end states (exact; for an LSTM line of fixed points, which is open, the
            last floats inside it, where c = artanh(h / o) is finite), else None.
        jacobian: (d, d) Jacobian of the period-p map at ``state``.
        eigenvalues: complex numpy (d,).
        stable: all |eigenvalue| < 1.
        multiplicity: 1, or 2 / 3 for a double root (fold) or triple root (pitchfork / flip) of the scalar equation.
        residual: max |F^p(state) - state|.
        guaranteed_complete: whether the list this point came from is certified complete (one-unit cells: True
            unless the model's subdivision ran out of budget; the optimisation finder: False).
        q: 1/2 ||F(s) - s||^2 (set by the optimisation finder).
    """

    state: np.ndarray
    period: int
    orbit: int
    kind: str
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    stable: bool
    multiplicity: int
    residual: float
    extent: tuple[np.ndarray, np.ndarray] | None = None
    guaranteed_complete: bool = True
    q: float | None = None
    model: int = field(default=0, repr=False)


class NotCertifiedWarning(RuntimeWarning):
    """The certified one-unit finder could not prove its list complete for some models (``models``: their indices,
    also those with no point found, whose rows cannot carry ``guaranteed_complete=False``)."""

    def __init__(self, message: str, *, models: np.ndarray) -> None:
        super().__init__(message)
        self.models = np.asarray(models, dtype=np.int64)


EQUATIONS = {("srnn", 1): ou.EQ_SRNN_FIXED, ("srnn", 2): ou.EQ_SRNN_CYCLE, ("gru", 1): ou.EQ_GRU_FIXED,
             ("gru", 2): ou.EQ_GRU_CYCLE, ("lstm", 1): ou.EQ_LSTM_FIXED}
FIXED_TOL = 1e-8  # a root of F(F(h)) - h with |F(h) - h| <= this is a fixed point, not a point of a 2-cycle


def _line_end(system: OneUnitSystem, model: np.ndarray, h: np.ndarray, towards: np.ndarray) -> np.ndarray:
    """The float nearest to an end h of an LSTM line of fixed points {|h| < o(h)}, moved towards its inside until
    c = artanh(h / o) is finite (the line is open: c -> +-inf at |h| = o)."""
    out = h.copy()
    for _ in range(64):
        c = lstm_cell_at(system, model, out)
        bad = ~np.isfinite(c)
        if not bad.any():
            break
        out[bad] = np.nextafter(out[bad], towards[bad])
    return out


def _full_state(system: OneUnitSystem, model: np.ndarray, h: np.ndarray) -> np.ndarray:
    """States (R, d) for hidden values h of rows ``model`` (LSTM: [h, c*(h)])."""
    if system.kind != "lstm":
        return h[:, None].copy()
    return np.stack([h, lstm_cell_at(system, model, h)], axis=1)


def _period_map_jacobian(m: Map, states: np.ndarray, period: int, x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Jacobian of F^period and residual max|F^p(s) - s| at ``states`` (R, d) of a map whose models are the rows."""
    s = torch.as_tensor(states, dtype=DTYPE).unsqueeze(1)
    J, cur = period_jacobian(m, s, input_tensor(m, x, 1), period)
    residual = (cur - s).abs().amax(dim=(1, 2)).numpy()
    return J[:, 0].numpy(), residual


def _check_x(x: Any, models: int, input_dim: int) -> torch.Tensor:
    try:
        t = torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=DTYPE)
    except (TypeError, ValueError) as e:
        raise ValueError(f"x must be a number or an array of inputs; got {x!r}") from e
    if t.ndim == 0:
        t = t.expand(input_dim)
    if t.ndim == 1:
        t = t.expand(models, t.shape[0])
    if t.shape != (models, input_dim) or not torch.isfinite(t).all():
        raise ValueError(f"x must be a scalar, ({input_dim},) or ({models}, {input_dim}) finite; got {tuple(np.shape(x))}")
    return t.unsqueeze(1).contiguous()


class single_thread:
    """Run torch on one intra-op thread: the finder's many small ops are up to 40x slower when threads contend."""

    def __enter__(self) -> None:
        self.threads = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc: Any) -> None:
        torch.set_num_threads(self.threads)


def one_unit_table(cell: Any, *, x: Any = 0.0, periods: tuple[int, ...] = (1, 2), grid: int = DEFAULT_GRID,
                   tol: float = DEFAULT_TOL) -> dict[str, np.ndarray]:
    """All fixed points / 2-cycles / continua of a batch of one-unit cells as flat columns (see :func:`fixed_points`;
    ``grid`` is not used by the certified finder and kept for callers that pass it)."""
    with single_thread():
        return _one_unit_table(cell, x=x, periods=periods, tol=tol)


def _one_unit_table(cell: Any, *, x: Any, periods: tuple[int, ...], tol: float) -> dict[str, np.ndarray]:
    cell = cell.to(dtype=DTYPE)
    M = cell.models
    xt = _check_x(x, M, cell.input_dim)
    system = one_unit_system(cell, xt)
    certified = np.ones(M, bool)
    rows: dict[str, list] = {k: [] for k in ("model", "h", "period", "kind", "multiplicity", "lo", "hi", "c", "partner")}
    for period in periods:
        if period == 2 and system.kind == "lstm":
            for c0 in range(0, M, LSTM_CYCLE_CHUNK):
                part = cell[list(range(c0, min(M, c0 + LSTM_CYCLE_CHUNK)))]
                found = lstm_cycle_search(part, xt[c0 : c0 + part.models])
                certified[c0 : c0 + part.models] &= found.complete
                cm, h1, h2, c1, c2 = found.model, found.h1, found.h2, found.c1, found.c2
                n2 = cm.size
                rows["model"] += [cm + c0, cm + c0]
                rows["h"] += [h1, h2]
                rows["c"] += [c1, c2]
                rows["partner"] += [h2, h1]
                rows["period"] += [np.full(2 * n2, 2)]
                rows["kind"] += [np.array(["point"] * (2 * n2), dtype=object)]
                rows["multiplicity"] += [found.multiplicity, found.multiplicity]
                rows["lo"] += [np.full(2 * n2, np.nan)]
                rows["hi"] += [np.full(2 * n2, np.nan)]
            continue
        r = certified_roots(system, EQUATIONS[system.kind, period], tol=tol)
        certified &= r.certified
        model, h, mult = r.model, r.value, r.multiplicity
        if period == 2:
            not_fixed = np.abs(next_at(system, model, h) - h) > FIXED_TOL
            model, h, mult = model[not_fixed], h[not_fixed], mult[not_fixed]
            n_cont = 0
        else:
            n_cont = r.continuum_model.size
        cm, clo, chi = r.continuum_model[:n_cont], r.continuum_lo[:n_cont], r.continuum_hi[:n_cont]
        if system.kind == "lstm" and n_cont:
            mid = 0.5 * (clo + chi)
            clo, chi = _line_end(system, cm, clo, mid), _line_end(system, cm, chi, mid)
        rows["model"] += [model, cm]
        rows["h"] += [h, 0.5 * (clo + chi)]
        rows["period"] += [np.full(model.size + n_cont, period)]
        rows["kind"] += [np.array(["point"] * model.size + ["continuum"] * n_cont, dtype=object)]
        rows["multiplicity"] += [mult, np.ones(n_cont, np.int64)]
        rows["lo"] += [np.full(model.size, np.nan), clo]
        rows["hi"] += [np.full(model.size, np.nan), chi]
        rows["c"] += [np.full(model.size + n_cont, np.nan)]
        rows["partner"] += [np.full(model.size + n_cont, np.nan)]
    if not certified.all():
        warnings.warn(NotCertifiedWarning(
            f"{int((~certified).sum())} of {M} models are not certified complete (a subdivision over its budget, or "
            "an LSTM 2-cycle box left unresolved at width 1e-6): guaranteed_complete=False",
            models=np.flatnonzero(~certified)), stacklevel=3)
    cols = {k: np.concatenate(v) if v else np.zeros(0) for k, v in rows.items()}
    order = np.lexsort((cols["h"], cols["period"], cols["model"]))
    cols = {k: v[order] for k, v in cols.items()}
    model = cols["model"].astype(np.int64)
    state = _full_state(system, model, cols["h"])
    has_c = np.isfinite(cols["c"])
    if has_c.any():
        state[has_c, 1] = cols["c"][has_c]
    R = model.size
    d = state.shape[1]
    jac = np.zeros((R, d, d))
    residual = np.zeros(R)
    for p in (1, 2):
        sel = cols["period"] == p
        if sel.any():
            sm = cell_map(cell[list(model[sel])])
            jac[sel], residual[sel] = _period_map_jacobian(sm, state[sel], p, xt[torch.as_tensor(model[sel]), 0])
    eig = np.linalg.eigvals(jac) if R else np.zeros((0, d), complex)
    orbit = _orbit_ids(cell, xt, model, cols["period"], cols["h"], cols["partner"])
    extent_lo = _full_state(system, model, np.where(np.isnan(cols["lo"]), cols["h"], cols["lo"]))
    extent_hi = _full_state(system, model, np.where(np.isnan(cols["hi"]), cols["h"], cols["hi"]))
    if has_c.any():
        extent_lo[has_c, 1] = extent_hi[has_c, 1] = cols["c"][has_c]
    return {
        "model": model, "orbit": orbit, "period": cols["period"].astype(np.int64), "kind": cols["kind"],
        "state": state, "jacobian": jac, "eigenvalues": eig, "stable": np.all(np.abs(eig) < 1, axis=1),
        "multiplicity": cols["multiplicity"].astype(np.int64), "residual": residual,
        "extent_lo": extent_lo, "extent_hi": extent_hi, "certified": certified[model],
    }


def _orbit_ids(cell: Any, xt: torch.Tensor, model: np.ndarray, period: np.ndarray, h: np.ndarray,
               partner: np.ndarray) -> np.ndarray:
    """Orbit ids per model: fixed points and continua 0, 1, ... in table order, then one id per 2-cycle (its two
    points share the key min(h, partner's h); the partner is F(h), or given for LSTM cycles)."""
    R = model.size
    orbit = np.zeros(R, np.int64)
    if R == 0:
        return orbit
    first = np.searchsorted(model, model)  # rows are sorted by model
    fixed = period == 1
    n_fixed = np.bincount(model[fixed], minlength=int(model.max()) + 1)
    orbit[fixed] = (np.arange(R) - first)[fixed]
    two = np.nonzero(~fixed)[0]
    if two.size:
        img = partner[two].copy()
        need = np.nonzero(~np.isfinite(img))[0]
        if need.size:
            sub = cell[list(model[two][need])]
            with torch.no_grad():
                img[need] = sub.step_batched(torch.as_tensor(h[two][need], dtype=DTYPE)[:, None, None],
                                             xt[torch.as_tensor(model[two][need])])[:, 0, 0].numpy()
        key = np.round(np.minimum(h[two], img), 8)
        pairs = np.stack([model[two], key], axis=1)
        uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        group_first = np.searchsorted(uniq[:, 0], uniq[:, 0])
        rank = np.arange(uniq.shape[0]) - group_first
        orbit[two] = n_fixed[model[two]] + rank[inverse]
    return orbit


def _rows_to_points(table: dict[str, np.ndarray], M: int) -> list[list[FixedPoint]]:
    out: list[list[FixedPoint]] = [[] for _ in range(M)]
    for i in range(table["model"].size):
        cont = table["kind"][i] == "continuum"
        out[int(table["model"][i])].append(FixedPoint(
            state=table["state"][i].copy(), period=int(table["period"][i]), orbit=int(table["orbit"][i]),
            kind=str(table["kind"][i]), jacobian=table["jacobian"][i].copy(),
            eigenvalues=table["eigenvalues"][i].copy(), stable=bool(table["stable"][i]),
            multiplicity=int(table["multiplicity"][i]), residual=float(table["residual"][i]),
            extent=(table["extent_lo"][i].copy(), table["extent_hi"][i].copy()) if cont else None,
            guaranteed_complete=bool(table["guaranteed_complete"][i]), q=None if "q" not in table else float(table["q"][i]),
            model=int(table["model"][i]),
        ))
    return out


def fixed_points(cell_or_map: Any, x: Any = 0.0, periods: tuple[int, ...] = (1, 2), *, as_table: bool = False,
                 grid: int = DEFAULT_GRID, tol: float = DEFAULT_TOL, starts: int = 64, seed: int = 0):
    """Every fixed point (and 2-cycle) of a cell or map at constant input ``x``.

    One-unit cells of a kind with a one-unit reduction (``one_unit_family``: SRNN, GRU in both reset conventions,
    LSTM, MGU), with every gate function: all of them, certified by subdivision to the stated tolerance (module
    docstring), including multiple roots and continua; LSTM 2-cycles by certified interval branch-and-bound in
    (h1, h2) (:mod:`dynlatch.dynamics._lstm_cycles`). Anything else (n units, kinds without a reduction, user maps):
    the optimisation finder :func:`slow_points`, ``guaranteed_complete=False``.

    Args:
        cell_or_map: a cell (single or batched) or a :class:`Map`.
        x: the constant input: a scalar for every input unit, (D,) or (M, D).
        periods: a subset of (1, 2).
        as_table: return flat columns (dict of numpy arrays, ``model`` first) instead of lists of :class:`FixedPoint`.
        grid: unused by the certified one-unit finder (kept for callers that pass it; must be >= 16).
        tol: width below which the one-unit finder leaves an interval it can neither exclude nor prove to hold one
            simple root (reported as a multiple root).
        starts: starts per model of the optimisation finder.
        seed: the optimisation finder's seed.

    Returns:
        For a single cell (or a map with M = 1 not built from a batched cell) a list of :class:`FixedPoint`; for a
        batched one a list of such lists per model; or, with ``as_table``, a dict of columns.

    Raises:
        ValueError: for bad ``periods``, ``x``, ``grid`` or ``tol``.
    """
    periods = tuple(sorted(set(int(p) for p in periods)))
    if not periods or not set(periods) <= {1, 2}:
        raise ValueError(f"periods must be a non-empty subset of (1, 2); got {periods}")
    grid = integer("grid", grid, minimum=16)
    tol = number("tol", tol, above=0)
    starts = integer("starts", starts, minimum=1)
    seed = check_seed("seed", seed)
    m = as_map(cell_or_map, "cell_or_map")
    cell = m.cell
    batched = getattr(cell_or_map, "batched", m.models > 1)
    if cell is not None and cell.units == 1 and cell.one_unit_family is not None:
        table = one_unit_table(cell, x=x, periods=periods, grid=int(grid), tol=tol)
        guaranteed = table.pop("certified")
    else:
        table = slow_point_table(m, x=x, periods=periods, starts=starts, seed=seed)
        guaranteed = False
    table["guaranteed_complete"] = np.broadcast_to(guaranteed, (table["model"].size,)).copy()
    if as_table:
        return table
    per_model = _rows_to_points(table, m.models)
    return per_model if batched else per_model[0]
