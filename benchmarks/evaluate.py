"""Speed of dynlatch.evaluate on a G x G parameter grid: the numba backend against the torch backend, side by side.

A one-unit LSTM's (U_f, U_c) plane on information latching (Bengio et al. 1994; T = 20, N = 500 sequences), loss,
accuracy, all parameter gradients and the state-gradient norms for every grid point. Both backends run on the CPU in
float64 (torch with its default thread count); the numba kernels are compiled (or loaded from cache) by an untimed
warm-up. Run: ``python benchmarks/evaluate.py [--grid G] [--length T] [--n N]``. Nothing is asserted; the printed
ratio is the measurement.
"""

from __future__ import annotations

import time

import numpy as np
import torch

import dynlatch
from dynlatch import Model, tasks
from dynlatch.cells import CellParams
from dynlatch._checks import fits_in_memory, integer
from dynlatch.scripting import ArgumentParser, checked_flag


def grid_model(G: int) -> Model:
    base = Model.init("lstm", seeds=[0] * (G * G), units=1, dtype=torch.float64)
    W, U, b = (t.clone() for t in base.cell.params)
    u_f, u_c = np.meshgrid(np.linspace(-4, 4, G), np.linspace(-4, 4, G))
    U[:, 0, 1] = torch.as_tensor(u_f.ravel())
    U[:, 0, 2] = torch.as_tensor(u_c.ravel())
    return Model(base.cell.replace(CellParams(W, U, b)), base.weight, base.bias, None, "softmax")


def parser() -> ArgumentParser:
    """The benchmark's flags."""
    p = ArgumentParser(prog="dynlatch bench evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=int, default=50, help="grid side G (G*G models)")
    p.add_argument("--length", type=int, default=20, help="sequence length T")
    p.add_argument("--n", type=int, default=500, help="number of sequences")
    return p


def parse(argv: list[str] | None):
    """The checked flags; a bad one ends the program with one line on stderr and exit code 2."""
    p = parser()
    args = p.parse_args(argv)
    for flag in ("--grid", "--length", "--n"):
        checked_flag(p, integer, flag, getattr(args, flag[2:]), minimum=1)
    checked_flag(p, fits_in_memory, "--grid", float(args.grid) ** 2 * args.length * (args.n + 4),
                 what="the states of every model on every sequence")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    data = tasks.latching(length=args.length, n=args.n + 4, noise=0.3, seed=0)
    X, Y = data.x_train, data.y_train
    model = grid_model(args.grid)
    kw = dict(grad=True, state_grads=True)
    dynlatch.evaluate(model.select([0]), X, Y, backend="numba", **kw)  # warm-up (compile or cache load)
    times = {}
    for backend in ("numba", "torch", "numba"):
        t0 = time.perf_counter()
        result = dynlatch.evaluate(model, X, Y, backend=backend, **kw)
        times.setdefault(backend, []).append(time.perf_counter() - t0)
        times.setdefault(backend + "_result", []).append(result.loss)
    nb, th = min(times["numba"]), min(times["torch"])
    diff = np.abs(times["numba_result"][0] - times["torch_result"][0]).max()
    print(f"{args.grid}x{args.grid} grid, T={args.length}, N={len(Y)}, grads and state-gradient norms")
    print(f"numba {nb:.2f} s, torch {th:.2f} s: numba is {th / nb:.1f}x faster (max |loss difference| {diff:.1e})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
