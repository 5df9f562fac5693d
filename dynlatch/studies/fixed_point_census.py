"""Fixed points of the latching sweep's models before and after training, by cell, T and success.

How many hold two stable states at zero input (bistable, a stable 2-cycle or a continuum), and the Jacobian's largest
|eigenvalue| at the start state h = c = 0. Reads --sweep; if it holds no finished sweep, runs a small one into
OUT/sweep.

A one-unit cell can latch the sign of its first input only if its zero-input map holds two states apart (Bengio,
Simard & Frasconi 1994); every sweep model starts at h = c = 0, where the largest |eigenvalue| of the Jacobian says how
far the map is from the bifurcation (|lambda| = 1) that creates such a pair. The census of each model is
:func:`dynlatch.dynamics.census_of_cell`.

Writes ``runs.csv`` (one row per (model, stage)), ``summary.json`` (per (cell, T, stage, succeeded) the models with two
stable states and the median largest |eigenvalue| at the origin; per cell the rank AUC of that eigenvalue of the
initial model as a predictor of success) and ``fixed_point_census.pdf/.png``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

from .. import _checks
from .._config import Config, option
from .._stats import roc_auc
from ..cells import kinds
from ..dynamics import fixed_point_census
from ..dynamics import STRUCTURES
from ..scripting import UsageError, write_csv, write_summary
from ..sweep import WEIGHTS_FILE, ShardExecutor, SweepResults, lock_folder, read_sweep
from ._runner import write_file
from ._study import Result, RunContext, Study
from .latching_sweep import SweepConfig, run_success_sweep, weights_writer


DEFAULT_SWEEP = "results/latching-sweep"
"""Where ``dynlatch run latching-sweep`` writes by default: the census reads it, or runs a small sweep if it is
absent."""


def _lengths(name: str, values: Sequence[int]) -> tuple[int, ...]:
    return tuple(_checks.integer(name, v, minimum=2) for v in _checks.distinct(name, values))


def _kinds(name: str, values: Sequence[str]) -> tuple[str, ...]:
    return tuple(_checks.choice(name, v, tuple(kinds())) for v in _checks.distinct(name, values))


@dataclass(frozen=True)
class FixedPointCensusConfig(Config):
    """Settings of ``dynlatch run fixed-point-census``. The sweep settings (lengths, repeats, n, seed) are used only
    when ``--sweep`` is left at its default and that folder does not exist: a small sweep is then run into
    ``OUT/sweep``. A folder named by ``--sweep`` that is not a finished sweep is an error."""

    sweep: str = option(DEFAULT_SWEEP, help="folder of a finished latching sweep to analyse (where the default folder "
                                           "does not exist, a small sweep is run into OUT/sweep)")
    cells: tuple[str, ...] = option(("srnn", "lstm", "gru"), help="cells to analyse (and train, if no sweep)",
                                    check=_kinds)
    lengths: tuple[int, ...] = option((5, 20, 50, 100), flag="--lens", check=_lengths, quick=(5, 20, 50),
                                      help="lengths T of the sweep run when --sweep has none")
    repeats: int = option(30, help="models per (cell, T) of the sweep run when --sweep has none",
                          check=lambda k, v: _checks.integer(k, v, minimum=1), quick=8)
    n: int = option(10000, help="sequences per data set of the sweep run when --sweep has none",
                    check=lambda k, v: _checks.integer(k, v, minimum=20), quick=2000)
    seed: int = option(0, help="base seed of the sweep run when --sweep has none", check=_checks.seed)

    def sweep_config(self) -> SweepConfig:
        """The :class:`~dynlatch.studies.latching_sweep.SweepConfig` of the sweep run when ``--sweep`` holds none."""
        return SweepConfig(cells=self.cells, lengths=self.lengths, repeats=self.repeats, n=self.n, seed=self.seed)


def load_or_run_sweep(config: FixedPointCensusConfig, out: Path, *, progress: bool = True,
                      executor: ShardExecutor | None = None) -> tuple[SweepResults, str, str | None]:
    """The sweep at ``config.sweep``; where that is the default folder and it does not exist, a small one
    (:meth:`FixedPointCensusConfig.sweep_config`) run (or resumed) into ``out/sweep``, its shards computed by
    ``executor`` (default this process).

    Returns:
        (results, the folder they came from, why ``config.sweep`` was not used or None).

    Raises:
        UsageError: if ``config.sweep`` exists, or is not the default, and holds no finished sweep (naming the file).
        dynlatch.sweep.SweepSettingsError, dynlatch.sweep.SweepLockedError: from the sweep run into ``out/sweep``.
    """
    given = Path(config.sweep)
    if given.exists() or str(config.sweep) != DEFAULT_SWEEP:
        try:
            return read_sweep(given), str(config.sweep), None
        except ValueError as e:
            raise UsageError(f"--sweep: {e}") from None
    reason = f"{given} is missing"
    folder = Path(out) / "sweep"
    sc = config.sweep_config()
    with lock_folder(folder):
        rows = run_success_sweep(sc, folder, progress=progress, executor=executor)
        write_csv(rows, folder / "runs.csv")
        write_file(folder / WEIGHTS_FILE, weights_writer(sc, folder))
        write_summary({"threshold": sc.threshold}, folder, config=sc)  # a finished sweep, readable by read_sweep
    return read_sweep(folder), str(folder), reason


def summarise_census(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per (cell, T, stage, succeeded): models, how many hold two stable states (and each structure), the median
    largest |eigenvalue| at the origin; per cell (and per (cell, T)) the rank AUC of the initial model's largest
    |eigenvalue| at the origin as a predictor of success (> 0.5: larger eigenvalues succeed more)."""
    groups = []
    order = {c: i for i, c in enumerate(dict.fromkeys(r["cell"] for r in rows))}
    keys = sorted({(r["cell"], r["T"], r["stage"], r["succeeded"]) for r in rows},
                  key=lambda k: (order[k[0]], k[1], k[2] != "initial", k[3]))
    for cell, T, stage, ok in keys:
        mine = [r for r in rows if (r["cell"], r["T"], r["stage"], r["succeeded"]) == (cell, T, stage, ok)]
        n2 = sum(r["two_stable_states"] for r in mine)
        groups.append({"cell": cell, "T": T, "stage": stage, "succeeded": ok, "models": len(mine),
                       "two_stable_states": n2, "fraction_two_stable_states": n2 / len(mine),
                       "structures": {s: sum(r["structure"] == s for r in mine) for s in STRUCTURES},
                       "median_origin_max_abs_eig": float(np.median([r["origin_max_abs_eig"] for r in mine]))})

    def auc_of(sel: list[dict[str, Any]]) -> dict[str, Any]:
        pos = [r["origin_max_abs_eig"] for r in sel if r["succeeded"]]
        neg = [r["origin_max_abs_eig"] for r in sel if not r["succeeded"]]
        auc = roc_auc(pos + neg, [True] * len(pos) + [False] * len(neg)) if pos and neg else math.nan
        return {"auc": auc, "succeeded": len(pos), "failed": len(neg)}

    auc: dict[str, Any] = {}
    for cell in dict.fromkeys(r["cell"] for r in rows):
        init = [r for r in rows if r["cell"] == cell and r["stage"] == "initial"]
        auc[cell] = {**auc_of(init), "by_T": {str(T): auc_of([r for r in init if r["T"] == T])
                                              for T in sorted({r["T"] for r in init})}}
    return {"groups": groups, "origin_eig_auc_initial": auc}


