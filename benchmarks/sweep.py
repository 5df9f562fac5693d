"""Speed of the full success-frequency grid: dynlatch versus the per-model torch.nn training loop a user would write.

Two implementations of the question's experiment (SRNN/LSTM/GRU with one unit on information latching, batch 16,
Adam lr 1e-3 eps 1e-7, reshuffled every epoch; grid: 25 lengths 2..200 x 30 repeats x 5 epochs, N = 10000):

* **baseline**: ``torch.nn.RNN/LSTM/GRU(1, 1, batch_first=True)`` + ``nn.Linear(1, 2)`` + ``torch.optim.Adam`` +
  cross-entropy on h_T, one model at a time, float32, ``torch.set_num_threads(2)``. Training the whole grid this way
  takes hours, so ONE epoch of ONE model is timed at a few lengths (an epoch = the shuffled minibatch pass over the
  training set plus one validation pass, as Keras' ``fit`` does), a line ``a + b*T`` is fitted per cell by least
  squares and summed over the grid.
* **dynlatch**: ``run_success_sweep(SweepConfig(), ...)`` into a fresh folder, wall clock. Per-(cell, T) times are
  the compute times recorded in the shard checkpoints. The numba kernels are compiled (or loaded from cache) by an untimed warm-up first;
  that time is reported separately.

``--device cuda`` trains dynlatch's grid on the GPU (the torch backend; the baseline stays on the CPU) and records the
card's name with the time.

``--quick`` times the baseline at T = 5, 20 with N = 2000 and runs dynlatch on lengths (5, 20, 50), 30 repeats,
N = 2000;
both are then extrapolated to the full grid the same way (linear in T, proportional to the training-set size), and
labelled as such. No timing is asserted anywhere: the numbers are measurements, reported as measured.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numba
import numpy as np
from numba.core import event as numba_event
import torch
import torch.nn.functional as F
from torch import nn

import dynlatch
from dynlatch import tasks
from dynlatch._checks import device as check_device, out_dir, seed as check_seed
from dynlatch.studies.latching_sweep import SweepConfig, run_success_sweep, shard_keys, warm_up as warm_kernels
from dynlatch.sweep import read_shard
from dynlatch.scripting import ArgumentParser, checked_flag, write_csv, write_summary


NAME = "sweep"
PROG = f"dynlatch bench {NAME}"
CELLS: tuple[str, ...] = ("srnn", "lstm", "gru")
BASELINE_THREADS = 2
GOAL_SECONDS, GOAL_SPEEDUP = 30.0, 100.0
BUSY_LOAD = 0.5  # 1-minute load average before the run above which the machine counts as busy
GOAL = "goal: full grid <= 30 s and >= 100x the torch.nn loop"
TORCH_CELLS: dict[str, type[nn.Module]] = {"srnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Plan(NamedTuple):
    """What one benchmark run measures.

    Attributes:
        baseline_lengths: lengths T at which one torch.nn epoch is timed per cell.
        baseline_n: sequences in the baseline's data set (80% train).
        sweep: the dynlatch sweep that is run.
        target: the grid both implementations are extrapolated (baseline) or compared (dynlatch) on.
    """

    baseline_lengths: tuple[int, ...]
    baseline_n: int
    sweep: SweepConfig
    target: SweepConfig = SweepConfig()

    @property
    def dynlatch_extrapolated(self) -> bool:
        return self.sweep != self.target


def make_plan(quick: bool, seed: int, device: str | None = None) -> Plan:
    """The full benchmark, or the CI-sized one (``quick``); dynlatch trains on ``device`` (None: the CPU, numba;
    any other device: the torch backend there), the torch.nn baseline always on the CPU."""
    target = SweepConfig(cells=CELLS, seed=seed, device=device)
    if quick:
        # dynlatch runs the grid's 30 repeats (its cost per model depends on how many run together) at three lengths:
        # a couple of seconds, and a steadier fit than two tiny shards
        return Plan((5, 20), 2000, replace(target, lengths=(5, 20, 50), repeats=30, n=2000), target)
    return Plan((5, 50, 100, 200), target.n, target, target)


# -- baseline: the per-model torch.nn loop ----------------------------------------------------------------------
class TorchClassifier(nn.Module):
    """One ``torch.nn`` recurrent cell (1 unit) read out at the last step by ``nn.Linear(1, 2)``."""

    def __init__(self, cell: str) -> None:
        super().__init__()
        self.rnn = TORCH_CELLS[cell](input_size=1, hidden_size=1, batch_first=True)
        self.out = nn.Linear(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, _ = self.rnn(x)
        return self.out(seq[:, -1])


def torch_epoch(net: TorchClassifier, opt: torch.optim.Optimizer, data: tasks.Dataset, *, batch_size: int,
                generator: torch.Generator, limit: int | None = None) -> float:
    """Train ``net`` for one shuffled epoch of minibatch Adam, then evaluate on the validation set; return seconds.

    ``limit`` trains on the first ``limit`` training sequences only (for the warm-up).
    """
    x, y = torch.as_tensor(data.x_train[:limit], dtype=torch.float32), torch.as_tensor(data.y_train[:limit])
    xv, yv = torch.as_tensor(data.x_val, dtype=torch.float32), torch.as_tensor(data.y_val)
    t0 = time.perf_counter()
    perm = torch.randperm(len(y), generator=generator)
    for start in range(0, len(y), batch_size):
        idx = perm[start : start + batch_size]
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        (net(xv).argmax(1) == yv).float().mean().item()
    return time.perf_counter() - t0


def time_baseline(plan: Plan, *, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Seconds for one epoch of one fresh torch.nn model per (cell, T); one tidy row each."""
    cfg = plan.target
    previous = torch.get_num_threads()
    torch.set_num_threads(BASELINE_THREADS)
    rows = []
    try:
        for cell in plan.sweep.cells:
            for i, T in enumerate(plan.baseline_lengths):
                data = tasks.latching(length=T, n=plan.baseline_n, noise=cfg.noise, val_fraction=cfg.val_fraction,
                                      seed=cfg.seed + T)
                torch.manual_seed(cfg.seed + T)
                net = TorchClassifier(cell)
                opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, eps=1e-7)
                gen = torch.Generator().manual_seed(cfg.seed)
                if i == 0:  # untimed warm-up: first-call overheads of the cell's kernels
                    torch_epoch(net, opt, data, batch_size=cfg.batch_size, generator=gen, limit=20 * cfg.batch_size)
                seconds = torch_epoch(net, opt, data, batch_size=cfg.batch_size, generator=gen)
                rows.append(timing_row("torch.nn", cell, T, len(data.y_train), models=1, epochs=1, seconds=seconds))
                log(f"baseline {cell} T={T}: {seconds:.2f} s/epoch")
    finally:
        torch.set_num_threads(previous)
    return rows


