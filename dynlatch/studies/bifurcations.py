"""Bifurcation diagrams of the one-unit SRNN and LSTM with the Keras-2 initial values drawn on them.

The SRNN in U, and in b at U = 2, and the LSTM in U_c and b_f (Keras-2 hard gates), with two-parameter fold/flip
curves against closed forms, a hard-gate border collision, basins of a bistable LSTM and the ghost's passage time near
Bengio's fold.

The branches and their located folds, flips and border collisions come from :func:`dynlatch.dynamics.branches`, the
two-parameter curves from :func:`dynlatch.dynamics.fold_curve_2d`, the basins from :func:`dynlatch.dynamics.basins`
and the bottleneck's passage time from :func:`dynlatch.dynamics.passage_time` (method and references: the module
:mod:`dynlatch.dynamics._continuation`). The located values are checked against closed forms: Bengio's threshold
+-h*(U) for the SRNN's folds in b, the LSTM's fold/flip curve (:func:`lstm_fold_bf`), the logistic map's period
doubling at r = 1 + sqrt(6) and a fold of 2-cycles at p = 0.

Writes ``runs.csv`` (every branch point of every diagram), ``events.csv`` (the located bifurcations), ``curves.csv``
(the two-parameter curves), ``passage.csv``, ``summary.json`` and the figures ``bifurcations``, ``basins`` and
``cycle_bifurcations`` (PDF and PNG).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from .. import _checks
from .._checks import CheckError
from .._config import Config, option
from ..bengio import noise_threshold
from ..cells import GRU, LSTM, SRNN
from ..dynamics import (
    Basins, Branches, Map, basins, bengio_neuron, branches, fixed_points, fold_curve_2d, logistic_map, odd_cycle_map,
    passage_time, scaling_exponent,
)
from ._study import Result, RunContext, Study

F64 = torch.float64
COLORS = {"fold": "tab:red", "flip": "tab:purple", "border_collision": "tab:orange", "unclassified": "gray"}
BASINS_U_C = 3.0
"""U_c of the bistable LSTM (hard gates, b_f = 1) whose basins are drawn."""


def _even(name: str, value: Any) -> int:
    value = _checks.integer(name, value, minimum=2)
    if value % 2:
        raise CheckError(name, f"must be even (the saddle at h = c = 0 must not be a grid point); got {value}")
    return value


@dataclass(frozen=True)
class BifurcationsConfig(Config):
    """Settings of ``dynlatch run bifurcations``: one-unit SRNN and LSTM bifurcation diagrams with the Keras-2 initial
    distributions drawn on them, two-parameter fold/flip curves, basins and the ghost's passage time."""

    points: int = option(241, help="parameter values per one-parameter diagram", check=_checks.integer_at_least(8),
                         quick=41)
    u_min: float = option(-3.0, help="smallest SRNN U", check=_checks.number_in())
    u_max: float = option(3.0, help="largest SRNN U", check=_checks.number_in())
    srnn_u: float = option(2.0, help="SRNN U of the diagram in b (> 1: bistable; Bengio's threshold +-h*(U))",
                           check=lambda n, v: _checks.number(n, v, above=1))
    b_max: float = option(1.0, help="SRNN b in [-b_max, b_max]", check=lambda n, v: _checks.number(n, v, above=0))
    uc_min: float = option(-8.0, help="smallest LSTM U_c", check=_checks.number_in())
    uc_max: float = option(4.0, help="largest LSTM U_c", check=_checks.number_in())
    bf_min: float = option(-3.0, help="smallest LSTM b_f", check=_checks.number_in())
    bf_max: float = option(2.4, help="largest LSTM b_f (< 2.5: a hard forget gate at 1 makes a line of fixed points)",
                           check=lambda n, v: _checks.number(n, v, below=2.5))
    lstm_uc: float = option(1.0, help="LSTM U_c of the diagram in b_f (1: the largest Keras-2 value)",
                            check=_checks.number_in())
    curve_points: int = option(16, help="values of the first parameter of each two-parameter curve",
                               check=_checks.integer_at_least(2), quick=5)
    keras_samples: int = option(2000, help="Keras-2 initialisations drawn per cell kind",
                                check=_checks.integer_at_least(2), quick=200)
    passage_points: int = option(10, help="distances to the fold of the passage-time fit",
                                 check=_checks.integer_at_least(2), quick=6)
    basin_grid: int = option(160, help="grid points per axis (h, c) of the LSTM's basins (even)", check=_even,
                             quick=50)
    basin_steps: int = option(1000, help="steps iterated from each grid point of the LSTM's basins",
                              check=_checks.integer_at_least(1), quick=300)
    seed: int = option(0, help="first seed of the Keras-2 draws", check=_checks.seed)

    def check_together(self) -> None:
        for lo, hi in (("u_min", "u_max"), ("uc_min", "uc_max"), ("bf_min", "bf_max")):
            if not getattr(self, hi) > getattr(self, lo):
                raise CheckError(hi, f"must exceed {lo} ({getattr(self, lo)}); got {getattr(self, hi)}")


