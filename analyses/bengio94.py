"""Bengio, Simard & Frasconi 1994, Fig. 2: latching success vs T and over (w0, s), with the theory overlaid."""

from __future__ import annotations

from dataclasses import asdict

from dynlatch.bengio import (
    MECHANISM_COVERAGES, Bengio94Config, bengio94_caption, falls_with_length, plot_bengio94, run_bengio94,
)
from dynlatch.scripting import analysis_parser, csv_list, fail, save_figure, write_csv, write_summary

NAME = "bengio94"
QUICK = dict(lengths=(2, 5, 10, 20), trials=24, epochs=60, test_sequences=100, plane_length=10,
             plane_w0=(0.5, 1.25, 2.0), plane_noise_variance=(0.05, 0.2, 0.8), plane_trials=12, sensitivity_trials=16)


def parse(argv: list[str] | None):
    p = analysis_parser(NAME, __doc__)
    d = Bengio94Config()
    p.add_argument("--lens", type=csv_list(int), default=None, help=f"T values (default {','.join(map(str, d.lengths))})")
    p.add_argument("--trials", type=int, default=None, help=f"trials per T (default {d.trials})")
    p.add_argument("--epochs", type=int, default=None, help=f"gradient-descent steps (default {d.epochs})")
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate (default %(default)s)")
    p.add_argument("--inputs", type=int, default=d.inputs, help="L, trained inputs per class (default %(default)s)")
    p.add_argument("--w0", type=float, default=d.w0, help="initial w of panel (b) (default %(default)s)")
    p.add_argument("--noise", type=float, default=d.noise_variance, help="noise variance s (default %(default)s)")
    p.add_argument("--threshold", type=float, default=d.success_accuracy,
                   help="success: fraction of test outputs with the right sign (default %(default)s)")
    return p.parse_args(argv)


def config_from(args) -> Bengio94Config:
    q = QUICK if args.quick else {}
    pick = lambda flag, key: flag if flag is not None else q.get(key, getattr(Bengio94Config, key))  # noqa: E731
    rest = {k: v for k, v in q.items() if k not in ("lengths", "trials", "epochs")}
    return Bengio94Config(lengths=tuple(pick(args.lens, "lengths")), trials=pick(args.trials, "trials"),
                          epochs=pick(args.epochs, "epochs"), lr=args.lr, inputs=args.inputs, w0=args.w0,
                          noise_variance=args.noise, success_accuracy=args.threshold, seed=args.seed,
                          device=args.device, **rest)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        config = config_from(args).check()
    except ValueError as e:
        fail(f"dynlatch run {NAME}", str(e))
    res = run_bengio94(config)
    out = args.out
    write_csv(res.runs, out / "runs.csv")
    write_csv(res.success_vs_T, out / "success_vs_T.csv")
    write_csv(res.success_vs_w0_s, out / "success_vs_w0_s.csv")
    write_csv(res.sensitivity, out / "sensitivity.csv")
    variants = sorted({r["variant"] for r in res.sensitivity})
    falls = {v: falls_with_length([r for r in res.sensitivity if r["variant"] == v]) for v in variants}
    summary = {
        "config": asdict(config), "caption": bengio94_caption(config),
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
    write_summary(summary, out)
    figs = save_figure(plot_bengio94(res, config), out, "bengio94")
    if not args.quiet:
        print("  ".join(f"T={r['T']}: {r['success_frequency']:.2f}" for r in res.success_vs_T))
        print(f"success falls with T in every variant: {all(falls.values())} ({falls})")
        print(f"{res.seconds:.0f} s; figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
