r"""Gradient decay log ||ds_T/ds_t|| and its per-step rate, measured and predicted, hand-built and Keras-2 cells.

Hand-built latches (autonomous and driven by latching noise) and Keras-2 initialised SRNN / LSTM / GRU cells; the rate
is predicted from the Jacobian at the attractor or the leading Lyapunov exponent.

Bengio, Simard & Frasconi (1994): a state that latches robustly sits at an attractor whose Jacobian has spectral
radius below 1, so the gradient through it decays like rho^(T - t). :func:`dynlatch.dynamics.gradient_decay` measures
the slope of log ||ds_T/ds_t|| against T - t and predicts it from the Jacobian at the attractor (or the leading
Lyapunov exponent); this study runs it over a set of cells and tabulates the two.

Writes ``runs.csv`` (one row per (model, drive) with both rates), ``curves.csv`` (every log ||ds_T/ds_t||),
``summary.json`` (the SRNN latch at w = 2 against ln 0.166, per hand-built cell its rates, per kind the medians of its
Keras-2 inits) and ``gradient_decay.pdf/.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import _checks
from .._config import Config, option
from ..cells import cell_class, kinds
from ..cells.handmade import HANDMADE, srnn_latch
from ..dynamics import GradientDecay, as_map, gradient_decay
from ._study import Result, RunContext, Study

F64 = torch.float64
REFERENCE_FACTOR_W2 = 0.166
"""w (1 - xbar^2) of the SRNN latch at w = 2 to three digits (REFERENCES): the per-step factor the contract checks."""
KIND_COLORS = {"srnn": "tab:blue", "lstm": "tab:red", "gru": "tab:green"}


def _kinds(name: str, values: Sequence[str]) -> tuple[str, ...]:
    return tuple(_checks.choice(name, v, tuple(kinds())) for v in _checks.distinct(name, values))


def _handmade(name: str, values: Sequence[str]) -> tuple[str, ...]:
    return tuple(_checks.choice(name, v, tuple(HANDMADE)) for v in _checks.distinct(name, values))


@dataclass(frozen=True)
class GradientDecayConfig(Config):
    """Settings of ``dynlatch run gradient-decay``."""

    handmade: tuple[str, ...] = option(("srnn_latch", "srnn_flip_latch", "lstm_feedback_latch",
                                        "lstm_integrator_latch", "gru_latch"),
                                       help="hand-built cells (dynlatch.cells.handmade)", check=_handmade)
    kinds: tuple[str, ...] = option(("srnn", "lstm", "gru"), help="cell kinds whose Keras-2 inits are measured",
                                    check=_kinds)
    models: int = option(64, help="Keras-2 initialised models per kind",
                         check=lambda k, v: _checks.integer(k, v, minimum=1), quick=8)
    steps: int = option(200, help="trajectory length T", check=lambda k, v: _checks.integer(k, v, minimum=20),
                        quick=60)
    h0: float = option(0.5, help="start state (every component) of the autonomous hand-built runs",
                       check=lambda k, v: _checks.number(k, v, at_least=-1, at_most=1))
    sigma: float = option(0.1, help="input noise s.d. of the driven hand-built runs (latching inputs)",
                          check=lambda k, v: _checks.number(k, v, at_least=0))
    seed: int = option(0, help="seed of the Keras-2 inits and of the latching noise", check=_checks.seed)


def latching_drive(steps: int, *, sigma: float, seed: int) -> torch.Tensor:
    """One latching input sequence (steps, 1): ``x_0 = +1 + noise``, then noise alone, noise ``N(0, sigma^2)``."""
    rng = np.random.default_rng([int(seed), 1])
    x = rng.normal(0.0, float(sigma), size=(int(steps), 1))
    x[0, 0] += 1.0
    return torch.as_tensor(x, dtype=F64)


def srnn_latch_w2_rates(*, steps: int = 200, h0: float = 0.5) -> dict[str, float]:
    r"""Measured and predicted log rates of the SRNN latch w = 2, b = 0, x = 0 from h0 (the study's contract).

    The closed form: :math:`\bar x = \tanh(2 \bar x)` (0.9575), factor :math:`w (1 - \bar x^2)` (0.1664), found here
    by bisection independently of :func:`~dynlatch.dynamics.gradient_decay`.

    Returns:
        measured_log_rate, predicted_log_rate, closed_form_log_rate, reference_log_rate (ln 0.166) and the
        relative errors of measured and predicted against the reference.
    """
    w = 2.0
    g = gradient_decay(srnn_latch(w=w), [h0], steps=steps)
    lo, hi = 0.5, 1.0  # tanh(w x) - x changes sign once on (0.5, 1) for w = 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.tanh(w * mid) > mid else (lo, mid)
    xbar = (lo + hi) / 2
    ref = float(np.log(REFERENCE_FACTOR_W2))
    measured, predicted = float(g.fitted_log_rate[0]), float(g.predicted_log_rate[0])
    return {"w": w, "b": 0.0, "x": 0.0, "h0": float(h0), "steps": int(steps), "measured_log_rate": measured,
            "predicted_log_rate": predicted, "closed_form_log_rate": float(np.log(w * (1 - xbar ** 2))),
            "reference_log_rate": ref, "relative_error_measured": abs(measured / ref - 1),
            "relative_error_predicted": abs(predicted / ref - 1),
            "within_2_percent": bool(abs(measured / ref - 1) <= 0.02 and abs(predicted / ref - 1) <= 0.02)}


def _rows(g: GradientDecay, *, source: str, names: Sequence[str], kind: str, seeds: Sequence[int], drive: str,
          start: str) -> list[dict[str, Any]]:
    T = g.log_norms.shape[1] - 1
    return [{"source": source, "model": names[k], "cell": kind, "seed": int(seeds[k]), "drive": drive,
             "start": start, "T": T, "measured_log_rate": float(g.fitted_log_rate[k]),
             "predicted_log_rate": float(g.predicted_log_rate[k]), "prediction": str(g.prediction[k]),
             "period": int(g.period[k]), "settle_step": int(g.settle_step[k]),
             "log_norm_T_0": float(g.log_norms[k, 0])} for k in range(len(names))]


def decay_study(config: GradientDecayConfig) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Gradient decay of every cell of ``config``.

    Hand-built cells: autonomous (x = 0) from the state with every component ``h0``, and driven from 0 by one
    latching sequence (``+1`` then noise of s.d. ``sigma``). Keras-2 inits (seeds ``[seed, kind index, m]``):
    autonomous from the state after the first noiseless latching input, ``s_1 = F(0, +1)``.

    Returns:
        (rows, curves): one tidy row per (model, drive) with the measured and predicted log rates, and for each
        row's ``model/drive`` label its log ||ds_T/ds_t|| for t = 0..T (numpy, T + 1).
    """
    T = config.steps
    rows: list[dict[str, Any]] = []
    curves: dict[str, np.ndarray] = {}

    def keep(new_rows: list[dict[str, Any]], g: GradientDecay) -> None:
        for k, r in enumerate(new_rows):
            curves[f"{r['model']}/{r['drive']}"] = g.log_norms[k]
        rows.extend(new_rows)

    drive = latching_drive(T, sigma=config.sigma, seed=config.seed)
    for name in config.handmade:
        cell = HANDMADE[name]().to(F64)
        g = gradient_decay(cell, np.full(cell.state_dim, config.h0), steps=T)
        keep(_rows(g, source="handmade", names=[name], kind=cell.kind, seeds=[-1], drive="autonomous",
                   start=f"h0={config.h0:g}"), g)
        g = gradient_decay(cell, np.zeros(cell.state_dim), inputs=drive)
        keep(_rows(g, source="handmade", names=[name], kind=cell.kind, seeds=[-1], drive="noise",
                   start="0"), g)
    for i, kind in enumerate(config.kinds):
        seeds = [int(1000 * (1000 * config.seed + i) + m) for m in range(config.models)]
        cell = cell_class(kind).init(seed=seeds, scheme="keras2", dtype=F64)
        m = as_map(cell)
        with torch.no_grad():
            s1 = m(torch.zeros(m.models, 1, m.state_dim, dtype=F64), torch.ones(m.models, 1, 1, dtype=F64))[:, 0]
        g = gradient_decay(cell, s1, steps=T)
        keep(_rows(g, source="keras2", names=[f"{kind}-keras2-{s}" for s in seeds], kind=kind, seeds=seeds,
                   drive="autonomous", start="F(0,+1)"), g)
    return rows, curves


def summarise_decay(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per hand-built cell and drive its two rates; per kind the median measured / predicted rate of its Keras-2
    inits and the median |measured - predicted|."""
    handmade: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["source"] == "handmade":
            handmade.setdefault(r["model"], {"cell": r["cell"]})[r["drive"]] = {
                k: r[k] for k in ("measured_log_rate", "predicted_log_rate", "prediction", "period")}
    keras2 = {}
    for kind in dict.fromkeys(r["cell"] for r in rows if r["source"] == "keras2"):
        mine = [r for r in rows if r["source"] == "keras2" and r["cell"] == kind]
        meas = np.array([r["measured_log_rate"] for r in mine])
        pred = np.array([r["predicted_log_rate"] for r in mine])
        with np.errstate(invalid="ignore"):
            gap = np.abs(meas - pred)
        keras2[kind] = {"models": len(mine), "median_measured_log_rate": float(np.nanmedian(meas)),
                        "median_predicted_log_rate": float(np.nanmedian(pred)),
                        "median_abs_measured_minus_predicted": float(np.nanmedian(gap)),
                        "fraction_predicted_from_attractor": float(np.mean([r["prediction"] == "attractor"
                                                                            for r in mine]))}
    return {"handmade": handmade, "keras2": keras2}


def curve_rows(curves: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """``curves.csv``: one row per (model, drive, t) with log ||ds_T/ds_t|| and the steps back T - t."""
    return [{"model": label.split("/")[0], "drive": label.split("/")[1], "t": t, "steps_back": y.size - 1 - t,
             "log_norm": float(v)} for label, y in curves.items() for t, v in enumerate(y)]


def decay_figure(rows: Sequence[dict[str, Any]], curves: dict[str, np.ndarray], config: GradientDecayConfig
                 ) -> Figure:
    """Log ||ds_T/ds_t|| of the hand-built latches and of the Keras-2 inits, and measured against predicted rates."""
    fig = Figure(figsize=(14, 4.2))
    a, b, c = fig.subplots(1, 3)
    hand = [r for r in rows if r["source"] == "handmade"]
    styles = {"autonomous": "-", "noise": "--"}
    colors = matplotlib.colormaps["tab10"](np.arange(len(config.handmade)))
    for color, name in zip(colors, config.handmade):
        for r in (r for r in hand if r["model"] == name):
            y = curves[f"{name}/{r['drive']}"]
            a.plot(np.arange(y.size)[::-1], y, styles[r["drive"]], color=color, lw=1.2,
                   label=f"{name} ({r['drive']})")
    a.set(xlabel="steps back T - t", ylabel="log ||ds_T / ds_t||", title="hand-built latches",
          ylim=(max(-60, a.get_ylim()[0]), 2))
    a.legend(fontsize=6, frameon=False, loc="lower left")
    for kind in config.kinds:
        mine = [curves[f"{r['model']}/{r['drive']}"] for r in rows if r["source"] == "keras2" and r["cell"] == kind]
        Y = np.array(mine)
        x = np.arange(Y.shape[1])[::-1]
        for y in Y:
            b.plot(x, y, color=KIND_COLORS.get(kind, "k"), alpha=0.15, lw=0.7)
        b.plot(x, np.median(Y, axis=0), color=KIND_COLORS.get(kind, "k"), lw=2, label=f"{kind} (median)")
    b.set(xlabel="steps back T - t", ylabel="log ||ds_T / ds_t||", ylim=(max(-80, b.get_ylim()[0]), 2),
          title=f"Keras-2 inits, x = 0 from s_1 = F(0, +1)\n({config.models} per kind)")
    b.legend(fontsize=7, frameon=False)
    finite = [r for r in rows if np.isfinite(r["measured_log_rate"]) and np.isfinite(r["predicted_log_rate"])]
    for r in finite:
        hand_made = r["source"] == "handmade"
        c.scatter(r["predicted_log_rate"], r["measured_log_rate"], s=28 if hand_made else 10,
                  marker="*" if hand_made else ("o" if r["prediction"] == "attractor" else "x"),
                  color="k" if hand_made else KIND_COLORS.get(r["cell"], "0.5"), alpha=1 if hand_made else 0.6,
                  zorder=3 if hand_made else 2)
    lim = [min(min(r["predicted_log_rate"], r["measured_log_rate"]) for r in finite) - 0.1, 0.1]
    c.plot(lim, lim, color="0.5", lw=0.8, ls=":", label="measured = predicted")
    c.axhline(np.log(REFERENCE_FACTOR_W2), color="tab:orange", lw=0.6, ls="--", label="ln 0.166 (SRNN latch w = 2)")
    for kind in config.kinds:
        c.scatter([], [], color=KIND_COLORS.get(kind, "0.5"), s=10, label=f"{kind} Keras-2 (o attractor, x Lyapunov)")
    c.scatter([], [], color="k", marker="*", s=28, label="hand-built")
    c.set(xlabel="predicted log rate per step", ylabel="measured log rate per step (fitted slope)",
          title="measured vs predicted", xlim=lim, ylim=lim)
    c.legend(fontsize=6, frameon=False, loc="upper left")
    for ax in (a, b, c):
        ax.grid(alpha=0.3)
    fig.suptitle(f"gradient decay over T = {config.steps} steps, float64", fontsize=10)
    fig.tight_layout()
    return fig


def run(config: GradientDecayConfig, context: RunContext) -> Result:
    """Measure and predict the decay rates of every cell of ``config`` and check the SRNN latch's contract."""
    rows, curves = decay_study(config)
    contract = srnn_latch_w2_rates(steps=max(config.steps, 60), h0=0.5)
    summary = {"srnn_latch_w2": contract, **summarise_decay(rows)}
    report = [f"SRNN latch w = 2: measured {contract['measured_log_rate']:.4f}, predicted "
              f"{contract['predicted_log_rate']:.4f}, ln 0.166 = {contract['reference_log_rate']:.4f}"]
    report += [f"{kind:>5} Keras-2 ({s['models']}): median measured {s['median_measured_log_rate']:.3f}, "
               f"predicted {s['median_predicted_log_rate']:.3f} per step" for kind, s in summary["keras2"].items()]
    return Result(summary=summary, tables={"runs": rows, "curves": curve_rows(curves)},
                  figures={"gradient_decay": decay_figure(rows, curves, config)}, report=report)


SUMMARY_KEYS: dict[str, str] = {
    "srnn_latch_w2": ("the SRNN latch at w = 2: measured, predicted, closed-form and reference log rates per step and "
                      "their relative errors (the study's contract, within 2%)"),
    "handmade": ("per hand-built latch, autonomous and driven by noise: measured and predicted log rate, how it was "
                 "predicted (attractor or Lyapunov exponent) and the attractor's period"),
    "keras2": ("per cell kind, over its Keras-2 initialised models: the median measured and predicted log rates, their"
               " median absolute difference and the fraction predicted from an attractor"),
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="gradient-decay", config=GradientDecayConfig, run=run, description=__doc__,
              summary_keys=SUMMARY_KEYS)
