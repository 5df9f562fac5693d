"""Pascanu et al. 2013's cliff (Fig. 6) reproduced, with fold curves and the basin boundary showing what the wall follows."""

from __future__ import annotations

import numpy as np

from dynlatch import landscape as L
from dynlatch.scripting import parse_config, save_figure, write_csv, write_summary

NAME = "pascanu-cliff"


def figure(result: dict, config: L.PascanuCliffConfig):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    surface = result["surface"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    L.plot_surface(surface, ax=ax)
    x_star = np.linspace(-6, 6, 400)
    fw, fb = L.pascanu_fold_curve(x_star)
    keep = (fw >= config.w_min) & (fw <= config.w_max)
    ax.plot(np.where(keep & (x_star < 0), fw, np.nan), fb, color="white", lw=1.2, label="fold (multiplier +1)")
    ax.plot(np.where(keep & (x_star > 0), fw, np.nan), fb, color="white", lw=1.2)
    ws = np.linspace(config.w_min, config.w_max, 400)
    ax.plot(ws, L.pascanu_basin_boundary(ws, x0=config.x0), color="red", lw=1.0, ls="--",
            label=f"basin boundary through x0={config.x0}")
    wall = [r for r in result["wall"] if np.isfinite(r["b"])]
    ax.plot([r["w"] for r in wall], [r["b"] for r in wall], "o", ms=4, mfc="none", mec="orange",
            label="wall located by root finding")
    traj = result["trajectories"]
    for start in sorted({t["start"] for t in traj}):
        for clipped, style in ((False, "-"), (True, "--")):
            pts = np.array([(t["w"], t["b"]) for t in traj if t["start"] == start and t["clipped"] == clipped])
            ax.plot(pts[:, 0], pts[:, 1], style, color="black", lw=1.2)
            ax.plot(pts[0, 0], pts[0, 1], "k.", ms=6)
    ax.plot([], [], "k-", label="gradient descent")
    ax.plot([], [], "k--", label=f"clipped at {config.clip:g}")
    ax.set(xlim=(config.w_min, config.w_max), ylim=(config.b_min, config.b_max),
           title=f"E = (sigmoid(x_{config.steps}) - {config.target})^2, x_t = w sigmoid(x_(t-1)) + b")
    ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
    ax2.semilogy([r["w"] for r in wall], [r["distance_to_basin_boundary"] + 1e-17 for r in wall], "o-",
                 label="|wall - basin boundary|")
    ax2.semilogy([r["w"] for r in wall], [r["distance_to_fold"] for r in wall], "s-", label="|wall - nearest fold|")
    ax2.set(xlabel="w", ylabel="distance in b", title="the wall follows the basin boundary, not the fold")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(L.PascanuCliffConfig, NAME, __doc__, argv)
    result = L.pascanu_cliff(config)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(result["wall"], out / "runs.csv")
    write_csv(result["trajectories"], out / "trajectories.csv")
    result["surface"].save(out / "surface.npz")
    figs = save_figure(figure(result, config), out, "pascanu_cliff")
    import matplotlib.pyplot as plt

    ax = L.plot_surface_3d(result["surface"])
    ax.set_title("Pascanu et al. 2013, Fig. 6 (log10 loss)")
    save_figure(ax.figure, out, "pascanu_cliff_3d")
    plt.close("all")
    summary = {**result["summary"]}
    write_summary(summary, out, config=config)
    s = result["summary"]
    print(f"wall located at {s['wall_points_located']}/{s['wall_points_tried']} values of w; largest distance to the "
          f"basin boundary {s['max_distance_to_basin_boundary']:.2e}, median distance to a fold "
          f"{s['median_distance_to_fold']:.2f}; median gradient norm on the wall {s['grad_norm_on_wall']:.3g} (largest "
          f"on the {config.resolution}^2 grid: {s['max_grad_norm_on_grid']:.3g}); final loss unclipped "
          f"{s['final_loss']['unclipped']:.3f}, clipped {s['final_loss']['clipped']:.3f}; figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
