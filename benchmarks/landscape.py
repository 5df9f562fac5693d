"""Speed of batched loss surfaces against the per-point loop a user would write with torch.nn and autograd.

Two measurements, each timed side by side in this process (the baseline on a sample of grid points, extrapolated
linearly to the whole grid and labelled so):

* Pascanu et al.'s map: a G x G (default 512) surface of E = (sigmoid(x_50) - 0.7)^2 with its gradient norm,
  ``dynlatch.landscape.pascanu_surface`` against a loop of scalar torch programs with ``backward()`` per point.
* The latching task: a G x G (default 256) surface of a one-unit LSTM (sigmoid gates, torch init; Dense(2) + softmax
  read-out) over (b_f, U_c) on N = 1000 sequences at T = 100: loss, accuracy and gradient norm by
  ``dynlatch.landscape.parameter_surface`` (the compiled evaluator) against ``torch.nn.LSTM`` + ``nn.Linear`` +
  cross-entropy + ``backward()`` per grid point (which yields every gradient; a user reads the two it needs off it).
  ``--grad-wrt swept`` (the default, the surface's default): the gradient norm over the two swept parameters, by
  forward-mode tangents; ``--grad-wrt all``: over every parameter, by reverse mode (the definition before 2026-11-27).

* The same surface of the Keras-2 LSTM (hard-sigmoid gates) that ``dynlatch run latching-landscape`` sweeps, against
  a per-point loop of dynlatch's own torch reference cell with ``backward()`` (``torch.nn.LSTM`` has no hard sigmoid).

Nothing is asserted: the printed times and ratios are the measurement (goals: Pascanu < 2 s, latching < 60 s).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

import dynlatch
from dynlatch import cells, landscape, tasks
from dynlatch._checks import integer
from dynlatch.scripting import ArgumentParser, checked_flag


def pascanu_point(w: float, b: float, steps: int = 50) -> float:
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(0.5, dtype=torch.float64)
    for _ in range(steps):
        x = wt * torch.sigmoid(x) + bt
    loss = (torch.sigmoid(x) - 0.7) ** 2
    loss.backward()
    return float(torch.hypot(wt.grad, bt.grad))


def latching_point(net: torch.nn.Module, out: torch.nn.Linear, x: torch.Tensor, y: torch.Tensor, b_f: float,
                   u_c: float) -> float:
    with torch.no_grad():
        net.bias_ih_l0[1] = b_f  # torch gate order i, f, g, o: block 1 is the forget gate (bias_hh is 0)
        net.weight_hh_l0[2, 0] = u_c  # block 2 is the candidate g (Keras c)
    net.zero_grad()
    out.zero_grad()
    seq, _ = net(x)
    loss = F.cross_entropy(out(seq[:, -1]), y)
    loss.backward()
    return float(loss.detach())


def parser() -> ArgumentParser:
    """The benchmark's flags."""
    p = ArgumentParser(prog="dynlatch bench landscape", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small grids (CI scale)")
    p.add_argument("--pascanu-grid", type=int, default=512)
    p.add_argument("--latching-grid", type=int, default=256)
    p.add_argument("--baseline-points", type=int, default=200, help="grid points the baseline loop times")
    p.add_argument("--grad-wrt", choices=landscape.GRAD_WRT, default="swept",
                   help="gradient norm of the latching surface over the two swept parameters or all (default swept)")
    return p


def parse(argv: list[str] | None):
    """The checked flags; a bad one ends the program with one line on stderr and exit code 2."""
    p = parser()
    args = p.parse_args(argv)
    for flag in ("--pascanu-grid", "--latching-grid", "--baseline-points"):
        checked_flag(p, integer, flag, getattr(args, flag[2:].replace("-", "_")), minimum=1)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.quick:
        args.pascanu_grid, args.latching_grid, args.baseline_points = 64, 16, 20
    torch.set_num_threads(2)
    G = args.pascanu_grid
    w, b = np.linspace(0, 12, G), np.linspace(-10, 1, G)
    landscape.pascanu_surface(w[:8], b[:8])  # warm-up
    t0 = time.perf_counter()
    landscape.pascanu_surface(w, b)
    ours = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    pts = rng.uniform([0, -10], [12, 1], size=(args.baseline_points, 2))
    t0 = time.perf_counter()
    for wi, bi in pts:
        pascanu_point(wi, bi)
    base = (time.perf_counter() - t0) / len(pts) * G * G
    print(f"Pascanu {G}x{G} with gradient norms: dynlatch {ours:.2f} s; per-point torch loop {base:.1f} s "
          f"(extrapolated from {len(pts)} points): {base / ours:.0f}x")

    G = args.latching_grid
    data = tasks.latching(length=100, n=1000, val_fraction=0.5, seed=0)
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    model = dynlatch.Model.init("lstm", seeds=[0], init="torch", dtype=torch.float64)
    axes = (("b_f", np.linspace(-3, 5, G)), ("U_c", np.linspace(-4, 4, G)))
    landscape.parameter_surface(model, x[:8], y[:8], axes=((axes[0][0], axes[0][1][:2]), (axes[1][0], axes[1][1][:2])),
                                grad_wrt=args.grad_wrt)
    t0, c0 = time.perf_counter(), time.process_time()
    landscape.parameter_surface(model, x, y, axes=axes, grad_wrt=args.grad_wrt)
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
    net = cells.to_torch(model.cell[0]).double()
    out = torch.nn.Linear(1, 2).double()
    with torch.no_grad():
        out.weight.copy_(model.weight[0].T)
        out.bias.copy_(model.bias[0])
    X, Y = torch.as_tensor(x), torch.as_tensor(y)
    k = max(2, args.baseline_points // 20)
    t0 = time.perf_counter()
    for bf, uc in rng.uniform([-3, -4], [5, 4], size=(k, 2)):
        latching_point(net, out, X, Y, bf, uc)
    base = (time.perf_counter() - t0) / k * G * G
    what = "gradient norm over (b_f, U_c), forward mode" if args.grad_wrt == "swept" else "all gradients, reverse mode"
    print(f"latching {G}x{G}, N = {len(Y)}, T = 100, loss + {what}: dynlatch {ours:.1f} s (CPU time of all threads "
          f"{ours_cpu:.1f} s); per-point torch.nn loop {base:.0f} s (extrapolated from {k} points): {base / ours:.0f}x")

    # the cell `dynlatch run latching-landscape` sweeps: Keras-2 LSTM, hard-sigmoid gates (torch.nn has no such LSTM,
    # so the per-point baseline is dynlatch's own torch reference cell with autograd, as a user of dynlatch would loop)
    keras = dynlatch.Model.init("lstm", seeds=[0], dtype=torch.float64)
    landscape.parameter_surface(keras, x[:8], y[:8], axes=((axes[0][0], axes[0][1][:2]), (axes[1][0], axes[1][1][:2])),
                                grad_wrt=args.grad_wrt)
    t0, c0 = time.perf_counter(), time.process_time()
    landscape.parameter_surface(keras, x, y, axes=axes, grad_wrt=args.grad_wrt)
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    for bf, uc in rng.uniform([-3, -4], [5, 4], size=(k, 2)):
        keras_point(keras, X, Y, bf, uc)
    base = (time.perf_counter() - t0) / k * G * G
    print(f"latching {G}x{G}, Keras-2 LSTM (hard sigmoid, as latching-landscape), loss + {what}: dynlatch "
          f"{ours:.1f} s (CPU {ours_cpu:.1f} s); per-point autograd of dynlatch's torch cell {base:.0f} s "
          f"(extrapolated from {k} points): {base / ours:.0f}x")
    return 0


def keras_point(model: "dynlatch.Model", x: torch.Tensor, y: torch.Tensor, b_f: float, u_c: float) -> float:
    """Loss and backward() of one (b_f, U_c) point through the reference (torch) cell."""
    bf = torch.tensor([[b_f]], dtype=torch.float64, requires_grad=True)
    uc = torch.tensor([[[u_c]]], dtype=torch.float64, requires_grad=True)
    point = dynlatch.Model(model.cell.with_params(b_f=bf, U_c=uc), model.weight, model.bias, None, model.readout)
    loss = point.losses(x, y)[0].sum()
    loss.backward()
    return float(loss.detach())


if __name__ == "__main__":
    raise SystemExit(main())
