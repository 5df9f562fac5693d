"""Success frequency vs sequence length for SRNN, LSTM and GRU on information latching (or bit relay).

The question's experiment as a resumable, batched sweep. For every cell and length T, ``repeats`` models (one batched
training run) learn one dataset of the task; a run succeeds when its final validation accuracy reaches ``threshold``.
Shards are (T, cell) pairs, ordered T-major so consecutive shards share their dataset. All cells at a given
(T, repeat) share the data and the model seed, which fixes each model's data order: the comparison between cells is
paired.

Writes ``runs.csv`` (one row per model), ``weights.npz`` (every model's initial and final weights, matched to
``runs.csv`` by (cell, T, repeat); read it with :func:`dynlatch.read_sweep`), ``summary.json`` (success frequency with
its Wilson 95% interval per T, the headline at landmark lengths, training and compile time) and
``success_vs_length.pdf/.png``. Interrupted, the same command resumes from its finished shards.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Sequence

import numpy as np
from matplotlib.figure import Figure

from .. import _checks, _faults, tasks
from .._config import Config, option
from .._model import READOUTS, Model
from .._stats import wilson_interval
from .._train import BACKENDS, resolve_backend, train
from ..cells import CELL_CLASSES
from ..cells._init import INIT_SCHEMES
from ..sweep import (
    DATA_STREAM, PARAM_NAMES, STAGES, WEIGHTS_FILE, Row, ShardExecutor, derive_seed, model_arrays, read_shard,
    run_shards, shard_seconds,
)
from ._study import Result, RunContext, Study

QUESTION_LENGTHS: tuple[int, ...] = (2, 5, 8, 10, 15, 20, 25, 30) + tuple(range(30, 210, 10))
"""The question's 26 lengths; 30 appears twice there (``[... 25, 30] + range(30, 210, 10)``)."""

DEFAULT_LENGTHS: tuple[int, ...] = tuple(sorted(set(QUESTION_LENGTHS)))
"""The question's lengths with the repeated 30 dropped: 25 lengths, 2 to 200."""

CELL_COLORS = {"srnn": "tab:orange", "lstm": "tab:blue", "gru": "tab:green"}


def _lengths(name: str, value: Any) -> None:
    _checks.distinct(name, value)
    for T in value:
        _checks.integer(name, T, minimum=1)


