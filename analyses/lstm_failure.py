"""Why the one-unit LSTM latches worse than the SimpleRNN (issue 12): controlled experiments with Wilson intervals,
a predictor of success from the initial dynamics scored on fresh seeds, and the edge-of-memory intervention.

Cost (numba backend, measured on 2 cores shared with other jobs): the medium run --repeats 30 --n 4000 with the
default T in {5, 20, 50, 100, 200}, 15 hypotheses and the predictor for 3 cells at T in {50, 100, 200} (60 fitting + 100
fresh models each) took 14 minutes; the default (n = 10000) scales with n, about 35 minutes there (less on free
cores). The 100-unit arm (3 models at T = 20 and 50 on n = 2000 sequences, with a one-unit baseline on the same data)
adds about 10 minutes. --quick (4 repeats, n = 2000, T in {5, 50}, 4 hypotheses, LSTM predictor at T = 50) takes
about a minute.
"""

from __future__ import annotations

import sys

import numpy as np

from dynlatch import explain as E
from dynlatch.scripting import parse_config, save_figure, write_csv, write_summary

NAME = "lstm-failure"
COLOURS = {"srnn": "tab:blue", "gru": "tab:green", "lstm": "tab:red", "lstm_intervention": "darkred",
           "gru_intervention": "darkgreen"}


def success_figure(summary: dict, config: E.LstmFailureConfig):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    Ts = list(config.lengths)
    for k, (name, per_T) in enumerate(summary["success_intervals"].items()):
        rate = np.array([per_T[str(T)]["rate"] for T in Ts])
        lo = np.array([per_T[str(T)]["ci"][0] for T in Ts])
        hi = np.array([per_T[str(T)]["ci"][1] for T in Ts])
        x = np.array(Ts) * (1 + 0.03 * (k - 2))
        style = "--" if "intervention" in name else "-"
        label = {"lstm_intervention": f"LSTM, b_f = {config.intervention_bias:g}, U_c -> |U_c| (edge of memory)",
                 "gru_intervention": f"GRU, b_z = {config.intervention_bias:g} (edge of memory)"}.get(name, name.upper())
        ax.errorbar(x, rate, yerr=[rate - lo, hi - rate], fmt="o" + style, color=COLOURS[name], capsize=3,
                    label=label)
    ax.set_xscale("log")
    ax.set_xticks(Ts)
    ax.set_xticklabels([str(T) for T in Ts])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set(xlabel="sequence length T", ylabel=f"success rate (val acc >= {config.success_threshold:g}), 95% Wilson",
           ylim=(-0.03, 1.03),
           title=f"one-unit cells, Keras-2 init, {config.repeats} models, n = {config.n}, {config.epochs} epochs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def predictor_figure(pred_rows: list[dict], summary: dict, config: E.LstmFailureConfig):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = list(config.predictor_cells)
    Ts = list(config.predictor_lengths)
    fig, axes = plt.subplots(len(cells), len(Ts), figsize=(3.6 * len(Ts), 2.8 * len(cells)), squeeze=False)
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


def landscape_figure(surfaces: dict, config: E.LstmFailureConfig):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, axes = plt.subplots(1, len(surfaces), figsize=(5.4 * len(surfaces), 4.4), squeeze=False)
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


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(E.LstmFailureConfig, NAME, __doc__, argv)
    say = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    result = E.lstm_failure(config, progress=say)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(result["runs"], out / "runs.csv")
    write_csv(result["predictor_runs"], out / "predictor_runs.csv")
    write_csv(result["latch_runs"], out / "handmade_latches.csv")
    for label, entry in result["surfaces"].items():
        entry["surface"].save(out / f"landscape_{label}.npz")
    s = result["summary"]
    save_figure(success_figure(s, config), out, "success_vs_T")
    if result["surfaces"]:
        save_figure(landscape_figure(result["surfaces"], config), out, "landscape_at_start")
    if result["predictor_runs"]:
        save_figure(predictor_figure(result["predictor_runs"], s, config), out, "predictor_feature")
    write_summary(s, out, config=config)
    for name, per_T in s["success"].items():
        print(f"{name:18s} " + "  ".join(f"T={T}: {v:.2f}" for T, v in per_T.items()))
    for h, v in s["hypotheses"].items():
        print(f"{h:18s} {v['verdict']}")
    print("held-out AUC: " + "; ".join(f"{c} " + ", ".join(f"T={T}: {'n/a' if a is None else f'{a:.2f}'}"
                                                           for T, a in per_T.items())
                                       for c, per_T in s["predictor"]["auc_heldout"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