def census_figure(rows: Sequence[dict[str, Any]], summary: dict[str, Any], cells: Sequence[str]) -> Figure:
    """Per cell: the fraction of models with two stable states against T (initial and final, succeeded and failed),
    and the histogram of the initial model's largest |eigenvalue| at the origin by outcome."""
    fig = Figure(figsize=(4.2 * len(cells), 7.4))
    axes = fig.subplots(2, len(cells), squeeze=False)
    # (color, line, marker, face, x shift): initial points hollow and shifted left so coinciding fractions stay visible
    styles = {("initial", True): ("tab:green", "--", "o", "none", 0.97),
              ("initial", False): ("tab:red", "--", "o", "none", 0.94),
              ("final", True): ("tab:green", "-", "s", "tab:green", 1.0),
              ("final", False): ("tab:red", "-", "s", "tab:red", 1.03)}
    for ax, cell in zip(axes[0], cells):
        for (stage, ok), (color, ls, mk, face, shift) in styles.items():
            g = [x for x in summary["groups"] if x["cell"] == cell and x["stage"] == stage and x["succeeded"] == ok]
            if g:
                ax.plot([x["T"] * shift for x in g], [x["fraction_two_stable_states"] for x in g], ls=ls, marker=mk,
                        color=color, mfc=face, label=f"{stage}, {'succeeded' if ok else 'failed'}")
        Ts = sorted({r["T"] for r in rows if r["cell"] == cell})
        ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel="sequence length T",
               title=f"{cell}: models with 2 stable states at x = 0")
        ax.set_xticks(Ts, [str(T) for T in Ts])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction bistable / 2-cycle / continuum")
    axes[0][0].legend(fontsize=7, frameon=False)
    for ax, cell in zip(axes[1], cells):
        init = [r for r in rows if r["cell"] == cell and r["stage"] == "initial"]
        vals = [r["origin_max_abs_eig"] for r in init]
        bins = np.linspace(0.0, max([1.1, *vals]) * 1.02, 45)
        for ok, color in ((True, "tab:green"), (False, "tab:red")):
            v = [r["origin_max_abs_eig"] for r in init if r["succeeded"] == ok]
            if v:
                ax.hist(v, bins=bins, color=color, alpha=0.45, histtype="stepfilled",
                        label=f"{'succeeded' if ok else 'failed'} ({len(v)})")
        a = summary["origin_eig_auc_initial"].get(cell, {}).get("auc", float("nan"))
        ax.axvline(1.0, color="0.4", lw=0.8, ls=":", label="|eigenvalue| = 1 (bifurcation)")
        ax.set(xlabel="largest |eigenvalue| of J at h = c = 0, initial model", ylabel="models",
               title=f"{cell}: AUC for success = {a:.2f}")
        ax.legend(fontsize=7, frameon=False)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def report_lines(summary: dict[str, Any]) -> list[str]:
    """The headline in words: where the sweep came from, each group's count of two stable states, each cell's AUC."""
    reason = summary["sweep_not_used"]
    lines = [f"sweep: {summary['sweep']}" + ("" if reason is None else f" ({reason})")]
    lines += [f"{g['cell']:>5} T={g['T']:<4} {g['stage']:>7} {'ok  ' if g['succeeded'] else 'fail'}: "
              f"{g['two_stable_states']:>3}/{g['models']:<3} two stable states, median max|eig(0)| "
              f"{g['median_origin_max_abs_eig']:.3f}" for g in summary["groups"]]
    lines += [f"{cell:>5}: AUC of the initial max|eig(0)| for success {a['auc']:.3f} "
              f"({a['succeeded']} succeeded, {a['failed']} failed)"
              for cell, a in summary["origin_eig_auc_initial"].items()]
    return lines