def timing_row(impl: str, cell: str, T: int, n_train: int, *, models: int, epochs: int, seconds: float) -> dict:
    """A tidy bench.csv row: ``seconds`` of work = ``models`` x ``epochs`` epochs over ``n_train`` sequences."""
    return {"impl": impl, "cell": cell, "T": T, "n_train": n_train, "models": models, "epochs": epochs,
            "seconds": seconds, "seconds_per_model_epoch": seconds / (models * epochs)}


# -- dynlatch ---------------------------------------------------------------------------------------------------
class DynlatchRun(NamedTuple):
    """The timed sweep: wall clock, compile warm-up, trained models and per-shard timing rows."""

    wall_s: float
    warmup_s: float
    warmup_cpu_s: float
    warmup_compiled: int
    models: int
    rows: list[dict[str, Any]]


class _CompileCounter(numba_event.Listener):
    """Counts numba compilations (a function loaded from the on-disk cache is not compiled, so not counted)."""

    def __init__(self) -> None:
        self.compiled = 0

    def on_start(self, event: numba_event.Event) -> None:
        pass

    def on_end(self, event: numba_event.Event) -> None:
        self.compiled += 1


def warm_up(config: SweepConfig) -> tuple[float, float, int]:
    """Compile (or load from cache) the numba kernels for the sweep's signature, once per cell; return wall seconds,
    CPU seconds (user + system of this process) and the number of functions numba compiled (0: all from the cache;
    on a fresh clone the warm-up is the whole compile of the quick sweep, which compiles nothing after it)."""
    counter = _CompileCounter()
    numba_event.register("numba:compile", counter)
    try:
        t0, c0 = time.perf_counter(), cpu_seconds()
        for cell in config.cells:
            warm_kernels(config, cell)
        return time.perf_counter() - t0, cpu_seconds() - c0, counter.compiled
    finally:
        numba_event.unregister("numba:compile", counter)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def shard_timings(sweep_dir: Path, config: SweepConfig, n_train: int) -> list[dict[str, Any]]:
    """Per-shard timing rows from the compute times recorded in the shard checkpoints."""
    rows = []
    for key in shard_keys(config):
        shard = read_shard(key, out_dir=sweep_dir, settings=config.settings())
        rows.append(timing_row("dynlatch", key["cell"], int(key["T"]), n_train, models=config.repeats,
                               epochs=config.epochs, seconds=shard["seconds"]))
    return rows


