"""Bit relay with 8 units: which set-up ranks SRNN, LSTM and GRU how, and does success track the initial radius?

Set-ups: Keras 2 / PyTorch / Keras 3 defaults, tweaked training, edge-of-memory biases; the question is whether
success tracks the initial spectral radius at the origin: does the one-unit mechanism (start at or past the
bifurcation) carry over to n units?

The thread reports two different outcomes for the answer's "task 2" (bit relay: label 1 iff sign(x_0) =
sign(x_{T//2}), :func:`dynlatch.tasks.bit_relay`): the answerer, who "tweaked some parameters (such as the learning
rate, number of epochs, and batch size) to make sure training always converged", finds the GRU best; the asker's
extension (8 units, 10 repeats, 10 epochs) finds "GRU performs better while SRNN and LSTM are equally bad". With
Keras-2 defaults ``dynlatch run latching-sweep --task bit-relay --hidden 8 --repeats 10 --epochs 10 --lens 5,100``
gives SRNN 0.40, LSTM 0.00 and GRU 0.00 at T = 100. This module trains the three cells under the named set-ups of
:data:`SETUPS` on the same data and model seeds as that sweep (so the ``keras2`` set-up reproduces it row for row) and
measures, for every initial model, the spectral radius of the Jacobian of its autonomous map at the start state
(h = c = 0, x = 0):

    rho = max |eig(dF/ds (0; x = 0))|,   F the n-unit cell's state map (2n x 2n for the LSTM, state (h, c)).

For one unit rho is the |lambda| of ``docs/explanation.md``. For n units at the origin (b_c = 0):

* SimpleRNN: dF/dh = diag(tanh'(b)) U = U with b = 0, so Keras 2's orthogonal U has every |eigenvalue| = 1: rho = 1.
* LSTM: with gate values i0, f0, o0 at the origin, J = [[o0 i0 U_c, o0 f0 I], [i0 U_c, f0 I]] = A B with
  A = [o0 I; I] (2n x n), B = [i0 U_c, f0 I] (n x 2n), so its non-zero eigenvalues are those of
  B A = f0 I + o0 i0 U_c: rho = max_k |f0 + o0 i0 mu_k(U_c)|. Keras 2 (f0 = 0.7, o0 = i0 = 0.5, U_c a block of an
  orthogonal matrix, |mu_k| <= 1): rho <= 0.95. With b_f = 3 (hard f0 = 1): rho = max_k |1 + mu_k(U_c) / 4| >= 1
  as soon as one eigenvalue of U_c has a real part >= -|mu_k|^2 / 8 -- almost always for a random 8 x 8 U_c. The
  one-unit condition "U_c >= 0" has no single n-unit analogue, so the ``edge`` set-up sets b_f = 3 alone.
* GRU (reset before the matmul, b = 0): J = z0 I + (1 - z0) r0 U_h = 0.5 I + 0.25 U_h, rho <= 0.75. With b_z = 3
  (hard z0 = 1) J = I: rho = 1 exactly.

Success is validation accuracy >= the threshold (0.9, the latching sweep's), with Wilson 95% intervals.

Cost (numba backend, 2 cores shared with other jobs): one (cell, set-up, T = 100) block of 10 models with 8 units,
n = 10000 and 10 epochs took about 40-50 s (SRNN), 100-180 s (GRU) and 160-240 s (LSTM) at load 6-10; T = 5 costs
~1/20 of that. The default (5 set-ups, T in {5, 100}; the SRNN of keras3 and edge is the keras2 one, trained once) took
36 minutes at load ~10 (less on free cores: scale n down, e.g. --n 6000, for a ~20 minute run); tweaked_long at
T = 100 alone took 13 minutes. --quick (n = 200, T in {5, 20}, 2 repeats, 2 epochs) takes seconds once the numba
kernels are compiled (their first compilation takes minutes).

Each trained block (set-up, cell, T) is a shard of the store in ``OUT/shards`` (:mod:`dynlatch.sweep`): an interrupted
run resumes from its finished blocks, and ``--scheduler tcp://HOST:PORT`` trains them on a Dask cluster.

Writes ``runs.csv`` (one row per trained model and set-up), ``summary.json`` and ``bit_relay.pdf/.png``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .. import _checks, tasks
from .._checks import CheckError
from .._config import Config, option
from .._model import Model
from .._stats import roc_auc, wilson_interval
from .._train import train
from ..cells import cell_class
from ..dynamics import jacobian
from ..sweep import DATA_STREAM, ShardExecutor, derive_seed, run_shards
from ._study import Result, RunContext, Study

CELLS: tuple[str, ...] = ("srnn", "lstm", "gru")
RADIUS_TOLERANCE = 1e-6
"""A model counts as "at or past the bifurcation" when rho >= 1 - RADIUS_TOLERANCE: the initial weights are drawn
in float32 (as the latching sweep draws them), so Keras 2's orthogonal U has |eigenvalues| 1 only to ~1e-7."""


