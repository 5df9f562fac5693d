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

Writes ``runs.csv`` (the wall: one row per ``w``), ``trajectories.csv`` (one row per start, clipping and iteration),
``surface.npz`` (:meth:`dynlatch.landscape.Surface.load` reads it), ``summary.json`` and the figures
``pascanu_cliff.pdf/.png`` (surface with overlays; distances of the wall to the boundary and to the folds) and
``pascanu_cliff_3d.pdf/.png``. A few seconds at the defaults.
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
    pascanu_boundary_threshold, pascanu_fold_b, pascanu_fold_curve, pascanu_surface, pascanu_wall, pascanu_wall_kind,
    pascanu_wall_profile, pascanu_wall_tolerance, plot_surface, plot_surface_3d,
)
from ._study import Result, RunContext, Study

CUSP_W = 4.0
"""The cusp of the sigmoid map's fold curve: two attractors, hence a jump between them, need ``w > CUSP_W``."""

WALL_W_MIN = 4.1
"""Default smallest ``w`` of the wall search: below ``1/s'(0.5) ~ 4.26``, so that the search covers the fold regime
between the cusp and the basin boundary's appearance, and far enough from the cusp for the two attractors to be
distinct at T = 50 (their gap is about 1 in x at w = 4.1)."""


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
    """

    surface: Surface
    wall: list[dict[str, Any]]
    trajectories: list[dict[str, Any]]
    summary: dict[str, Any]


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
    ``max_grad_norm_on_grid``. A statistic over no points is NaN.
    """
    c = config
    kw = dict(steps=c.steps, x0=c.x0, target=c.target)
    surface = pascanu_surface(np.linspace(c.w_min, c.w_max, c.resolution), np.linspace(c.b_min, c.b_max, c.resolution),
                              device=c.device, **kw)
    ws = wall_ws(max(c.w_min, c.wall_w_min), c.w_max, points=c.wall_points)
    wall = [wall_row(w, b_range=(c.b_min, c.b_max), **kw) for w in ws]
    trajectories, finals = descent_rows(c)
    summary = {
        **wall_summary(wall, x0=c.x0),
        "final_loss": {k: float(np.nanmean(v)) for k, v in finals.items()},
        "max_grad_norm_on_grid": float(np.nanmax(surface.grad_norm)),
    }
    return CliffResult(surface, wall, trajectories, summary)


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
            f"{s['final_loss']['unclipped']:.3f}, clipped {s['final_loss']['clipped']:.3f}"]


def run(config: PascanuCliffConfig, context: RunContext) -> Result:
    """Compute the surface, the wall and the trajectories; the result carries their tables, the surface, the
    summary and both figures."""
    result = pascanu_cliff(config)
    arrays = result.surface.arrays()
    return Result(summary=result.summary, tables={"runs": result.wall, "trajectories": result.trajectories},
                  files={"surface.npz": lambda f: np.savez(f, **arrays)},
                  figures={"pascanu_cliff": cliff_figure(result, config),
                           "pascanu_cliff_3d": surface_3d_figure(result.surface)},
                  report=report(result.summary, config))


STUDY = Study(name="pascanu-cliff", config=PascanuCliffConfig, run=run, description=__doc__)
