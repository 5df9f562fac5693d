"""Success frequency versus sequence length: the question's experiment as a resumable, batched sweep.

For every cell and length T, ``repeats`` models (one batched training run) learn one dataset of the task; a run
succeeds when its final validation accuracy reaches ``threshold``. Shards are (T, cell) pairs, ordered T-major so
consecutive shards share their dataset. All cells at a given (T, repeat) share the data and the model seed, which
fixes each model's data order: the comparison between cells is paired.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import tasks
from ._model import READOUTS, Model
from ._sweep import Row, run_shards, shard_seconds
from ._train import BACKENDS, train
from .cells import CELL_CLASSES
from .cells._init import INIT_SCHEMES

QUESTION_LENGTHS: tuple[int, ...] = (2, 5, 8, 10, 15, 20, 25, 30) + tuple(range(30, 210, 10))
"""The question's 26 lengths; 30 appears twice there (``[... 25, 30] + range(30, 210, 10)``)."""

DEFAULT_LENGTHS: tuple[int, ...] = tuple(sorted(set(QUESTION_LENGTHS)))
"""The question's lengths with the repeated 30 dropped: 25 lengths, 2 to 200."""

CELL_COLORS = {"srnn": "tab:orange", "lstm": "tab:blue", "gru": "tab:green"}


@dataclass(frozen=True)
class SweepConfig:
    """Settings of a success-frequency sweep; defaults are the question's set-up with GRU added.

    ``threshold`` is not part of the computation (only of the summary), so it may change between reruns.
    """

    cells: tuple[str, ...] = ("srnn", "lstm", "gru")
    lengths: tuple[int, ...] = DEFAULT_LENGTHS
    repeats: int = 30
    epochs: int = 5
    n: int = 10000
    batch_size: int = 16
    lr: float = 1e-3
    init: str = "keras2"
    split: str = "correct"
    hidden: int = 1
    task: str = "latching"
    noise: float = 0.1
    val_fraction: float = 0.2
    clip_norm: float | None = None
    readout: str = "softmax"
    seed: int = 0
    backend: str = "auto"
    device: str | None = None
    threshold: float = field(default=0.9, compare=False)

    def check(self) -> "SweepConfig":
        """Return self if the settings are possible.

        Raises:
            ValueError: naming the first impossible setting.
        """
        bad = [c for c in self.cells if c not in CELL_CLASSES]
        if bad or not self.cells:
            raise ValueError(f"unknown cell(s) {', '.join(bad) or '(none)'}; choose from {', '.join(CELL_CLASSES)}")
        min_len = 2 if self.task == "bit-relay" else 1
        if not self.lengths or min(self.lengths) < min_len:
            raise ValueError(f"lengths must be >= {min_len} for task {self.task}; got {list(self.lengths)}")
        for name in ("repeats", "epochs", "batch_size", "hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0; got {self.lr}")
        if self.init not in INIT_SCHEMES:
            raise ValueError(f"unknown init {self.init!r}; choose from {', '.join(INIT_SCHEMES)}")
        if self.task not in tasks.TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose from {', '.join(tasks.TASKS)}")
        if self.split not in tasks.SPLITS:
            raise ValueError(f"unknown split {self.split!r}; choose from {', '.join(tasks.SPLITS)}")
        if self.readout not in READOUTS:
            raise ValueError(f"unknown readout {self.readout!r}; choose from {', '.join(READOUTS)}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; choose from {', '.join(BACKENDS)}")
        if not self.noise >= 0 or not 0 < self.val_fraction < 1 or not 0 < self.threshold <= 1:
            raise ValueError("need noise >= 0, 0 < val_fraction < 1 and 0 < threshold <= 1")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"clip_norm must be > 0; got {self.clip_norm}")
        tasks.validation_size(self.n, self.val_fraction)
        return self

    def settings(self) -> dict[str, Any]:
        """What the results depend on (everything but the summary threshold and the executing device)."""
        d = asdict(self)
        for k in ("threshold", "backend", "device", "cells", "lengths"):
            d.pop(k)
        return d


