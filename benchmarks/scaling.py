"""How the cost of training and of loss surfaces grows with T, units, models and grid size, and where one machine stops.

Four series, each timed in this process after an untimed warm-up of the same signature (numba compilation excluded),
one batched program per point (the fastest of three timings where one takes under 5 s), on the default engine
(numba on the CPU):

* **T**: one epoch of 30 one-unit models of each cell on N = 10000 latching sequences (the question's), T = 50..1000.
* **units**: the same at T = 100 with 1..32 units per cell.
* **models**: one epoch of M = 30..3000 one-unit LSTMs at T = 100 (one batched program of M models).
* **grid**: a latching loss surface with gradient norms (``parameter_surface``, one-unit Keras-2 LSTM over
  (b_f, U_c), N = 300 sequences, T = 100) of G x G points, G = 32..256.

Each series is fitted by a power law, seconds = a * x^k (least squares in log-log), once through all its points (the
figure) and once through its two largest (the local exponent); the fits (the local one for units, where the cost turns
towards quadratic) are extrapolated to the sizes a researcher asks for (1000 models per arm, 64 units, T = 1000, a 1024 x 1024 surface) and printed beside the
measurements, labelled as extrapolations. ``--replot CSV`` refits and redraws from a saved ``scaling.csv`` without
measuring again. ``--figures DIR`` also writes ``scaling.pdf/.png`` there (the figure of
``docs/scaling.md``). Nothing is asserted; the times are measurements of this machine at this load.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from matplotlib.figure import Figure

import dynlatch
from dynlatch import tasks
from dynlatch.landscape import parameter_surface
from dynlatch._checks import out_dir
from dynlatch.scripting import ArgumentParser, checked_flag, save_figure, write_csv, write_summary

NAME = "scaling"
PROG = f"dynlatch bench {NAME}"
CELLS = ("srnn", "lstm", "gru")
N_SEQUENCES = 10000
REFERENCE_T, REFERENCE_MODELS = 100, 30
SURFACE_SEQUENCES, SURFACE_T = 300, 100
SERIES = {
    "T": (50, 100, 200, 400, 1000),
    "units": (1, 2, 4, 8, 16, 32),
    "models": (30, 100, 300, 1000, 3000),
    "grid": (32, 64, 128, 256),
}
QUICK_SERIES = {"T": (50, 100, 200), "units": (1, 2, 4), "models": (30, 100, 300), "grid": (16, 32)}


REPEAT_BELOW_S = 5.0
"""A point whose first timing is shorter than this is timed twice more and the fastest kept (short timings on a shared
machine are mostly noise from other jobs)."""


def timed(run: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def best_time(run: Callable[[], Any]) -> float:
    """The fastest of three timings of ``run``, or its one timing when that is over :data:`REPEAT_BELOW_S`."""
    first = timed(run)
    return first if first > REPEAT_BELOW_S else min(first, timed(run), timed(run))


def train_seconds(cell: str, *, T: int, units: int = 1, models: int = REFERENCE_MODELS) -> float:
    """Seconds of one training epoch of ``models`` models (``units`` each) on N sequences of length ``T``, after an
    untimed warm-up of the same signature."""
    def run(n: int, length: int) -> Callable[[], Any]:
        data = tasks.latching(length=length, n=n, seed=0)
        model = dynlatch.Model.init(cell, seeds=range(models), units=units, init="keras2")
        return lambda: dynlatch.train(model, data, epochs=1)

    timed(run(40, 3))
    return best_time(run(N_SEQUENCES, T))


def surface_seconds(G: int) -> float:
    """Seconds of a G x G latching surface with gradient norms (after an untimed 4 x 4 warm-up)."""
    data = tasks.latching(length=SURFACE_T, n=SURFACE_SEQUENCES, val_fraction=0.5, seed=0)
    x, y = np.concatenate([data.x_train, data.x_val]), np.concatenate([data.y_train, data.y_val])
    base = dynlatch.Model.init("lstm", seeds=[0], init="keras2", dtype=torch.float64)

    def run(points: int) -> Callable[[], Any]:
        return lambda: parameter_surface(base, x, y, axes=(("b_f", np.linspace(-3, 5, points)),
                                                         ("U_c", np.linspace(-4, 4, points))))

    timed(run(4))
    return best_time(run(G))


def measure(series: dict[str, tuple[int, ...]], *, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """One row per measured point: series, cell, x (the varied size), seconds, and the model-steps it trained."""
    rows = []
    for T in series["T"]:
        for cell in CELLS:
            rows.append({"series": "T", "cell": cell, "x": T, "seconds": train_seconds(cell, T=T)})
            log(f"T={T} {cell}: {rows[-1]['seconds']:.2f} s")
    for units in series["units"]:
        for cell in CELLS:
            rows.append({"series": "units", "cell": cell, "x": units,
                         "seconds": train_seconds(cell, T=REFERENCE_T, units=units)})
            log(f"units={units} {cell}: {rows[-1]['seconds']:.2f} s")
    for models in series["models"]:
        rows.append({"series": "models", "cell": "lstm", "x": models,
                     "seconds": train_seconds("lstm", T=REFERENCE_T, models=models)})
        log(f"models={models}: {rows[-1]['seconds']:.2f} s")
    for G in series["grid"]:
        rows.append({"series": "grid", "cell": "lstm", "x": G * G, "seconds": surface_seconds(G)})
        log(f"grid {G}x{G}: {rows[-1]['seconds']:.2f} s")
    return rows


def power_law(rows: list[dict[str, Any]]) -> dict[str, float]:
    """seconds = a * x^k fitted in log-log (least squares)."""
    x = np.log([r["x"] for r in rows])
    y = np.log([r["seconds"] for r in rows])
    k, log_a = np.polyfit(x, y, 1)
    return {"a": float(np.exp(log_a)), "k": float(k)}


def fits(rows: list[dict[str, Any]], *, largest: int | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """The power law of every (series, cell), through all its points or through the ``largest`` few (the regime
    nearest to an extrapolation: the cost of units turns from linear towards quadratic as they grow)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r in rows:
        out.setdefault(r["series"], {}).setdefault(r["cell"], {})
    for series, by_cell in out.items():
        for cell in by_cell:
            points = sorted((r for r in rows if r["series"] == series and r["cell"] == cell), key=lambda r: r["x"])
            by_cell[cell] = power_law(points[-largest:] if largest else points)
    return out


