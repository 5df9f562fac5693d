r"""The fixed-point census behind ``dynlatch run fixed-point-census``: the attractor structure at zero input of the
latching sweep's models before and after training, and the Jacobian at the start state h = c = 0.

A one-unit cell can latch the sign of its first input only if its zero-input map holds two states apart
(Bengio, Simard & Frasconi 1994): two stable fixed points, a stable 2-cycle (the sign kept modulo parity), or a
continuum of fixed points (an integrator). Every sweep model starts at h = c = 0; the largest |eigenvalue| of the
Jacobian there says how far the map is from the bifurcation (|lambda| = 1) that creates such a pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .. import _checks
from .._config import Config, option
from ._fixed_points import fixed_points
from ._jacobian import jacobian
from ._maps import as_map

STRUCTURES = ("bistable", "stable 2-cycle", "continuum", "monostable", "no stable state")
"""The census classes, in order of precedence; the first three hold two states apart."""
LATCHING_STRUCTURES = STRUCTURES[:3]


def rank_auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    r"""Area under the ROC curve of a score separating ``positive`` from ``negative`` (Mann--Whitney):

    .. math:: \mathrm{AUC} = \frac{1}{n_+ n_-} \sum_{i, j} \big([p_i > q_j] + \tfrac12 [p_i = q_j]\big)

    computed from mid-ranks, so ties count 1/2. 1: every positive scores higher; 0.5: no information.

    Returns:
        The AUC, or NaN if either group is empty.

    Raises:
        ValueError: for NaN scores.
    """
    from scipy.stats import rankdata

    p = np.asarray(positive, dtype=np.float64).ravel()
    q = np.asarray(negative, dtype=np.float64).ravel()
    if np.isnan(p).any() or np.isnan(q).any():
        raise ValueError("rank_auc: scores must not be NaN")
    if p.size == 0 or q.size == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([p, q]))  # mid-ranks: ties share the mean rank
    u = ranks[: p.size].sum() - p.size * (p.size + 1) / 2
    return float(u / (p.size * q.size))


def classify_structure(points: dict[str, np.ndarray], models: int) -> list[dict[str, Any]]:
    """Per model, from a :func:`fixed_points` table: fixed points, stable fixed points, stable 2-cycles, whether
    there is a continuum, the structure (:data:`STRUCTURES`) and whether it holds two states apart."""
    out = []
    for k in range(models):
        mine = points["model"] == k
        period, kind, stable = points["period"][mine], points["kind"][mine], points["stable"][mine]
        orbit = points["orbit"][mine]
        n_fixed = int(np.sum(period == 1))
        n_stable = int(np.sum((period == 1) & stable & (kind == "point")))
        n_cycles = len(set(orbit[(period == 2) & stable].tolist()))
        continuum = bool(np.any(kind == "continuum"))
        if n_stable >= 2:
            structure = "bistable"
        elif n_cycles >= 1:
            structure = "stable 2-cycle"
        elif continuum:
            structure = "continuum"
        elif n_stable == 1:
            structure = "monostable"
        else:
            structure = "no stable state"
        out.append({"n_fixed_points": n_fixed, "n_stable_fixed_points": n_stable, "n_stable_2cycles": n_cycles,
                    "continuum": continuum, "structure": structure,
                    "two_stable_states": structure in LATCHING_STRUCTURES,
                    "guaranteed_complete": bool(np.all(points["guaranteed_complete"][mine]))})
    return out


def census_of_cell(cell: Any) -> list[dict[str, Any]]:
    """The census of every model of a (batched) cell at zero input: :func:`classify_structure` plus the largest and
    smallest |eigenvalue| of the Jacobian at the origin (h = c = 0, x = 0)."""
    cell = cell.to(torch.float64)
    m = as_map(cell)
    table = fixed_points(cell, x=0.0, periods=(1, 2), as_table=True)
    rows = classify_structure(table, m.models)
    J = jacobian(cell, torch.zeros(m.state_dim, dtype=torch.float64), 0.0).cpu().numpy()
    eig = np.abs(np.linalg.eigvals(J))
    for k, r in enumerate(rows):
        r["origin_max_abs_eig"] = float(eig[k].max())
        r["origin_min_abs_eig"] = float(eig[k].min())
    return rows


def _lengths(name: str, values: Sequence[int]) -> tuple[int, ...]:
    return tuple(_checks.integer(name, v, minimum=2) for v in _checks.distinct(name, values))


def _kinds(name: str, values: Sequence[str]) -> tuple[str, ...]:
    from ..cells import kinds

    return tuple(_checks.choice(name, v, tuple(kinds())) for v in _checks.distinct(name, values))


@dataclass(frozen=True)
class FixedPointCensusConfig(Config):
    """Settings of ``dynlatch run fixed-point-census``. The sweep settings (lengths, repeats, n, seed) are used only
    when ``--sweep`` holds no finished sweep and a small one is run into ``OUT/sweep``."""

    sweep: str = option("results/latching-sweep", help="folder of a finished latching sweep to analyse")
    cells: tuple[str, ...] = option(("srnn", "lstm", "gru"), help="cells to analyse (and train, if no sweep)",
                                    check=_kinds)
    lengths: tuple[int, ...] = option((5, 20, 50, 100), flag="--lens", check=_lengths, quick=(5, 20, 50),
                                      help="lengths T of the sweep run when --sweep has none")
    repeats: int = option(30, help="models per (cell, T) of the sweep run when --sweep has none",
                          check=lambda k, v: _checks.integer(k, v, minimum=1), quick=8)
    n: int = option(10000, help="sequences per data set of the sweep run when --sweep has none",
                    check=lambda k, v: _checks.integer(k, v, minimum=20), quick=2000)
    seed: int = option(0, help="base seed of the sweep run when --sweep has none", check=_checks.seed)

    def sweep_config(self):
        """The :class:`~dynlatch.sweep.SweepConfig` of the sweep run when ``--sweep`` holds none."""
        from ..studies.latching_sweep import SweepConfig

        return SweepConfig(cells=self.cells, lengths=self.lengths, repeats=self.repeats, n=self.n, seed=self.seed)


def fixed_point_census(results: Any, *, cells: Sequence[str]) -> list[dict[str, Any]]:
    """One tidy row per (model, stage) of a read sweep (:class:`~dynlatch.sweep.SweepResults`): its run (cell, T,
    repeat, seed, val_acc, succeeded), stage ``initial`` / ``final`` and :func:`census_of_cell`'s columns."""
    rows = []
    for cell in cells:
        for T in sorted({r["T"] for r in results.rows if r["cell"] == cell}):
            for stage in ("initial", "final"):
                runs, model = results.models(cell, T=T, stage=stage)
                if model is None:
                    continue
                success = set(results.select(cell, T=T, succeeded=True))
                ids = results.select(cell, T=T)
                for i, run, c in zip(ids, runs, census_of_cell(model.cell)):
                    rows.append({"cell": cell, "T": int(T), "repeat": int(run["repeat"]), "seed": int(run["seed"]),
                                 "stage": stage, "val_acc": float(run["val_acc"]), "succeeded": i in success, **c})
    return rows