def derive_seed(*parts: int) -> int:
    """A 32-bit seed determined by ``parts`` (independent streams for different parts)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


DATA_STREAM = 0xDA7A  # seeds for data sets: derive_seed(seed, DATA_STREAM, T)


def shard_keys(config: SweepConfig) -> list[dict[str, Any]]:
    """(T, cell) shards, T-major."""
    return [{"T": int(T), "cell": cell} for T in config.lengths for cell in config.cells]


def sweep_data(config: SweepConfig, T: int) -> tasks.Dataset:
    """The dataset every cell and repeat of length ``T`` learns (seeded by ``derive_seed(seed, DATA_STREAM, T)``)."""
    c = config
    return tasks.make_task(c.task, length=T, n=c.n, noise=c.noise, val_fraction=c.val_fraction, split=c.split,
                           seed=derive_seed(c.seed, DATA_STREAM, T))


def train_shard(config: SweepConfig, cell: str, T: int, data: tasks.Dataset | None = None) -> list[Row]:
    """Train the ``repeats`` models of one (cell, T) shard and return their tidy rows."""
    c = config
    data = data or sweep_data(c, T)
    seeds = [derive_seed(c.seed, T, r) for r in range(c.repeats)]
    model = Model.init(cell, seeds=seeds, units=c.hidden, input_dim=data.input_dim, init=c.init, readout=c.readout)
    result = train(model, data, epochs=c.epochs, batch_size=c.batch_size, lr=c.lr, clip_norm=c.clip_norm,
                   backend=c.backend, device=c.device)
    rows = []
    for r, s in enumerate(seeds):
        rows.append({
            "task": c.task, "cell": cell, "init": c.init, "split": c.split, "hidden": c.hidden, "T": T, "repeat": r,
            "seed": s, "data_seed": data.seed,
            "val_acc": float(result.final("val_acc")[r]), "train_acc": float(result.final("train_acc")[r]),
            "val_loss": float(result.final("val_loss")[r]), "train_loss": float(result.final("train_loss")[r]),
            "epochs_run": int(result.epochs_run[r]), "diverged": bool(result.diverged[r]),
        })
    return rows


def run_success_sweep(config: SweepConfig, out_dir: str | Path, *, progress: bool = True) -> list[Row]:
    """Run (or resume) the sweep under ``out_dir`` and return one row per trained model.

    Raises:
        ValueError: for impossible settings.
        dynlatch.SweepSettingsError: if ``out_dir`` holds a sweep with other settings.
    """
    config.check()
    data = functools.lru_cache(maxsize=1)(lambda T: sweep_data(config, T))  # shards are T-major: one build per T
    compute = lambda key: train_shard(config, key["cell"], key["T"], data(key["T"]))  # noqa: E731
    return run_shards(shard_keys(config), compute, out_dir=out_dir, settings=config.settings(), progress=progress,
                      desc=f"{config.task} sweep")


def sweep_seconds(config: SweepConfig, out_dir: str | Path) -> float:
    """Compute time of the sweep's shards under ``out_dir``, whether computed in this run or an earlier one."""
    return shard_seconds(shard_keys(config), out_dir=out_dir)


def summarise_success(rows: Sequence[Row], *, threshold: float = 0.9) -> list[dict[str, Any]]:
    """Per (task, cell, init, split, hidden): per-T success frequency (val acc >= threshold; diverged runs count as
    failures), mean and standard deviation of val accuracy over non-diverged runs, and counts."""
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
            "val_acc_mean": [float(f.mean()) if f.size else math.nan for f in finite],
            "val_acc_std": [float(f.std()) if f.size else math.nan for f in finite],
            "n": [int(a.size) for a in acc],
            "n_diverged": [int(sum(r["diverged"] for r in by_T[T])) for T in Ts],
        })
    return out


def plot_success(summary: Sequence[dict[str, Any]], *, title: str = "") -> Any:
    """Success frequency and mean val accuracy (+- 1 s.d.) versus T, one curve per cell; returns the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    for g in summary:
        label = g["cell"].upper() + ("" if len({s["init"] for s in summary}) == 1 else f" ({g['init']})")
        color = CELL_COLORS.get(g["cell"])
        ax1.plot(g["T"], g["success_frequency"], "o-", ms=3, color=color, label=label)
        ax2.errorbar(g["T"], g["val_acc_mean"], yerr=g["val_acc_std"], fmt="o-", ms=3, capsize=2, color=color,
                     label=label)
    ax1.set(xlabel="sequence length T", ylabel="success frequency", ylim=(-0.03, 1.03))
    ax2.set(xlabel="sequence length T", ylabel="final validation accuracy", ylim=(0.0, 1.03))
    ax2.axhline(0.5, color="0.7", lw=0.8, ls=":")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    ax1.legend(frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