# -- the cells and maps of the diagrams, and closed forms ------------------------------------------------------------
def lstm_fold_bf(u_c: Any, *, flip: bool = False) -> np.ndarray:
    """Closed-form pitchfork (fold) / flip curve at h = c = 0 of the one-unit LSTM with Keras-2 hard gates, constant
    i = o = 0.5 (U_i = U_f = U_o = 0, b_i = b_o = 0) and x = 0: the Jacobian at 0 is [[U_c/4, f/2], [U_c/2, f]], so
    det(J - I) = 1 - f - U_c/4 and det(J + I) = 1 + f + U_c/4 give f = 1 - U_c/4 (fold) and f = -1 - U_c/4 (flip),
    b_f = (f - 0.5) / 0.2, in the linear part 0 < f < 1 of the hard sigmoid."""
    u = np.asarray(u_c, dtype=np.float64)
    f = (-1 - u / 4) if flip else (1 - u / 4)
    return np.where((f > 0) & (f < 1), (f - 0.5) / 0.2, np.nan)


def one_unit_srnn(U: float, b: float = 0.0) -> SRNN:
    """The one-unit SRNN h' = tanh(x + U h + b) (W = 1), float64."""
    return SRNN([[1.0]], [[U]], [b], dtype=F64)


def keras_gate_lstm(U_c: float, b_f: float = 1.0, *, U_i: float = 0.0, b_i: float = 0.0, b_o: float = 0.0) -> LSTM:
    """The one-unit LSTM with Keras-2 hard gates, U_f = U_o = 0 and b_c = 0 (float64); with the defaults its input
    and output gates are 0.5 and its forget gate hard_sigmoid(b_f) at every state (:func:`lstm_fold_bf`)."""
    c = LSTM.init(seed=0, recurrent_activation="hard_sigmoid", dtype=F64)
    t = lambda v: torch.tensor([[v]], dtype=F64)  # noqa: E731
    return c.with_params(U_i=t(U_i), U_f=t(0.0), U_o=t(0.0), U_c=t(U_c), b_i=t(b_i)[0], b_f=t(b_f)[0],
                         b_o=t(b_o)[0], b_c=t(0.0)[0])


def gru_cycle_flip_cell(U_h: float = -6.0) -> GRU:
    """A one-unit GRU (Keras, reset_after=False, hard gates, x = 0) whose 2-cycle, born at its fixed point's flip near
    U_h = -4.32, doubles its period near U_h = -6.16 (gates in their linear part: a smooth flip of the cycle)."""
    t = lambda v: torch.tensor([[v]], dtype=F64)  # noqa: E731
    return GRU.init(seed=0, scheme="keras2", reset_after=False, recurrent_activation="hard_sigmoid",
                    dtype=F64).with_params(U_z=t(2.465), U_r=t(-1.771), U_h=t(U_h), b_z=t(-0.841)[0],
                                           b_r=t(2.115)[0], b_h=t(1.34)[0])


