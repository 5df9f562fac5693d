"""Pascanu et al. 2013's cliff (Fig. 6), with the fold curves and basin boundary showing what the wall follows.

The loss ``E = (sigmoid(x_T) - target)^2`` of the one-unit map ``x_t = w sigmoid(x_{t-1}) + b`` over ``(w, b)``
(:func:`dynlatch.landscape.pascanu_surface`, one batched program), the wall located by root finding at
``wall_points`` values of ``w`` from ``wall_w_min`` to ``w_max`` (:func:`dynlatch.landscape.pascanu_wall`) and
compared with the basin boundary through ``x0`` and the fold curve (closed forms), and gradient descent from
``starts`` with and without norm clipping.

Each located point is classed by what it lies on (:func:`dynlatch.landscape.pascanu_wall_kind`, within two of the
wall's widths): ``basin_boundary`` or ``fold``. Bistability, hence a jump between two attractors, needs ``w > 4``
(the cusp). A basin boundary passes through ``x0`` only for ``w > 1/s'(x0)`` (about 4.26 at ``x0 = 0.5``); there the
wall follows it. Between the cusp and that threshold ``x0`` lies in one basin for every ``b`` and the jump sits at
the fold where that basin's attractor vanishes. Either way the wall is where ``x0`` changes basin, Pascanu et al.'s
sufficient condition (crossing a boundary between basins of attraction); the fold points confirm it rather than
contradict it. Just above the threshold the two curves are closer than the wall is wide at T = 50; such points are
classed by the limit T -> oo (the basin boundary) and counted in ``wall_points_near_both``.

Pascanu et al.'s second point, that a gradient step landing on the wall is thrown far unless the gradient is clipped,
is tested from starts chosen from the dynamics (:func:`clipping_starts`): at each T of ``clip_lengths`` and each of
``clip_ws`` values of ``w0`` the wall is located and its width measured, and the starts are the points of the plateau
below it from which one plain step lands within two widths of its centre. Plain descent from there lands on the wall
and the next step, along a gradient that grows like the inverse of the wall's width, throws it; clipped at ``clip``,
the same step is at most ``lr * clip`` long and crosses the wall.

Writes ``runs.csv`` (the wall: one row per ``w``), ``trajectories.csv`` (one row per start, clipping and iteration),
``clipping.csv`` (one row per T and start of the clipping experiment), ``surface.npz``
(:meth:`dynlatch.landscape.Surface.load` reads it), ``summary.json`` and the figures ``pascanu_cliff.pdf/.png``
(surface with overlays; distances of the wall to the boundary and to the folds), ``pascanu_clipping.pdf/.png`` (plain
and clipped descent at the wall, final losses and jumps per T) and ``pascanu_cliff_3d.pdf/.png``. About ten seconds
at the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import _checks
from .._checks import CheckError
from .._config import Config, option
from ..landscape import (
    WALL_KIND_TOLERANCE, WALL_KINDS, WALL_ULP_FLOOR, Surface, gradient_descent, pascanu_basin_boundary,
    pascanu_boundary_threshold, pascanu_descent, pascanu_fold_b, pascanu_fold_curve, pascanu_start_before_wall,
    pascanu_surface, pascanu_wall, pascanu_wall_kind, pascanu_wall_line, pascanu_wall_profile,
    pascanu_wall_tolerance, plot_surface, plot_surface_3d,
)
from ._study import Result, RunContext, Study

CUSP_W = 4.0
"""The cusp of the sigmoid map's fold curve: two attractors, hence a jump between them, need ``w > CUSP_W``."""

WALL_W_MIN = 4.1
"""Default smallest ``w`` of the wall search: below ``1/s'(0.5) ~ 4.26``, so that the search covers the fold regime
between the cusp and the basin boundary's appearance, and far enough from the cusp for the two attractors to be
distinct at T = 50 (their gap is about 1 in x at w = 4.1)."""


MAX_CLIP_LENGTH = 200
"""Longest T of the clipping experiment: the wall narrows like ``(w s'(x0))^-T``, below float64's resolution of ``b``
for the larger ``w`` already near T = 60, and the starts then land on its centre whatever the offset."""


def _clip_lengths(name: str, values: Any) -> tuple[int, ...]:
    values = _checks.distinct(name, values)
    for T in values:
        _checks.integer(name, T, minimum=2)
        if T > MAX_CLIP_LENGTH:
            raise CheckError(name, f"must be at most {MAX_CLIP_LENGTH} (beyond, float64 does not resolve the wall); "
                                   f"got {T}")
    return values


def _start_pairs(name: str, values: Any) -> tuple[float, ...]:
    if len(values) < 2 or len(values) % 2:
        raise CheckError(name, f"must be w0,b0 pairs (an even number of values); got {list(values)}")
    return tuple(_checks.number(name, v) for v in values)


