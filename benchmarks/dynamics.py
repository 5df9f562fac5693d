"""Speed of the guaranteed one-unit fixed-point finder versus FixedPointFinder-style minimisation of q.

For each cell kind, ``--models`` one-unit cells with weights drawn N(0, 2^2) (Keras layout, seed fixed, gate function
``--gate``) at x = 0:

* **dynlatch**: ``dynamics.fixed_points(cell, periods=(1,))`` (all fixed points, certified by subdivision to the
  stated tolerance), and with 2-cycles (``periods=(1, 2)``; for the LSTM, whose 2-D cycle search is slower, on the
  first 1000 cells), wall clock and CPU time of the process (all threads; on a shared machine the CPU time is the
  steadier number).
* **baseline**: minimisation of q = 1/2 ||F(s) - s||^2 from 64 uniform starts per model (the method of Golub's
  FixedPointFinder; here batched Levenberg-Marquardt, :func:`dynlatch.dynamics._slow_points.slow_point_table`) on the
  first ``--baseline-models`` cells, extrapolated linearly to ``--models``; and how many of the guaranteed finder's
  fixed points it misses on that sample (no point within 1e-6).

* **LSTM 2-cycles** (first 1000 cells): the certified interval search
  (:func:`dynlatch.dynamics._lstm_cycles.lstm_cycle_search`) versus the grid method it replaced (a 129 x 129 grid
  with a corner-spread exclusion heuristic + 2-D Newton, not certified; kept here as :func:`grid_two_cycles`), wall
  and CPU time (``time.process_time``: the machine may be shared), cycles found by each, and models the certified
  search left incomplete.

No timing is asserted anywhere; the numbers are measurements, reported as measured.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from dynlatch import GATE_ACTIVATIONS, GRU, LSTM, SRNN
from dynlatch import dynamics as dy
from dynlatch.dynamics._lstm_cycles import cycle_residual, lstm_cycle_search
from dynlatch.dynamics._slow_points import slow_point_table
from dynlatch._checks import fits_in_memory, integer, seed as check_seed
from dynlatch.scripting import ArgumentParser, checked_flag

PROG = "dynlatch bench dynamics"
KINDS = {"srnn": SRNN, "gru": GRU, "lstm": LSTM}


def random_cells(cls, models: int, seed: int, gate: str = "sigmoid"):
    rng = np.random.default_rng(seed)
    G = cls.n_gates
    return cls(rng.normal(0, 2, (models, 1, G)), rng.normal(0, 2, (models, 1, G)), rng.normal(0, 2, (models, 1, G)),
               batched=True, recurrent_activation=gate, **({"reset_after": False} if cls is GRU else {}))


BASELINE_GRID = 129
"""Points per axis of the replaced 2-cycle method's mesh."""
VALUES_PER_MODEL = 128
"""float64 values held per cell at the peak of the fixed-point and 2-cycle search (about 100 measured with
tracemalloc for SRNN, GRU and LSTM cells; rounded up)."""


