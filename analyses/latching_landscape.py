"""Loss surfaces of the latching task for the one-unit SRNN and LSTM, with the cell's stable fixed points and the Keras-2 initial points overlaid."""

from __future__ import annotations

import numpy as np

from dynlatch import landscape as L
from dynlatch.scripting import parse_config, save_figure, write_csv, write_summary

NAME = "latching-landscape"


def figure(result: dict, config: L.LatchingLandscapeConfig):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs, Ts = list(config.pairs), list(config.lengths)
    fig, axes = plt.subplots(len(pairs), len(Ts), figsize=(3.6 * len(Ts), 3.1 * len(pairs)), squeeze=False)
    for r, pair in enumerate(pairs):
        for k, T in enumerate(Ts):
            ax = axes[r][k]
            s = result["surfaces"][(pair, T)]
            cs = ax.contourf(s.x, s.y, np.log10(s.loss), levels=24, cmap="viridis")
            fig.colorbar(cs, ax=ax, label="log10 loss" if k == len(Ts) - 1 else None)
            ax.contour(s.x, s.y, result["stable_points"][pair], levels=[1.5], colors="white", linewidths=1.2)
            ax.contour(s.x, s.y, s.accuracy, levels=[0.9], colors="orange", linewidths=0.9, linestyles="--")
            pts = result["init"][pair]
            ax.plot(pts[:, 0], pts[:, 1], "r.", ms=2.5, alpha=0.7)
            ax.set(xlim=(s.x[0], s.x[-1]), ylim=(s.y[0], s.y[-1]), xlabel=s.x_name, ylabel=s.y_name,
                   title=f"{pair.split(':')[0].upper()}, T = {T}")
    fig.suptitle("loss of the latching task around a Keras-2 initial model; white: boundary of the region with two "
                 "stable fixed points (x = 0); orange dashed: accuracy 0.9; red: Keras-2 initial values", fontsize=10)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(L.LatchingLandscapeConfig, NAME, __doc__, argv)
    result = L.latching_landscape(config)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(result["rows"], out / "runs.csv")
    for (pair, T), s in result["surfaces"].items():
        s.save(out / f"surface_{pair.replace(':', '_').replace(',', '-')}_T{T}.npz")
    figs = save_figure(figure(result, config), out, "latching_landscape")
    write_summary(result["summary"], out, config=config)
    for row in result["rows"]:
        print(f"{row['pair']:>14} T={row['T']:<4} bistable {row['fraction_bistable']:.2f} of the plane; accuracy >= 0.9 "
              f"on {row['accuracy_0.9_in_bistable']:.2f} of it vs {row['accuracy_0.9_elsewhere']:.2f} elsewhere; "
              f"Keras-2 inits bistable: {row['keras2_init_models_bistable']:.2f}")
    print(f"figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
