"""A/B timing of this working tree's compiled kernels against a git revision's, interleaved in one process.

The revision's ``dynlatch/`` is exported (``git archive``) into a temporary folder as the package ``dynlatch_base``
and imported next to this tree's ``dynlatch``; each workload then runs A (the revision), B (this tree), A, B, ...
``--rounds`` times (every other pair in the order B, A) after one untimed warm-up each (numba compile or cache
load), and the median of B / A is printed. Interleaving exposes both sides to the same machine load, so the ratio holds on a busy machine where
absolute times do not. Every workload also checks that both sides give the same numbers (bit for bit), so a ratio
is never reported for code that computes something else.

Workloads (those of ``dynlatch bench sweep / evaluate / landscape / dynamics``, at sizes of a few seconds):

* ``train-<cell>``: one epoch of 30 one-unit Keras-2 models on latching, T = 50, N = 10000 (the sweep's kernel);
* ``evaluate-lstm``: loss and every gradient of 400 one-unit LSTMs, T = 20, N = 500 (``bench evaluate``);
* ``surface-<cell>``: forward-mode gradients of two parameters on 1024 one-unit models, T = 20, N = 500 (the
  landscape surfaces' kernel; the LSTM through its specialised one-unit kernel);
* ``fixed-points-<cell>``: every certified fixed point (and 2-cycle, but for the LSTM) of 20000 one-unit cells
  (``bench dynamics``);
* ``cycles-lstm-<gate>``: the certified 2-cycle box search on 300 one-unit LSTMs (sigmoid and hard-sigmoid gates);
* ``roots-sampled``: the sampling root finder on 2000 user-written maps tanh(a + u h) + e tanh(h) - h with kinks;
* ``branches-<cell>``: fixed-point and 2-cycle branches with located bifurcations of a one-unit SRNN (over U) and
  a hard-sigmoid LSTM (over U_c).

Usage: ``dynlatch bench ab [--base REF] [--rounds K] [--only NAME ...]`` (from a git checkout).
"""

from __future__ import annotations

import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from dynlatch._checks import integer
from dynlatch.scripting import ArgumentParser, checked_flag

ROOT = Path(__file__).resolve().parent.parent
BASE_NAME = "dynlatch_base"
CELLS = ("srnn", "lstm", "gru")


def export_base(ref: str, into: Path) -> None:
    """Write revision ``ref``'s ``dynlatch/`` package to ``into / BASE_NAME``."""
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref, "dynlatch"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    (into / "dynlatch").rename(into / BASE_NAME)


def workloads(pkg: Any) -> dict[str, Callable[[], np.ndarray]]:
    """Name -> a function running the workload with package ``pkg`` and returning its numbers."""
    data = pkg.tasks.latching(length=50, n=10000, noise=0.1, seed=0)
    short = pkg.tasks.latching(length=20, n=500, noise=0.1, seed=1)
    out: dict[str, Callable[[], np.ndarray]] = {}

    def train(cell: str, units: int = 1) -> np.ndarray:
        model = pkg.Model.init(cell, seeds=list(range(30)), units=units, init="keras2", dtype=torch.float64)
        r = pkg.train(model, data, epochs=1, backend="numba")
        return np.asarray(r.history["val_loss"])

    def random_model(cell: str, models: int, gate: str) -> Any:
        return pkg.Model.init(cell, seeds=list(range(models)), init="torch", recurrent_activation=gate,
                              dtype=torch.float64)

    for cell in CELLS:
        out[f"train-{cell}"] = lambda cell=cell: train(cell)
    out["train-lstm-2-units"] = lambda: train("lstm", 2)  # the generic kernels (n > 1)
    lstm = random_model("lstm", 400, "sigmoid")
    out["evaluate-lstm"] = lambda: pkg.evaluate(lstm, short.x_train, short.y_train, grad=True,
                                                backend="numba").loss
    wrt = {"srnn": ["U", "b"], "lstm": ["U_f", "U_c"], "gru": ["U_z", "U_h"]}
    for cell in CELLS:
        m = random_model(cell, 1024, "hard_sigmoid")
        out[f"surface-{cell}"] = lambda m=m, w=wrt[cell]: np.concatenate(
            [np.ravel(v) for v in pkg.evaluate(m, short.x_train, short.y_train, wrt=w, backend="numba").grads.values()])
    rng = np.random.default_rng(0)
    for cell in CELLS:
        cls = pkg.cells.cell_class(cell)
        G, rows = cls.n_gates, cls.rows_for({})
        c = cls(rng.normal(0, 2, (20000, 1, G)), rng.normal(0, 2, (20000, 1, G)), rng.normal(0, 2, (20000, rows, G)),
                batched=True, recurrent_activation="sigmoid", dtype=torch.float64)
        periods = (1,) if cell == "lstm" else (1, 2)  # the LSTM's 2-cycles: a box search, not this benchmark's
        out[f"fixed-points-{cell}"] = lambda c=c, periods=periods: np.sort(
            pkg.dynamics.fixed_points(c, as_table=True, periods=periods)["state"][:, 0])
    for gate in ("sigmoid", "hard_sigmoid"):
        lstm_cells = pkg.cells.cell_class("lstm")(
            rng.normal(0, 2, (300, 1, 4)), rng.normal(0, 3, (300, 1, 4)), rng.normal(0, 2, (300, 1, 4)),
            batched=True, recurrent_activation=gate, dtype=torch.float64)
        out[f"cycles-lstm-{gate}"] = lambda c=lstm_cells: _cycle_numbers(
            pkg.dynamics.lstm_cycle_search(c, torch.full((300, 1, 1), 0.3, dtype=torch.float64)))
    a = torch.as_tensor(rng.normal(0, 1, (2000, 1)))
    u = torch.as_tensor(rng.normal(0, 2, (2000, 1)))
    e = torch.as_tensor(rng.normal(0, 1, (2000, 1)))
    kinks = np.where(rng.random((2000, 1)) < 0.5, rng.uniform(-1, 1, (2000, 1)), np.nan)
    out["roots-sampled"] = lambda: _root_numbers(pkg.dynamics._roots.find_roots(
        lambda h: torch.tanh(a + u * h) + e * torch.tanh(h) - h + 0.1 * torch.relu(h - 0.2), 2000, lo=-3.0, hi=3.0,
        kinks=kinks, grid=257))
    srnn_cell = pkg.cells.cell_class("srnn")(np.array([[1.0]]), np.array([[1.0]]), np.array([[0.1]]),
                                             recurrent_activation="sigmoid", dtype=torch.float64)
    lstm_cell = pkg.cells.cell_class("lstm")(np.array([[1.0, 1.0, 1.0, 1.0]]), np.array([[0.5, 2.0, 3.0, 1.0]]),
                                             np.array([[0.2, 1.0, 0.0, 0.5]]), recurrent_activation="hard_sigmoid",
                                             dtype=torch.float64)
    out["branches-srnn"] = lambda: _branch_numbers(
        pkg.dynamics.branches(srnn_cell, "U", np.linspace(-3, 3, 41), x=0.3))
    out["branches-lstm"] = lambda: _branch_numbers(
        pkg.dynamics.branches(lstm_cell, "U_c", np.linspace(-6, 6, 41), x=0.3, max_values=300))
    return out