def time_dynlatch(plan: Plan, out_dir: Path, *, quiet: bool) -> DynlatchRun:
    """Run ``plan.sweep`` from scratch in ``out_dir/dynlatch-sweep`` and time it."""
    config = plan.sweep
    sweep_dir = out_dir / "dynlatch-sweep"
    if sweep_dir.exists():  # never resume: every shard is computed in this run
        shutil.rmtree(sweep_dir)
    warmup_s, warmup_cpu_s, warmup_compiled = warm_up(config)
    t0 = time.perf_counter()
    results = run_success_sweep(config, sweep_dir, progress=not quiet)
    wall_s = time.perf_counter() - t0
    n_train = train_size(config)
    return DynlatchRun(wall_s, warmup_s, warmup_cpu_s, warmup_compiled, len(results),
                       shard_timings(sweep_dir, config, n_train))


# -- extrapolation ----------------------------------------------------------------------------------------------
def train_size(config: SweepConfig) -> int:
    """Training sequences per data set of ``config`` (what an epoch runs over; the stratified split can differ by
    one sequence when a class size times val_fraction is not whole, which does not matter for a timing scale)."""
    return config.n - tasks.validation_size(config.n, config.val_fraction)


def fit_line(T: Sequence[float], seconds: Sequence[float]) -> tuple[float, float]:
    """Least-squares ``seconds ~ a + b*T``; returns (a, b)."""
    b, a = np.polyfit(np.asarray(T, float), np.asarray(seconds, float), 1)
    return float(a), float(b)


def grid_seconds(a: float, b: float, target: SweepConfig, *, scale: float = 1.0) -> float:
    """Seconds to train ``target``'s grid for one cell one model at a time, at ``a + b*T`` per model-epoch
    (times ``scale``, the ratio of training-set sizes)."""
    per_epoch = sum(max(a + b * T, 0.0) for T in target.lengths)
    return scale * target.repeats * target.epochs * per_epoch


def extrapolate(rows: list[dict[str, Any]], cell: str, target: SweepConfig, target_train: int) -> dict[str, Any]:
    """Fit one cell's per-model-epoch times linearly in T and sum them over ``target``'s grid."""
    mine = [r for r in rows if r["cell"] == cell]
    a, b = fit_line([r["T"] for r in mine], [r["seconds_per_model_epoch"] for r in mine])
    scale = target_train / mine[0]["n_train"]
    return {"a": a, "b": b, "train_scale": scale, "grid_seconds": grid_seconds(a, b, target, scale=scale)}


# -- report -----------------------------------------------------------------------------------------------------
def peak_rss_gib() -> float:
    """This process's peak resident memory so far, GiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**30 if sys.platform == "darwin" else 2**20)


def load_average() -> float:
    """The 1-minute load average (NaN where the OS has none): other work competing for the cores."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def device_name(device: str | None) -> str:
    """The device dynlatch trained on, in words (a GPU by its name)."""
    if device is not None and torch.device(device).type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"{device or 'cpu'} ({platform.processor() or platform.machine()})"


def machine_info(device: str | None = None) -> dict[str, Any]:
    """What the numbers depend on besides the code."""
    return {"device": device_name(device), "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "numba": numba.__version__, "numpy": np.__version__, "dynlatch": dynlatch.__version__,
            "baseline_torch_threads": BASELINE_THREADS, "numba_threads": numba.get_num_threads()}