def bengio_neuron_family(w: float, h: np.ndarray) -> Map:
    """Bengio's neuron with one model per input value (the input is given as ``x`` to the tools)."""
    return bengio_neuron(np.full(np.asarray(h).size, float(w)))


def _events(diagram: str, br: Branches) -> list[dict[str, Any]]:
    return [{"diagram": diagram, "parameter": br.parameter, "kind": e["kind"], "period": e["period"],
             "value": e["value"], "state": e.get("state"), "cycle": e.get("cycle"), "method": e["method"],
             "gate": e.get("gate"), "preactivation": e.get("preactivation"), "kink": e.get("kink")}
            for e in br.events]


# -- the computation --------------------------------------------------------------------------------------------------
def compute_bifurcations(config: BifurcationsConfig) -> dict[str, Any]:
    """Everything the study shows but the basins: diagrams, Keras-2 initial values, curves, passage times.

    Returns:
        dict with ``diagrams`` (name -> :class:`~dynlatch.dynamics.Branches`), ``cycle_diagrams`` (the logistic map's
        2-cycle flip and a fold of 2-cycles, against closed forms; a GRU's 2-cycle flip), ``keras2`` (name -> initial
        values), ``curves`` (name -> rows), ``passage`` (rows) and ``summary``.
    """
    c = config
    diagrams = {
        "srnn_U": branches(one_unit_srnn(1.0), "U", np.linspace(c.u_min, c.u_max, c.points)),
        "srnn_b": branches(one_unit_srnn(c.srnn_u), "b", np.linspace(-c.b_max, c.b_max, c.points)),
        "lstm_U_c": branches(keras_gate_lstm(1.0), "U_c", np.linspace(c.uc_min, c.uc_max, c.points)),
        "lstm_b_f": branches(keras_gate_lstm(c.lstm_uc), "b_f", np.linspace(c.bf_min, c.bf_max, c.points),
                             periods=(1,)),
        "lstm_hard_input_gate_U_c": branches(keras_gate_lstm(1.0, -10.0, U_i=5.0, b_o=10.0), "U_c",
                                             np.linspace(-3.0, 3.0, c.points), periods=(1,)),
    }
    cycle_diagrams = {  # the 2-cycle events against closed forms (one-unit SRNNs have none: a monotone tanh map's
        # 2-cycle multiplier F'(h1) F'(h2) > 0 cannot pass -1, and its flips are supercritical)
        "logistic_r": branches(logistic_map(), "r", np.linspace(2.8, 3.6, c.points), state_range=(-0.25, 1.25)),
        "odd_cycle_map_p": branches(odd_cycle_map(), "p", np.linspace(-0.3, 0.3, c.points), state_range=(-1.6, 1.6)),
        "gru_U_h": branches(gru_cycle_flip_cell(), "U_h", np.linspace(-8.0, -3.0, c.points)),
    }
    seeds = list(range(c.seed, c.seed + c.keras_samples))
    srnn0 = SRNN.init(seed=seeds, scheme="keras2", dtype=F64)
    lstm0 = LSTM.init(seed=seeds, scheme="keras2", dtype=F64)
    keras2 = {"srnn_U": srnn0.named_params()["U"].reshape(-1).numpy(),
              "lstm_U_c": lstm0.named_params()["U_c"].reshape(-1).numpy(),
              "lstm_b_f": lstm0.named_params()["b_f"].reshape(-1).numpy()}
    census = fixed_points(lstm0, x=0.0, periods=(1,), as_table=True)
    n_fixed = np.bincount(census["model"], minlength=lstm0.models)
    n_stable = np.bincount(census["model"][census["stable"]], minlength=lstm0.models)

    us = np.linspace(1.05, max(3.0, c.srnn_u), c.curve_points)
    srnn_curve = fold_curve_2d(one_unit_srnn(2.0), "U", us, "b", np.linspace(-1.6, 1.6, 161))
    ucs = np.linspace(c.uc_min, c.uc_max, c.curve_points)
    lstm_curve = fold_curve_2d(keras_gate_lstm(1.0), "U_c", ucs, "b_f", np.linspace(c.bf_min, c.bf_max, 109))

    w = c.srnn_u
    h_star = float(noise_threshold(w))
    a_fold = float(np.arccosh(np.sqrt(w)))
    eps = np.logspace(-7, -3, c.passage_points)
    ghost = bengio_neuron_family(w, -(h_star + eps))
    steps = passage_time(ghost, [a_fold], x=(-(h_star + eps))[:, None], threshold=1.0, max_steps=200000)
    exponent = scaling_exponent(eps, steps)
    passage = [{"distance_to_fold": float(e), "steps": int(t)} for e, t in zip(eps, steps)]

    srnn_b_folds = sorted(e["value"] for e in diagrams["srnn_b"].events if e["kind"] == "fold")
    curve_err_srnn = max((abs(abs(r["value2"]) - float(noise_threshold(r["value1"]))) for r in srnn_curve
                          if r["kind"] == "fold"), default=float("nan"))
    lstm_err = [abs(r["value2"] - float(lstm_fold_bf(r["value1"], flip=r["kind"] == "flip"))) for r in lstm_curve
                if r["kind"] in ("fold", "flip") and np.isfinite(lstm_fold_bf(r["value1"], flip=r["kind"] == "flip"))]
    events = [ev for name, br in {**diagrams, **cycle_diagrams}.items() for ev in _events(name, br)]
    cyc = {name: [e for e in br.events if e["period"] == 2] for name, br in cycle_diagrams.items()}
    cycle_checks = {
        "logistic_flip_r": [e["value"] for e in cyc["logistic_r"] if e["kind"] == "flip"], "logistic_closed_form":
        1 + np.sqrt(6), "odd_cycle_map_fold_p": [e["value"] for e in cyc["odd_cycle_map_p"] if e["kind"] == "fold"],
        "odd_cycle_map_closed_form": 0.0,
        "gru_flip_U_h": [e["value"] for e in cyc["gru_U_h"] if e["kind"] == "flip"]}
    cycle_checks["max_error"] = max(
        [abs(v - cycle_checks["logistic_closed_form"]) for v in cycle_checks["logistic_flip_r"]]
        + [abs(v) for v in cycle_checks["odd_cycle_map_fold_p"]], default=float("nan"))
    summary = {
        "events": events,
        "srnn_pitchfork_U": [e["value"] for e in diagrams["srnn_U"].events if e["kind"] == "fold"],
        "srnn_flip_U": [e["value"] for e in diagrams["srnn_U"].events if e["kind"] == "flip"],
        "srnn_fold_b": {"U": w, "located": srnn_b_folds, "bengio_h_star": h_star,
                        "max_error": max((abs(abs(v) - h_star) for v in srnn_b_folds), default=float("nan"))},
        "srnn_fold_curve_max_error": curve_err_srnn,
        "lstm_fold_curve_max_error": max(lstm_err, default=float("nan")),
        "border_collisions": [e for e in events if e["kind"] == "border_collision"],
        "cycle_events": [e for e in events if e["period"] == 2],
        "cycle_checks": cycle_checks,
        "refinement": {name: {"values": int(br.values.size), "finder_misses": br.missed}
                       for name, br in {**diagrams, **cycle_diagrams}.items()},
        "passage_time": {"w": w, "exponent": exponent, "predicted": -0.5, "distances": eps.tolist(),
                         "steps": steps.tolist()},
        "keras2": {"srnn_U_values": sorted(set(np.round(keras2["srnn_U"], 12).tolist())),
                   "lstm_U_c_max_abs": float(np.abs(keras2["lstm_U_c"]).max()),
                   "lstm_b_f_values": sorted(set(keras2["lstm_b_f"].tolist())),
                   "lstm_fraction_bistable_at_init": float(np.mean(n_stable >= 2)),
                   "lstm_fraction_one_fixed_point_at_init": float(np.mean(n_fixed == 1))},
    }
    return {"diagrams": diagrams, "cycle_diagrams": cycle_diagrams, "keras2": keras2,
            "curves": {"srnn_U_b": srnn_curve, "lstm_U_c_b_f": lstm_curve},
            "passage": passage, "summary": summary}


