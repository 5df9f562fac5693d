"""Gradient decay log ||ds_T/ds_t|| and its per-step rate, measured and predicted, hand-built and Keras-2 cells.

Hand-built latches (autonomous and driven by latching noise) and Keras-2 initialised SRNN / LSTM / GRU cells; the rate
is predicted from the Jacobian at the attractor or the leading Lyapunov exponent (issue 8)."""

from __future__ import annotations

import numpy as np

from dynlatch.dynamics import GradientDecayConfig, decay_study, srnn_latch_w2_rates, summarise_decay
from dynlatch.scripting import parse_config, save_figure, write_csv, write_summary

NAME = "gradient-decay"
KIND_COLORS = {"srnn": "tab:blue", "lstm": "tab:red", "gru": "tab:green"}


def figure(rows: list[dict], curves: dict[str, np.ndarray], config: GradientDecayConfig):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 4.2))
    hand = [r for r in rows if r["source"] == "handmade"]
    styles = {"autonomous": "-", "noise": "--"}
    colors = plt.cm.tab10(np.arange(len(config.handmade)))
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
    c.axhline(np.log(0.166), color="tab:orange", lw=0.6, ls="--", label="ln 0.166 (SRNN latch w = 2)")
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


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(GradientDecayConfig, NAME, __doc__, argv)
    rows, curves = decay_study(config)
    contract = srnn_latch_w2_rates(steps=max(config.steps, 60), h0=0.5)
    write_csv(rows, args.out / "runs.csv")
    write_csv([{"model": label.split("/")[0], "drive": label.split("/")[1], "t": t, "steps_back": y.size - 1 - t,
                "log_norm": float(v)} for label, y in curves.items() for t, v in enumerate(y)], args.out / "curves.csv")
    figs = save_figure(figure(rows, curves, config), args.out, "gradient_decay")
    summary = {"srnn_latch_w2": contract,
               **summarise_decay(rows)}
    write_summary(summary, args.out, config=config)
    if not args.quiet:
        print(f"SRNN latch w = 2: measured {contract['measured_log_rate']:.4f}, predicted "
              f"{contract['predicted_log_rate']:.4f}, ln 0.166 = {contract['reference_log_rate']:.4f}")
        for kind, s in summary["keras2"].items():
            print(f"{kind:>5} Keras-2 ({s['models']}): median measured {s['median_measured_log_rate']:.3f}, "
                  f"predicted {s['median_predicted_log_rate']:.3f} per step")
        print(f"figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
