"""Success frequency vs sequence length for SRNN, LSTM and GRU on information latching (or bit relay)."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict

from dynlatch import (
    SweepConfig, SweepSettingsError, plot_success, run_success_sweep, summarise_success,
    sweep_seconds,
)
from dynlatch.scripting import analysis_parser, csv_list, fail, save_figure, write_csv, write_summary
from dynlatch.cells import CELL_CLASSES

NAME = "latching-sweep"
QUICK = dict(lengths=(5, 20, 50), repeats=8, n=2000)
HEADLINE_T = (5, 10, 20, 50, 100, 200)


def parse(argv: list[str] | None):
    p = analysis_parser(NAME, __doc__)
    p.add_argument("--cells", type=csv_list(str, tuple(CELL_CLASSES)), default=None, help="default srnn,lstm,gru")
    p.add_argument("--lens", type=csv_list(int), default=None, help="sequence lengths (default: the question's 2..200)")
    p.add_argument("--repeats", type=int, default=None, help="models per (cell, T) (default 30)")
    p.add_argument("--epochs", type=int, default=5, help="epochs per model (default 5)")
    p.add_argument("--n", type=int, default=None, help="sequences per data set (default 10000)")
    p.add_argument("--batch", type=int, default=16, help="minibatch size (default 16)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3; epsilon 1e-7 as Keras)")
    p.add_argument("--init", choices=("keras2", "torch"), default="keras2",
                   help="initialisation and gate defaults: Keras 2 (the question) or torch.nn (default keras2)")
    p.add_argument("--split", choices=("correct", "keras-tail"), default="correct",
                   help="validation split: shuffled+stratified, or the question's bug (default correct)")
    p.add_argument("--hidden", type=int, default=1, help="units per cell")
    p.add_argument("--task", choices=("latching", "bit-relay"), default="latching")
    p.add_argument("--noise", type=float, default=0.1, help="input noise standard deviation")
    p.add_argument("--clip", type=float, default=None, help="gradient-norm clipping threshold (default off)")
    p.add_argument("--readout", choices=("softmax", "sigmoid"), default="softmax",
                   help="Dense(2)+softmax as the question, or Dense(1)+sigmoid (default softmax)")
    p.add_argument("--threshold", type=float, default=0.9, help="final val accuracy counted as success (default 0.9)")
    p.add_argument("--backend", choices=("auto", "numba", "torch"), default="auto",
                   help="training engine: numba on CPU, torch elsewhere (default auto)")
    return p.parse_args(argv)


def config_from(args) -> SweepConfig:
    quick = QUICK if args.quick else {}
    pick = lambda flag, key: flag if flag is not None else quick.get(key, getattr(SweepConfig, key))  # noqa: E731
    return SweepConfig(
        cells=tuple(args.cells or SweepConfig.cells), lengths=tuple(pick(args.lens, "lengths")),
        repeats=pick(args.repeats, "repeats"), epochs=args.epochs, n=pick(args.n, "n"), batch_size=args.batch,
        lr=args.lr, init=args.init, split=args.split, hidden=args.hidden, task=args.task, noise=args.noise,
        clip_norm=args.clip, readout=args.readout, seed=args.seed, backend=args.backend, device=args.device,
        threshold=args.threshold,
    )


def headline(groups: list[dict]) -> dict:
    """Per cell: mean success frequency over all T and success at a few landmark lengths."""
    out = {}
    for g in groups:
        at = {str(T): s for T, s in zip(g["T"], g["success_frequency"]) if T in HEADLINE_T}
        out[g["cell"]] = {"mean_success": sum(g["success_frequency"]) / len(g["T"]), "success_at_T": at,
                          "diverged": sum(g["n_diverged"])}
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        config = config_from(args).check()
    except ValueError as e:
        fail(f"dynlatch run {NAME}", str(e))
    t0 = time.perf_counter()
    try:
        rows = run_success_sweep(config, args.out, progress=not args.quiet)
    except SweepSettingsError as e:
        fail(f"dynlatch run {NAME}", str(e))
    except KeyboardInterrupt:
        print(f"\ninterrupted; finished shards are saved under {args.out}: rerun the same command to resume",
              file=sys.stderr)
        return 130
    elapsed = time.perf_counter() - t0
    groups = summarise_success(rows, threshold=config.threshold)
    write_csv(rows, args.out / "runs.csv")
    summary = {"config": asdict(config), "threshold": config.threshold, "models": len(rows),
               "train_seconds": sweep_seconds(config, args.out), "wall_seconds_this_run": elapsed,
               "headline": headline(groups), "groups": groups}
    write_summary(summary, args.out)
    title = (f"{config.task}, {config.hidden} unit(s), init {config.init}, split {config.split}, "
             f"{config.repeats} repeats x {config.epochs} epochs, N={config.n}")
    figs = save_figure(plot_success(groups, title=title), args.out, "success_vs_length")
    for cell, h in summary["headline"].items():
        by_T = "  ".join(f"T={T}: {v:.2f}" for T, v in h["success_at_T"].items())
        print(f"{cell:>5}: mean success {h['mean_success']:.2f}   {by_T}")
    print(f"{len(rows)} models, {summary['train_seconds']:.0f} s of training in all, this run {elapsed:.0f} s; "
          f"figure: {figs[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