@dataclass(frozen=True)
class PascanuCliffConfig(Config):
    """Settings of ``dynlatch run pascanu-cliff`` (Pascanu et al. 2013, Fig. 6). The paper does not state its plotted
    ranges; the defaults show the plateau, the wall and both fold branches up to w = 12."""

    w_min: float = option(0.0, help="smallest w of the surface", check=_checks.number_in())
    w_max: float = option(12.0, help="largest w of the surface", check=_checks.number_in())
    b_min: float = option(-10.0, help="smallest b of the surface", check=_checks.number_in())
    b_max: float = option(1.0, help="largest b of the surface", check=_checks.number_in())
    resolution: int = option(512, help="grid points per axis", check=_checks.integer_at_least(8), quick=96)
    steps: int = option(50, help="steps T of the map (Pascanu et al.: 50)", check=_checks.integer_at_least(1))
    x0: float = option(0.5, help="initial state x_0 (Pascanu et al.: 0.5)", check=_checks.number_in())
    target: float = option(0.7, help="target of sigmoid(x_T) (Pascanu et al.: 0.7)",
                           check=_checks.number_in(above=0, below=1))
    wall_points: int = option(24, help="values of w (from wall_w_min to w_max, geometrically spaced in w - 4) at "
                                       "which the wall is located by root finding",
                              check=_checks.integer_at_least(1), quick=8)
    wall_w_min: float = option(WALL_W_MIN, help="smallest w of the wall search (> 4: a jump between two attractors "
                                                "needs bistability; below 1/s'(x0) it sits at a fold)",
                               check=_checks.number_in(above=CUSP_W))
    lr: float = option(1.0, help="gradient-descent learning rate", check=_checks.number_in(above=0))
    iterations: int = option(100, help="gradient-descent iterations per start", check=_checks.integer_at_least(1),
                             quick=30)
    clip: float = option(0.5, help="gradient-norm clipping threshold of the dashed trajectories",
                         check=_checks.number_in(above=0))
    starts: tuple[float, ...] = option((6.0, -3.5, 7.0, -4.2, 8.0, -4.7, 10.0, -6.0),
                                       help="gradient-descent starts as w0,b0 pairs", check=_start_pairs)
    clip_lengths: tuple[int, ...] = option((10, 20, 50), flag="--clip-lens",
                                           help="T of the clipping experiment (starts one plain step before the wall)",
                                           check=_clip_lengths)
    clip_ws: int = option(12, help="values of w0 (evenly from 5 to 9) per T of the clipping experiment",
                          check=_checks.integer_at_least(1), quick=4)
    clip_offsets: int = option(9, help="landing points of the first plain step per w0, evenly from -2 to +2 wall "
                                       "widths about the wall's centre", check=_checks.integer_at_least(1), quick=3)
    clip_iterations: int = option(100, help="gradient-descent iterations per start of the clipping experiment",
                                  check=_checks.integer_at_least(2), quick=30)
    throw_distance: float = option(1.0, help="a step longer than this (in (w, b)) throws the run",
                                   check=_checks.number_in(above=0))
    seed: int = option(0, help="seed (the analysis is deterministic; kept for a uniform interface)",
                       check=_checks.seed)
    device: str | None = option(None, help="torch device (none: the CPU)", check=_checks.device)

    def check_together(self) -> None:
        if not self.w_max > self.w_min:
            raise CheckError("w_max", f"must exceed w_min ({self.w_min}); got {self.w_max}")
        if not self.b_max > self.b_min:
            raise CheckError("b_max", f"must exceed b_min ({self.b_min}); got {self.b_max}")
        if not self.w_max > self.wall_w_min:
            raise CheckError("w_max", f"must exceed wall_w_min ({self.wall_w_min}) so that the surface has a wall "
                                      f"(bistability needs w > {CUSP_W:g}); got {self.w_max}")


@dataclass(frozen=True)
class CliffResult:
    """What :func:`pascanu_cliff` computes.

    Attributes:
        surface: the loss surface over ``(w, b)``.
        wall: one row per ``w`` tried (:func:`wall_row`).
        trajectories: one row per (start, clipped, iteration): ``w``, ``b`` and the loss along gradient descent.
        summary: the headline numbers (see :func:`pascanu_cliff`).
        clipping: one row per (T, start) of the clipping experiment (:func:`clipping_rows`).
        clipping_paths: its trajectories by T, plain and clipped.
    """

    surface: Surface
    wall: list[dict[str, Any]]
    trajectories: list[dict[str, Any]]
    summary: dict[str, Any]
    clipping: list[dict[str, Any]]
    clipping_paths: dict[int, dict[str, np.ndarray]]


