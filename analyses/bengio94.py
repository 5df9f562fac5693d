"""Bengio, Simard & Frasconi 1994, Fig. 2: latching success vs T and over (w0, s), with the theory overlaid."""

from __future__ import annotations

from dynlatch.bengio import (
    MECHANISM_COVERAGES, Bengio94Config, bengio94_caption, falls_with_length, plot_bengio94, run_bengio94,
)
from dynlatch.scripting import parse_config, save_figure, write_csv, write_summary

NAME = "bengio94"


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(Bengio94Config, NAME, __doc__, argv)
    res = run_bengio94(config)
    out = args.out
    write_csv(res.runs, out / "runs.csv")
    write_csv(res.success_vs_T, out / "success_vs_T.csv")
    write_csv(res.success_vs_w0_s, out / "success_vs_w0_s.csv")
    write_csv(res.sensitivity, out / "sensitivity.csv")
    variants = sorted({r["variant"] for r in res.sensitivity})
    falls = {v: falls_with_length([r for r in res.sensitivity if r["variant"] == v]) for v in variants}
    summary = {
        "caption": bengio94_caption(config),
        "choices": {"L": config.inputs, "h_init": 0.0, "optimiser": "plain full-batch gradient descent",
                    "lr": config.lr, "epochs": config.epochs, "training_set": f"{config.train_sequences} fixed "
                    "noisy sequences per trial", "success": f"sign(x_T) = sign(d) on >= {config.success_accuracy} "
                    f"of {config.test_sequences} fresh test sequences", "trials_per_T": config.trials,
                    "mechanism": "w_final > 1 and P(|noise| < h*(w_final)) >= coverage, coverages "
                    f"{list(MECHANISM_COVERAGES)} (0.6827: sigma < h*)"},
        "success_vs_T": {str(r["T"]): r["success_frequency"] for r in res.success_vs_T},
        "success_vs_T_rows": res.success_vs_T,
        "mechanism_among_successes": {str(r["T"]): {f"coverage_{c:g}": r[f"success_mechanism_{c:g}"]
                                                    for c in MECHANISM_COVERAGES} for r in res.success_vs_T},
        "success_vs_w0_s": res.success_vs_w0_s,
        "sensitivity": {"success_falls_with_T": falls, "rows": res.sensitivity},
        "seconds": res.seconds,
    }
    write_summary(summary, out, config=config)
    figs = save_figure(plot_bengio94(res, config), out, "bengio94")
    if not args.quiet:
        print("  ".join(f"T={r['T']}: {r['success_frequency']:.2f}" for r in res.success_vs_T))
        print(f"success falls with T in every variant: {all(falls.values())} ({falls})")
        print(f"{res.seconds:.0f} s; figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