def predict(fit: dict[str, float], x: float) -> float:
    return fit["a"] * x ** fit["k"]


def epoch_seconds(law: dict[str, dict[str, dict[str, float]]], local: dict[str, dict[str, dict[str, float]]], *,
                  T: int, units: int, models: int) -> float:
    """One LSTM training epoch on N sequences predicted by the fits. The units series (measured at T = 100 with 30
    models) gives the cost at ``units``, through all its points within the measured range and through its largest
    two beyond it (the cost turns from linear towards quadratic as the matrix products take over); the T and models
    fits (the work is linear in each; all points, since two alone follow the machine's load) scale it from T = 100
    and 30 models."""
    beyond = units > max(SERIES["units"])
    lstm = {s: (local if s == "units" and beyond else law)[s]["lstm"] for s in law}
    return (predict(lstm["units"], units) * predict(lstm["T"], T) / predict(lstm["T"], REFERENCE_T)
            * predict(lstm["models"], models) / predict(lstm["models"], REFERENCE_MODELS))


def extrapolations(law: dict[str, dict[str, dict[str, float]]],
                   local: dict[str, dict[str, dict[str, float]]]) -> dict[str, float]:
    """Seconds predicted by the fits (:func:`epoch_seconds`) for sizes beyond what was measured (one LSTM epoch on
    N = 10000 sequences unless stated)."""
    surface = predict(law["grid"]["lstm"], 1024 * 1024)
    return {
        "epoch_T1000_1unit_1000models_s": epoch_seconds(law, local, T=1000, units=1, models=1000),
        "epoch_T100_64units_30models_s": epoch_seconds(law, local, T=100, units=64, models=30),
        "epoch_T1000_64units_1000models_s": epoch_seconds(law, local, T=1000, units=64, models=1000),
        "surface_1024x1024_T100_N300_s": surface,
        # the latching-landscape study's N = 1000 sequences at T = 1000: linear in T and N
        "surface_1024x1024_T1000_N1000_s": surface * (1000 / SURFACE_T) * (1000 / SURFACE_SEQUENCES),
    }


XLABELS = {"T": "sequence length T", "units": "units per cell (T = 100)", "models": "models in one batch (T = 100)",
           "grid": f"grid points of a surface (T = {SURFACE_T}, N = {SURFACE_SEQUENCES})"}
COLOURS = {"srnn": "tab:orange", "lstm": "tab:blue", "gru": "tab:green"}


