"""Random weight guessing (Hochreiter & Schmidhuber 1997) vs gradient descent: mean trials to success vs T."""

from __future__ import annotations

from dataclasses import asdict

from dynlatch.bengio import RandomGuessingConfig, plot_random_guessing, run_random_guessing
from dynlatch.cells import CELL_CLASSES
from dynlatch.scripting import analysis_parser, csv_list, fail, save_figure, write_csv, write_summary

NAME = "random-guessing"
QUICK = dict(lengths=(5, 20), guesses=1000, cell_sequences=100, neuron_sequences=100, gd_lengths=(5,),
             gd_trials=24, gd_repeats=4, gd_epochs=2, gd_n=400, gd_backend="torch")


def parse(argv: list[str] | None):
    p = analysis_parser(NAME, __doc__)
    d = RandomGuessingConfig()
    p.add_argument("--lens", type=csv_list(int), default=None, help=f"T values (default {','.join(map(str, d.lengths))})")
    p.add_argument("--guesses", type=int, default=None, help=f"guesses per model and T (default {d.guesses})")
    p.add_argument("--cells", type=csv_list(str, tuple(CELL_CLASSES)), default=None, help="default srnn,lstm,gru")
    p.add_argument("--gd-lens", type=csv_list(int), default=None,
                   help=f"T values of the gradient-descent comparison (default {','.join(map(str, d.gd_lengths))})")
    p.add_argument("--threshold", type=float, default=d.threshold, help="accuracy counted as solved (default %(default)s)")
    return p.parse_args(argv)


def config_from(args) -> RandomGuessingConfig:
    q = dict(QUICK) if args.quick else {}
    for key, flag in (("lengths", args.lens), ("guesses", args.guesses), ("gd_lengths", args.gd_lens)):
        if flag is not None:
            q[key] = tuple(flag) if isinstance(flag, list) else flag
    if args.cells is not None:
        q["cells"] = tuple(args.cells)
    return RandomGuessingConfig(threshold=args.threshold, seed=args.seed, device=args.device, **q)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        config = config_from(args).check()
    except ValueError as e:
        fail(f"dynlatch run {NAME}", str(e))
    rows = run_random_guessing(config)
    write_csv(rows, args.out / "runs.csv")
    table = {f"{r['method']}/{r['model']}/T={r['T']}": {k: r[k] for k in ("mean_trials", "ci_low", "ci_high",
             "solved_fraction", "guesses", "seconds_per_success", "sequence_steps_per_success")} for r in rows}
    summary = {"config": asdict(config), "estimator": "mean trials = 1 / solved fraction (geometric law); interval: "
               "1/p at the Wilson 95% interval's ends", "reference": "Hochreiter & Schmidhuber: ~6 trials on "
               "Bengio's latch; Bengio et al.: ~1600 trials for gradient methods", "results": table}
    write_summary(summary, args.out)
    figs = save_figure(plot_random_guessing(rows, config), args.out, "random_guessing")
    if not args.quiet:
        for r in rows:
            print(f"{r['method']:>16} {r['model']:>13} T={r['T']:<4} mean trials {r['mean_trials']:9.1f} "
                  f"[{r['ci_low']:.1f}, {r['ci_high']:.1f}]  s/success {r['seconds_per_success']:.3g}")
        print(f"figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
