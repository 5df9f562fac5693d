r"""The gradient-decay study behind ``dynlatch run gradient-decay``: measured and predicted per-step log rates of
||ds_T/ds_t|| for the hand-built latches and for Keras-2 initialised cells of each kind.

Bengio, Simard & Frasconi (1994): a state that latches robustly sits at an attractor whose Jacobian has spectral
radius below 1, so the gradient through it decays like rho^(T - t). :func:`gradient_decay` measures the slope of
log ||ds_T/ds_t|| against T - t and predicts it from the Jacobian at the attractor (or the leading Lyapunov exponent);
this module runs it over a set of cells and tabulates the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from .. import _checks
from .._config import Config, option
from ._decay import gradient_decay
from ._maps import as_map

_F64 = torch.float64
REFERENCE_FACTOR_W2 = 0.166
"""w (1 - xbar^2) of the SRNN latch at w = 2 to three digits (REFERENCES): the per-step factor the contract checks."""


def _kinds(name: str, values: Sequence[str]) -> tuple[str, ...]:
    from ..cells import kinds

    return tuple(_checks.choice(name, v, tuple(kinds())) for v in _checks.distinct(name, values))


def _handmade(name: str, values: Sequence[str]) -> tuple[str, ...]:
    from ..cells.handmade import HANDMADE

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
    return torch.as_tensor(x, dtype=_F64)


def srnn_latch_w2_rates(*, steps: int = 200, h0: float = 0.5) -> dict[str, float]:
    r"""Measured and predicted log rates of the SRNN latch w = 2, b = 0, x = 0 from h0 (the issue's contract).

    The closed form: :math:`\bar x = \tanh(2 \bar x)` (0.9575), factor :math:`w (1 - \bar x^2)` (0.1664), found here
    by bisection independently of :func:`gradient_decay`.

    Returns:
        measured_log_rate, predicted_log_rate, closed_form_log_rate, reference_log_rate (ln 0.166) and the
        relative errors of measured and predicted against the reference.
    """
    from ..cells.handmade import srnn_latch

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


def _rows(g: Any, *, source: str, names: Sequence[str], kind: str, seeds: Sequence[int], drive: str,
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
    from ..cells import cell_class
    from ..cells.handmade import HANDMADE

    T = config.steps
    rows: list[dict[str, Any]] = []
    curves: dict[str, np.ndarray] = {}

    def keep(new_rows: list[dict[str, Any]], g: Any) -> None:
        for k, r in enumerate(new_rows):
            curves[f"{r['model']}/{r['drive']}"] = g.log_norms[k]
        rows.extend(new_rows)

    drive = latching_drive(T, sigma=config.sigma, seed=config.seed)
    for name in config.handmade:
        cell = HANDMADE[name]().to(_F64)
        g = gradient_decay(cell, np.full(cell.state_dim, config.h0), steps=T)
        keep(_rows(g, source="handmade", names=[name], kind=cell.kind, seeds=[-1], drive="autonomous",
                   start=f"h0={config.h0:g}"), g)
        g = gradient_decay(cell, np.zeros(cell.state_dim), inputs=drive)
        keep(_rows(g, source="handmade", names=[name], kind=cell.kind, seeds=[-1], drive="noise",
                   start="0"), g)
    for i, kind in enumerate(config.kinds):
        seeds = [int(1000 * (1000 * config.seed + i) + m) for m in range(config.models)]
        cell = cell_class(kind).init(seed=seeds, scheme="keras2", dtype=_F64)
        m = as_map(cell)
        with torch.no_grad():
            s1 = m(torch.zeros(m.models, 1, m.state_dim, dtype=_F64), torch.ones(m.models, 1, 1, dtype=_F64))[:, 0]
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