@dataclass(frozen=True)
class SweepConfig(Config):
    """Settings of a success-frequency sweep; defaults are the question's set-up with GRU added.

    Every field is also a flag of ``dynlatch run latching-sweep`` (its metadata gives name, help, choices, check and
    ``--quick`` value; see :mod:`dynlatch._config`). Building an impossible config raises
    :class:`dynlatch._checks.CheckError` (a ``ValueError``) naming the field. ``threshold`` is not part of the
    computation (only of the summary), so it may change between reruns.
    """

    cells: tuple[str, ...] = option(("srnn", "lstm", "gru"), help="cells to train", choices=tuple(CELL_CLASSES),
                                    check=_checks.distinct)
    lengths: tuple[int, ...] = option(DEFAULT_LENGTHS, flag="--lens", help="sequence lengths T", check=_lengths,
                                      quick=(5, 20, 50))
    repeats: int = option(30, help="models per (cell, T)", check=_checks.integer_at_least(1), quick=8)
    epochs: int = option(5, help="epochs per model", check=_checks.integer_at_least(1))
    n: int = option(10000, help="sequences per data set", check=lambda k, v: _checks.integer(k, v, minimum=4),
                    quick=2000)
    batch_size: int = option(16, flag="--batch", help="minibatch size", check=_checks.integer_at_least(1))
    lr: float = option(1e-3, help="Adam learning rate (epsilon 1e-7 as Keras)",
                       check=lambda k, v: _checks.number(k, v, above=0))
    init: str = option("keras2", help="initialisation and gate defaults: Keras 2 (the question) or torch.nn",
                       choices=INIT_SCHEMES)
    split: str = option("correct", help="validation split: shuffled+stratified, or the question's bug (keras-tail)",
                        choices=tasks.SPLITS)
    hidden: int = option(1, help="units per cell", check=_checks.integer_at_least(1))
    task: str = option("latching", help="the task", choices=tasks.TASKS)
    noise: float = option(0.1, help="input noise standard deviation",
                          check=lambda k, v: _checks.number(k, v, at_least=0))
    val_fraction: float = option(0.2, help="fraction held out for validation", cli=False,
                                 check=lambda k, v: _checks.number(k, v, above=0, below=1))
    clip_norm: float | None = option(None, flag="--clip", help="gradient-norm clipping threshold (none: off)",
                                     check=lambda k, v: v is None or _checks.number(k, v, above=0))
    readout: str = option("softmax", help="Dense(2)+softmax as the question, or Dense(1)+sigmoid", choices=READOUTS)
    seed: int = option(0, help="base seed; results are deterministic given it", check=_checks.seed)
    backend: str = option("auto", help="training engine: numba on the CPU, torch elsewhere (auto)", choices=BACKENDS)
    device: str | None = option(None, help="torch device (none: the CPU; a GPU is never required)",
                                check=_checks.device)
    threshold: float = option(0.9, help="final val accuracy counted as success",
                              check=lambda k, v: _checks.number(k, v, above=0, at_most=1))

    def check_together(self) -> None:
        min_len = 2 if self.task == "bit-relay" else 1
        if min(self.lengths) < min_len:
            raise _checks.CheckError("lengths", f"must be >= {min_len} for task {self.task}; got {list(self.lengths)}")
        try:
            resolve_backend(self.backend, self.device)
        except ValueError as e:
            raise _checks.CheckError("backend", f"numba cannot run on device {self.device} ({e})") from None
        tasks.validation_size(self.n, self.val_fraction)

    def settings(self) -> dict[str, Any]:
        """Everything a shard's rows depend on: all fields but the summary threshold and the shard axes (cells,
        lengths), with the backend resolved (``auto`` -> numba or torch) and the device normalised (None -> cpu)."""
        d = self.as_dict()
        for k in ("threshold", "cells", "lengths"):
            d.pop(k)
        d["backend"] = resolve_backend(self.backend, self.device)
        d["device"] = _checks.device("device", self.device) or "cpu"
        return d


def shard_keys(config: SweepConfig) -> list[dict[str, Any]]:
    """(T, cell) shards, T-major."""
    return [{"T": int(T), "cell": cell} for T in config.lengths for cell in config.cells]


def sweep_data(config: SweepConfig, T: int) -> tasks.Dataset:
    """The dataset every cell and repeat of length ``T`` learns (seeded by ``derive_seed(seed, DATA_STREAM, T)``)."""
    c = config
    return tasks.make_task(c.task, length=T, n=c.n, noise=c.noise, val_fraction=c.val_fraction, split=c.split,
                           seed=derive_seed(c.seed, DATA_STREAM, T))


def train_shard(config: SweepConfig, cell: str, T: int, data: tasks.Dataset | None = None, *,
                with_weights: bool = False) -> list[Row] | tuple[list[Row], dict[str, Any]]:
    """Train the ``repeats`` models of one (cell, T) shard and return their tidy rows (and, ``with_weights``, the
    models' initial and final parameters ``{"initial": model_arrays(...), "final": ...}``)."""
    c = config
    data = data or sweep_data(c, T)
    seeds = [derive_seed(c.seed, T, r) for r in range(c.repeats)]
    model = Model.init(cell, seeds=seeds, units=c.hidden, input_dim=data.input_dim, init=c.init, readout=c.readout)
    initial = model_arrays(model) if with_weights else None
    result = train(model, data, epochs=c.epochs, batch_size=c.batch_size, lr=c.lr, clip_norm=c.clip_norm,
                   backend=c.backend, device=c.device)
    _faults.point("train")
    rows = []
    for r, s in enumerate(seeds):
        rows.append({
            "task": c.task, "cell": cell, "init": c.init, "split": c.split, "hidden": c.hidden, "T": T, "repeat": r,
            "seed": s, "data_seed": data.seed,
            "val_acc": float(result.final("val_acc")[r]), "train_acc": float(result.final("train_acc")[r]),
            "val_loss": float(result.final("val_loss")[r]), "train_loss": float(result.final("train_loss")[r]),
            "epochs_run": int(result.epochs_run[r]), "diverged": bool(result.diverged[r]),
        })
    if with_weights:
        return rows, {"initial": initial, "final": model_arrays(result.model)}
    return rows