@dataclass(frozen=True)
class Setup:
    """One training condition shared by all cells: the initialisation, gate function, GRU convention, per-cell
    parameter changes and the optimisation settings (None: the config's value)."""

    name: str
    description: str
    init: str = "keras2"
    recurrent_activation: str | None = None
    reset_after: bool | None = None
    biases: tuple[tuple[str, str], ...] = ()
    """(cell, parameter) pairs set to the config's ``edge_bias`` (e.g. ``("lstm", "b_f")``)."""
    lr: str | None = None
    """Which config field gives the learning rate: None (``lr``) or ``"tweaked_lr"``; likewise below."""
    batch_size: str | None = None
    epochs: str | None = None


SETUPS: dict[str, Setup] = {s.name: s for s in (
    Setup("keras2", "Keras 2 defaults (2018, the thread's): glorot/orthogonal, zero bias, b_f = 1, hard-sigmoid "
                    "gates, GRU reset before the matmul; Adam 1e-3, batch 16"),
    Setup("torch", "PyTorch defaults: every weight and bias U(-1/sqrt(n), 1/sqrt(n)), sigmoid gates, GRU "
                   "reset_after; Adam 1e-3, batch 16", init="torch"),
    Setup("keras3", "Keras 3 defaults: glorot/orthogonal, zero bias, b_f = 1, sigmoid gates, GRU reset_after "
                    "(zero bias rows); Adam 1e-3, batch 16", recurrent_activation="sigmoid", reset_after=True),
    Setup("tweaked", "Keras 2 init, the answer's tweaked training: Adam lr --tweaked-lr, batch --tweaked-batch, "
                     "--epochs epochs", lr="tweaked_lr", batch_size="tweaked_batch"),
    Setup("tweaked_long", "as tweaked with --tweaked-epochs epochs", lr="tweaked_lr", batch_size="tweaked_batch",
          epochs="tweaked_epochs"),
    Setup("edge", "Keras 2 defaults, the one-unit intervention carried over: LSTM b_f = --edge-bias (hard f0 = 1, "
                  "no constraint on U_c), GRU b_z = --edge-bias (hard z0 = 1); SRNN unchanged (already rho = 1)",
          biases=(("lstm", "b_f"), ("gru", "b_z"))),
)}
DEFAULT_SETUPS: tuple[str, ...] = ("keras2", "torch", "keras3", "tweaked", "edge")


def _lengths(name: str, values: Any) -> tuple[int, ...]:
    values = _checks.distinct(name, values)
    for T in values:
        _checks.integer(name, T, minimum=2)
    return values


