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

No timing is asserted anywhere; the numbers are measurements, reported as measured.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from dynlatch import GATE_ACTIVATIONS, GRU, LSTM, SRNN
from dynlatch import dynamics as dy
from dynlatch.dynamics._slow_points import slow_point_table
from dynlatch.scripting import ArgumentParser

PROG = "dynlatch bench dynamics"
KINDS = {"srnn": SRNN, "gru": GRU, "lstm": LSTM}


def random_cells(cls, models: int, seed: int, gate: str = "sigmoid"):
    rng = np.random.default_rng(seed)
    G = cls.n_gates
    return cls(rng.normal(0, 2, (models, 1, G)), rng.normal(0, 2, (models, 1, G)), rng.normal(0, 2, (models, 1, G)),
               batched=True, recurrent_activation=gate, **({"reset_after": False} if cls is GRU else {}))


def parse(argv):
    p = ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=100_000, help="cells per kind (default: %(default)s)")
    p.add_argument("--baseline-models", type=int, default=200, help="cells the baseline runs on (default: %(default)s)")
    p.add_argument("--starts", type=int, default=64, help="baseline starts per model (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gate", choices=GATE_ACTIVATIONS, default="sigmoid", help="gate function (default: %(default)s)")
    args = p.parse_args(argv)
    if args.models < 1 or args.baseline_models < 1 or args.starts < 1:
        p.error("--models, --baseline-models and --starts must be >= 1")
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
