"""How Pascanu's wall forms as T grows: its width and gradient norm per T, and their rates against the Jacobian's.

At one ``w`` (bistable, ``w > 4``) of the map ``x_t = w sigmoid(x_{t-1}) + b``, for each number of steps T: the
steepest point of ``b -> x_T`` (:func:`dynlatch.landscape.pascanu_steepest`), its width and the gradient norm of the
loss there; then the per-step exponential rates of the gradient norm's growth and of the width's shrinking, fitted over
the T where the wall is resolved and steep (gradient norm > 10), against the rate the Jacobian predicts,
``log(w s'(x0))`` (:func:`dynlatch.landscape.pascanu_boundary_rate`): ``x0`` is the unstable fixed point on the basin
boundary, so a perturbation of ``b`` there grows by ``w s'(x0)`` per step.

Writes ``runs.csv`` (one row per T), ``summary.json`` (``growth``: measured and predicted rates) and
``cliff_vs_length.pdf/.png`` (a small surface per T, the first six, and the rates). A few seconds.
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
    Surface, pascanu_basin_boundary, pascanu_boundary_rate, pascanu_fold_b, pascanu_steepest, pascanu_surface,
)
from ._study import Result, RunContext, Study

STEEP_GRAD_NORM = 10.0
"""Rates are fitted over the T whose peak gradient norm exceeds this: a wall, not the plateau's gentle slope."""

FIGURE_SURFACES = 6
"""At most this many surfaces (the first lengths) are drawn."""


MAX_LENGTH = 2000
"""Longest T followed: the wall narrows like ``(w s'(x0))^-T``, far below float64's resolution of ``b`` long before
(near T = 230 at w = 5); longer T only cost time."""


def _lengths(name: str, values: Any) -> tuple[int, ...]:
    values = _checks.lengths(name, values, different=2, purpose="to fit a rate")
    if max(values) > MAX_LENGTH:
        raise CheckError(name, f"must be at most {MAX_LENGTH} (the wall is unresolved in float64 long before); got "
                               f"{max(values)}")
    return values


@dataclass(frozen=True)
class CliffVsLengthConfig(Config):
    """Settings of ``dynlatch run cliff-vs-length``: the wall of Pascanu's map at one w as T grows."""

    lengths: tuple[int, ...] = option((5, 10, 20, 50, 100, 200), flag="--lens", help="numbers of steps T",
                                      check=_lengths)
    w: float = option(5.0, help="w at which the wall is followed (> 4, bistable; a small w keeps the wall resolvable "
                                "in float64 up to T = 200)", check=_checks.number_in(above=4))
    b_min: float = option(-10.0, help="smallest b searched", check=_checks.number_in())
    b_max: float = option(1.0, help="largest b searched", check=_checks.number_in())
    x0: float = option(0.5, help="initial state x_0", check=_checks.number_in())
    target: float = option(0.7, help="target of sigmoid(x_T)", check=_checks.number_in(above=0, below=1))
    resolution: int = option(160, help="grid points per axis of the small surfaces",
                             check=_checks.integer_at_least(8), quick=48)
    seed: int = option(0, help="seed (the analysis is deterministic; kept for a uniform interface)",
                       check=_checks.seed)

    def check_together(self) -> None:
        if not self.b_max > self.b_min:
            raise CheckError("b_max", f"must exceed b_min ({self.b_min}); got {self.b_max}")


@dataclass(frozen=True)
class WallGrowth:
    """What :func:`cliff_vs_length` computes.

    Attributes:
        rows: one row per T: ``T``, ``w``, the steepest point (``b``, ``width``, ``grad_norm``, ``resolved``), the
            basin boundary's ``b`` and the distance to it.
        surfaces: a small surface around the wall by T.
        summary: ``growth`` (``w``, ``measured_rate``, ``predicted_rate``, ``measured_width_rate``,
            ``lengths_fitted``) and ``basin_boundary_b``.
    """

    rows: list[dict[str, Any]]
    surfaces: dict[int, Surface]
    summary: dict[str, Any]


def fitted_rates(rows: list[dict[str, Any]]) -> tuple[float, float, list[int]]:
    """Per-step rates of the gradient norm's growth and of the width's shrinking (least-squares slopes of their logs
    against T) over the rows where the wall is resolved and steep; NaN with fewer than two such rows.

    Returns:
        (gradient-norm rate, width rate, the T fitted).
    """
    fit = [r for r in rows if r["resolved"] and r["grad_norm"] > STEEP_GRAD_NORM]
    if len(fit) < 2:
        return np.nan, np.nan, [r["T"] for r in fit]
    Ts = np.array([r["T"] for r in fit], dtype=float)
    grad_rate = float(np.polyfit(Ts, np.log([r["grad_norm"] for r in fit]), 1)[0])
    width_rate = float(-np.polyfit(Ts, np.log([r["width"] for r in fit]), 1)[0])
    return grad_rate, width_rate, [r["T"] for r in fit]


