"""Bifurcation diagrams of the one-unit SRNN (in U, and in b at U = 2) and LSTM (in U_c and b_f, Keras-2 hard gates),
with the Keras-2 initial values drawn on them, two-parameter fold/flip curves against closed forms, a hard-gate border
collision, basins of a bistable LSTM and the ghost's passage time near Bengio's fold (issue 8, items 5 and 8)."""

from __future__ import annotations

import numpy as np

from dynlatch import dynamics as dy
from dynlatch.bengio import noise_threshold
from dynlatch.dynamics import _continuation as C
from dynlatch.scripting import parse_config, save_figure, write_csv, write_summary

NAME = "bifurcations"
COLORS = {"fold": "tab:red", "flip": "tab:purple", "border_collision": "tab:orange", "unclassified": "gray"}


def _diagram(ax, br: "dy.Branches", title: str, xlabel: str, ylabel: str = "h at the fixed point / 2-cycle") -> None:
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


def _legend(ax) -> None:
    ax.legend(fontsize=7, loc="upper center", ncol=2)


def _rug(ax, values: np.ndarray, label: str, bins: int = 40) -> None:
    """The Keras-2 initial distribution of the diagram's parameter as a histogram on a twin axis."""
    tw = ax.twinx()
    tw.hist(values, bins=bins, color="tab:green", alpha=0.35, density=True, label=label)
    tw.set_ylabel("Keras-2 initial density", color="tab:green")
    tw.tick_params(axis="y", colors="tab:green")
    ax.plot([], [], "s", color="tab:green", alpha=0.5, label=label)


def figure(result: dict, config: C.BifurcationsConfig):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d, k2, s = result["diagrams"], result["keras2"], result["summary"]
    fig, axes = plt.subplots(2, 4, figsize=(22, 9.5))
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
    ax.plot([], [], "--", color="tab:green", label=f"+-h*({config.srnn_u:g}) = +-{s['srnn_fold_b']['bengio_h_star']:.3f}")
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
    ax.plot(ucs, C.lstm_fold_bf(ucs), "-", color=COLORS["fold"], lw=1, label="closed form, fold (pitchfork)")
    ax.plot(ucs, C.lstm_fold_bf(ucs, flip=True), "-", color=COLORS["flip"], lw=1, label="closed form, flip")
    for kind in ("fold", "flip", "border_collision"):
        pts = [(r["value1"], r["value2"]) for r in cl if r["kind"] == kind]
        if pts:
            ax.plot(*np.array(pts).T, "o", color=COLORS[kind], mfc="none", label=f"{kind} located")
    ax.plot(result["keras2"]["lstm_U_c"], np.ones_like(result["keras2"]["lstm_U_c"]), "|", color="tab:green",
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


def cycles_figure(result: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d, chk = result["cycle_diagrams"], result["summary"]["cycle_checks"]
    fig, axes = plt.subplots(1, 3, figsize=(18, 5))
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


def basins_figure(result: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b = result["basins"]
    fig, ax = plt.subplots(figsize=(6, 5))
    hs, cs = b["h"], b["c"]
    from matplotlib.colors import ListedColormap

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


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(C.BifurcationsConfig, NAME, __doc__, argv)
    result = C.bifurcations(config)
    n = 50 if args.quick else 160  # even: the saddle at h = c = 0 is not a grid point
    hs, cs = np.linspace(-1, 1, n), np.linspace(-4, 4, n)
    bas = dy.basins(C._lstm_keras_gates(3.0), (hs, cs), steps=300 if args.quick else 1000)
    result["basins"] = {"h": hs, "c": cs, "labels": bas.labels, "attractors": bas.attractors[0], "U_c": 3.0}
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv([{"diagram": name, **row} for name, br in {**result["diagrams"], **result["cycle_diagrams"]}.items()
               for row in br.tidy()], out / "runs.csv")
    write_csv([{k: v for k, v in e.items() if k not in ("state", "cycle")}
               | {"h": e["state"][0] if e.get("state") else "",
                  "h_partner": e["cycle"][1][0] if e.get("cycle") else ""}
               for e in result["summary"]["events"]], out / "events.csv")
    write_csv([{k: v for k, v in r.items() if k != "state"} for rows in result["curves"].values() for r in rows],
              out / "curves.csv")
    write_csv(result["passage"], out / "passage.csv")
    figs = save_figure(figure(result, config), out, "bifurcations")
    save_figure(basins_figure(result), out, "basins")
    save_figure(cycles_figure(result), out, "cycle_bifurcations")
    summary = {**result["summary"],
               "lstm_basins_U_c_3": {"attractors": [a.tolist() for a in bas.attractors[0]],
                                     "fraction_per_attractor": [float(np.mean(bas.labels == j))
                                                                for j in range(len(bas.attractors[0]))]}}
    write_summary(summary, out, config=config)
    if not args.quiet:
        s = result["summary"]
        print(f"SRNN pitchfork at U = {s['srnn_pitchfork_U']}, flip at U = {s['srnn_flip_U']}; folds in b at "
              f"U = {config.srnn_u:g}: {s['srnn_fold_b']['located']} vs +-h* = {s['srnn_fold_b']['bengio_h_star']:.10f}; "
              f"{len(s['border_collisions'])} border collision(s); passage-time exponent "
              f"{s['passage_time']['exponent']:.3f} (predicted -0.5); figure: {figs[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