def wall_ws(w_lo: float, w_hi: float, *, points: int) -> np.ndarray:
    """``points`` values of ``w`` from ``w_lo`` to ``w_hi`` (both included), geometrically spaced in ``w - 4``. The
    structure that decides the wall's kind sits near the cusp: the two folds separate from it like ``(w - 4)^(3/2)``
    in ``b``, and the basin boundary through ``x0`` leaves the lower fold at ``w = 1/s'(x0)`` (4.26 at ``x0 = 0.5``),
    so the points crowd there. One point: ``w_hi``."""
    if points == 1:
        return np.array([float(w_hi)])
    ws = CUSP_W + np.geomspace(w_lo - CUSP_W, w_hi - CUSP_W, points)
    ws[0], ws[-1] = w_lo, w_hi
    return ws


def wall_row(w: float, *, b_range: tuple[float, float], steps: int, x0: float, target: float) -> dict[str, Any]:
    """The wall of Pascanu's map at one ``w``, with where the theory puts it: the located ``b`` (NaN if none), the
    basin boundary through ``x0``, the two fold values of ``b``, the distances to them (in ``b``), the wall's width
    and peak gradient norm (:func:`dynlatch.landscape.pascanu_wall_profile`), the distance a point may lie from a
    curve and still be on it (``tolerance_b``: :data:`dynlatch.landscape.WALL_KIND_TOLERANCE` widths), what the point
    lies on (``kind``: :func:`dynlatch.landscape.pascanu_wall_kind`; empty if none was located) and whether a fold is
    within that distance too (``fold_within_tolerance``; true at every fold point, and at basin-boundary points just
    above ``1/s'(x0)``, where the two curves are closer than the wall is wide)."""
    walls = pascanu_wall(w, b_range=b_range, steps=steps, x0=x0)
    boundary = float(pascanu_basin_boundary(w, x0=x0))
    folds = pascanu_fold_b(w) if w > CUSP_W else (np.nan, np.nan)
    row: dict[str, Any] = {"w": float(w), "b": np.nan, "basin_boundary_b": boundary, "fold_b_lower": folds[0],
                           "fold_b_upper": folds[1], "distance_to_basin_boundary": np.nan,
                           "distance_to_fold": np.nan, "width": np.nan, "grad_norm": np.nan, "walls_found": len(walls),
                           "tolerance_b": np.nan, "kind": "", "fold_within_tolerance": False}
    if walls:
        b = walls[0]
        profile = pascanu_wall_profile(w, b, steps=steps, x0=x0, target=target)
        tolerance = pascanu_wall_tolerance(b, width=profile["width"])
        distance_to_fold = float(np.nanmin(np.abs(np.subtract(folds, b))))
        row.update(b=b, distance_to_basin_boundary=abs(b - boundary), width=profile["width"],
                   grad_norm=profile["grad_norm"], distance_to_fold=distance_to_fold, tolerance_b=tolerance,
                   kind=pascanu_wall_kind(w, b, width=profile["width"], x0=x0),
                   fold_within_tolerance=bool(distance_to_fold <= tolerance))
    return row


def descent_rows(config: PascanuCliffConfig) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """Gradient descent from every start, unclipped and clipped at ``config.clip``.

    Returns:
        (rows, final losses): one row per (start, clipped, iteration); the last finite loss of each trajectory by
        ``"unclipped"`` / ``"clipped"`` (NaN if none is finite).
    """
    c = config
    rows: list[dict[str, Any]] = []
    finals: dict[str, list[float]] = {"unclipped": [], "clipped": []}
    for k in range(0, len(c.starts), 2):
        for label, clip in (("unclipped", None), ("clipped", c.clip)):
            path = gradient_descent(c.starts[k], c.starts[k + 1], lr=c.lr, iterations=c.iterations, clip=clip,
                                    steps=c.steps, x0=c.x0, target=c.target)
            finite = path[np.isfinite(path[:, 2])]
            finals[label].append(float(finite[-1, 2]) if len(finite) else np.nan)
            rows += [{"start": k // 2, "w0": c.starts[k], "b0": c.starts[k + 1], "clipped": clip is not None,
                      "iteration": i, "w": p[0], "b": p[1], "loss": p[2]} for i, p in enumerate(path)]
    return rows, finals


CLIP_W_RANGE = (5.0, 9.0)
"""``w0`` of the clipping experiment: above the basin-boundary threshold (about 4.26), where the wall is a jump between
two attractors at every T, and below where it is narrower than float64 resolves at the default T."""
CLIP_LAND_WIDTHS = 2.0
"""The first plain step of the clipping experiment lands within this many wall widths of the wall's centre."""