@dataclass(frozen=True)
class RelayStudyConfig(Config):
    """Settings of ``dynlatch run bit-relay``."""

    cells: tuple[str, ...] = option(CELLS, help="cells to train", choices=CELLS, check=_checks.distinct)
    setups: tuple[str, ...] = option(DEFAULT_SETUPS, help="set-ups to train", choices=tuple(SETUPS),
                                     check=_checks.distinct)
    units: int = option(8, help="units per cell (the thread's bit relay: 8)", check=_checks.integer_at_least(1))
    lengths: tuple[int, ...] = option((5, 100), flag="--lens", help="sequence lengths T (>= 2)", check=_lengths,
                                      quick=(5, 20))
    ranking_length: int = option(100, flag="--ranking-len", help="T at which cells are ranked per set-up",
                                 check=_checks.integer_at_least(2), quick=20)
    repeats: int = option(10, help="models per (set-up, cell, T) (the thread: 10)", check=_checks.integer_at_least(1),
                          quick=2)
    epochs: int = option(10, help="training epochs (the thread: 10)", check=_checks.integer_at_least(1), quick=2)
    n: int = option(10000, help="sequences per data set (the thread: 10000)",
                    check=lambda k, v: _checks.integer(k, v, minimum=20), quick=200)
    lr: float = option(1e-3, help="Adam learning rate (Keras default)", check=_checks.number_in(above=0))
    batch_size: int = option(16, flag="--batch", help="minibatch size (the question: 16)",
                             check=_checks.integer_at_least(1))
    tweaked_lr: float = option(1e-2, help="learning rate of the tweaked set-ups", check=_checks.number_in(above=0))
    tweaked_batch: int = option(64, help="batch size of the tweaked set-ups", check=_checks.integer_at_least(1))
    tweaked_epochs: int = option(20, help="epochs of the tweaked_long set-up", check=_checks.integer_at_least(1),
                                 quick=3)
    edge_bias: float = option(3.0, help="b_f (LSTM) / b_z (GRU) of the edge set-up",
                              check=_checks.number_in(at_least=-100, at_most=100))
    threshold: float = option(0.9, help="a run succeeds when its validation accuracy reaches this (the sweep's)",
                              check=_checks.number_in(above=0, at_most=1))
    min_class: int = option(5, help="AUC of rho is reported only where each outcome has at least this many runs",
                            check=_checks.integer_at_least(1))
    seed: int = option(0, help="base seed (the latching sweep's seed: same data and model seeds)", check=_checks.seed)

    def check_together(self) -> None:
        if self.ranking_length not in self.lengths:
            raise CheckError("ranking_length", f"must be one of --lens {list(self.lengths)}; got {self.ranking_length}")
        tasks.validation_size(self.n, 0.2)

    def training(self, setup: Setup) -> dict[str, Any]:
        """The optimisation settings of ``setup``: lr, batch_size and epochs."""
        return {"lr": getattr(self, setup.lr or "lr"), "batch_size": getattr(self, setup.batch_size or "batch_size"),
                "epochs": getattr(self, setup.epochs or "epochs")}


# -- models and their initial dynamics -------------------------------------------------------------------------
def cell_options(setup: Setup, cell: str) -> dict[str, Any]:
    """The set-up's gate function and GRU convention as ``cell`` takes them (None where the kind has no gates or no
    ``reset_after`` option)."""
    cls = cell_class(cell)
    return {"recurrent_activation": setup.recurrent_activation if cls.gated else None,
            "reset_after": setup.reset_after if any("reset_after" in v for v in cls.variants()) else None}


def setup_model(setup: Setup, cell: str, seeds: Sequence[int], *, units: int, edge_bias: float = 3.0) -> Model:
    """The initial models of ``cell`` under ``setup``, one per seed, drawn as the latching sweep draws them (float32
    values, as ``Model.init``'s default) and then held in float64.

    Raises:
        ValueError: for an unknown cell or a bias change the cell does not have.
    """
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
    model = Model.init(cell, seeds=seeds, units=units, init=setup.init, **cell_options(setup, cell)).to(torch.float64)
    changes = {name: torch.full((model.models, units), float(edge_bias), dtype=torch.float64)
               for c, name in setup.biases if c == cell}
    if changes:
        if "b_z" in changes and "br_z" in model.cell.param_names():
            changes["br_z"] = torch.zeros((model.models, units), dtype=torch.float64)
        model = Model(model.cell.with_params(**changes), model.weight, model.bias, model.seeds, model.readout)
    return model


def spectral_radius_at_origin(model: Model) -> np.ndarray:
    """rho (M,): the largest |eigenvalue| of each model's autonomous-map Jacobian at the start state (h = c = 0,
    x = 0), from the exact Jacobian of :func:`dynlatch.dynamics.jacobian` (n x n, or 2n x 2n for the LSTM)."""
    cell = model.cell.to(torch.float64)
    J = jacobian(cell, torch.zeros(cell.state_dim, dtype=torch.float64),
                          torch.zeros(cell.input_dim, dtype=torch.float64))
    return torch.linalg.eigvals(J).abs().max(-1).values.numpy()