def run(config: FixedPointCensusConfig, context: RunContext) -> Result:
    """Read (or run) the sweep and take the census of its models before and after training.

    Raises:
        dynlatch.scripting.UsageError: if the sweep has none of ``config.cells``.
    """
    context.say(f"reading the sweep at {config.sweep} (or running a small one into {context.out / 'sweep'})")
    results, source, reason = load_or_run_sweep(config, context.out, progress=context.progress,
                                                executor=context.shards)
    cells = [c for c in config.cells if any(r["cell"] == c for r in results.rows)]
    if not cells:
        raise UsageError(f"--cells: the sweep at {source} has none of {', '.join(config.cells)}")
    rows = fixed_point_census(results, cells=cells)
    summary = {"sweep": source, "sweep_not_used": reason, "sweep_settings": results.settings,
               "threshold": results.threshold, **summarise_census(rows)}
    return Result(summary=summary, tables={"runs": rows},
                  figures={"fixed_point_census": census_figure(rows, summary, cells)}, report=report_lines(summary))


SUMMARY_KEYS: dict[str, str] = {
    "sweep": "the latching sweep folder the census read",
    "sweep_not_used": "why `--sweep` was not used (a small sweep was run instead), or null",
    "sweep_settings": "the settings of the sweep that was read",
    "threshold": "validation accuracy counted as success",
    "groups": ("per (cell, T, stage, succeeded): models, how many hold two stable states (bistable, a stable 2-cycle "
               "or a continuum), the structures counted and the median largest |eigenvalue| at the origin"),
    "origin_eig_auc_initial": ("per cell (and per T): the rank AUC of the initial model's largest |eigenvalue| at the "
                               "origin as a predictor of success, with the class sizes"),
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="fixed-point-census", config=FixedPointCensusConfig, run=run, description=__doc__,
              summary_keys=SUMMARY_KEYS, sharded=True)
