"""Pascanu et al. 2013's cliff (Fig. 6), with the fold curves and basin boundary showing what the wall follows.

The loss ``E = (sigmoid(x_T) - target)^2`` of the one-unit map ``x_t = w sigmoid(x_{t-1}) + b`` over ``(w, b)``
(:func:`dynlatch.landscape.pascanu_surface`, one batched program), the wall located by root finding at
``wall_points`` values of ``w`` (:func:`dynlatch.landscape.pascanu_wall`) and compared with the basin boundary through
``x0`` and the fold curve (closed forms), and gradient descent from ``starts`` with and without norm clipping.

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
    Surface, gradient_descent, pascanu_basin_boundary, pascanu_fold_b, pascanu_fold_curve, pascanu_surface,
    pascanu_wall, pascanu_wall_profile, plot_surface, plot_surface_3d,
)
from ._study import Result, RunContext, Study

WALL_W_MIN = 4.6
"""The wall is looked for at ``w`` in ``(WALL_W_MIN, w_max]``: bistability, hence a wall, needs ``w > 4``."""


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
    wall_points: int = option(24, help="values of w (in (4.6, w_max]) at which the wall is located by root finding",
                              check=_checks.integer_at_least(1), quick=8)
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
        if not self.w_max > WALL_W_MIN:
            raise CheckError("w_max", f"must exceed {WALL_W_MIN} so that the surface has a wall (bistability needs "
                                      f"w > 4); got {self.w_max}")


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


def wall_row(w: float, *, b_range: tuple[float, float], steps: int, x0: float, target: float) -> dict[str, Any]:
    """The wall of Pascanu's map at one ``w``, with where the theory puts it: the located ``b`` (NaN if none), the
    basin boundary through ``x0``, the two fold values of ``b``, the distances to them (in ``b``), and the wall's
    width and peak gradient norm (:func:`dynlatch.landscape.pascanu_wall_profile`)."""
    walls = pascanu_wall(w, b_range=b_range, steps=steps, x0=x0)
    boundary = float(pascanu_basin_boundary(w, x0=x0))
    folds = pascanu_fold_b(w) if w > 4 else (np.nan, np.nan)
    row: dict[str, Any] = {"w": float(w), "b": np.nan, "basin_boundary_b": boundary, "fold_b_lower": folds[0],
                           "fold_b_upper": folds[1], "distance_to_basin_boundary": np.nan,
                           "distance_to_fold": np.nan, "width": np.nan, "grad_norm": np.nan, "walls_found": len(walls)}
    if walls:
        b = walls[0]
        profile = pascanu_wall_profile(w, b, steps=steps, x0=x0, target=target)
        row.update(b=b, distance_to_basin_boundary=abs(b - boundary), width=profile["width"],
                   grad_norm=profile["grad_norm"], distance_to_fold=float(np.nanmin(np.abs(np.subtract(folds, b)))))
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


def pascanu_cliff(config: PascanuCliffConfig) -> CliffResult:
    """The surface, the located wall with the theory's curves, and gradient-descent trajectories with and without
    clipping.

    The summary's keys are what the paper reads: ``wall`` (the located ``w`` and ``b``),
    ``max_distance_to_basin_boundary``, ``median_distance_to_fold``, ``grad_norm_on_wall`` (median over ``w``),
    ``final_loss`` (mean final loss, unclipped and clipped), ``wall_points_located`` / ``wall_points_tried`` and
    ``max_grad_norm_on_grid``.
    """
    c = config
    kw = dict(steps=c.steps, x0=c.x0, target=c.target)
    surface = pascanu_surface(np.linspace(c.w_min, c.w_max, c.resolution), np.linspace(c.b_min, c.b_max, c.resolution),
                              device=c.device, **kw)
    ws = np.linspace(max(c.w_min, WALL_W_MIN), c.w_max, c.wall_points + 1)[1:]
    wall = [wall_row(w, b_range=(c.b_min, c.b_max), **kw) for w in ws]
    found = [r for r in wall if np.isfinite(r["b"])]
    trajectories, finals = descent_rows(c)
    summary = {
        "wall": {"w": [r["w"] for r in found], "b": [r["b"] for r in found]},
        "max_distance_to_basin_boundary": float(max(r["distance_to_basin_boundary"] for r in found)) if found
        else np.nan,
        "median_distance_to_fold": float(np.median([r["distance_to_fold"] for r in found])) if found else np.nan,
        "grad_norm_on_wall": float(np.median([r["grad_norm"] for r in found])) if found else np.nan,
        "final_loss": {k: float(np.nanmean(v)) for k, v in finals.items()},
        "wall_points_located": len(found), "wall_points_tried": len(wall),
        "max_grad_norm_on_grid": float(np.nanmax(surface.grad_norm)),
    }
    return CliffResult(surface, wall, trajectories, summary)


def cliff_figure(result: CliffResult, config: PascanuCliffConfig) -> Figure:
    """Left: the surface with the fold curve, the basin boundary through ``x0``, the located wall and the descent
    trajectories; right: the wall's distance to the basin boundary and to the nearest fold, per ``w``."""
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
    ax.plot([r["w"] for r in wall], [r["b"] for r in wall], "o", ms=4, mfc="none", mec="orange",
            label="wall located by root finding")
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
    ax2.semilogy([r["w"] for r in wall], [r["distance_to_basin_boundary"] + 1e-17 for r in wall], "o-",
                 label="|wall - basin boundary|")
    ax2.semilogy([r["w"] for r in wall], [r["distance_to_fold"] for r in wall], "s-", label="|wall - nearest fold|")
    ax2.set(xlabel="w", ylabel="distance in b", title="the wall follows the basin boundary, not the fold")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
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
    return [f"wall located at {s['wall_points_located']}/{s['wall_points_tried']} values of w; largest distance to "
            f"the basin boundary {s['max_distance_to_basin_boundary']:.2e}, median distance to a fold "
            f"{s['median_distance_to_fold']:.2f}; median gradient norm on the wall {s['grad_norm_on_wall']:.3g} "
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