def block_key(setup: Setup, cell: str, config: RelayStudyConfig) -> tuple:
    """What a (set-up, cell) block's results depend on besides T: equal keys train identical models."""
    options = cell_options(setup, cell)
    return (cell, setup.init, options["recurrent_activation"], options["reset_after"],
            tuple(sorted((name, config.edge_bias) for c, name in setup.biases if c == cell)),
            tuple(sorted(config.training(setup).items())))


# -- training --------------------------------------------------------------------------------------------------
def relay_data(config: RelayStudyConfig, length: int) -> tasks.Dataset:
    """The bit-relay data at ``length``: the latching sweep's data set for the same seed (noise 0.1, 20% held out)."""
    return tasks.bit_relay(length=length, n=config.n, seed=derive_seed(config.seed, DATA_STREAM, length))


def relay_seeds(config: RelayStudyConfig, length: int) -> list[int]:
    """Model seeds at ``length``: the latching sweep's (shared by all cells and set-ups: paired comparisons)."""
    return [derive_seed(config.seed, length, r) for r in range(config.repeats)]


def train_block(setup: Setup, cell: str, length: int, config: RelayStudyConfig,
                data: tasks.Dataset | None = None) -> list[dict[str, Any]]:
    """Train the ``repeats`` models of (``setup``, ``cell``) at ``length``; one tidy row per model."""
    data = data if data is not None else relay_data(config, length)
    seeds = relay_seeds(config, length)
    model = setup_model(setup, cell, seeds, units=config.units, edge_bias=config.edge_bias)
    rho = spectral_radius_at_origin(model)
    opt = config.training(setup)
    result = train(model, data, backend="numba", **opt)
    acc = np.where(result.diverged, 0.0, np.nan_to_num(result.final("val_acc"), nan=0.0))
    return [{"setup": setup.name, "trained_as": setup.name, "cell": cell, "T": int(length), "repeat": r,
             "seed": int(s),
             "init": setup.init, "gates": model.cell.recurrent_activation if cell != "srnn" else "",
             "lr": opt["lr"], "batch_size": opt["batch_size"], "epochs": opt["epochs"],
             "radius": float(rho[r]), "at_or_past_bifurcation": bool(rho[r] >= 1.0 - RADIUS_TOLERANCE),
             "val_acc": float(acc[r]), "train_acc": float(np.nan_to_num(result.final("train_acc")[r], nan=0.0)),
             "diverged": bool(result.diverged[r]), "success": bool(acc[r] >= config.threshold)}
            for r, s in enumerate(seeds)]