def lstm_basins(config: BifurcationsConfig) -> dict[str, Any]:
    """Basins of the bistable LSTM with U_c = :data:`BASINS_U_C` on a (h, c) grid over [-1, 1] x [-4, 4]: ``h``,
    ``c`` (the axes), ``labels`` and ``attractors`` (of :func:`~dynlatch.dynamics.basins`), ``U_c``."""
    hs, cs = np.linspace(-1, 1, config.basin_grid), np.linspace(-4, 4, config.basin_grid)
    bas: Basins = basins(keras_gate_lstm(BASINS_U_C), (hs, cs), steps=config.basin_steps)
    return {"h": hs, "c": cs, "labels": bas.labels, "attractors": bas.attractors[0], "U_c": BASINS_U_C}


# -- tables -----------------------------------------------------------------------------------------------------------
def tables(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``runs`` (every branch point), ``events`` (the located bifurcations, a point's h and a 2-cycle's partner h),
    ``curves`` (the two-parameter curves) and ``passage`` (steps through the ghost per distance to the fold)."""
    diagrams = {**result["diagrams"], **result["cycle_diagrams"]}
    return {
        "runs": [{"diagram": name, **row} for name, br in diagrams.items() for row in br.tidy()],
        "events": [{k: v for k, v in e.items() if k not in ("state", "cycle")}
                   | {"h": e["state"][0] if e.get("state") else "",
                      "h_partner": e["cycle"][1][0] if e.get("cycle") else ""}
                   for e in result["summary"]["events"]],
        "curves": [{k: v for k, v in r.items() if k != "state"} for rows in result["curves"].values() for r in rows],
        "passage": result["passage"],
    }


# -- figures ----------------------------------------------------------------------------------------------------------
def _diagram(ax: Axes, br: Branches, title: str, xlabel: str, ylabel: str = "h at the fixed point / 2-cycle") -> None:
    r = br.rows
    for period, color in ((1, "black"), (2, "tab:blue")):
        for stable, marker in ((True, "o"), (False, "x")):
            sel = (r["period"] == period) & (r["stable"] == stable)
            ax.plot(r["value"][sel], r["h"][sel], marker, ms=2.5 if stable else 3, color=color,
                    mfc=color if stable else "none", ls="none", alpha=1.0 if stable else 0.6,
                    label=f"{'fixed point' if period == 1 else '2-cycle'}, {'stable' if stable else 'unstable'}")
    for e in br.events:
        ax.axvline(e["value"], color=COLORS[e["kind"]], lw=0.8, ls=":")
        for s in e.get("cycle") or ([e["state"]] if e.get("state") else []):  # a 2-cycle's event at both of its points
            ax.plot(e["value"], s[0], "D" if e["period"] == 1 else "s", color=COLORS[e["kind"]], ms=5)
    for kind, color in COLORS.items():
        for period, marker in ((1, "D"), (2, "s")):
            if any(e["kind"] == kind and e["period"] == period for e in br.events):
                ax.plot([], [], marker, color=color,
                        label=kind.replace("_", " ") + ("" if period == 1 else " of a 2-cycle"))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    lo, hi = (float(np.min(r["h"])), float(np.max(r["h"]))) if r["h"].size else (-1.0, 1.0)
    ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.6 * (hi - lo))  # room for the legend above the branches
    ax.grid(alpha=0.3)


def _legend(ax: Axes) -> None:
    ax.legend(fontsize=7, loc="upper center", ncol=2)


def _rug(ax: Axes, values: np.ndarray, label: str, bins: int = 40) -> None:
    """The Keras-2 initial distribution of the diagram's parameter as a histogram on a twin axis."""
    tw = ax.twinx()
    tw.hist(values, bins=bins, color="tab:green", alpha=0.35, density=True, label=label)
    tw.set_ylabel("Keras-2 initial density", color="tab:green")
    tw.tick_params(axis="y", colors="tab:green")
    ax.plot([], [], "s", color="tab:green", alpha=0.5, label=label)


def diagrams_figure(result: dict[str, Any], config: BifurcationsConfig) -> Figure:
    """The SRNN and LSTM diagrams with their Keras-2 initial values, the two-parameter curves and the passage time."""
    d, k2, s = result["diagrams"], result["keras2"], result["summary"]
    fig = Figure(figsize=(22, 9.5))
    axes = fig.subplots(2, 4)
    ax = axes[0, 0]
    _diagram(ax, d["srnn_U"], "SRNN h = tanh(U h), b = 0: pitchfork U = 1, flip U = -1", "U")
    ax.hist(k2["srnn_U"], bins=[-1.05, -0.95, 0.95, 1.05], bottom=-1.1, weights=np.full(k2["srnn_U"].size,
            0.4 / k2["srnn_U"].size * 2), color="tab:green", alpha=0.5)
    ax.plot([], [], "s", color="tab:green", alpha=0.5, label="Keras-2 initial U (exactly +-1)")
    _legend(ax)
    ax = axes[0, 1]
    _diagram(ax, d["srnn_b"], f"SRNN in b at U = {config.srnn_u:g}: folds at Bengio's +-h*", "b")
    for sign in (-1, 1):
        ax.axvline(sign * s["srnn_fold_b"]["bengio_h_star"], color="tab:green", lw=1.5, ls="--", alpha=0.6)
    ax.plot([], [], "--", color="tab:green",
            label=f"+-h*({config.srnn_u:g}) = +-{s['srnn_fold_b']['bengio_h_star']:.3f}")
    ax.axvline(0, color="tab:green", lw=3, alpha=0.3)
    ax.plot([], [], "-", lw=3, color="tab:green", alpha=0.3, label="Keras-2 initial b = 0")
    _legend(ax)
    ax = axes[0, 2]
    _diagram(ax, d["lstm_U_c"], "LSTM in U_c (hard gates, U_i=U_f=U_o=0, b_f=1)", "U_c", "h")
    _rug(ax, k2["lstm_U_c"], "Keras-2 initial U_c")
    _legend(ax)
    ax = axes[0, 3]
    _diagram(ax, d["lstm_b_f"], f"LSTM in b_f at U_c = {config.lstm_uc:g}", "b_f", "h")
    ax.axvline(1.0, color="tab:green", lw=3, alpha=0.3)
    ax.plot([], [], "-", lw=3, color="tab:green", alpha=0.3, label="Keras-2 initial b_f = 1")
    _legend(ax)
    ax = axes[1, 0]
    _diagram(ax, d["lstm_hard_input_gate_U_c"], "LSTM, hard input gate U_i = 5: border collision at its kink",
             "U_c", "h")
    ax.axhline(0.5, color="tab:orange", lw=0.8, alpha=0.6)
    ax.axhline(-0.5, color="tab:orange", lw=0.8, alpha=0.6)
    _legend(ax)
    ax = axes[1, 1]
    cs = result["curves"]["srnn_U_b"]
    us = np.linspace(1.0 + 1e-9, max(r["value1"] for r in cs) if cs else 3.0, 200)
    ax.plot(us, noise_threshold(us), "k-", lw=1, label="closed form +-h*(U)")
    ax.plot(us, -noise_threshold(us), "k-", lw=1)
    for kind in ("fold", "flip"):
        pts = [(r["value1"], r["value2"]) for r in cs if r["kind"] == kind]
        if pts:
            ax.plot(*np.array(pts).T, "o", color=COLORS[kind], mfc="none", label=f"{kind} located (continuation)")
    ax.plot([1, -1], [0, 0], "s", color="tab:green", ms=9, alpha=0.6, label="Keras-2 initial (U, b) = (+-1, 0)")
    ax.set(title="SRNN fold curve in (U, b): bistable between the branches", xlabel="U", ylabel="b", xlim=(-1.3, None))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    cl = result["curves"]["lstm_U_c_b_f"]
    ucs = np.linspace(config.uc_min, config.uc_max, 400)
    ax.plot(ucs, lstm_fold_bf(ucs), "-", color=COLORS["fold"], lw=1, label="closed form, fold (pitchfork)")
    ax.plot(ucs, lstm_fold_bf(ucs, flip=True), "-", color=COLORS["flip"], lw=1, label="closed form, flip")
    for kind in ("fold", "flip", "border_collision"):
        pts = [(r["value1"], r["value2"]) for r in cl if r["kind"] == kind]
        if pts:
            ax.plot(*np.array(pts).T, "o", color=COLORS[kind], mfc="none", label=f"{kind} located")
    ax.plot(k2["lstm_U_c"], np.ones_like(k2["lstm_U_c"]), "|", color="tab:green",
            alpha=0.3, ms=12, label="Keras-2 initial (U_c, b_f = 1)")
    ax.set(title="LSTM fold/flip curves in (U_c, b_f)", xlabel="U_c", ylabel="b_f",
           ylim=(config.bf_min, config.bf_max))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[1, 3]
    p = s["passage_time"]
    eps, T = np.array(p["distances"]), np.array(p["steps"], dtype=float)
    ax.loglog(eps, T, "o", label=f"measured, fitted slope {p['exponent']:.3f}")
    ax.loglog(eps, T[0] * (eps / eps[0]) ** -0.5, "k--", label="predicted slope -1/2")
    ax.set(title=f"ghost of the fold: Bengio's neuron, w = {p['w']:g}", xlabel="distance to the fold |h| - h*",
           ylabel="steps to leave the bottleneck")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def cycles_figure(result: dict[str, Any]) -> Figure:
    """The 2-cycle events: the logistic map's period doubling, a fold of 2-cycles, the one-unit GRU's cycle flip."""
    d, chk = result["cycle_diagrams"], result["summary"]["cycle_checks"]
    fig = Figure(figsize=(18, 5))
    axes = fig.subplots(1, 3)
    _diagram(axes[0], d["logistic_r"], f"logistic map: 2-cycle flip at r = {chk['logistic_flip_r'][0]:.10f}\n"
             f"(closed form 1 + sqrt(6) = {chk['logistic_closed_form']:.10f})" if chk["logistic_flip_r"] else
             "logistic map", "r", "x at the fixed point / 2-cycle")
    _legend(axes[0])
    _diagram(axes[1], d["odd_cycle_map_p"], "F(s) = -s + s (p - (s^2 - 1)^2): fold of 2-cycles\n"
             f"located at p = {chk['odd_cycle_map_fold_p'][0]:.1e} (closed form 0)" if chk["odd_cycle_map_fold_p"]
             else "odd cycle map", "p", "s at the fixed point / 2-cycle")
    _legend(axes[1])
    _diagram(axes[2], d["gru_U_h"], "one-unit GRU (hard gates) in U_h: its 2-cycle doubles its period\n"
             f"at U_h = {chk['gru_flip_U_h'][0]:.10f}" if chk["gru_flip_U_h"] else "one-unit GRU in U_h", "U_h")
    _legend(axes[2])
    fig.tight_layout()
    return fig


def basins_figure(b: dict[str, Any]) -> Figure:
    """The basins of :func:`lstm_basins` with their attractors and the fraction of the grid each attracts."""
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    hs, cs = b["h"], b["c"]
    colors = ["tab:blue", "tab:red", "tab:olive", "tab:cyan"]
    labels = b["labels"][0]
    ax.pcolormesh(hs, cs, labels, cmap=ListedColormap(colors[: max(1, len(b["attractors"]))]), shading="auto",
                  alpha=0.6, vmin=-0.5, vmax=len(b["attractors"]) - 0.5)
    for j, att in enumerate(b["attractors"]):
        ax.plot(att[0], att[1], "*", color=colors[j], mec="black", ms=14,
                label=f"attractor (h, c) = ({att[0]:.3f}, {att[1]:.3f}): {np.mean(labels == j):.0%} of the grid")
    ax.set(xlabel="h", ylabel="c", title=f"basins of the LSTM with U_c = {b['U_c']:g} (hard gates, b_f = 1)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# -- the run ----------------------------------------------------------------------------------------------------------
def run(config: BifurcationsConfig, context: RunContext) -> Result:
    """Compute the diagrams, curves, passage times and basins; the result carries their tables, summary and figures."""
    result = compute_bifurcations(config)
    bas = lstm_basins(config)
    s = result["summary"]
    summary = {**s,
               "lstm_basins_U_c_3": {"attractors": [a.tolist() for a in bas["attractors"]],
                                     "fraction_per_attractor": [float(np.mean(bas["labels"] == j))
                                                                for j in range(len(bas["attractors"]))]}}
    report = [f"SRNN pitchfork at U = {s['srnn_pitchfork_U']}, flip at U = {s['srnn_flip_U']}; folds in b at "
              f"U = {config.srnn_u:g}: {s['srnn_fold_b']['located']} vs "
              f"+-h* = {s['srnn_fold_b']['bengio_h_star']:.10f}; "
              f"{len(s['border_collisions'])} border collision(s); passage-time exponent "
              f"{s['passage_time']['exponent']:.3f} (predicted -0.5)"]
    return Result(summary=summary, tables=tables(result),
                  figures={"bifurcations": diagrams_figure(result, config), "basins": basins_figure(bas),
                           "cycle_bifurcations": cycles_figure(result)}, report=report)


SUMMARY_KEYS: dict[str, str] = {
    "events": ("every bifurcation located on the diagrams: diagram, parameter, kind (fold, flip, pitchfork, border "
               "collision), value, state and how it was found"),
    "srnn_pitchfork_U": "U of the SimpleRNN's pitchfork (1 in closed form)",
    "srnn_flip_U": "U of the SimpleRNN's flip (-1 in closed form)",
    "srnn_fold_b": "the folds in b at U = 2: located values, Bengio's h*(2) and the largest error",
    "srnn_fold_curve_max_error": ("largest error of the located two-parameter fold curve of the SimpleRNN against its "
                                  "closed form"),
    "lstm_fold_curve_max_error": "the same for the LSTM",
    "border_collisions": "where a fixed point crosses a kink of a hard-sigmoid gate",
    "cycle_events": "bifurcations of 2-cycles, located by Newton on F(F(s)) = s",
    "cycle_checks": ("2-cycle events against closed forms: the logistic map's period doubling, a fold of 2-cycles, a "
                     "one-unit GRU's 2-cycle flip, and the largest error"),
    "refinement": ("per diagram, the parameter values evaluated and any where refinement found points the finder "
                   "missed"),
    "passage_time": ("steps spent passing a fold's ghost against the distance past the fold, and the fitted scaling "
                     "exponent against -1/2"),
    "keras2": ("where Keras-2 initial cells sit: the SimpleRNN's U values, the LSTM's largest |U_c| and b_f, and the "
               "fractions of LSTMs bistable or with one fixed point at initialisation"),
    "lstm_basins_U_c_3": "the two attractors of the LSTM at U_c = 3 and the fraction of starts in each basin",
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="bifurcations", config=BifurcationsConfig, run=run, description=__doc__, summary_keys=SUMMARY_KEYS)
