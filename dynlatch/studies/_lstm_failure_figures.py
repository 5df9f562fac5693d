"""The lstm-failure study's figures: success against T, learned against built-in latches, the edge-of-memory curve,
the training traces, the predictor's feature and the loss landscape at the start."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

COLOURS = {"srnn": "tab:blue", "gru": "tab:green", "lstm": "tab:red", "lstm_intervention": "darkred",
           "gru_intervention": "darkgreen", "lstm_critical": "tab:purple", "lstm_critical_zero": "tab:pink",
           "srnn_zero": "tab:cyan", "gru_critical": "olive", "lstm_critical_smooth": "tab:brown",
           "lstm_intervention_zero": "tab:orange", "lstm_intervention_smooth": "tab:gray", "chrono_smooth": "gold",
           "lstm_sgd": "salmon", "srnn_sgd": "lightblue"}
LABELS = {"lstm_intervention": "LSTM, b_f = 3, U_c -> |U_c| (built-in latch)",
          "gru_intervention": "GRU, b_z = 3 (held state)",
          "lstm_critical": "LSTM critical: b_f = 3, U_c = 0 (lambda0 = 1)",
          "lstm_critical_zero": "LSTM critical, zero read-out",
          "srnn_zero": "SRNN, zero read-out"}
SUCCESS_FIGURE_ARMS: tuple[str, ...] = ("srnn", "gru", "lstm", "lstm_intervention", "lstm_critical",
                                        "lstm_critical_zero", "srnn_zero")


def _log_length_axis(ax: Any, lengths: Sequence[int]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(list(lengths))
    ax.set_xticklabels([str(T) for T in lengths])
    ax.xaxis.set_minor_formatter(NullFormatter())


def success_figure(summary: dict[str, Any], config: Any) -> Figure:
    """Success rate (with its Wilson 95% interval) against T for the default cells, the intervention and the
    critical starts."""
    fig = Figure(figsize=(6.8, 4.6))
    ax = fig.subplots()
    Ts = list(config.lengths)
    shown = [a for a in SUCCESS_FIGURE_ARMS if a in summary["success_intervals"]]
    for k, name in enumerate(shown):
        per_T = summary["success_intervals"][name]
        rate = np.array([per_T[str(T)]["rate"] for T in Ts], dtype=float)
        lo = np.array([per_T[str(T)]["ci"][0] for T in Ts])
        hi = np.array([per_T[str(T)]["ci"][1] for T in Ts])
        x = np.array(Ts) * (1 + 0.025 * (k - len(shown) / 2))
        style = "--" if ("intervention" in name or "zero" in name) else "-"
        ax.errorbar(x, rate, yerr=[rate - lo, hi - rate], fmt="o" + style, color=COLOURS.get(name), capsize=3,
                    label=LABELS.get(name, name.upper()))
    _log_length_axis(ax, Ts)
    ax.set(xlabel="sequence length T", ylabel=f"success rate (val acc >= {config.success_threshold:g}), 95% Wilson",
           ylim=(-0.03, 1.03), title=f"one-unit cells, n = {config.n}, {config.epochs} epochs "
                                     f"({config.powered_repeats} models at T in {list(config.powered_lengths)})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def learned_figure(summary: dict[str, Any], config: Any) -> Figure:
    """Trained success against read-out-only success (the cell frozen) per arm at the powered lengths: the part of
    each arm's success that was built in before training and the part that was learned."""
    arms = [a for a in ("srnn", "lstm", "gru", "lstm_intervention", "gru_intervention", "lstm_critical",
                        "lstm_critical_smooth", "gru_critical", "lstm_intervention_zero", "lstm_critical_zero",
                        "srnn_zero") if a in summary["readout_only"]]
    Ts = [T for T in config.powered_lengths if T in config.lengths] or list(config.lengths)
    fig = Figure(figsize=(3.2 * len(Ts) + 1, 0.32 * len(arms) + 1.6))
    axes = fig.subplots(1, len(Ts), squeeze=False, sharey=True)
    y = np.arange(len(arms))
    for ax, T in zip(axes[0], Ts):
        alone = [summary["readout_only"][a].get(str(T), np.nan) for a in arms]
        trained = [summary["readout_only"][a].get(str(T), np.nan) + summary["learned_gain"][a].get(str(T), np.nan)
                   for a in arms]
        ax.barh(y + 0.2, trained, height=0.4, color="tab:blue", label="trained (all parameters)")
        ax.barh(y - 0.2, alone, height=0.4, color="tab:orange", label="read-out only (cell frozen)")
        ax.set(title=f"T = {T}", xlim=(0, 1.02), xlabel="success rate")
        ax.grid(alpha=0.3, axis="x")
    axes[0, 0].set_yticks(y)
    axes[0, 0].set_yticklabels(arms, fontsize=7)
    axes[0, 0].invert_yaxis()
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.suptitle("learned or built in: a latch the read-out alone finds was there before training", fontsize=9)
    fig.tight_layout()
    return fig