# -- summaries -------------------------------------------------------------------------------------------------
def rate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Successes, runs, rate and Wilson 95% interval of ``rows`` (rate None for no runs)."""
    k, n = int(sum(r["success"] for r in rows)), len(rows)
    lo, hi = wilson_interval(k, n)
    return {"successes": k, "runs": n, "rate": k / n if n else None, "ci": [lo, hi]}


def ranking(rows: Sequence[dict[str, Any]], setup: str, length: int, cells: Sequence[str]) -> list[str]:
    """Cells of ``setup`` at ``length`` ordered by success rate, ties broken by mean validation accuracy."""
    def key(cell: str) -> tuple[float, float]:
        sel = [r for r in rows if r["setup"] == setup and r["T"] == length and r["cell"] == cell]
        return (rate(sel)["rate"] or 0.0, float(np.mean([r["val_acc"] for r in sel])) if sel else 0.0)
    return sorted(cells, key=key, reverse=True)


def strictly_first(rows: Sequence[dict[str, Any]], setup: str, length: int, cell: str, cells: Sequence[str]) -> bool:
    """Whether ``cell``'s success rate in ``setup`` at ``length`` exceeds every other cell's (ties are not wins)."""
    def r(c: str) -> float:
        return rate([x for x in rows if x["setup"] == setup and x["T"] == length and x["cell"] == c])["rate"] or 0.0
    return cell in cells and all(r(cell) > r(c) for c in cells if c != cell)


def radius_classes(rows: Sequence[dict[str, Any]], *, min_class: int) -> dict[str, Any]:
    """Success for rho >= 1 vs rho < 1 (each with its Wilson interval) and the AUC of rho as a score of success
    (:func:`dynlatch._stats.roc_auc`), reported only where successes and failures each number >= ``min_class``."""
    past = [r for r in rows if r["at_or_past_bifurcation"]]
    before = [r for r in rows if not r["at_or_past_bifurcation"]]
    wins = sum(r["success"] for r in rows)
    out: dict[str, Any] = {"radius_at_least_1": rate(past), "radius_below_1": rate(before), "auc": None,
                           "successes": int(wins), "failures": int(len(rows) - wins)}
    if wins >= min_class and len(rows) - wins >= min_class:
        out["auc"] = roc_auc([r["radius"] for r in rows], [r["success"] for r in rows])
    else:
        out["auc_note"] = f"fewer than {min_class} successes or failures"
    return out


def summarise(rows: Sequence[dict[str, Any]], config: RelayStudyConfig) -> dict[str, Any]:
    """The summary: the contract keys ``setups``, ``ranking_at_T100``, ``which_setup_gives_gru_best`` and
    ``mechanism_8_units``, plus intervals, radii and descriptions. Rows copied from a block another
    set-up trained (``trained_as`` differs from ``setup``) count in every set-up's rates but once in the mechanism."""
    cells, L = list(config.cells), config.ranking_length
    sel = lambda s, c, T: [r for r in rows if r["setup"] == s and r["cell"] == c and r["T"] == T]  # noqa: E731
    intervals = {s: {c: {str(T): rate(sel(s, c, T)) for T in config.lengths} for c in cells} for s in config.setups}
    setups = {s: {c: {T: v["rate"] for T, v in per.items()} for c, per in by_cell.items()}
              for s, by_cell in intervals.items()}
    radius = {s: {c: {"median": float(np.median([r["radius"] for r in rows if r["setup"] == s and r["cell"] == c])),
                      "max": float(max(r["radius"] for r in rows if r["setup"] == s and r["cell"] == c)),
                      "fraction_at_least_1": float(np.mean([r["at_or_past_bifurcation"] for r in rows
                                                            if r["setup"] == s and r["cell"] == c]))}
                  for c in cells} for s in config.setups}
    distinct = [r for r in rows if r.get("trained_as", r["setup"]) == r["setup"]]  # each trained model once
    mechanism = {"ranking_T": L, "min_class": config.min_class, "radius_tolerance": RADIUS_TOLERANCE,
                 "runs": "each trained model once (set-ups that share a block, e.g. the SRNN of keras2, keras3 and "
                         "edge, count it under the set-up that trained it)",
                 "by_T": {str(T): radius_classes([r for r in distinct if r["T"] == T], min_class=config.min_class)
                          for T in config.lengths},
                 "by_cell": {c: {str(T): radius_classes([r for r in distinct if r["T"] == T and r["cell"] == c],
                                                        min_class=config.min_class) for T in config.lengths}
                             for c in cells}}
    return {
        "setups": setups,
        "setup_intervals": intervals,
        "setup_descriptions": {s: SETUPS[s].description for s in config.setups},
        "setup_training": {s: config.training(SETUPS[s]) for s in config.setups},
        "ranking_T": L,
        "ranking_at_T100": {s: ranking(rows, s, L, cells) for s in config.setups},
        "which_setup_gives_gru_best": [s for s in config.setups if strictly_first(rows, s, L, "gru", cells)],
        "initial_radius": radius,
        "mechanism_8_units": mechanism,
    }


def relay_shards(config: RelayStudyConfig) -> list[dict[str, Any]]:
    """One shard per block to train, ``{"T", "setup", "cell"}``, T-major in set-up and cell order; a block that would
    train the same models as an earlier one at the same T (same :func:`block_key`, e.g. the SRNN of ``edge`` and of
    ``keras2``) is not a shard: the earlier one's rows serve both."""
    keys, seen = [], set()
    for T in config.lengths:
        for name in config.setups:
            for cell in config.cells:
                block = (T, block_key(SETUPS[name], cell, config))
                if block not in seen:
                    seen.add(block)
                    keys.append({"T": int(T), "setup": name, "cell": cell})
    return keys


