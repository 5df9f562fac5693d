"""Fixed points of the latching sweep's models before and after training, by cell, T and success (issue 8).

How many hold two stable states at zero input (bistable, a stable 2-cycle or a continuum), and the Jacobian's largest
|eigenvalue| at the start state h = c = 0. Reads --sweep; if it holds no finished sweep, runs a small one into
OUT/sweep."""

from __future__ import annotations

import numpy as np

from dynlatch.dynamics import FixedPointCensusConfig, fixed_point_census, load_or_run_sweep, summarise_census
from dynlatch.scripting import fail, parse_config, save_figure, write_csv, write_summary

NAME = "fixed-point-census"


def figure(rows: list[dict], summary: dict, cells: list[str]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(cells), figsize=(4.2 * len(cells), 7.4), squeeze=False)
    # (color, line, marker, face, x shift): initial points hollow and shifted left so coinciding fractions stay visible
    styles = {("initial", True): ("tab:green", "--", "o", "none", 0.97),
              ("initial", False): ("tab:red", "--", "o", "none", 0.94),
              ("final", True): ("tab:green", "-", "s", "tab:green", 1.0),
              ("final", False): ("tab:red", "-", "s", "tab:red", 1.03)}
    for ax, cell in zip(axes[0], cells):
        for (stage, ok), (color, ls, mk, face, shift) in styles.items():
            g = [x for x in summary["groups"] if x["cell"] == cell and x["stage"] == stage and x["succeeded"] == ok]
            if g:
                ax.plot([x["T"] * shift for x in g], [x["fraction_two_stable_states"] for x in g], ls=ls, marker=mk,
                        color=color, mfc=face, label=f"{stage}, {'succeeded' if ok else 'failed'}")
        Ts = sorted({r["T"] for r in rows if r["cell"] == cell})
        ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel="sequence length T",
               title=f"{cell}: models with 2 stable states at x = 0")
        ax.set_xticks(Ts, [str(T) for T in Ts])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction bistable / 2-cycle / continuum")
    axes[0][0].legend(fontsize=7, frameon=False)
    for ax, cell in zip(axes[1], cells):
        init = [r for r in rows if r["cell"] == cell and r["stage"] == "initial"]
        vals = [r["origin_max_abs_eig"] for r in init]
        bins = np.linspace(0.0, max([1.1, *vals]) * 1.02, 45)
        for ok, color in ((True, "tab:green"), (False, "tab:red")):
            v = [r["origin_max_abs_eig"] for r in init if r["succeeded"] == ok]
            if v:
                ax.hist(v, bins=bins, color=color, alpha=0.45, histtype="stepfilled",
                        label=f"{'succeeded' if ok else 'failed'} ({len(v)})")
        a = summary["origin_eig_auc_initial"].get(cell, {}).get("auc", float("nan"))
        ax.axvline(1.0, color="0.4", lw=0.8, ls=":", label="|eigenvalue| = 1 (bifurcation)")
        ax.set(xlabel="largest |eigenvalue| of J at h = c = 0, initial model", ylabel="models",
               title=f"{cell}: AUC for success = {a:.2f}")
        ax.legend(fontsize=7, frameon=False)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(FixedPointCensusConfig, NAME, __doc__, argv)
    prog = f"dynlatch run {NAME}"
    from dynlatch.sweep import SweepLockedError, SweepSettingsError

    try:
        if not args.quiet:
            print(f"reading the sweep at {config.sweep} (or running a small one into {args.out / 'sweep'})")
        results, source, reason = load_or_run_sweep(config, args.out, progress=not args.quiet)
    except (SweepSettingsError, SweepLockedError) as e:
        fail(prog, str(e))
    cells = [c for c in config.cells if any(r["cell"] == c for r in results.rows)]
    if not cells:
        fail(prog, f"--cells: the sweep at {source} has none of {', '.join(config.cells)}")
    rows = fixed_point_census(results, cells=cells)
    write_csv(rows, args.out / "runs.csv")
    summary = {"sweep": source,
               "sweep_not_used": reason,
               "sweep_settings": results.settings, "threshold": results.threshold, **summarise_census(rows)}
    figs = save_figure(figure(rows, summary, cells), args.out, "fixed_point_census")
    write_summary(summary, args.out, config=config)
    if not args.quiet:
        print(f"sweep: {source}" + ("" if reason is None else f" ({reason})"))
        for g in summary["groups"]:
            print(f"{g['cell']:>5} T={g['T']:<4} {g['stage']:>7} {'ok  ' if g['succeeded'] else 'fail'}: "
                  f"{g['two_stable_states']:>3}/{g['models']:<3} two stable states, median max|eig(0)| "
                  f"{g['median_origin_max_abs_eig']:.3f}")
        for cell, a in summary["origin_eig_auc_initial"].items():
            print(f"{cell:>5}: AUC of the initial max|eig(0)| for success {a['auc']:.3f} "
                  f"({a['succeeded']} succeeded, {a['failed']} failed)")
        print(f"figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