def clipping_starts(config: PascanuCliffConfig, T: int) -> list[dict[str, Any]]:
    """The starts of the clipping experiment at ``T``, placed from the dynamics: for each ``w0`` (evenly over
    :data:`CLIP_W_RANGE`) the wall is located and its width measured, and each start is the point of the plateau below
    it from which one plain gradient step lands at an offset from the wall's centre (``clip_offsets`` offsets evenly
    within :data:`CLIP_LAND_WIDTHS` widths; :func:`dynlatch.landscape.pascanu_start_before_wall`). The plateau's
    gradient is small, so plain descent from farther away creeps up to the same place."""
    c = config
    kw = dict(steps=T, x0=c.x0)
    out = []
    offsets = np.linspace(-CLIP_LAND_WIDTHS, CLIP_LAND_WIDTHS, c.clip_offsets) if c.clip_offsets > 1 else np.zeros(1)
    for w0 in np.linspace(*CLIP_W_RANGE, c.clip_ws):
        line = pascanu_wall_line(float(w0), b_range=(c.b_min, c.b_max), **kw)
        if not np.isfinite(line[0]):
            continue
        width = pascanu_wall_profile(float(w0), line[0], target=c.target, **kw)["width"]
        for u in offsets:
            b0, wall = pascanu_start_before_wall(float(w0), land=float(u) * width, lr=c.lr, b_range=(c.b_min, c.b_max),
                                                 target=c.target, wall_line=line, **kw)
            if np.isfinite(b0):
                out.append({"T": T, "w0": float(w0), "b0": b0, "land_widths": float(u), "wall_b": wall,
                            "wall_width": width})
    return out


def _largest_step(path: np.ndarray) -> float:
    steps = np.hypot(np.diff(path[:, 0]), np.diff(path[:, 1]))
    steps = steps[np.isfinite(steps)]
    return float(steps.max()) if len(steps) else np.nan


def _final_loss(path: np.ndarray) -> float:
    finite = path[np.isfinite(path[:, 2]), 2]
    return float(finite[-1]) if len(finite) else np.nan


def clipping_rows(config: PascanuCliffConfig) -> tuple[list[dict[str, Any]], dict[int, dict[str, np.ndarray]]]:
    """Plain and clipped gradient descent from every start of :func:`clipping_starts`, at every ``clip_lengths`` T,
    as one batched program per T and clipping (:func:`dynlatch.landscape.pascanu_descent`).

    Returns:
        (rows, paths): one row per (T, start) with its largest step, whether it was thrown (a step longer than
        ``throw_distance``) and its final loss, plain and clipped; the trajectories by T (``"unclipped"``,
        ``"clipped"``: arrays of shape (starts, clip_iterations + 1, 3)).
    """
    c = config
    rows: list[dict[str, Any]] = []
    paths: dict[int, dict[str, np.ndarray]] = {}
    for T in c.clip_lengths:
        starts = clipping_starts(c, T)
        w0 = [r["w0"] for r in starts]
        b0 = [r["b0"] for r in starts]
        kw = dict(lr=c.lr, iterations=c.clip_iterations, steps=T, x0=c.x0, target=c.target)
        paths[T] = {"unclipped": pascanu_descent(w0, b0, **kw), "clipped": pascanu_descent(w0, b0, clip=c.clip, **kw)}
        for k, start in enumerate(starts):
            row = dict(start, start_loss=float(paths[T]["unclipped"][k, 0, 2]))
            for label, runs in paths[T].items():
                jump = _largest_step(runs[k])
                row[f"largest_step_{label}"] = jump
                row[f"thrown_{label}"] = bool(jump > c.throw_distance)
                row[f"final_loss_{label}"] = _final_loss(runs[k])
            rows.append(row)
    return rows, paths


