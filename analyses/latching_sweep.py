"""Success frequency vs sequence length for SRNN, LSTM and GRU on information latching (or bit relay)."""

from __future__ import annotations

import sys
import time

from dynlatch.scripting import fail, parse_config, save_figure, write_csv, write_summary
from dynlatch.sweep import (
    SweepConfig, SweepLockedError, SweepSettingsError, lock_folder, plot_success, run_success_sweep,
    summarise_success, sweep_seconds, write_weights,
)

NAME = "latching-sweep"
HEADLINE_T = (5, 10, 20, 50, 100, 200)


def headline(groups: list[dict]) -> dict:
    """Per cell: mean success frequency over all T and success (with its Wilson 95% interval) at landmark lengths."""
    out = {}
    for g in groups:
        pick = [i for i, T in enumerate(g["T"]) if T in HEADLINE_T]
        out[g["cell"]] = {"mean_success": sum(g["success_frequency"]) / len(g["T"]),
                          "success_at_T": {str(g["T"][i]): g["success_frequency"][i] for i in pick},
                          "success_ci95_at_T": {str(g["T"][i]): g["success_ci95"][i] for i in pick},
                          "diverged": sum(g["n_diverged"])}
    return out


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(SweepConfig, NAME, __doc__, argv)
    prog = f"dynlatch run {NAME}"
    t0 = time.perf_counter()
    try:
        with lock_folder(args.out):
            rows = run_success_sweep(config, args.out, progress=not args.quiet)
            elapsed = time.perf_counter() - t0
            groups = summarise_success(rows, threshold=config.threshold)
            write_csv(rows, args.out / "runs.csv")
            write_weights(config, args.out)  # every model's initial and final weights, matched by (cell, T, repeat)
            summary = {"threshold": config.threshold,
                       "models": len(rows), "train_seconds": sweep_seconds(config, args.out),
                       "compile_seconds": sweep_seconds(config, args.out, field="compile_seconds"),
                       "wall_seconds_this_run": elapsed, "headline": headline(groups), "groups": groups}
            title = (f"{config.task}, {config.hidden} unit(s), init {config.init}, split {config.split}, "
                     f"{config.repeats} repeats x {config.epochs} epochs, N={config.n}")
            figs = save_figure(plot_success(groups, title=title), args.out, "success_vs_length")
            write_summary(summary, args.out, config=config)
    except (SweepSettingsError, SweepLockedError) as e:
        fail(prog, str(e))
    except KeyboardInterrupt:
        print(f"\ninterrupted; finished shards are saved under {args.out}: rerun the same command to resume",
              file=sys.stderr)
        return 130
    for cell, h in summary["headline"].items():
        by_T = "  ".join(f"T={T}: {v:.2f}" for T, v in h["success_at_T"].items())
        print(f"{cell:>5}: mean success {h['mean_success']:.2f}   {by_T}")
    print(f"{len(rows)} models, {summary['train_seconds']:.0f} s of training in all (plus "
          f"{summary['compile_seconds']:.0f} s of compilation), this run {elapsed:.0f} s; figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
