r"""The fixed-point census of a cell's models: the attractor structure at zero input (used on the latching sweep's
models before and after training by ``dynlatch run fixed-point-census``), and the Jacobian at the start state
h = c = 0.

A one-unit cell can latch the sign of its first input only if its zero-input map holds two states apart
(Bengio, Simard & Frasconi 1994): two stable fixed points, a stable 2-cycle (the sign kept modulo parity), or a
continuum of fixed points (an integrator). Every sweep model starts at h = c = 0; the largest |eigenvalue| of the
Jacobian there says how far the map is from the bifurcation (|lambda| = 1) that creates such a pair.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from ._fixed_points import fixed_points
from ._jacobian import jacobian
from ._maps import as_map

STRUCTURES = ("bistable", "stable 2-cycle", "continuum", "monostable", "no stable state")
"""The census classes, in order of precedence; the first three hold two states apart."""
LATCHING_STRUCTURES = STRUCTURES[:3]


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