def relay_settings(config: RelayStudyConfig) -> dict[str, Any]:
    """What a shard's rows depend on besides its key: every field but the shard axes and the summary-only ones."""
    return {k: v for k, v in config.as_dict().items()
            if k not in ("cells", "setups", "lengths", "ranking_length", "min_class")}


@functools.lru_cache(maxsize=1)
def _cached_relay_data(config: RelayStudyConfig, length: int) -> tasks.Dataset:
    return relay_data(config, length)  # shards run T-major: one build per T in each process


def compute_relay_shard(config: RelayStudyConfig, key: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the shard ``key``: what a process or a cluster worker computes."""
    return train_block(SETUPS[key["setup"]], key["cell"], key["T"], config, _cached_relay_data(config, key["T"]))


def relay_study(config: RelayStudyConfig, out_dir: str | Path, *, progress: bool = True,
                executor: ShardExecutor | None = None) -> dict[str, Any]:
    """Train every (set-up, cell, T) block of ``config`` as a shard of the store under ``out_dir`` (resumable; blocks
    that would train identical models are trained once, see :func:`relay_shards`), computed by ``executor`` (default
    this process), and summarise.

    Returns:
        ``{"runs": rows, "summary": {...}}`` (see :func:`summarise`), rows in (T, set-up, cell, repeat) order.

    Raises:
        dynlatch.sweep.SweepSettingsError: if ``out_dir`` holds shards of other settings.
        dynlatch.sweep.SweepLockedError: if another process is running in ``out_dir``.
    """
    trained = run_shards(relay_shards(config), functools.partial(compute_relay_shard, config), out_dir=out_dir,
                         settings=relay_settings(config), progress=progress, desc="bit relay", executor=executor)
    by_block: dict[tuple, list[dict[str, Any]]] = {}
    for row in trained:
        by_block.setdefault((row["T"], row["trained_as"], row["cell"]), []).append(row)
    rows: list[dict[str, Any]] = []
    for T in config.lengths:
        trainer: dict[tuple, str] = {}
        for name in config.setups:
            for cell in config.cells:
                first = trainer.setdefault(block_key(SETUPS[name], cell, config), name)
                rows.extend({**r, "setup": name} for r in by_block[(T, first, cell)])  # "trained_as" keeps the trainer
    return {"runs": rows, "summary": summarise(rows, config)}


# -- the figure and the run ------------------------------------------------------------------------------------
COLOURS = {"srnn": "tab:orange", "lstm": "tab:blue", "gru": "tab:green"}


def relay_figure(rows: Sequence[dict[str, Any]], summary: dict[str, Any], config: RelayStudyConfig) -> Figure:
    """Success rate per set-up and cell at the ranking length (Wilson 95% bars), and final validation accuracy
    against the initial spectral radius at the origin."""
    L = config.ranking_length
    cells, setups = list(config.cells), list(config.setups)
    fig = Figure(figsize=(12, 4.4))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    width = 0.8 / len(cells)
    for j, cell in enumerate(cells):
        per = [summary["setup_intervals"][s][cell][str(L)] for s in setups]
        r = np.array([p["rate"] for p in per])
        lo = np.array([p["ci"][0] for p in per])
        hi = np.array([p["ci"][1] for p in per])
        x = np.arange(len(setups)) + (j - (len(cells) - 1) / 2) * width
        ax.bar(x, r, width, color=COLOURS[cell], label=cell.upper(), alpha=0.85)
        ax.errorbar(x, r, yerr=[r - lo, hi - r], fmt="none", ecolor="k", capsize=2, lw=0.8)
    ax.set_xticks(np.arange(len(setups)))
    ax.set_xticklabels(setups)
    ax.set(ylim=(0, 1.02), ylabel=f"success rate (val acc >= {config.threshold:g}), 95% Wilson",
           title=f"bit relay, {config.units} units, T = {L}: {config.repeats} models per bar, n = {config.n}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)

    rng = np.random.default_rng(0)
    markers = dict(zip(setups, "osD^vP*X"))
    for cell in cells:
        for s in setups:
            sel = [r for r in rows if r["cell"] == cell and r["setup"] == s and r["T"] == L]
            if not sel:
                continue
            rho = np.array([r["radius"] for r in sel]) * (1 + rng.uniform(-0.004, 0.004, len(sel)))
            bx.scatter(rho, [r["val_acc"] for r in sel], s=18, alpha=0.7, color=COLOURS[cell], marker=markers[s],
                       label=f"{cell.upper()} {s}")
    bx.axvline(1.0, color="k", ls=":", lw=0.8)
    bx.axhline(config.threshold, color="grey", ls="--", lw=0.8)
    m = summary["mechanism_8_units"]["by_T"][str(L)]
    past, before = m["radius_at_least_1"], m["radius_below_1"]
    fmt = lambda p: "n/a" if p["rate"] is None else f"{p['rate']:.2f} ({p['successes']}/{p['runs']})"  # noqa: E731
    auc = "n/a" if m["auc"] is None else f"{m['auc']:.2f}"
    bx.set(xlabel="initial spectral radius at the origin, rho (jittered 0.4%)", ylabel="final validation accuracy",
           title=f"T = {L}: success rho >= 1: {fmt(past)}; rho < 1: {fmt(before)}; AUC {auc}")
    bx.title.set_fontsize(9)
    bx.set_ylim(top=1.02)
    bx.grid(alpha=0.3)
    bx.legend(fontsize=6, ncol=len(setups), loc="upper center", bbox_to_anchor=(0.5, -0.14))
    fig.tight_layout()
    return fig


def report_lines(summary: dict[str, Any], config: RelayStudyConfig) -> list[str]:
    """The headline in words: per set-up its success rates and ranking, where the GRU is first, rho against success."""
    s, L = summary, config.ranking_length
    lines = [f"{setup:12s} " + "  ".join(f"{c} " + "/".join(f"{v:.2f}" for v in per.values())
                                         for c, per in by_cell.items())
             + f"   ranking at T={L}: {' > '.join(s['ranking_at_T100'][setup])}"
             for setup, by_cell in s["setups"].items()]
    lines.append(f"GRU strictly first at T={L} in: {', '.join(s['which_setup_gives_gru_best']) or 'no set-up'}")
    for T, m in s["mechanism_8_units"]["by_T"].items():
        a, b = m["radius_at_least_1"], m["radius_below_1"]
        lines.append(f"T={T}: success rho >= 1 {a['successes']}/{a['runs']}, rho < 1 {b['successes']}/{b['runs']}, "
                     f"AUC {'n/a' if m['auc'] is None else format(m['auc'], '.2f')}")
    return lines


def run(config: RelayStudyConfig, context: RunContext) -> Result:
    """Train every block of ``config``; the result carries the rows, the summary, the figure and the headline."""
    result = relay_study(config, context.out, progress=context.progress, executor=context.shards)
    rows, summary = result["runs"], result["summary"]
    return Result(summary=summary, tables={"runs": rows}, figures={"bit_relay": relay_figure(rows, summary, config)},
                  report=report_lines(summary, config))


SUMMARY_KEYS: dict[str, str] = {
    "setups": "per set-up (keras2, torch, keras3, tweaked, edge), cell and T: success frequency",
    "setup_intervals": "the same with successes, runs and Wilson 95% intervals",
    "setup_descriptions": "what each set-up is: initialisation, gates and optimiser",
    "setup_training": "each set-up's learning rate, batch size and epochs",
    "ranking_T": "the T at which the cells are ranked",
    "ranking_at_T100": "per set-up, the cells ordered by success at `ranking_T`",
    "which_setup_gives_gru_best": "the set-ups under which the GRU ranks first (the thread's claim)",
    "initial_radius": ("per set-up and cell: the median and largest initial spectral radius at the start state and the"
                       " fraction at or above 1"),
    "mechanism_8_units": ("success against the initial spectral radius of the 8-unit cells, per T: runs and successes "
                          "with the radius below and at or above 1"),
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="bit-relay", config=RelayStudyConfig, run=run, description=__doc__, summary_keys=SUMMARY_KEYS,
              sharded=True)
