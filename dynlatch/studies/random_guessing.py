"""Random weight guessing (Hochreiter & Schmidhuber 1997) vs gradient descent: mean trials to success vs T.

Every weight of Bengio's neuron (:mod:`dynlatch.bengio`) and of one-unit SRNN, LSTM and GRU cells with a
Dense(2)+softmax read-out is drawn from U(-100, 100); a guess solves the task when its accuracy reaches ``threshold``.
The mean number of trials to the first success is ``1 / solved fraction`` (geometric law), with the Wilson 95%
interval's ends mapped through ``1/p``. Gradient descent on the same models (the ``bengio94`` study's settings for the
neuron; Adam as the question for the cells) is scored the same way, ``1 / success frequency``, with wall seconds and
sequence-steps per success.

Writes ``runs.csv`` (one row per method, model and T), ``random_guessing.pdf/.png`` and ``summary.json``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .. import _checks, tasks
from .._config import Config, option
from .._model import Model
from .._train import train
from ..bengio import guess_cell, guess_neuron, mean_trials, train_latch, wilson_interval
from ..cells import CELL_CLASSES
from ._study import Result, RunContext, Study
from .bengio94 import Bengio94Config, as_check_error


@dataclass(frozen=True)
class RandomGuessingConfig(Config):
    """Settings of ``dynlatch run random-guessing`` (Hochreiter & Schmidhuber 1997's baseline).

    Attributes:
        lengths: T values of the guessing runs; guesses: guesses per (model, T).
        cells: one-unit cells of the question's set-up (Dense(2)+softmax read-out, all weights guessed).
        neuron_inputs, noise_variance, neuron_sequences: Bengio's neuron (L, s, fixed test sequences).
        cell_sequences, cell_noise, scheme: the question's latching data (``tasks.latching``: +-1 then N(0, noise^2)
            added everywhere), all ``cell_sequences`` used to score a guess; gate conventions of ``scheme``.
        threshold: solved / success = accuracy >= this (guessing and gradient descent alike).
        gd_lengths: T values of the gradient-descent comparison; gd_trials: Bengio-neuron GD trials per T
            (settings of :class:`Bengio94Config`); gd_repeats, gd_epochs, gd_n: one-unit cells trained with
            :func:`dynlatch.train` (Adam lr 1e-3, batch 16, Keras-2 init, as the question) on ``gd_n`` sequences;
            gd_backend: its backend (``"torch"`` avoids the numba compile in short runs).
        seed, device.
    """

    lengths: tuple[int, ...] = option((5, 10, 20, 50, 100), flag="--lens", help="T values", quick=(5, 20))
    guesses: int = option(10000, help="guesses per model and T", quick=1000)
    cells: tuple[str, ...] = option(("srnn", "lstm", "gru"), help="one-unit cells of the question's set-up")
    neuron_inputs: int = option(1, help="L of Bengio's neuron", cli=False)
    noise_variance: float = option(0.2, help="noise variance of Bengio's task", cli=False)
    neuron_sequences: int = option(200, help="test sequences of Bengio's task", cli=False, quick=100)
    cell_sequences: int = option(200, help="latching sequences scoring a guessed cell", cli=False, quick=100)
    cell_noise: float = option(0.1, help="noise s.d. of the latching data", cli=False)
    scheme: str = option("keras2", help="gate conventions of the guessed cells", cli=False)
    threshold: float = option(0.9, help="accuracy counted as solved")
    gd_lengths: tuple[int, ...] = option((5, 20, 50), flag="--gd-lens",
                                         help="T values of the gradient-descent comparison", quick=(5,))
    gd_trials: int = option(200, help="Bengio-neuron GD trials per T", cli=False, quick=24)
    gd_repeats: int = option(16, help="one-unit cells trained per T", cli=False, quick=4)
    gd_epochs: int = option(5, help="epochs of the one-unit cells", cli=False, quick=2)
    gd_n: int = option(2000, help="sequences of the one-unit cells' data", cli=False, quick=400)
    gd_backend: str = option("auto", help="training backend of the comparison", cli=False, quick="torch")
    seed: int = option(0, help="base seed; results are deterministic given it", check=_checks.seed)
    device: str | None = option(None, help="torch device (none: the CPU)", check=_checks.device)

    def check_together(self) -> None:
        as_check_error(self._validate)
        longest = max(max(self.lengths), max(self.gd_lengths))
        _checks.fits_in_memory("lengths", 4 * max(self.neuron_sequences, self.cell_sequences, self.gd_n) * longest,
                               what=f"T = {longest} (a few sequences x T arrays)")

    def _validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        for name, v in (("guesses", self.guesses), ("gd_trials", self.gd_trials), ("gd_repeats", self.gd_repeats),
                        ("gd_epochs", self.gd_epochs), ("neuron_inputs", self.neuron_inputs)):
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {v}")
        for name, ls in (("lengths", self.lengths), ("gd_lengths", self.gd_lengths)):
            if not ls or any(int(T) != T or T < max(2, self.neuron_inputs) for T in ls):
                raise ValueError(f"{name} must be integers >= max(2, neuron_inputs); got {ls}")
        bad = [c for c in self.cells if c not in CELL_CLASSES]
        if bad:
            raise ValueError(f"cells: unknown {', '.join(bad)}; choose from {', '.join(CELL_CLASSES)}")
        for name, v in (("neuron_sequences", self.neuron_sequences), ("cell_sequences", self.cell_sequences)):
            if v < 4 or v % 2:
                raise ValueError(f"{name} must be even and >= 4; got {v}")
        if self.gd_n < 10:
            raise ValueError(f"gd_n must be >= 10; got {self.gd_n}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1]; got {self.threshold}")
        if not (self.noise_variance >= 0 and math.isfinite(self.noise_variance)):
            raise ValueError(f"noise_variance must be >= 0; got {self.noise_variance}")
        if not (self.cell_noise >= 0 and math.isfinite(self.cell_noise)):
            raise ValueError(f"cell_noise must be >= 0; got {self.cell_noise}")
        if self.gd_backend not in ("auto", "numba", "torch"):
            raise ValueError(f"gd_backend must be auto, numba or torch; got {self.gd_backend!r}")
        if self.scheme not in ("keras2", "torch"):
            raise ValueError(f"scheme must be keras2 or torch; got {self.scheme!r}")


def guess_row(model: str, T: int, solved: np.ndarray, seconds: float, steps_per_guess: float) -> dict[str, Any]:
    """The row of one guessing run: ``solved`` (one boolean per guess), its wall ``seconds`` and the sequence-steps
    one guess costs, turned into mean trials to success (:func:`dynlatch.bengio.mean_trials`) and cost per success."""
    mt = mean_trials(solved)
    return dict(method="random_guessing", model=model, T=T, guesses=mt.guesses, solved=mt.solved,
                solved_fraction=mt.solved_fraction, mean_trials=mt.mean, ci_low=mt.ci_low, ci_high=mt.ci_high,
                seconds_per_success=seconds / mt.guesses * mt.mean,
                sequence_steps_per_success=steps_per_guess * mt.mean)


def gd_row(model: str, T: int, success: np.ndarray, seconds: float, steps_per_trial: float) -> dict[str, Any]:
    """The row of one gradient-descent run, as :func:`guess_row`: every trained trial counts as one trial, its mean
    trials to success ``1 / success frequency``."""
    n, k = int(success.size), int(success.sum())
    lo, hi = wilson_interval(k, n)
    p = k / n
    inv = lambda q: math.inf if q == 0 else 1.0 / q  # noqa: E731
    return dict(method="gradient_descent", model=model, T=T, guesses=n, solved=k, solved_fraction=p,
                mean_trials=inv(p), ci_low=inv(hi), ci_high=inv(lo), seconds_per_success=seconds / n * inv(p),
                sequence_steps_per_success=steps_per_trial * inv(p))


def measure(config: RandomGuessingConfig) -> list[dict[str, Any]]:
    """Mean trials to success of random guessing (per model and T) and of gradient descent (per model and T in
    ``gd_lengths``), with wall seconds and sequence-steps (forward steps of one sequence; a training step's backward
    pass is not counted) per success. One row per (method, model, T)."""
    rows = []
    for T in config.lengths:
        t0 = time.perf_counter()
        solved = guess_neuron(guesses=config.guesses, length=T, inputs=config.neuron_inputs,
                              noise_variance=config.noise_variance, sequences=config.neuron_sequences,
                              seed=config.seed, threshold=config.threshold, device=config.device)
        rows.append(guess_row("bengio_neuron", T, solved, time.perf_counter() - t0, config.neuron_sequences * T))
        data = tasks.latching(length=T, n=config.cell_sequences, noise=config.cell_noise, seed=config.seed)
        x = np.concatenate([data.x_train, data.x_val])
        y = np.concatenate([data.y_train, data.y_val])
        for cell in config.cells:
            t0 = time.perf_counter()
            solved = guess_cell(cell=cell, guesses=config.guesses, x=x, y=y, threshold=config.threshold,
                                seed=config.seed, scheme_options=config.scheme, device=config.device)
            rows.append(guess_row(cell, T, solved, time.perf_counter() - t0, len(y) * T))
    b = Bengio94Config()
    for T in config.gd_lengths:
        res = train_latch(length=T, trials=config.gd_trials, w0=b.w0, noise_variance=config.noise_variance,
                          inputs=config.neuron_inputs, lr=b.lr, epochs=b.epochs, train_sequences=b.train_sequences,
                          test_sequences=config.neuron_sequences, seed=config.seed, device=config.device)
        rows.append(gd_row("bengio_neuron", T, res.success(config.threshold), res.seconds,
                            b.epochs * b.train_sequences * T))
        data = tasks.latching(length=T, n=config.gd_n, noise=config.cell_noise, seed=config.seed)
        for cell in config.cells:
            model = Model.init(cell, seeds=range(config.gd_repeats), init=config.scheme, dtype=torch.float64)
            backend = "torch" if config.device not in (None, "cpu") else config.gd_backend
            warm = tasks.latching(length=2, n=20, noise=config.cell_noise, seed=config.seed)
            train(model.select([0]), warm, epochs=1, backend=backend, device=config.device)  # compile outside the clock
            t0 = time.perf_counter()
            r = train(model, data, epochs=config.gd_epochs, backend=backend, device=config.device)
            seconds = time.perf_counter() - t0
            acc = np.nan_to_num(r.final("val_acc"), nan=-1.0)
            rows.append(gd_row(cell, T, acc >= config.threshold, seconds,
                                config.gd_epochs * len(data.y_train) * T))
    return rows


def random_guessing_figure(rows: Sequence[dict[str, Any]], config: RandomGuessingConfig) -> Figure:
    """Two panels: mean trials to success vs T (guessing: lines with Wilson intervals; gradient descent: open
    markers, ``1 / success frequency``; a triangle where nothing was solved, at the interval's lower end), and wall
    seconds per success. ``rows`` as :func:`measure` returns them (or read back from ``runs.csv``)."""
    fig = Figure(figsize=(13, 4.8))
    axes = fig.subplots(1, 2)
    models = ["bengio_neuron", *config.cells]
    colors = dict(zip(models, ["k", "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]))
    cap = 10 * config.guesses
    axes[0].plot([], [], "^", color="gray", mfc="none", label="none solved: lower end of the 95% interval")
    for model in models:
        for method, style in (("random_guessing", "o-"), ("gradient_descent", "s--")):
            rs = sorted((r for r in rows if r["model"] == model and r["method"] == method), key=lambda r: float(r["T"]))
            if not rs:
                continue
            T = np.array([float(r["T"]) for r in rs])
            m = np.array([float(r["mean_trials"]) for r in rs])
            lo = np.array([float(r["ci_low"]) for r in rs])
            hi = np.array([min(float(r["ci_high"]), cap) for r in rs])
            fin = np.isfinite(m)
            label = f"{model}, {'guessing' if method == 'random_guessing' else 'GD (1/success freq.)'}"
            kw = dict(color=colors[model], mfc="none" if method == "gradient_descent" else colors[model])
            axes[0].errorbar(T[fin], m[fin], yerr=[m[fin] - lo[fin], hi[fin] - m[fin]], fmt=style, capsize=3,
                             label=label, **kw)
            # nothing solved: the mean is unbounded; mark the interval's lower end with an upward triangle
            axes[0].plot(T[~fin], lo[~fin], "^", ms=9, **kw)
            sec = np.array([float(r["seconds_per_success"]) for r in rs])
            axes[1].plot(T[fin], sec[fin], style, label=label, **kw)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sequence length T")
        ax.set_xticks(sorted({*config.lengths, *config.gd_lengths}),
                      [str(t) for t in sorted({*config.lengths, *config.gd_lengths})])
        ax.minorticks_off()
    axes[0].axhline(6, color="gray", ls=":", label="H&S 1997: ~6 trials")
    axes[0].set_ylabel("mean trials to success")
    axes[0].set_title("(a) random guessing in [-100, 100] vs gradient descent")
    axes[1].set_ylabel("wall seconds per success (this machine)")
    axes[1].set_title("(b) compute per success")
    axes[0].legend(fontsize=7, ncol=2)
    fig.text(0.5, -0.03, f"Solved/success: accuracy >= {config.threshold:g}. Neuron: L={config.neuron_inputs}, "
             f"s={config.noise_variance:g}, {config.neuron_sequences} fixed test sequences; GD as bengio94 "
             f"({config.gd_trials} trials). Cells: one unit + Dense(2) softmax, {config.scheme} gates, latching data "
             f"noise {config.cell_noise:g}, {config.cell_sequences} sequences; GD: Adam 1e-3, batch 16, "
             f"{config.gd_epochs} epochs, n={config.gd_n}, {config.gd_repeats} repeats. Bars: Wilson 95% on 1/p.",
             ha="center", va="top", fontsize=8, wrap=True)
    fig.tight_layout()
    return fig


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean trials to success with its interval, solved fraction and compute per success, by method, model and T."""
    table = {f"{r['method']}/{r['model']}/T={r['T']}": {k: r[k] for k in ("mean_trials", "ci_low", "ci_high",
             "solved_fraction", "guesses", "seconds_per_success", "sequence_steps_per_success")} for r in rows}
    return {"estimator": "mean trials = 1 / solved fraction (geometric law); interval: "
            "1/p at the Wilson 95% interval's ends", "reference": "Hochreiter & Schmidhuber: ~6 trials on "
            "Bengio's latch; Bengio et al.: ~1600 trials for gradient methods", "results": table}


def run(config: RandomGuessingConfig, context: RunContext) -> Result:
    """Guess and train every model at every T; the result carries the rows, the summary and the figure."""
    rows = measure(config)
    report = [f"{r['method']:>16} {r['model']:>13} T={r['T']:<4} mean trials {r['mean_trials']:9.1f} "
              f"[{r['ci_low']:.1f}, {r['ci_high']:.1f}]  s/success {r['seconds_per_success']:.3g}" for r in rows]
    return Result(summary=summarise(rows), tables={"runs": rows},
                  figures={"random_guessing": random_guessing_figure(rows, config)}, report=report)


SUMMARY_KEYS: dict[str, str] = {
    "estimator": "how the mean number of guesses and its interval are estimated (the geometric law)",
    "reference": "the numbers the literature reports, for comparison",
    "results": ("per (method, model, T): mean guesses (or trials) to solve the task with its 95% interval, the solved "
                "fraction, guesses made and time per success"),
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="random-guessing", config=RandomGuessingConfig, run=run, description=__doc__,
              summary_keys=SUMMARY_KEYS)