def clipping_summary(rows: list[dict[str, Any]], lengths: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """``clipping[T]``: how many starts, the fraction thrown and the median final loss, plain and clipped, and the
    median largest plain step (the jump) and median wall width."""
    out = {}
    for T in lengths:
        sel = [r for r in rows if r["T"] == T]
        out[str(T)] = {
            "starts": len(sel),
            "thrown_fraction_unclipped": float(np.mean([r["thrown_unclipped"] for r in sel])) if sel else np.nan,
            "thrown_fraction_clipped": float(np.mean([r["thrown_clipped"] for r in sel])) if sel else np.nan,
            "median_final_loss_unclipped": _median([r["final_loss_unclipped"] for r in sel]),
            "median_final_loss_clipped": _median([r["final_loss_clipped"] for r in sel]),
            "median_start_loss": _median([r["start_loss"] for r in sel]),
            "median_largest_step_unclipped": _median([r["largest_step_unclipped"] for r in sel]),
            "median_wall_width": _median([r["wall_width"] for r in sel]),
        }
    return out


def _of_kind(rows: list[dict[str, Any]], kind: str, key: str) -> list[float]:
    return [r[key] for r in rows if r["kind"] == kind]


def _max(values: list[float]) -> float:
    return float(max(values)) if values else np.nan


def _min(values: list[float]) -> float:
    return float(min(values)) if values else np.nan


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else np.nan


def _width_resolved(row: dict[str, Any]) -> bool:
    """Whether float64 resolves the wall's width at this row: the width, not the floor of
    :func:`dynlatch.landscape.pascanu_wall_tolerance`, sets the tolerance."""
    return bool(WALL_KIND_TOLERANCE * row["width"] >= WALL_ULP_FLOOR * np.spacing(abs(row["b"])))


def wall_summary(wall: list[dict[str, Any]], *, x0: float) -> dict[str, Any]:
    """The summary's wall keys, from the rows of :func:`wall_row` (see :func:`pascanu_cliff`)."""
    found = [r for r in wall if np.isfinite(r["b"])]
    on_boundary = [r for r in found if r["kind"] == "basin_boundary"]
    resolved = [r for r in on_boundary if _width_resolved(r)]
    return {
        "wall": {"w": [r["w"] for r in found], "b": [r["b"] for r in found], "kind": [r["kind"] for r in found]},
        "wall_points_by_kind": {k: sum(r["kind"] == k for r in found) for k in WALL_KINDS},
        "wall_points_near_both": sum(r["fold_within_tolerance"] for r in on_boundary),
        "basin_boundary_threshold_w": pascanu_boundary_threshold(x0=x0),
        "fold_w_max": _max(_of_kind(found, "fold", "w")),
        "basin_boundary_w_min": _min(_of_kind(found, "basin_boundary", "w")),
        "kind_tolerance_widths": WALL_KIND_TOLERANCE,
        "max_distance_to_basin_boundary": _max(_of_kind(found, "basin_boundary", "distance_to_basin_boundary")),
        "max_distance_to_basin_boundary_in_widths": _max([r["distance_to_basin_boundary"] / r["width"]
                                                          for r in resolved]),
        "median_distance_to_fold": _median(_of_kind(found, "basin_boundary", "distance_to_fold")),
        "max_distance_to_fold_at_folds": _max(_of_kind(found, "fold", "distance_to_fold")),
        "max_distance_to_fold_at_folds_in_widths": _max([r["distance_to_fold"] / r["width"] for r in found
                                                         if r["kind"] == "fold"]),
        "grad_norm_on_wall": _median(_of_kind(found, "basin_boundary", "grad_norm")),
        "grad_norm_at_folds": _median(_of_kind(found, "fold", "grad_norm")),
        "wall_points_located": len(found), "wall_points_tried": len(wall),
    }


def pascanu_cliff(config: PascanuCliffConfig) -> CliffResult:
    """The surface, the located wall with the theory's curves, and gradient-descent trajectories with and without
    clipping.

    The summary's keys are what the paper reads. ``wall``: the located ``w``, ``b`` and ``kind`` (aligned lists);
    ``wall_points_by_kind`` (counts), ``wall_points_near_both`` (basin-boundary points with a fold within tolerance
    too), ``basin_boundary_threshold_w`` (``1/s'(x0)``, closed form), ``fold_w_max`` / ``basin_boundary_w_min`` (the
    largest ``w`` of a fold point, the smallest of a basin-boundary point) and ``kind_tolerance_widths``. Over the
    basin-boundary points, so that they say how closely the wall follows the boundary where there is one:
    ``max_distance_to_basin_boundary`` (in ``b``) and ``..._in_widths`` (in the wall's own widths, where float64
    resolves them), ``median_distance_to_fold`` and ``grad_norm_on_wall`` (median). Over the fold points:
    ``max_distance_to_fold_at_folds`` (and ``..._in_widths``) and ``grad_norm_at_folds`` (median). Then
    ``final_loss`` (mean final loss, unclipped and clipped), ``wall_points_located`` / ``wall_points_tried`` and
    ``max_grad_norm_on_grid``. ``clipping[T]`` (:func:`clipping_summary`): from starts one plain step before the wall,
    the fraction of runs thrown (a step longer than ``throw_distance``) and the median final loss, plain and clipped
    (a clipped step is at most ``lr * clip`` long). A statistic over no points is NaN.
    """
    c = config
    kw = dict(steps=c.steps, x0=c.x0, target=c.target)
    surface = pascanu_surface(np.linspace(c.w_min, c.w_max, c.resolution), np.linspace(c.b_min, c.b_max, c.resolution),
                              device=c.device, **kw)
    ws = wall_ws(max(c.w_min, c.wall_w_min), c.w_max, points=c.wall_points)
    wall = [wall_row(w, b_range=(c.b_min, c.b_max), **kw) for w in ws]
    trajectories, finals = descent_rows(c)
    clipping, clipping_paths = clipping_rows(c)
    summary = {
        **wall_summary(wall, x0=c.x0),
        "final_loss": {k: float(np.nanmean(v)) for k, v in finals.items()},
        "max_grad_norm_on_grid": float(np.nanmax(surface.grad_norm)),
        "clipping": clipping_summary(clipping, c.clip_lengths),
    }
    return CliffResult(surface, wall, trajectories, summary, clipping, clipping_paths)


def cliff_figure(result: CliffResult, config: PascanuCliffConfig) -> Figure:
    """Left: the surface with the fold curve, the basin boundary through ``x0``, the located wall (circles on the
    basin boundary, crosses at a fold) and the descent trajectories; right: the wall's distance to the basin boundary
    and to the nearest fold, and the tolerance of the classification, against ``w - 4`` (log scales), with the
    threshold ``1/s'(x0)`` below which no basin boundary passes through ``x0``."""
    c = config
    fig = Figure(figsize=(12, 4.8))
    ax, ax2 = fig.subplots(1, 2)
    plot_surface(result.surface, ax=ax)
    x_star = np.linspace(-6, 6, 400)
    fw, fb = pascanu_fold_curve(x_star)
    keep = (fw >= c.w_min) & (fw <= c.w_max)
    ax.plot(np.where(keep & (x_star < 0), fw, np.nan), fb, color="white", lw=1.2, label="fold (multiplier +1)")
    ax.plot(np.where(keep & (x_star > 0), fw, np.nan), fb, color="white", lw=1.2)
    ws = np.linspace(c.w_min, c.w_max, 400)
    ax.plot(ws, pascanu_basin_boundary(ws, x0=c.x0), color="red", lw=1.0, ls="--",
            label=f"basin boundary through x0={c.x0}")
    wall = [r for r in result.wall if np.isfinite(r["b"])]
    markers = {"basin_boundary": dict(marker="o", ms=4, mfc="none", mec="orange", label="wall on the basin boundary"),
               "fold": dict(marker="x", ms=5, mec="cyan", label="jump at a fold"),
               "neither": dict(marker="s", ms=4, mfc="none", mec="magenta", label="wall on neither")}
    for kind, style in markers.items():
        pts = [(r["w"], r["b"]) for r in wall if r["kind"] == kind]
        if pts:
            ax.plot(*zip(*pts), ls="none", **style)
    traj = result.trajectories
    for start in sorted({t["start"] for t in traj}):
        for clipped, style in ((False, "-"), (True, "--")):
            pts = np.array([(t["w"], t["b"]) for t in traj if t["start"] == start and t["clipped"] == clipped])
            ax.plot(pts[:, 0], pts[:, 1], style, color="black", lw=1.2)
            ax.plot(pts[0, 0], pts[0, 1], "k.", ms=6)
    ax.plot([], [], "k-", label="gradient descent")
    ax.plot([], [], "k--", label=f"clipped at {c.clip:g}")
    ax.set(xlim=(c.w_min, c.w_max), ylim=(c.b_min, c.b_max),
           title=f"E = (sigmoid(x_{c.steps}) - {c.target})^2, x_t = w sigmoid(x_(t-1)) + b")
    ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
    excess = np.array([r["w"] - CUSP_W for r in wall])
    on_boundary = np.array([r["kind"] == "basin_boundary" for r in wall], dtype=bool)
    at_fold = np.array([r["kind"] == "fold" for r in wall], dtype=bool)
    d_boundary = np.array([r["distance_to_basin_boundary"] + 1e-17 for r in wall])
    d_fold = np.array([r["distance_to_fold"] for r in wall])
    ax2.plot(excess, d_boundary, "-", color="C0", lw=0.8)
    ax2.plot(excess[on_boundary], d_boundary[on_boundary], "o", color="C0", label="|wall - basin boundary|")
    ax2.plot(excess, d_fold, "-", color="C1", lw=0.8)
    ax2.plot(excess[~at_fold], d_fold[~at_fold], "s", mfc="none", color="C1", label="|wall - nearest fold|")
    ax2.plot(excess[at_fold], d_fold[at_fold], "x", ms=7, mew=1.5, color="C1", label="|wall - fold| at fold points")
    ax2.plot(excess, [r["tolerance_b"] for r in wall], ":", color="grey",
             label=f"tolerance ({WALL_KIND_TOLERANCE:g} widths of the wall)")
    threshold = pascanu_boundary_threshold(x0=c.x0) - CUSP_W
    ax2.axvline(threshold, color="red", ls="--", lw=0.8, label=f"w = 1/s'(x0) = {threshold + CUSP_W:.3f}")
    ax2.set(xscale="log", yscale="log", xlabel=f"w - {CUSP_W:g}", ylabel="distance in b",
            title="the wall follows the basin boundary where there is one, else the fold")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    return fig


def clipping_figure(result: CliffResult, config: PascanuCliffConfig) -> Figure:
    """Left: the surface at the shortest T of the clipping experiment around the wall, with the fold curve and the
    basin boundary, and plain (solid) and clipped (dashed) descent from a few starts one step before the wall: the
    plain step that lands on the wall leaves the panel (arrow), the clipped one crosses. Middle: final loss per T,
    plain and clipped, with the starts' loss. Right: the largest step of each run per T (log scale), with the throw
    distance and the longest clipped step ``lr * clip``."""
    c = config
    lengths = sorted(result.clipping_paths)
    fig = Figure(figsize=(13, 4.2))
    ax, ax2, ax3 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.35, 1, 1]})
    if lengths:
        T = lengths[0]
        w_lo, w_hi = CLIP_W_RANGE[0] - 0.7, CLIP_W_RANGE[1] + 0.7
        b_lo = float(pascanu_basin_boundary(w_hi, x0=c.x0)) - 1.0
        b_hi = float(pascanu_basin_boundary(w_lo, x0=c.x0)) + 1.0
        surface = pascanu_surface(np.linspace(w_lo, w_hi, 160), np.linspace(b_lo, b_hi, 160), steps=T, x0=c.x0,
                                  target=c.target, device=c.device)
        plot_surface(surface, ax=ax)
        fw, fb = pascanu_fold_curve(np.linspace(-6, 6, 400))
        ax.plot(fw, fb, color="white", lw=1.0, label="fold")
        ws = np.linspace(w_lo, w_hi, 200)
        ax.plot(ws, pascanu_basin_boundary(ws, x0=c.x0), color="red", lw=1.0, ls="--", label="basin boundary")
        rows = [r for r in result.clipping if r["T"] == T]
        centre = [k for k, r in enumerate(rows) if abs(r["land_widths"]) < 1e-12] or list(range(len(rows)))
        for k in centre[:: max(1, len(centre) // 4)]:
            for label, style in (("unclipped", "-"), ("clipped", "--")):
                path = result.clipping_paths[T][label][k]
                path = path[np.isfinite(path[:, 2])]
                inside = (path[:, 0] >= w_lo) & (path[:, 0] <= w_hi) & (path[:, 1] >= b_lo) & (path[:, 1] <= b_hi)
                last = int(np.argmin(inside)) if not inside.all() else len(path)
                ax.plot(path[:last, 0], path[:last, 1], style, color="black", lw=1.3)
                if last < len(path):  # thrown out of the panel: an arrow along the step
                    start, end = path[last - 1, :2], path[last, :2]
                    d = (end - start) / np.hypot(*(end - start))
                    ax.annotate("", xy=start + 0.9 * d, xytext=start, arrowprops=dict(arrowstyle="->", color="black"))
            ax.plot(path[0, 0], path[0, 1], "k.", ms=6)
        ax.plot([], [], "k-", label="plain descent")
        ax.plot([], [], "k--", label=f"clipped at {c.clip:g}")
        ax.set(xlim=(w_lo, w_hi), ylim=(b_lo, b_hi), title=f"T = {T}: a step onto the wall throws plain descent")
        ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
    for i, T in enumerate(lengths):
        rows = [r for r in result.clipping if r["T"] == T]
        for j, (label, color) in enumerate((("unclipped", "C3"), ("clipped", "C0"))):
            losses = [r[f"final_loss_{label}"] for r in rows]
            xs = i + (j - 0.5) * 0.35 + np.linspace(-0.08, 0.08, len(losses))
            ax2.plot(xs, losses, ".", color=color, ms=3, alpha=0.6, label=(label if i == 0 else None))
            ax2.plot([i + (j - 0.5) * 0.35 - 0.12, i + (j - 0.5) * 0.35 + 0.12], [np.nanmedian(losses)] * 2,
                     color=color, lw=2)
            steps = [r[f"largest_step_{label}"] for r in rows]
            ax3.plot(xs, steps, ".", color=color, ms=3, alpha=0.6, label=(label if i == 0 else None))
        ax2.plot([i - 0.3, i + 0.3], [np.nanmedian([r["start_loss"] for r in rows])] * 2, ":", color="grey",
                 label="start (median)" if i == 0 else None)
    for a_ in (ax2, ax3):
        a_.set_xticks(range(len(lengths)), [f"T = {T}" for T in lengths])
        a_.grid(alpha=0.3)
    ax2.set(ylabel="final loss", title=f"after {c.clip_iterations} steps (bars: medians)")
    ax2.legend(fontsize=7)
    ax3.axhline(c.throw_distance, color="k", ls=":", lw=1, label=f"thrown beyond {c.throw_distance:g}")
    ax3.axhline(c.lr * c.clip, color="C0", ls="--", lw=0.8, label="longest clipped step")
    ax3.set(yscale="log", ylabel="largest step in (w, b)", title="the jump")
    ax3.legend(fontsize=7)
    fig.tight_layout()
    return fig


def surface_3d_figure(surface: Surface) -> Figure:
    """The surface in 3-D, log10 of the loss."""
    fig = Figure(figsize=(5.5, 4.5))
    ax = plot_surface_3d(surface, ax=fig.add_subplot(projection="3d"))
    ax.set_title("Pascanu et al. 2013, Fig. 6 (log10 loss)")
    return fig


def report(summary: dict[str, Any], config: PascanuCliffConfig) -> list[str]:
    """The run's headline in words."""
    s = summary
    kinds = s["wall_points_by_kind"]
    return [f"wall located at {s['wall_points_located']}/{s['wall_points_tried']} values of w: "
            f"{kinds['basin_boundary']} on the basin boundary (w >= {s['basin_boundary_w_min']:.3f}; largest distance "
            f"{s['max_distance_to_basin_boundary']:.2e}, {s['max_distance_to_basin_boundary_in_widths']:.2f} widths; "
            f"median distance to a fold {s['median_distance_to_fold']:.2f}), {kinds['fold']} at a fold "
            f"(w <= {s['fold_w_max']:.3f}; largest distance {s['max_distance_to_fold_at_folds']:.2e}), "
            f"{kinds['neither']} on neither; median gradient norm on the basin-boundary wall "
            f"{s['grad_norm_on_wall']:.3g}, at the folds {s['grad_norm_at_folds']:.3g} "
            f"(largest on the {config.resolution}^2 grid: {s['max_grad_norm_on_grid']:.3g}); final loss unclipped "
            f"{s['final_loss']['unclipped']:.3f}, clipped {s['final_loss']['clipped']:.3f}"] + [
        f"T = {T}, {k['starts']} starts one step before the wall: thrown {k['thrown_fraction_unclipped']:.2f} plain, "
        f"{k['thrown_fraction_clipped']:.2f} clipped (median jump {k['median_largest_step_unclipped']:.3g}); median "
        f"final loss {k['median_final_loss_unclipped']:.3f} plain, {k['median_final_loss_clipped']:.3f} clipped"
        for T, k in s["clipping"].items()]


def run(config: PascanuCliffConfig, context: RunContext) -> Result:
    """Compute the surface, the wall and the trajectories; the result carries their tables, the surface, the
    summary and both figures."""
    result = pascanu_cliff(config)
    arrays = result.surface.arrays()
    return Result(summary=result.summary, tables={"runs": result.wall, "trajectories": result.trajectories,
                                                  "clipping": result.clipping},
                  files={"surface.npz": lambda f: np.savez(f, **arrays)},
                  figures={"pascanu_cliff": cliff_figure(result, config),
                           "pascanu_clipping": clipping_figure(result, config),
                           "pascanu_cliff_3d": surface_3d_figure(result.surface)},
                  report=report(result.summary, config))


SUMMARY_KEYS: dict[str, str] = {
    "wall": ("the located wall: aligned lists of w, b and the kind of curve each point lies on (basin_boundary or "
             "fold)"),
    "wall_points_by_kind": "how many wall points lie on the basin boundary through x0, on a fold, or on neither",
    "wall_points_near_both": "basin-boundary points that have a fold within the tolerance too",
    "basin_boundary_threshold_w": ("1/s'(x0): the smallest w for which a basin boundary passes through x0 (closed "
                                   "form)"),
    "fold_w_max": "largest w of a wall point on a fold",
    "basin_boundary_w_min": "smallest w of a wall point on the basin boundary",
    "kind_tolerance_widths": "the tolerance, in widths of the wall, within which a point counts as lying on a curve",
    "max_distance_to_basin_boundary": ("largest distance in b from a basin-boundary wall point to the closed-form "
                                       "boundary"),
    "max_distance_to_basin_boundary_in_widths": "the same in the wall's own widths (where float64 resolves them)",
    "median_distance_to_fold": "median distance in b from the basin-boundary wall points to the fold curve",
    "max_distance_to_fold_at_folds": "largest distance in b from a fold wall point to the fold curve",
    "max_distance_to_fold_at_folds_in_widths": "the same in the wall's widths",
    "grad_norm_on_wall": "median gradient norm at the basin-boundary wall points",
    "grad_norm_at_folds": "median gradient norm at the fold wall points",
    "wall_points_located": "values of w at which a wall was found",
    "wall_points_tried": "values of w searched",
    "final_loss": "mean final loss of gradient descent, unclipped and clipped",
    "max_grad_norm_on_grid": "largest gradient norm on the surface's grid (the grid misses the wall's peak)",
    "clipping": ("per T, from starts one plain step before the wall: the fraction of runs thrown and the median final "
                 "loss, plain and clipped, with the median jump"),
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="pascanu-cliff", config=PascanuCliffConfig, run=run, description=__doc__, summary_keys=SUMMARY_KEYS)
