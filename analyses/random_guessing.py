"""Random weight guessing (Hochreiter & Schmidhuber 1997) vs gradient descent: mean trials to success vs T."""

from __future__ import annotations

from dynlatch.bengio import RandomGuessingConfig, plot_random_guessing, run_random_guessing
from dynlatch.scripting import parse_config, save_figure, write_csv, write_summary

NAME = "random-guessing"


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(RandomGuessingConfig, NAME, __doc__, argv)
    rows = run_random_guessing(config)
    write_csv(rows, args.out / "runs.csv")
    table = {f"{r['method']}/{r['model']}/T={r['T']}": {k: r[k] for k in ("mean_trials", "ci_low", "ci_high",
             "solved_fraction", "guesses", "seconds_per_success", "sequence_steps_per_success")} for r in rows}
    summary = {"estimator": "mean trials = 1 / solved fraction (geometric law); interval: "
               "1/p at the Wilson 95% interval's ends", "reference": "Hochreiter & Schmidhuber: ~6 trials on "
               "Bengio's latch; Bengio et al.: ~1600 trials for gradient methods", "results": table}
    write_summary(summary, args.out, config=config)
    figs = save_figure(plot_random_guessing(rows, config), args.out, "random_guessing")
    if not args.quiet:
        for r in rows:
            print(f"{r['method']:>16} {r['model']:>13} T={r['T']:<4} mean trials {r['mean_trials']:9.1f} "
                  f"[{r['ci_low']:.1f}, {r['ci_high']:.1f}]  s/success {r['seconds_per_success']:.3g}")
        print(f"figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