def _cycle_numbers(r: Any) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in (
        r.model, r.h1, r.h2, r.c1, r.c2, r.certified, r.multiplicity, r.residual, r.box_model, r.box, r.complete,
        r.boxes_evaluated)])


def _root_numbers(r: Any) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in (
        r.model, r.value, r.multiplicity, r.continuum_model, r.continuum_lo, r.continuum_hi)])


def _branch_numbers(b: Any) -> np.ndarray:
    parts = [np.asarray(b.values, dtype=np.float64), np.asarray(b.rows["h"], dtype=np.float64)]
    parts += [np.array([ev["value"], *ev.get("state", [])], dtype=np.float64) for ev in b.events]
    return np.concatenate(parts)


def timed(fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def parser() -> ArgumentParser:
    """The benchmark's flags."""
    p = ArgumentParser(prog="dynlatch bench ab", description=__doc__.splitlines()[0])
    p.add_argument("--base", default="HEAD", help="git revision to compare against (default HEAD)")
    p.add_argument("--rounds", type=int, default=5, help="timed A/B pairs per workload (default 5)")
    p.add_argument("--only", nargs="*", default=None, help="workload names to run (default all)")
    return p


def parse(argv: list[str] | None):
    """The checked flags; a bad one ends the program with one line on stderr and exit code 2."""
    p = parser()
    args = p.parse_args(argv)
    checked_flag(p, integer, "--rounds", args.rounds, minimum=1)
    if not is_revision(args.base):
        p.error(f"--base: {args.base!r} is not a git revision of {ROOT} (run from a git checkout)")
    return args


def is_revision(text: str) -> bool:
    """Whether ``text`` names a commit of the checkout this file is in (no option, no NUL byte)."""
    if not text or text.startswith("-") or "\0" in text:
        return False
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", "--end-of-options",
                           f"{text}^{{commit}}"], capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        export_base(args.base, Path(tmp))
        sys.path.insert(0, tmp)
        base = importlib.import_module(BASE_NAME)
        import dynlatch as this

        wa, wb = workloads(base), workloads(this)
        names = [n for n in wa if args.only is None or n in args.only]
        print(f"A = {args.base}, B = working tree; median of {args.rounds} interleaved pairs; load "
              f"{Path('/proc/loadavg').read_text().split()[0] if Path('/proc/loadavg').exists() else '?'}")
        print(f"{'workload':22} {'A (s)':>9} {'B (s)':>9} {'B / A':>7}  same numbers")
        for name in names:
            timed(wa[name])
            timed(wb[name])
            ta, tb, same = [], [], True
            for k in range(args.rounds):
                if k % 2 == 0:
                    sa, va = timed(wa[name])
                    sb, vb = timed(wb[name])
                else:  # B first: an order effect (the second run of a pair finding warm or cold caches) cancels
                    sb, vb = timed(wb[name])
                    sa, va = timed(wa[name])
                ta.append(sa)
                tb.append(sb)
                same &= np.array_equal(va, vb, equal_nan=True)
            ratio = statistics.median(b / a for a, b in zip(ta, tb))
            print(f"{name:22} {statistics.median(ta):9.3f} {statistics.median(tb):9.3f} {ratio:7.3f}  "
                  f"{'yes' if same else 'NO'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