def warm_up(config: SweepConfig, cell: str) -> None:
    """Train a throw-away model of ``cell`` on 10 sequences with the shard's settings, so that the JIT compilation of
    the numba kernels for this signature (array layouts depend on the epoch count and on M > 1) is paid here, and
    timed apart as compile time, not as the shard's compute time. Nothing of it reaches the results."""
    c = config
    data = tasks.make_task(c.task, length=2, n=10, noise=c.noise, val_fraction=0.2, split=c.split, seed=0)
    seeds = list(range(min(c.repeats, 2)))
    model = Model.init(cell, seeds=seeds, units=c.hidden, input_dim=data.input_dim, init=c.init, readout=c.readout)
    train(model, data, epochs=c.epochs, batch_size=c.batch_size, lr=c.lr, clip_norm=c.clip_norm, backend=c.backend,
          device=c.device)


@functools.lru_cache(maxsize=1)
def _cached_sweep_data(config: SweepConfig, T: int) -> tasks.Dataset:
    return sweep_data(config, T)  # shards run T-major: one build per T in each process


def compute_sweep_shard(config: SweepConfig, key: dict[str, Any]) -> tuple[list[Row], dict[str, Any]]:
    """The rows and weights of the shard ``key`` (``{"T", "cell"}``): what a process or a cluster worker computes."""
    return train_shard(config, key["cell"], key["T"], _cached_sweep_data(config, key["T"]), with_weights=True)


def warm_sweep_shard(config: SweepConfig, key: dict[str, Any]) -> None:
    """:func:`warm_up` for the shard ``key``."""
    warm_up(config, key["cell"])


def run_success_sweep(config: SweepConfig, out_dir: str | Path, *, progress: bool = True,
                      executor: ShardExecutor | None = None) -> list[Row]:
    """Run (or resume) the sweep under ``out_dir`` and return one row per trained model; the missing shards are
    computed by ``executor`` (default this process; see :mod:`dynlatch.sweep._executors`).

    Raises:
        dynlatch.sweep.SweepSettingsError: if ``out_dir`` holds a sweep with other settings.
        dynlatch.sweep.SweepLockedError: if another process is running a sweep in ``out_dir``.
    """
    return run_shards(shard_keys(config), functools.partial(compute_sweep_shard, config), out_dir=out_dir,
                      settings=config.settings(), warm=functools.partial(warm_sweep_shard, config),
                      progress=progress, desc=f"{config.task} sweep", executor=executor)


def sweep_seconds(config: SweepConfig, out_dir: str | Path, *, field: str = "seconds") -> float:
    """Compute time (``field="seconds"``, compile excluded) or compile time (``"compile_seconds"``) of the sweep's
    shards under ``out_dir``, whether computed in this run or an earlier one."""
    return shard_seconds(shard_keys(config), out_dir=out_dir, settings=config.settings(), field=field)


