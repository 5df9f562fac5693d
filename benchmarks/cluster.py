"""The latching sweep through a Dask cluster on this machine against the same sweep run locally: same bytes, and the time.

``make cluster-demo`` runs this. It starts a local cluster (a ``dask scheduler`` and ``--workers`` ``dask worker``
processes, separate processes on 127.0.0.1 with ports the system picks; :mod:`dynlatch.sweep._local_cluster`), runs
``dynlatch run latching-sweep`` with the given sweep flags (default ``--quick``) once with ``--scheduler local`` and
once with ``--scheduler tcp://...`` into two fresh folders, and checks that the two runs agree: ``runs.csv``
byte for byte, every array of ``weights.npz``, the summary's numbers (all but its timings and provenance). The cluster
is shut down whatever happens. Exit code 0 if the runs agree, 1 if not.

Timing: a tiny warm-up sweep first, here and on the cluster (the workers import dynlatch and compile or load the numba
kernels), then the local run, then the cluster run; wall clock of each (flags, training, figures, files), and their
ratio. Each worker is one process with one thread and ``NUMBA_NUM_THREADS=1`` (one core each); the local run uses the
numba kernels' threads on every core. Nothing is asserted about speed: the times are printed as measured.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from dynlatch._cli import main as dynlatch_main
from dynlatch._checks import integer, out_dir
from dynlatch.scripting import ArgumentParser, checked_flag, write_summary
from dynlatch.sweep._local_cluster import LocalDaskCluster

NAME = "cluster"
PROG = f"dynlatch bench {NAME}"
TIMING_KEYS = ("train_seconds", "compile_seconds", "wall_seconds_this_run")
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_sweep(out: Path, sweep_flags: list[str], scheduler: str) -> float:
    """``dynlatch run latching-sweep`` into a fresh ``out`` on ``scheduler``; its wall-clock seconds.

    Raises:
        RuntimeError: the run failed.
    """
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    code = dynlatch_main(["run", "latching-sweep", *sweep_flags, "--out", str(out), "--scheduler", scheduler])
    seconds = time.perf_counter() - t0
    if code != 0:
        raise RuntimeError(f"the sweep on {scheduler} exited with code {code}")
    return seconds


def summary_numbers(folder: Path) -> dict[str, Any]:
    """``summary.json`` without what differs between two runs of the same settings (timings, provenance)."""
    summary = json.loads((folder / "summary.json").read_text())
    return {k: v for k, v in summary.items() if k not in (*TIMING_KEYS, "provenance")}


def differences(local: Path, cluster: Path) -> list[str]:
    """What differs between the two finished runs (empty: they agree)."""
    found = []
    if (local / "runs.csv").read_bytes() != (cluster / "runs.csv").read_bytes():
        found.append("runs.csv differs")
    with np.load(local / "weights.npz") as a, np.load(cluster / "weights.npz") as b:
        if sorted(a.files) != sorted(b.files) or any(not np.array_equal(a[k], b[k]) for k in a.files):
            found.append("weights.npz differs")
    if summary_numbers(local) != summary_numbers(cluster):
        found.append("summary.json's numbers differ")
    return found


MAX_WORKERS = 64
"""The most worker processes the demo starts (each imports torch and numba: ~0.5 GiB)."""


def parser() -> ArgumentParser:
    """The benchmark's flags."""
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2, help="worker processes (default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("results") / "cluster-demo",
                   help="output folder: OUT/local and OUT/cluster (default: %(default)s)")
    p.add_argument("--sweep", default="--quick",
                   help="flags of dynlatch run latching-sweep, one string (default: %(default)s)")
    return p


def parse(argv: list[str] | None):
    """The checked flags; a bad one ends the program with one line on stderr and exit code 2."""
    p = parser()
    args = p.parse_args(argv)
    checked_flag(p, integer, "--workers", args.workers, minimum=1)
    if args.workers > MAX_WORKERS:
        p.error(f"--workers must be at most {MAX_WORKERS}; got {args.workers}")
    checked_flag(p, out_dir, "--out", args.out)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sweep_flags = [*args.sweep.split(), "--quiet"]
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    t_start = time.perf_counter()
    with LocalDaskCluster(workers=args.workers, worker_env=WORKER_ENV) as cluster:
        say(f"cluster: scheduler {cluster.address}, {args.workers} workers (separate processes)")
        say("warm-up: a tiny sweep here and on the cluster (imports, numba kernels), outside the timings")
        warm_flags = [*sweep_flags, "--lens", "2,3", "--n", "100", "--repeats", "2"]
        run_sweep(args.out / "warm-up", warm_flags, "local")
        run_sweep(args.out / "warm-up", warm_flags, cluster.address)  # a fresh folder: every shard on a worker
        shutil.rmtree(args.out / "warm-up")
        say("local run ...")
        local_s = run_sweep(args.out / "local", sweep_flags, "local")
        say("cluster run ...")
        cluster_s = run_sweep(args.out / "cluster", sweep_flags, cluster.address)
    total_s = time.perf_counter() - t_start
    found = differences(args.out / "local", args.out / "cluster")
    summary = {"sweep_flags": sweep_flags, "workers": args.workers, "worker_env": WORKER_ENV,
               "local_seconds": local_s, "cluster_seconds": cluster_s, "local_over_cluster": local_s / cluster_s,
               "demo_seconds": total_s, "identical": not found, "differences": found, "cpu_count": os.cpu_count()}
    write_summary(summary, args.out)
    print(f"local run {local_s:.1f} s, cluster run ({args.workers} workers) {cluster_s:.1f} s: "
          f"speed-up {local_s / cluster_s:.2f}x on {os.cpu_count()} CPUs; whole demo {total_s:.0f} s")
    if found:
        print(f"the cluster run differs from the local run: {'; '.join(found)}")
        return 1
    print("the cluster run equals the local run: runs.csv byte for byte, weights.npz and summary numbers")
    print(f"results: {args.out / 'local'}, {args.out / 'cluster'}, {args.out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