def scaling_figure(rows: list[dict[str, Any]], law: dict[str, dict[str, dict[str, float]]],
                   local: dict[str, dict[str, dict[str, float]]], *, machine: str) -> Figure:
    """Seconds against each size (log-log), measured points and the fitted power law with its exponent."""
    fig = Figure(figsize=(10, 7.2))
    axes = fig.subplots(2, 2).ravel()
    for ax, series in zip(axes, SERIES):
        for cell, fit in law.get(series, {}).items():
            pts = [r for r in rows if r["series"] == series and r["cell"] == cell]
            x = np.array([r["x"] for r in pts], dtype=float)
            ax.loglog(x, [r["seconds"] for r in pts], "o", color=COLOURS[cell], ms=4)
            grid = np.geomspace(x.min(), x.max(), 50)
            ax.loglog(grid, predict(fit, grid), "-", color=COLOURS[cell], lw=1,
                      label=f"{cell.upper()}: ~ x^{fit['k']:.2f} (largest two: x^{local[series][cell]['k']:.2f})")
        ax.set(xlabel=XLABELS[series], ylabel="seconds" + (f" (one epoch, N = {N_SEQUENCES})" if series != "grid" else ""))
        ax.grid(alpha=0.3, which="both")
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(f"cost of training (30 models unless varied) and of loss surfaces; {machine}", fontsize=9)
    fig.tight_layout()
    return fig


def parser() -> ArgumentParser:
    """The benchmark's flags."""
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer, smaller points (seconds)")
    p.add_argument("--out", type=Path, default=Path("results") / "bench-scaling",
                   help="output folder for scaling.csv and summary.json (default: %(default)s)")
    p.add_argument("--figures", type=Path, default=None,
                   help="also write scaling.pdf/.png into this folder (docs/figures for docs/scaling.md)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--replot", type=Path, default=None,
                   help="refit and redraw from this scaling.csv (and its summary.json's machine line); measure nothing")
    return p


def parse(argv: list[str] | None):
    """The checked flags; a bad one ends the program with one line on stderr and exit code 2."""
    p = parser()
    args = p.parse_args(argv)
    checked_flag(p, out_dir, "--out", args.out)
    if args.figures is not None:
        checked_flag(p, out_dir, "--figures", args.figures)
    if args.replot is not None:
        for path in (args.replot, args.replot.parent / "summary.json"):
            if not path.is_file():
                p.error(f"--replot: {path} is not a file (a scaling.csv beside its summary.json)")
    return args


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a saved ``scaling.csv``."""
    with open(path) as f:
        return [{"series": r["series"], "cell": r["cell"], "x": int(r["x"]), "seconds": float(r["seconds"])}
                for r in csv.DictReader(f)]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    if args.replot is not None:
        rows = read_rows(args.replot)
        machine = json.loads((args.replot.parent / "summary.json").read_text())["machine"]
        quick = json.loads((args.replot.parent / "summary.json").read_text())["quick"]
    else:
        load_before = os.getloadavg()[0]
        rows = measure(QUICK_SERIES if args.quick else SERIES, log=log)
        machine = (f"{platform.machine()}, {os.cpu_count()} CPUs, numba backend, load {load_before:.1f} before "
                   f"and {os.getloadavg()[0]:.1f} after")
        quick = args.quick
    law, local = fits(rows), fits(rows, largest=2)
    beyond = extrapolations(law, local)
    write_csv(rows, args.out / "scaling.csv")
    write_summary({"fits": law, "fits_largest_two": local, "extrapolations_seconds": beyond, "machine": machine,
                   "platform": platform.platform(), "n_sequences": N_SEQUENCES, "quick": quick}, args.out)
    for series, by_cell in law.items():
        print(f"{series:>6}: " + ", ".join(f"{cell} ~ x^{fit['k']:.2f} (largest two: x^{local[series][cell]['k']:.2f})"
                                           for cell, fit in by_cell.items()))
    for name, seconds in beyond.items():
        print(f"extrapolated {name}: {seconds:.3g} s ({seconds / 3600:.3g} h)")
    print(f"machine: {machine}")
    if args.figures is not None:
        paths = save_figure(scaling_figure(rows, law, local, machine=machine), args.figures, "scaling")
        print(f"figure: {', '.join(map(str, paths))}")
    print(f"results: {args.out / 'scaling.csv'}, {args.out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