def grid_two_cycles(cell, x, *, grid: int = BASELINE_GRID, iterations: int = 40, tol: float = 1e-12):
    """The replaced LSTM 2-cycle method (the baseline): corner-spread exclusion on a grid x grid mesh of [-1, 1]^2,
    then 2-D Newton (autograd Jacobian) from every surviving mesh cell; (model, h1, h2) with h1 < h2."""
    M = cell.models
    axis = torch.linspace(-1.0, 1.0, grid, dtype=torch.float64)
    A, B = torch.meshgrid(axis, axis, indexing="ij")
    with torch.no_grad():
        ra, rb, _, _ = cycle_residual(cell, x, A.reshape(1, -1).expand(M, -1), B.reshape(1, -1).expand(M, -1))
    keep = torch.ones(M, grid - 1, grid - 1, dtype=torch.bool)
    for r in (ra.reshape(M, grid, grid), rb.reshape(M, grid, grid)):
        corners = torch.stack([r[:, :-1, :-1], r[:, 1:, :-1], r[:, :-1, 1:], r[:, 1:, 1:]], -1)
        finite = torch.isfinite(corners).all(-1)
        lo, hi = corners.amin(-1), corners.amax(-1)
        spread = hi - lo
        excluded = finite & (((lo > 0) & (lo > spread)) | ((hi < 0) & (-hi > spread)))
        excluded |= torch.isnan(corners).all(-1)
        keep &= ~excluded
    keep &= ~torch.eye(grid - 1, dtype=torch.bool)
    m_idx, i_idx, j_idx = torch.nonzero(keep, as_tuple=True)
    if m_idx.numel() == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    step = 2.0 / (grid - 1)
    sub = cell[m_idx.tolist()]
    xs = x[m_idx]
    z1 = (-1.0 + (i_idx.double() + 0.5) * step)[:, None].clone()
    z2 = (-1.0 + (j_idx.double() + 0.5) * step)[:, None].clone()
    for _ in range(iterations):
        z1.requires_grad_(True)
        z2.requires_grad_(True)
        ra, rb, _, _ = cycle_residual(sub, xs, z1, z2)
        ga1, ga2 = torch.autograd.grad(ra.sum(), (z1, z2), retain_graph=True)
        gb1, gb2 = torch.autograd.grad(rb.sum(), (z1, z2))
        det = ga1 * gb2 - ga2 * gb1
        safe = torch.where(det.abs() > 1e-300, det, torch.full_like(det, 1e-300))
        with torch.no_grad():
            z1 = (z1.detach() - (ra * gb2 - rb * ga2) / safe).clamp(-1, 1)
            z2 = (z2.detach() - (rb * ga1 - ra * gb1) / safe).clamp(-1, 1)
    with torch.no_grad():
        ra, rb, _, _ = cycle_residual(sub, xs, z1, z2)
    res = torch.maximum(ra.abs(), rb.abs())[:, 0].numpy()
    a, b = z1[:, 0].numpy(), z2[:, 0].numpy()
    ok = np.isfinite(res) & (res <= tol) & (np.abs(a - b) > 1e-7)
    model, lo, hi = m_idx.numpy()[ok], np.minimum(a, b)[ok], np.maximum(a, b)[ok]
    key = np.unique(np.stack([model, np.round(lo, 8), np.round(hi, 8)], 1), axis=0)
    return key[:, 0].astype(np.int64), key[:, 1], key[:, 2]


def lstm_cycle_line(cell, models: int) -> str:
    """Time the certified 2-cycle search and the grid baseline on the same first ``models`` LSTM cells."""
    sub = cell[list(range(models))] if models < cell.models else cell
    x = torch.zeros(sub.models, 1, sub.input_dim, dtype=torch.float64)
    lstm_cycle_search(sub[[0]], x[:1])  # compile / load the numba cache outside the timing
    w0, c0 = time.perf_counter(), time.process_time()
    mine = lstm_cycle_search(sub, x)
    t_mine, cpu_mine = time.perf_counter() - w0, time.process_time() - c0
    w0, c0 = time.perf_counter(), time.process_time()
    gm, g1, g2 = grid_two_cycles(sub, x)
    t_grid, cpu_grid = time.perf_counter() - w0, time.process_time() - c0
    missed = 0
    for m, a, b in zip(mine.model[mine.certified], mine.h1[mine.certified], mine.h2[mine.certified]):
        sel = gm == m
        if not np.any((np.abs(g1[sel] - a) <= 1e-6) & (np.abs(g2[sel] - b) <= 1e-6)):
            missed += 1
    return (f"lstm 2-cycles, {sub.models} cells: certified search {t_mine:.2f} s wall / {cpu_mine:.2f} s CPU "
            f"({int(mine.certified.sum())} cycles, {int((~mine.complete).sum())} models incomplete); "
            f"grid baseline {t_grid:.2f} s wall / {cpu_grid:.2f} s CPU ({gm.size} cycles, missed {missed}); "
            f"ratio {t_grid / t_mine:.1f}x wall, {cpu_grid / cpu_mine:.1f}x CPU")


def parser() -> ArgumentParser:
    """The benchmark's flags."""
    p = ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=100_000, help="cells per kind (default: %(default)s)")
    p.add_argument("--baseline-models", type=int, default=200, help="cells the baseline runs on (default: %(default)s)")
    p.add_argument("--starts", type=int, default=64, help="baseline starts per model (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kinds", default="srnn,gru,lstm", help="comma-separated kinds for the main table (default: all)")
    p.add_argument("--cycle-models", type=int, default=1000, help="LSTM cells for the 2-cycle line (default: 1000)")
    p.add_argument("--gate", choices=GATE_ACTIVATIONS, default="sigmoid", help="gate function (default: %(default)s)")
    p.add_argument("--diagram-points", type=int, default=512, help="values of the bifurcation diagrams (default: 512)")
    return p


