"""Bit relay with 8 units: which set-up (Keras 2 / PyTorch / Keras 3 defaults, tweaked training, edge-of-memory
biases) ranks SRNN, LSTM and GRU how, and whether success tracks the initial spectral radius at the origin.

Cost (numba backend, 2 cores shared with other jobs): one (cell, set-up, T = 100) block of 10 models with 8 units,
n = 10000 and 10 epochs took about 40-50 s (SRNN), 100-180 s (GRU) and 160-240 s (LSTM) at load 6-10; T = 5 costs
~1/20 of that. The default (5 set-ups, T in {5, 100}; the SRNN of keras3 and edge is the keras2 one, trained once) took
36 minutes at load ~10 (less on free cores: scale n down, e.g. --n 6000, for a ~20 minute run); tweaked_long at
T = 100 alone took 13 minutes. --quick (n = 200, T in {5, 20}, 2 repeats, 2 epochs) takes seconds once the numba
kernels are compiled (their first compilation takes minutes).
"""

from __future__ import annotations

import sys

import numpy as np

from dynlatch import _relay_study as R
from dynlatch.scripting import parse_config, save_figure, write_csv, write_summary

NAME = "bit-relay"
COLOURS = {"srnn": "tab:orange", "lstm": "tab:blue", "gru": "tab:green"}


def relay_figure(rows: list[dict], summary: dict, config: R.RelayStudyConfig):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    L = config.ranking_length
    cells, setups = list(config.cells), list(config.setups)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.4), gridspec_kw={"width_ratios": [1.2, 1]})
    width = 0.8 / len(cells)
    for j, cell in enumerate(cells):
        per = [summary["setup_intervals"][s][cell][str(L)] for s in setups]
        r = np.array([p["rate"] for p in per])
        lo = np.array([p["ci"][0] for p in per])
        hi = np.array([p["ci"][1] for p in per])
        x = np.arange(len(setups)) + (j - (len(cells) - 1) / 2) * width
        ax.bar(x, r, width, color=COLOURS[cell], label=cell.upper(), alpha=0.85)
        ax.errorbar(x, r, yerr=[r - lo, hi - r], fmt="none", ecolor="k", capsize=2, lw=0.8)
    ax.set_xticks(np.arange(len(setups)))
    ax.set_xticklabels(setups)
    ax.set(ylim=(0, 1.02), ylabel=f"success rate (val acc >= {config.threshold:g}), 95% Wilson",
           title=f"bit relay, {config.units} units, T = {L}: {config.repeats} models per bar, n = {config.n}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)

    rng = np.random.default_rng(0)
    markers = dict(zip(setups, "osD^vP*X"))
    for cell in cells:
        for s in setups:
            sel = [r for r in rows if r["cell"] == cell and r["setup"] == s and r["T"] == L]
            if not sel:
                continue
            rho = np.array([r["radius"] for r in sel]) * (1 + rng.uniform(-0.004, 0.004, len(sel)))
            bx.scatter(rho, [r["val_acc"] for r in sel], s=18, alpha=0.7, color=COLOURS[cell], marker=markers[s],
                       label=f"{cell.upper()} {s}")
    bx.axvline(1.0, color="k", ls=":", lw=0.8)
    bx.axhline(config.threshold, color="grey", ls="--", lw=0.8)
    m = summary["mechanism_8_units"]["by_T"][str(L)]
    past, before = m["radius_at_least_1"], m["radius_below_1"]
    fmt = lambda p: "n/a" if p["rate"] is None else f"{p['rate']:.2f} ({p['successes']}/{p['runs']})"  # noqa: E731
    auc = "n/a" if m["auc"] is None else f"{m['auc']:.2f}"
    bx.set(xlabel="initial spectral radius at the origin, rho (jittered 0.4%)", ylabel="final validation accuracy",
           title=f"T = {L}: success rho >= 1: {fmt(past)}; rho < 1: {fmt(before)}; AUC {auc}")
    bx.title.set_fontsize(9)
    bx.set_ylim(top=1.02)
    bx.grid(alpha=0.3)
    bx.legend(fontsize=6, ncol=len(setups), loc="upper center", bbox_to_anchor=(0.5, -0.14))
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(R.RelayStudyConfig, NAME, __doc__, argv)
    say = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    result = R.relay_study(config, progress=say)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(result["runs"], out / "runs.csv")
    s = result["summary"]
    save_figure(relay_figure(result["runs"], s, config), out, "bit_relay")
    write_summary(s, out, config=config)
    L = config.ranking_length
    for setup, by_cell in s["setups"].items():
        print(f"{setup:12s} " + "  ".join(f"{c} " + "/".join(f"{v:.2f}" for v in per.values())
                                          for c, per in by_cell.items())
              + f"   ranking at T={L}: {' > '.join(s['ranking_at_T100'][setup])}")
    print(f"GRU strictly first at T={L} in: {', '.join(s['which_setup_gives_gru_best']) or 'no set-up'}")
    for T, m in s["mechanism_8_units"]["by_T"].items():
        a, b = m["radius_at_least_1"], m["radius_below_1"]
        print(f"T={T}: success rho >= 1 {a['successes']}/{a['runs']}, rho < 1 {b['successes']}/{b['runs']}, "
              f"AUC {'n/a' if m['auc'] is None else format(m['auc'], '.2f')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