def summarise(plan: Plan, baseline: list[dict], run: DynlatchRun, *, machine: dict[str, Any],
              rss_after_baseline: float) -> dict[str, Any]:
    """Per-cell and total grid times of both implementations, their ratio and the headline numbers."""
    target, target_train = plan.target, train_size(plan.target)
    cells = {}
    for cell in plan.sweep.cells:
        base = extrapolate(baseline, cell, target, target_train)
        if plan.dynlatch_extrapolated:
            dyn = extrapolate(run.rows, cell, target, target_train)
        else:
            dyn = {"grid_seconds": sum(r["seconds"] for r in run.rows if r["cell"] == cell)}
        cells[cell] = {"baseline": base, "dynlatch": dyn,
                       "baseline_s_per_epoch": {str(r["T"]): r["seconds"] for r in baseline if r["cell"] == cell},
                       "speedup": base["grid_seconds"] / dyn["grid_seconds"]}
    baseline_s = sum(c["baseline"]["grid_seconds"] for c in cells.values())
    dynlatch_s = (sum(c["dynlatch"]["grid_seconds"] for c in cells.values()) if plan.dynlatch_extrapolated
                  else run.wall_s)
    return {
        "mode": "quick" if plan.dynlatch_extrapolated else "full",
        "baseline_grid_hours": baseline_s / 3600, "dynlatch_grid_seconds": dynlatch_s,
        "speedup": baseline_s / dynlatch_s, "peak_rss_gib": peak_rss_gib(),
        "peak_rss_gib_after_baseline": rss_after_baseline, "machine": machine,
        "dynlatch_extrapolated": plan.dynlatch_extrapolated, "baseline_extrapolated": True,
        "dynlatch_measured_seconds": run.wall_s, "dynlatch_warmup_seconds": run.warmup_s,
        "dynlatch_warmup_cpu_seconds": run.warmup_cpu_s, "dynlatch_warmup_functions_compiled": run.warmup_compiled,
        "dynlatch_models_trained": run.models,
        "goal": {"max_seconds": GOAL_SECONDS, "min_speedup": GOAL_SPEEDUP,
                 "met": dynlatch_s <= GOAL_SECONDS and baseline_s / dynlatch_s >= GOAL_SPEEDUP},
        "cells": cells,
        "grid": {"cells": list(target.cells), "lengths": list(target.lengths), "repeats": target.repeats,
                 "epochs": target.epochs, "n": target.n, "n_train": target_train, "batch_size": target.batch_size},
        "baseline_lengths": list(plan.baseline_lengths), "baseline_n": plan.baseline_n,
        "dynlatch_sweep": {"lengths": list(plan.sweep.lengths), "repeats": plan.sweep.repeats, "n": plan.sweep.n,
                           "backend": plan.sweep.settings()["backend"], "device": plan.sweep.settings()["device"]},
    }


def format_seconds(s: float) -> str:
    """Seconds below 10 min, minutes above."""
    return f"{s:.0f} s" if s < 600 else f"{s / 60:.1f} min"


def table(summary: dict[str, Any], plan: Plan) -> str:
    """The printed result table."""
    Ts = plan.baseline_lengths
    mark = "~" if summary["dynlatch_extrapolated"] else ""
    head = (f"{'cell':<6}" + "".join(f"{'T=' + str(T):>8}" for T in Ts) + f"{'fit a + b*T (s)':>22}"
            f"{'baseline grid':>15}{'dynlatch grid':>15}{'ratio':>9}")
    lines = [f"{'':<6}{'torch.nn s/epoch (1 model)':^{8 * len(Ts)}}", head, "-" * len(head)]
    for cell, c in summary["cells"].items():
        b = c["baseline"]
        lines.append(f"{cell:<6}" + "".join(f"{c['baseline_s_per_epoch'][str(T)]:>8.2f}" for T in Ts)
                     + f"{b['a']:>+11.3f} {b['b']:+.4f}*T" + f"{b['grid_seconds'] / 3600:>13.2f} h"
                     + f"{mark + format_seconds(c['dynlatch']['grid_seconds']):>15}{c['speedup']:>8.0f}x")
    lines.append("-" * len(head))
    lines.append(f"{'total':<6}" + " " * (8 * len(Ts) + 22) + f"{summary['baseline_grid_hours']:>13.2f} h"
                 + f"{mark + format_seconds(summary['dynlatch_grid_seconds']):>15}{summary['speedup']:>8.0f}x")
    return "\n".join(lines)