def summarise_success(rows: Sequence[Row], *, threshold: float = 0.9) -> list[dict[str, Any]]:
    """Per (task, cell, init, split, hidden): per-T success frequency (val acc >= threshold; diverged runs count as
    failures) with its Wilson 95% interval (``success_ci95``: [low, high] per T), mean and standard deviation of val
    accuracy over non-diverged runs, and counts."""
    groups: dict[tuple, dict[int, list[Row]]] = {}
    for row in rows:
        g = (row["task"], row["cell"], row["init"], row["split"], row["hidden"])
        groups.setdefault(g, {}).setdefault(int(row["T"]), []).append(row)
    out = []
    for (task, cell, init, split, hidden), by_T in groups.items():
        Ts = sorted(by_T)
        acc = [np.array([r["val_acc"] for r in by_T[T]], dtype=float) for T in Ts]
        finite = [a[np.isfinite(a)] for a in acc]
        out.append({
            "task": task, "cell": cell, "init": init, "split": split, "hidden": hidden, "T": Ts,
            "success_frequency": [float(np.mean(np.nan_to_num(a, nan=-1.0) >= threshold)) for a in acc],
            "n_success": [int(np.sum(np.nan_to_num(a, nan=-1.0) >= threshold)) for a in acc],
            "success_ci95": [list(wilson_interval(int(np.sum(np.nan_to_num(a, nan=-1.0) >= threshold)), a.size))
                             for a in acc],
            "val_acc_mean": [float(f.mean()) if f.size else math.nan for f in finite],
            "val_acc_std": [float(f.std()) if f.size else math.nan for f in finite],
            "n": [int(a.size) for a in acc],
            "n_diverged": [int(sum(r["diverged"] for r in by_T[T])) for T in Ts],
        })
    return out


