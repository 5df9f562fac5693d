"""Accuracy of the hand-built one-unit latches (SRNN, period-2 SRNN, two LSTMs, GRU) versus T (up to 1000) and noise.

Can a one-unit cell of each kind hold the sign of the first input through T steps of noise at all? Every latch of
:data:`dynlatch.cells.handmade.HANDMADE` (weights set by reasoning, no training) is scored on information-latching data
with a read-out set from where its two noiseless trajectories end up (its attractors), at every (T, sigma).

Writes ``runs.csv`` (one row per latch, T and sigma), ``handmade_latches.pdf/.png`` and ``summary.json`` (accuracy per
latch, sigma and T, and the largest noise at which each latch keeps accuracy >= 0.99 at every T).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .. import _checks
from .._config import Config, option
from ..cells.handmade import HANDMADE, score_latches
from ._study import Result, RunContext, Study

ROBUST_ACCURACY = 0.99
"""Accuracy a latch must keep at every T for a noise level to count as tolerated."""


def _lengths(name: str, values: Sequence[int]) -> tuple[int, ...]:
    return tuple(_checks.integer(name, v, minimum=1) for v in values)


def _sigmas(name: str, values: Sequence[float]) -> tuple[float, ...]:
    return tuple(_checks.number(name, v, at_least=0) for v in values)


def _latches(name: str, values: Sequence[str]) -> tuple[str, ...]:
    return tuple(_checks.choice(name, v, tuple(HANDMADE)) for v in _checks.distinct(name, values))


@dataclass(frozen=True)
class HandmadeLatchesConfig(Config):
    """Settings of ``dynlatch run handmade-latches``."""

    latches: tuple[str, ...] = option(tuple(HANDMADE), help="hand-built cells to score", check=_latches)
    lengths: tuple[int, ...] = option((5, 20, 50, 100, 200, 500, 1000), flag="--lens",
                                      help="sequence lengths T", check=_lengths, quick=(5, 50, 200))
    sigmas: tuple[float, ...] = option((0.05, 0.1, 0.2, 0.3, 0.5, 1.0), help="input noise standard deviations",
                                       check=_sigmas, quick=(0.1, 0.3, 1.0))
    n: int = option(1000, help="sequences per (T, sigma)", check=lambda k, v: _checks.integer(k, v, minimum=2),
                    quick=200)
    seed: int = option(0, help="data seed", check=_checks.seed)


def summarise(rows: Sequence[dict[str, Any]], config: HandmadeLatchesConfig) -> dict[str, Any]:
    """Per latch: its cell kind, accuracy by sigma and T, and the largest sigma with accuracy >= 0.99 at every T."""
    by_latch = {}
    for name in config.latches:
        mine = [r for r in rows if r["latch"] == name]
        robust = [r["sigma"] for r in mine
                  if all(q["accuracy"] >= ROBUST_ACCURACY for q in mine if q["sigma"] == r["sigma"])]
        by_latch[name] = {
            "cell": mine[0]["cell"],
            "accuracy": {str(s): {str(r["T"]): r["accuracy"] for r in mine if r["sigma"] == s} for s in config.sigmas},
            "largest_sigma_with_accuracy_0.99_at_every_T": max(robust) if robust else None,
        }
    return {"latches": by_latch}


def handmade_latches_figure(rows: Sequence[dict[str, Any]], config: HandmadeLatchesConfig) -> Figure:
    """One panel per latch: accuracy vs T, one curve per noise level."""
    latches = list(config.latches)
    fig = Figure(figsize=(3.2 * len(latches), 3.4))
    axes = fig.subplots(1, len(latches), sharey=True, squeeze=False)
    colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(config.sigmas)))
    for ax, name in zip(axes[0], latches):
        for color, sigma in zip(colors, config.sigmas):
            pts = sorted((r["T"], r["accuracy"]) for r in rows if r["latch"] == name and r["sigma"] == sigma)
            ax.semilogx(*zip(*pts), "o-", ms=3, color=color, label=f"sigma = {sigma:g}")
        ax.set(title=name.replace("_", " "), xlabel="sequence length T", ylim=(0.45, 1.02))
        ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy (attractor read-out)")
    axes[0][-1].legend(fontsize=7, frameon=False)
    fig.suptitle("hand-built one-unit latches on information latching, no training", fontsize=10)
    fig.tight_layout()
    return fig


def run(config: HandmadeLatchesConfig, context: RunContext) -> Result:
    """Score every latch on the grid; the result carries the rows, the summary and the figure."""
    rows = score_latches(config.latches, lengths=config.lengths, sigmas=config.sigmas, n=config.n, seed=config.seed)
    summary = summarise(rows, config)
    report = [f"{name:>22}: accuracy >= 0.99 at every T up to sigma = "
              f"{s['largest_sigma_with_accuracy_0.99_at_every_T']}" for name, s in summary["latches"].items()]
    return Result(summary=summary, tables={"runs": rows},
                  figures={"handmade_latches": handmade_latches_figure(rows, config)}, report=report)


SUMMARY_KEYS: dict[str, str] = {
    "latches": ("per hand-built latch: its cell, the accuracy at each noise s.d. and T, and the largest noise s.d. "
                "with 99% accuracy at every T"),
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="handmade-latches", config=HandmadeLatchesConfig, run=run, description=__doc__,
              summary_keys=SUMMARY_KEYS)