def report(summary: dict[str, Any], plan: Plan) -> str:
    """Table plus context lines: grid, machine, memory, goal."""
    g, m = summary["grid"], summary["machine"]
    grid = f"{len(g['lengths'])} lengths {min(g['lengths'])}..{max(g['lengths'])} x {g['repeats']} repeats x " \
           f"{g['epochs']} epochs, N={g['n']} ({g['n_train']} train), batch {g['batch_size']}"
    lines = [f"full grid: {grid}",
             f"baseline: one epoch of one torch.nn model per (cell, T), N={plan.baseline_n}, "
             f"torch.set_num_threads({BASELINE_THREADS}); grid hours extrapolated by the fitted line",
             table(summary, plan)]
    if summary["dynlatch_extrapolated"]:
        s = summary["dynlatch_sweep"]
        lines.append(f"~ dynlatch EXTRAPOLATED from a quick sweep (T={s['lengths']}, {s['repeats']} repeats, "
                     f"N={s['n']}: {summary['dynlatch_measured_seconds']:.1f} s measured); quick numbers are "
                     "indicative only")
    else:
        lines.append(f"dynlatch: {summary['dynlatch_models_trained']} models trained, measured wall clock")
    lines.append("numba warm-up (compile or cache load, not in the grid time): "
                 f"{summary['dynlatch_warmup_seconds']:.1f} s, {summary['dynlatch_warmup_cpu_seconds']:.1f} s CPU, "
                 f"{summary['dynlatch_warmup_functions_compiled']} functions compiled (0: all from the cache; "
                 f"a fresh clone's compile when the cache was empty); peak RSS {summary['peak_rss_gib']:.2f} GiB"
                 f" (after baseline {summary['peak_rss_gib_after_baseline']:.2f})")
    lines.append(f"dynlatch trained on {m['device']}, backend {summary['dynlatch_sweep']['backend']}")
    lines.append(f"machine: {m['platform']}, {m['cpu_count']} CPUs, torch {m['torch']} ({m['baseline_torch_threads']}"
                 f" threads for the baseline), numba {m['numba']} ({m['numba_threads']} threads); "
                 f"load average {m['load_before']:.2f} before, {m['load_after']:.2f} after")
    noisy = [cell for cell, c in summary["cells"].items() if c["baseline"]["b"] < 0]
    if noisy:
        lines.append(f"note: negative slope in T for {', '.join(noisy)}: single-epoch timings were noisy (predictions"
                     " below 0 count as 0)")
    if m["load_before"] >= BUSY_LOAD:
        lines.append(f"WARNING: load average {m['load_before']:.2f} at the start: other processes were using the cores."
                     " torch.nn with 2 threads slows down several-fold under contention (more than dynlatch), which"
                     " inflates the baseline and the ratio; rerun on a quiet machine for numbers to quote")
    met = "met" if summary["goal"]["met"] else "NOT met"
    lines.append(f"{GOAL}: {met} ({format_seconds(summary['dynlatch_grid_seconds'])}, {summary['speedup']:.0f}x)"
                 + (" [quick run: extrapolated]" if summary["dynlatch_extrapolated"] else ""))
    return "\n".join(lines)


def parser() -> ArgumentParser:
    """The benchmark's flags."""
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI-sized run (under a minute), extrapolated")
    p.add_argument("--out", type=Path, default=Path("results") / "bench-sweep",
                   help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="base seed of data and models")
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    p.add_argument("--device", default=None,
                   help="torch device dynlatch trains on (default: the CPU with numba; cuda: the torch backend on the "
                        "GPU); the torch.nn baseline stays on the CPU")
    return p


def parse(argv: list[str] | None):
    """The checked flags; a bad one ends the program with one line on stderr and exit code 2."""
    p = parser()
    args = p.parse_args(argv)
    args.device = checked_flag(p, check_device, "--device", args.device)
    checked_flag(p, check_seed, "--seed", args.seed)
    checked_flag(p, out_dir, "--out", args.out)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    plan = make_plan(args.quick, args.seed, args.device)
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    load_before = load_average()
    baseline = time_baseline(plan, log=log)
    rss_baseline = peak_rss_gib()
    log("dynlatch sweep ...")
    run = time_dynlatch(plan, args.out, quiet=args.quiet)
    machine = machine_info(args.device) | {"load_before": load_before, "load_after": load_average()}
    summary = summarise(plan, baseline, run, machine=machine, rss_after_baseline=rss_baseline)
    write_csv(baseline + run.rows, args.out / "bench.csv")
    write_summary(summary, args.out)
    print(report(summary, plan))
    print(f"results: {args.out / 'bench.csv'}, {args.out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