def success_figure(groups: Sequence[dict[str, Any]], *, title: str = "") -> Figure:
    """Success frequency (with its Wilson 95% band) and mean val accuracy (+- 1 s.d.) versus T, one curve per cell."""
    fig = Figure(figsize=(10, 3.8))
    ax1, ax2 = fig.subplots(1, 2, sharex=True)
    for g in groups:
        label = g["cell"].upper() + ("" if len({s["init"] for s in groups}) == 1 else f" ({g['init']})")
        color = CELL_COLORS.get(g["cell"])
        ax1.plot(g["T"], g["success_frequency"], "o-", ms=3, color=color, label=label)
        lo, hi = zip(*g["success_ci95"])
        ax1.fill_between(g["T"], lo, hi, color=color, alpha=0.15, lw=0)
        ax2.errorbar(g["T"], g["val_acc_mean"], yerr=g["val_acc_std"], fmt="o-", ms=3, capsize=2, color=color,
                     label=label)
    ax1.set(xlabel="sequence length T", ylabel="success frequency (band: Wilson 95%)", ylim=(-0.03, 1.03))
    ax2.set(xlabel="sequence length T", ylabel="final validation accuracy", ylim=(0.0, 1.03))
    ax2.axhline(0.5, color="0.7", lw=0.8, ls=":")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    ax1.legend(frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def sweep_arrays(config: SweepConfig, out_dir: str | Path) -> dict[str, np.ndarray]:
    """The arrays of ``weights.npz`` from the shards of ``config`` under ``out_dir`` (rows in runs.csv order).

    Raises:
        ValueError: if a shard is missing or holds no weights.
    """
    settings = config.settings()
    cells, Ts, repeats = [], [], []
    per_kind: dict[str, dict[str, list]] = {}
    for key in shard_keys(config):
        shard = read_shard(key, out_dir=out_dir, settings=settings)
        if shard is None or not isinstance(shard.get("extra"), dict):
            raise ValueError(f"shard {key} under {out_dir} is missing or holds no weights; rerun the sweep")
        arrays = per_kind.setdefault(key["cell"], {"row": []})
        for row in shard["rows"]:
            arrays["row"].append(len(cells))
            cells.append(row["cell"])
            Ts.append(row["T"])
            repeats.append(row["repeat"])
        for stage in STAGES:
            for name in PARAM_NAMES:
                arrays.setdefault(f"{stage}.{name}", []).extend(shard["extra"][stage][name])
    out = {"cell": np.array(cells, dtype=str), "T": np.array(Ts, dtype=np.int64),
           "repeat": np.array(repeats, dtype=np.int64)}
    for kind, arrays in per_kind.items():
        out[f"{kind}.row"] = np.array(arrays.pop("row"), dtype=np.int64)
        out.update({f"{kind}.{k}": np.array(v, dtype=np.float64) for k, v in arrays.items()})
    return out


def weights_writer(config: SweepConfig, out_dir: str | Path):
    """A writer of ``weights.npz`` (every model's initial and final weights) from the sweep's shards."""
    arrays = sweep_arrays(config, out_dir)

    def write(f: BinaryIO) -> None:
        np.savez(f, **arrays)
    return write


HEADLINE_T = (5, 10, 20, 50, 100, 200)


def headline(groups: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per cell: mean success frequency over all T and success (with its Wilson 95% interval) at landmark lengths."""
    out = {}
    for g in groups:
        pick = [i for i, T in enumerate(g["T"]) if T in HEADLINE_T]
        out[g["cell"]] = {"mean_success": sum(g["success_frequency"]) / len(g["T"]),
                          "success_at_T": {str(g["T"][i]): g["success_frequency"][i] for i in pick},
                          "success_ci95_at_T": {str(g["T"][i]): g["success_ci95"][i] for i in pick},
                          "diverged": sum(g["n_diverged"])}
    return out


def run(config: SweepConfig, context: RunContext) -> Result:
    """Run (or resume) the sweep in the output folder; the result carries its rows, weights, summary and figure."""
    t0 = time.perf_counter()
    rows = run_success_sweep(config, context.out, progress=context.progress, executor=context.shards)
    elapsed = time.perf_counter() - t0
    groups = summarise_success(rows, threshold=config.threshold)
    summary = {"threshold": config.threshold,
               "models": len(rows), "train_seconds": sweep_seconds(config, context.out),
               "compile_seconds": sweep_seconds(config, context.out, field="compile_seconds"),
               "wall_seconds_this_run": elapsed, "headline": headline(groups), "groups": groups}
    title = (f"{config.task}, {config.hidden} unit(s), init {config.init}, split {config.split}, "
             f"{config.repeats} repeats x {config.epochs} epochs, N={config.n}")
    report = [f"{cell:>5}: mean success {h['mean_success']:.2f}   "
              + "  ".join(f"T={T}: {v:.2f}" for T, v in h["success_at_T"].items())
              for cell, h in summary["headline"].items()]
    report.append(f"{len(rows)} models, {summary['train_seconds']:.0f} s of training in all (plus "
                  f"{summary['compile_seconds']:.0f} s of compilation), this run {elapsed:.0f} s")
    return Result(summary=summary, tables={"runs": rows},
                  files={WEIGHTS_FILE: weights_writer(config, context.out)},
                  figures={"success_vs_length": success_figure(groups, title=title)}, report=report)


SUMMARY_KEYS: dict[str, str] = {
    "threshold": "validation accuracy at or above which a model counts as a success (`--threshold`)",
    "models": "number of models trained in this run",
    "train_seconds": "wall time spent training, numba compilation excluded",
    "compile_seconds": "time spent compiling the numba kernels (zero when they were cached)",
    "wall_seconds_this_run": "wall time of this invocation (a resumed run counts only its own shards)",
    "headline": ("per cell: mean success frequency over every T, the success frequency at each T and its Wilson 95% "
                 "interval"),
    "groups": ("one entry per (task, cell, init, split, hidden size): T, success frequency, successes, Wilson 95% "
               "intervals and the mean and s.d. of the final validation accuracy at each T"),
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="latching-sweep", config=SweepConfig, run=run, description=__doc__, summary_keys=SUMMARY_KEYS,
              sharded=True)