def cliff_vs_length(config: CliffVsLengthConfig) -> WallGrowth:
    """How the wall of Pascanu's map forms as T grows, at one ``w`` (see the module docstring)."""
    c = config
    rows, surfaces = [], {}
    boundary = float(pascanu_basin_boundary(c.w, x0=c.x0))
    span = max(1.0, 3 * abs(boundary - np.mean(pascanu_fold_b(c.w))))
    for T in c.lengths:
        steep = pascanu_steepest(c.w, b_range=(c.b_min, c.b_max), steps=T, x0=c.x0, target=c.target)
        rows.append({"T": int(T), "w": float(c.w), **steep, "basin_boundary_b": boundary,
                     "distance_to_basin_boundary": abs(steep["b"] - boundary)})
        surfaces[int(T)] = pascanu_surface(np.linspace(max(c.w - 2, 0), c.w + 2, c.resolution),
                                           np.linspace(boundary - span, boundary + span, c.resolution), steps=T,
                                           x0=c.x0, target=c.target)
    grad_rate, width_rate, fitted = fitted_rates(rows)
    summary = {"growth": {"w": float(c.w), "measured_rate": grad_rate,
                          "predicted_rate": pascanu_boundary_rate(c.w, x0=c.x0),
                          "measured_width_rate": width_rate, "lengths_fitted": fitted},
               "basin_boundary_b": boundary}
    return WallGrowth(rows, surfaces, summary)


def growth_figure(result: WallGrowth, config: CliffVsLengthConfig) -> Figure:
    """log10 of the loss around the wall per T (the first six), with the basin boundary and the ``w`` followed; the
    peak gradient norm and the width against T with the predicted rate; the distance to the basin boundary."""
    rows = result.rows
    Ts = sorted(result.surfaces)
    fig = Figure(figsize=(13, 6.5))
    for i, T in enumerate(Ts[:FIGURE_SURFACES]):
        ax = fig.add_subplot(2, 4, i + 1 + (i // 3))
        surf = result.surfaces[T]
        ax.contourf(surf.x, surf.y, np.log10(np.maximum(surf.loss, 1e-12)), levels=20, cmap="viridis")
        ax.plot(surf.x, pascanu_basin_boundary(surf.x, x0=config.x0), color="red", lw=0.7, ls="--")
        ax.axvline(config.w, color="white", lw=0.6, ls=":")
        ax.set_ylim(surf.y[0], surf.y[-1])
        ax.set_title(f"T = {T}", fontsize=9)
        ax.set_xlabel("w", fontsize=8)
        ax.set_ylabel("b", fontsize=8)
        ax.tick_params(labelsize=7)
    ax = fig.add_subplot(2, 4, 4)
    good = [r for r in rows if r["resolved"]]
    T_all = np.array([r["T"] for r in rows], dtype=float)
    g = result.summary["growth"]
    ax.semilogy([r["T"] for r in rows], [r["grad_norm"] for r in rows], "o-", label="peak gradient norm")
    ax.semilogy([r["T"] for r in good], [r["width"] for r in good], "s-", label="wall width (in b)")
    if good:
        T0 = good[-1]["T"]
        ax.semilogy(T_all, good[-1]["grad_norm"] * np.exp(g["predicted_rate"] * (T_all - T0)), "k:", lw=1,
                    label=f"predicted rate {g['predicted_rate']:.3f}/step")
        ax.semilogy(T_all, good[-1]["width"] * np.exp(-g["predicted_rate"] * (T_all - T0)), "k:", lw=1)
    ax.set(xlabel="T", title=f"w = {config.w}: measured {g['measured_rate']:.3f}/step")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(2, 4, 8)
    ax.semilogy([r["T"] for r in rows], [r["distance_to_basin_boundary"] + 1e-17 for r in rows], "o-")
    ax.set(xlabel="T", ylabel="|steepest b - basin boundary|", title="the wall converges on the basin boundary")
    ax.grid(alpha=0.3)
    fig.suptitle("log10 E of x_t = w sigmoid(x_(t-1)) + b over (w, b) as the number of steps grows (red dashed: the "
                 "basin boundary, where x0 is the unstable fixed point; dotted: the w followed)", fontsize=10)
    fig.tight_layout()
    return fig


def run(config: CliffVsLengthConfig, context: RunContext) -> Result:
    """Follow the wall over the lengths; the result carries its rows, the summary and the figure."""
    result = cliff_vs_length(config)
    g = result.summary["growth"]
    line = (f"w = {g['w']}: gradient norm across the wall grows at {g['measured_rate']:.4f} per step (width shrinks "
            f"at {g['measured_width_rate']:.4f}); the unstable multiplier predicts {g['predicted_rate']:.4f}; "
            f"fitted over T = {g['lengths_fitted']}")
    return Result(summary=result.summary, tables={"runs": result.rows},
                  figures={"cliff_vs_length": growth_figure(result, config)}, report=[line])


SUMMARY_KEYS: dict[str, str] = {
    "growth": ("at w: the measured growth rate per step of the gradient norm across the wall, the rate the unstable "
               "multiplier w s'(x0) predicts, the rate at which the wall's width shrinks, and the lengths fitted"),
    "basin_boundary_b": ("b of the basin boundary through x0 at that w (closed form), where the wall converges as T "
                         "grows"),
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="cliff-vs-length", config=CliffVsLengthConfig, run=run, description=__doc__,
              summary_keys=SUMMARY_KEYS)
