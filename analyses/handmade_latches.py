"""Accuracy of the hand-built one-unit latches (SRNN, period-2 SRNN, two LSTMs, GRU) versus T (up to 1000) and noise."""

from __future__ import annotations

import numpy as np

from dynlatch.cells import handmade
from dynlatch.scripting import parse_config, save_figure, write_csv, write_summary

NAME = "handmade-latches"


def figure(rows: list[dict], config: handmade.HandmadeLatchesConfig):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latches = list(config.latches)
    fig, axes = plt.subplots(1, len(latches), figsize=(3.2 * len(latches), 3.4), sharey=True, squeeze=False)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(config.sigmas)))
    for ax, name in zip(axes[0], latches):
        for color, sigma in zip(colors, config.sigmas):
            pts = sorted((r["T"], r["accuracy"]) for r in rows if r["latch"] == name and r["sigma"] == sigma)
            ax.semilogx(*zip(*pts), "o-", ms=3, color=color, label=f"sigma = {sigma:g}")
        ax.set(title=name.replace("_", " "), xlabel="sequence length T", ylim=(0.45, 1.02))
        ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy (attractor read-out)")
    axes[0][-1].legend(fontsize=7, frameon=False)
    fig.suptitle("hand-built one-unit latches on information latching, no training", fontsize=10)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(handmade.HandmadeLatchesConfig, NAME, __doc__, argv)
    rows = handmade.score_handmade(config)
    write_csv(rows, args.out / "runs.csv")
    figs = save_figure(figure(rows, config), args.out, "handmade_latches")
    by_latch = {}
    for name in config.latches:
        mine = [r for r in rows if r["latch"] == name]
        robust = [r["sigma"] for r in mine if all(q["accuracy"] >= 0.99 for q in mine if q["sigma"] == r["sigma"])]
        by_latch[name] = {
            "cell": mine[0]["cell"],
            "accuracy": {str(s): {str(r["T"]): r["accuracy"] for r in mine if r["sigma"] == s} for s in config.sigmas},
            "largest_sigma_with_accuracy_0.99_at_every_T": max(robust) if robust else None,
        }
    write_summary({"latches": by_latch}, args.out, config=config)
    for name, s in by_latch.items():
        print(f"{name:>22}: accuracy >= 0.99 at every T up to sigma = {s['largest_sigma_with_accuracy_0.99_at_every_T']}")
    print(f"figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