def parse(argv):
    """The checked flags; a bad one ends the program with one line on stderr and exit code 2."""
    p = parser()
    args = p.parse_args(argv)
    for flag in ("--models", "--baseline-models", "--starts", "--cycle-models", "--diagram-points"):
        checked_flag(p, integer, flag, getattr(args, flag[2:].replace("-", "_")), minimum=1)
    checked_flag(p, check_seed, "--seed", args.seed)
    checked_flag(p, fits_in_memory, "--models", VALUES_PER_MODEL * args.models,
                 what="the cells and the fixed-point finder's working arrays", advice="fewer models")
    checked_flag(p, fits_in_memory, "--cycle-models", 3.0 * BASELINE_GRID**2 * args.cycle_models,
                 what="the grid baseline's residual meshes", advice="fewer models")
    kinds = [k for k in args.kinds.split(",") if k]
    if not kinds or not set(kinds) <= set(KINDS):
        p.error(f"--kinds must name some of {', '.join(KINDS)}")
    args.kinds = kinds
    return args


def main(argv=None) -> int:
    args = parse(argv)
    torch.set_num_threads(2)
    for name, cls in KINDS.items():  # compile (or load the compiled kernels) outside the timings
        dy.fixed_points(random_cells(cls, 8, args.seed, args.gate), periods=(1, 2) if name != "lstm" else (1,))
    print(f"gate function: {args.gate}")
    print(f"{'kind':5} {'models':>7} {'fixed pts s (cpu s)':>20} {'+2-cycles s (cpu s; LSTM: 1e3 cells)':>37} "
          f"{'baseline s (extrap.)':>21} {'ratio':>7} {'missed':>14}")
    for name, cls in KINDS.items():
        if name not in args.kinds:
            continue
        cell = random_cells(cls, args.models, args.seed, args.gate)
        t0, c0 = time.perf_counter(), time.process_time()
        table = dy.fixed_points(cell, periods=(1,), as_table=True)
        t_fixed, c_fixed = time.perf_counter() - t0, time.process_time() - c0
        cycle_models = args.models if name != "lstm" else min(args.models, 1000)
        t0, c0 = time.perf_counter(), time.process_time()
        dy.fixed_points(cell[list(range(cycle_models))] if cycle_models < args.models else cell, periods=(1, 2),
                        as_table=True)
        t_cycles, c_cycles = time.perf_counter() - t0, time.process_time() - c0
        nb = min(args.baseline_models, args.models)
        sample = cell[list(range(nb))]
        t0 = time.perf_counter()
        base = slow_point_table(dy.cell_map(sample), periods=(1,), starts=args.starts, seed=args.seed)
        t_base = (time.perf_counter() - t0) * args.models / nb
        pts = table["kind"] == "point"
        total = missed = 0
        for i in np.nonzero(pts & (table["model"] < nb))[0]:
            total += 1
            mine = base["state"][(base["model"] == table["model"][i]) & (base["kind"] == "point")]
            if mine.size == 0 or np.min(np.max(np.abs(mine - table["state"][i]), axis=1)) > 1e-6:
                missed += 1
        fixed_col = f"{t_fixed:.2f} ({c_fixed:.2f})"
        cycle_col = f"{t_cycles:.2f} ({c_cycles:.2f})"
        print(f"{name:5} {args.models:7d} {fixed_col:>20} {cycle_col:>37} {t_base:21.1f} {t_base / t_fixed:7.1f} "
              f"{missed:5d} of {total:5d}", flush=True)
    print(lstm_cycle_line(random_cells(LSTM, args.cycle_models, args.seed, args.gate).to(dtype=torch.float64),
                          args.cycle_models),
          flush=True)
    for line in bifurcation_lines(args.diagram_points):
        print(line, flush=True)
    return 0


def bifurcation_lines(points: int) -> list[str]:
    """Time ``points``-value bifurcation diagrams (fixed points and 2-cycles, folds, flips and border collisions
    located, refinement on): the SimpleRNN over U at b = 0 and the Keras-2 (hard-sigmoid) LSTM over U_c at b_f = 1."""
    srnn = SRNN([[1.0]], [[1.0]], [0.0], dtype=torch.float64)
    lstm = LSTM.init(seed=0, dtype=torch.float64)
    out = []
    for name, cell, parameter, span in (("SRNN", srnn, "U", (-3.0, 3.0)), ("LSTM", lstm, "U_c", (-4.0, 6.0))):
        values = np.linspace(*span, points)
        dy.branches(cell, parameter, values[:8])  # compile outside the timing
        t0, c0 = time.perf_counter(), time.process_time()
        br = dy.branches(cell, parameter, values)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        kinds = sorted({e["kind"] for e in br.events})
        out.append(f"bifurcation diagram, {name} over {parameter} in {span}, {points} values (+ refinement: "
                   f"{len(br.values)}): {wall:.2f} s wall / {cpu:.2f} s CPU, {len(br.events)} events located "
                   f"({', '.join(kinds) or 'none'})")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