def summarise_census(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per (cell, T, stage, succeeded): models, how many hold two stable states (and each structure), the median
    largest |eigenvalue| at the origin; per cell (and per (cell, T)) the rank AUC of the initial model's largest
    |eigenvalue| at the origin as a predictor of success (> 0.5: larger eigenvalues succeed more)."""
    groups = []
    order = {c: i for i, c in enumerate(dict.fromkeys(r["cell"] for r in rows))}
    keys = sorted({(r["cell"], r["T"], r["stage"], r["succeeded"]) for r in rows},
                  key=lambda k: (order[k[0]], k[1], k[2] != "initial", k[3]))
    for cell, T, stage, ok in keys:
        mine = [r for r in rows if (r["cell"], r["T"], r["stage"], r["succeeded"]) == (cell, T, stage, ok)]
        n2 = sum(r["two_stable_states"] for r in mine)
        groups.append({"cell": cell, "T": T, "stage": stage, "succeeded": ok, "models": len(mine),
                       "two_stable_states": n2, "fraction_two_stable_states": n2 / len(mine),
                       "structures": {s: sum(r["structure"] == s for r in mine) for s in STRUCTURES},
                       "median_origin_max_abs_eig": float(np.median([r["origin_max_abs_eig"] for r in mine]))})
    auc: dict[str, Any] = {}
    for cell in dict.fromkeys(r["cell"] for r in rows):
        init = [r for r in rows if r["cell"] == cell and r["stage"] == "initial"]

        def one(sel: list[dict[str, Any]]) -> dict[str, Any]:
            pos = [r["origin_max_abs_eig"] for r in sel if r["succeeded"]]
            neg = [r["origin_max_abs_eig"] for r in sel if not r["succeeded"]]
            return {"auc": rank_auc(pos, neg), "succeeded": len(pos), "failed": len(neg)}

        auc[cell] = {**one(init), "by_T": {str(T): one([r for r in init if r["T"] == T])
                                           for T in sorted({r["T"] for r in init})}}
    return {"groups": groups, "origin_eig_auc_initial": auc}


def load_or_run_sweep(config: FixedPointCensusConfig, out: Path, *,
                      progress: bool = True) -> tuple[Any, str, str | None]:
    """The sweep at ``config.sweep`` if it is finished, else a small one (:meth:`FixedPointCensusConfig.sweep_config`)
    run (or resumed) into ``out/sweep``.

    Returns:
        (results, the folder they came from, why ``config.sweep`` was not used or None).

    Raises:
        dynlatch.sweep.SweepSettingsError, dynlatch.sweep.SweepLockedError: from the sweep run into ``out/sweep``.
    """
    from .. import sweep as sw
    from ..scripting import write_csv
    from ..studies import latching_sweep
    from ..studies._runner import write_file

    try:
        return sw.read_sweep(config.sweep), str(config.sweep), None
    except ValueError as e:
        reason = str(e)
    folder = Path(out) / "sweep"
    sc = config.sweep_config()
    with sw.lock_folder(folder):
        rows = latching_sweep.run_success_sweep(sc, folder, progress=progress)
        write_csv(rows, folder / "runs.csv")
        write_file(folder / sw.WEIGHTS_FILE, latching_sweep.weights_writer(sc, folder))
    return sw.read_sweep(folder), str(folder), reason