def lambda_figure(summary: dict[str, Any], config: Any) -> Figure:
    """The edge-of-memory curve: success (solid) and read-out-only success (dashed) against lambda0, per T."""
    curve = summary["lambda_sweep"]
    Ts = list(config.lambda_lengths)
    fig = Figure(figsize=(3.4 * len(Ts), 3.4))
    axes = fig.subplots(1, len(Ts), squeeze=False, sharey=True)
    for ax, T in zip(axes[0], Ts):
        for cell, per_T in curve.items():
            e = per_T[str(T)]
            ax.plot(e["lambda0"], e["success"], "o-", color=COLOURS.get(cell), label=f"{cell.upper()} trained")
            ax.plot(e["lambda0"], e["readout_only"], "x--", color=COLOURS.get(cell), alpha=0.7,
                    label=f"{cell.upper()} read-out only")
        ax.axvline(1.0, color="k", lw=0.8, ls=":")
        ax.set(title=f"T = {T}", xlabel="lambda0 at the start", ylim=(-0.03, 1.03))
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("success rate")
    axes[0, 0].legend(fontsize=6)
    fig.suptitle(f"the edge-of-memory curve ({config.lambda_repeats} models per point, Keras 2 otherwise): "
                 "above 1 the latch is built in, below 1 it must be learned against contraction", fontsize=9)
    fig.tight_layout()
    return fig


def traces_figure(traces: Sequence[dict[str, Any]]) -> Figure:
    """|lambda| at the origin through training, one line per run, successes and failures apart, per traced arm."""
    arms = list(dict.fromkeys(r["arm"] for r in traces))
    fig = Figure(figsize=(3.3 * max(len(arms), 1), 3.3))
    axes = fig.subplots(1, max(len(arms), 1), squeeze=False, sharey=True)
    for ax, arm in zip(axes[0], arms):
        sel = [r for r in traces if r["arm"] == arm]
        for seed in dict.fromkeys(r["seed"] for r in sel):
            run = sorted((r for r in sel if r["seed"] == seed), key=lambda r: r["epoch"])
            ok = run[-1]["success"]
            ax.plot([r["epoch"] for r in run], [r["eig_origin"] for r in run], "-", lw=0.7, alpha=0.5,
                    color="tab:blue" if ok else "tab:red")
        ax.axhline(1.0, color="k", lw=0.8, ls=":")
        ax.plot([], [], color="tab:blue", label="ends a success")
        ax.plot([], [], color="tab:red", label="ends a failure")
        ax.set(title=f"{arm} (T = {sel[0]['T']})", xlabel="epoch")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("|lambda| at the origin")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
def predictor_figure(pred_rows: Sequence[dict[str, Any]], summary: dict[str, Any],
                     config: Any) -> Figure:
    """Success (jittered) against |lambda_max| at the origin for the broadened populations, per (cell, T)."""
    cells = list(config.predictor_cells)
    Ts = list(config.predictor_lengths)
    fig = Figure(figsize=(3.6 * len(Ts), 2.8 * len(cells)))
    axes = fig.subplots(len(cells), len(Ts), squeeze=False)
    rng = np.random.default_rng(0)
    for i, cell in enumerate(cells):
        for j, T in enumerate(Ts):
            ax = axes[i, j]
            rows = [r for r in pred_rows if r["cell"] == cell and r["T"] == T]
            for role, marker in (("fit", "o"), ("fresh", "x")):
                sel = [r for r in rows if r["role"] == role]
                e = np.array([r["eig_origin"] for r in sel])
                s = np.array([r["success"] for r in sel], dtype=float)
                ax.scatter(e, s + rng.uniform(-0.08, 0.08, s.size), marker=marker, s=14, alpha=0.6,
                           label=f"{role} seeds")
            ax.axvline(1.0, color="k", lw=0.8, ls=":")
            auc = summary["predictor"]["auc_heldout"][cell][str(T)]
            ax.set(title=f"{cell.upper()} T={T}: held-out AUC " + ("n/a" if auc is None else f"{auc:.2f}"),
                   xlabel="|lambda_max| of the Jacobian at the origin", ylabel="succeeded (jittered)",
                   yticks=[0, 1], yticklabels=["no", "yes"])
            ax.grid(alpha=0.3)
            if i == 0 and j == 0:
                ax.legend(fontsize=7)
    fig.suptitle("broadened initial populations: success against the distance to the bifurcation |lambda| = 1",
                 fontsize=9)
    fig.tight_layout()
    return fig


def landscape_figure(surfaces: dict[str, Any], config: Any) -> Figure:
    """The loss over (b_f, U_c) around the typical successful and failed initial LSTM, with |lambda| = 1 marked."""
    fig = Figure(figsize=(5.4 * len(surfaces), 4.4))
    axes = fig.subplots(1, len(surfaces), squeeze=False)
    for ax, (label, entry) in zip(axes[0], surfaces.items()):
        s, p = entry["surface"], entry["point"]
        loss = np.where(np.isfinite(s.loss), s.loss, np.nan)
        cs = ax.contourf(s.x, s.y, loss, levels=30, cmap="viridis")
        fig.colorbar(cs, ax=ax, label="validation loss (cross-entropy)")
        ax.contour(s.x, s.y, entry["eig_origin"], levels=[1.0], colors="w", linewidths=1.5, linestyles="--")
        ax.plot([], [], "w--", label="|lambda| = 1 at the origin")
        ax.plot(p["b_f"], p["U_c"], "r*", ms=14, mec="k", label=f"initial point ({p['arm']})")
        ax.set(xlabel="forget-gate bias b_f", ylabel="U_c",
               title=f"typical {label}: val acc {p['val_acc']:.2f}, |lambda| = {p['eig_origin']:.2f},\n"
                     f"|grad| at start {p['grad_norm']:.2g}")
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(f"one-unit LSTM at T = {config.landscape_length}: loss over (b_f, U_c), other parameters at their "
                 "initial values", fontsize=9)
    fig.tight_layout()
    return fig


