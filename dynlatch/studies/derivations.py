"""Symbolic derivations of every cell and map as LaTeX, with the closed-form checks and the fold curves.

Every cell's map, Jacobians, BPTT adjoint, fixed-point and bifurcation conditions as LaTeX, the closed-form checks
against the reference values (docs/references.md), and the fold curves of Bengio's and Pascanu's maps.

Every derivation of the catalogue (:func:`dynlatch.symbolic.catalogue`: each cell variant, Bengio's and Pascanu's
maps, and the closed forms) is written as ``<stem>.tex``; ``runs.csv`` has one row per file. ``summary.json`` lists
the files and evaluates the closed forms where REFERENCES prints numbers (Bengio's ``xbar``, multiplier and ``h*``
at its four ``w``; Pascanu's cusp). ``fold_curves.pdf/.png`` draws both fold curves from the derived closed forms.
``--scope small`` (the ``--quick`` value) keeps one unit and the sigmoid and Keras-2 hard-sigmoid gates; ``--paper``
also writes the ``.tex`` files to ``paper/generated/`` (relative to the working folder), where the paper build reads
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import _checks
from .._config import Config, option
from ..symbolic import (
    BENGIO_REFERENCE, PAPER_DIR, bengio_fold_curve, bengio_fold_derivation, bengio_table, catalogue_files,
    pascanu_fold_curve, write_tex_files,
)
from ._study import Result, RunContext, Study

FIGURE = "fold_curves"


@dataclass(frozen=True)
class DerivationsConfig(Config):
    """Settings of ``dynlatch run derivations``."""

    scope: str = option("full", help="every cell variant (units 1 and 2, all gate functions) or the one-unit, "
                                     "two-gate subset", choices=("full", "small"), quick="small")
    paper: bool = option(False, help="also write the .tex files to paper/generated/")
    seed: int = option(0, help="seed (derivations are exact; kept for a uniform interface)", check=_checks.seed)


def closed_form_checks() -> dict[str, Any]:
    """The closed forms evaluated where REFERENCES gives numbers, with pass/fail at the printed digits."""
    table = bengio_table()
    for row in table:
        ref = BENGIO_REFERENCE[row["w"]]
        row["reference"] = dict(zip(("xbar", "multiplier", "h_star"), ref))
        row["matches_reference"] = bool(all(round(row[k], 3) == v
                                            for k, v in zip(("xbar", "multiplier", "h_star"), ref)))
    w_of_x, b_of_x = pascanu_fold_curve().lambdify("numpy")(np.array([[0.0]]))[0]
    return {
        "bengio_fold": table,
        "bengio_fold_proved_equal_to_reference_form": bengio_fold_derivation()[2],
        "bengio_all_match": all(r["matches_reference"] for r in table),
        "pascanu_cusp": {"x": 0.0, "w": float(w_of_x), "b": float(b_of_x)},
    }


def fold_curves_figure() -> Figure:
    """Bengio's h*(w) and Pascanu's fold curve in (w, b), both from the derived closed forms."""
    fig = Figure(figsize=(9, 3.6))
    a, b = fig.subplots(1, 2)
    w = np.linspace(1.0, 4.0, 300)
    h_star = bengio_fold_curve().lambdify("numpy")(w[:, None])[:, 0]
    a.plot(w, h_star, color="C0", label=r"$h^*(w)=\sqrt{w(w-1)}-\mathrm{arccosh}\sqrt{w}$")
    a.fill_between(w, 0, h_star, color="C0", alpha=0.15, label="latch survives constant |h| < h*")
    ws = np.array(list(BENGIO_REFERENCE))
    a.plot(ws, [BENGIO_REFERENCE[k][2] for k in ws], "ko", ms=4, label="Bengio et al. 1994 (REFERENCES)")
    a.set(xlabel="recurrent weight w", ylabel="latching threshold h*", title="Bengio: a' = w tanh(a) + h")
    a.legend(fontsize=7, loc="upper left")
    x = np.linspace(-6, 4, 400)
    wb = pascanu_fold_curve().lambdify("numpy")(x[:, None])
    for sel, label in ((x < 0, "fold, x* < 0"), (x >= 0, "fold, x* > 0")):
        b.plot(wb[sel, 0], wb[sel, 1], label=label)
    neg, pos = x < 0, x >= 0
    wg = np.linspace(4.0, 20.0, 200)
    upper = np.interp(wg, wb[neg, 0][::-1], wb[neg, 1][::-1])  # w decreases along x* < 0 as x* grows
    lower = np.interp(wg, wb[pos, 0], wb[pos, 1])
    b.fill_between(wg, lower, upper, color="C2", alpha=0.15, label="bistable (two attractors)")
    b.plot([4], [-2], "k*", ms=8, label="cusp (4, -2)")
    b.set(xlim=(0, 20), ylim=(-20, 5), xlabel="w", ylabel="b", title="Pascanu: x' = w sigmoid(x) + b")
    b.text(0.8, -10, "one attractor", fontsize=8)
    b.legend(fontsize=7, loc="upper right", ncol=2)
    fig.tight_layout()
    return fig


def run(config: DerivationsConfig, context: RunContext) -> Result:
    """Derive the catalogue (writing its ``.tex`` files to ``paper/generated/`` too with ``--paper``); the result
    carries the ``.tex`` files, their rows, the closed-form checks and the figure."""
    files, rows = catalogue_files(quick=config.scope == "small")
    if config.paper:
        write_tex_files(files, PAPER_DIR)
    checks = closed_form_checks()
    summary = {"files": [r["file"] for r in rows], "count": len(rows), "closed_form_checks": checks,
               "figures": [f"{FIGURE}.pdf", f"{FIGURE}.png"]}
    report = [f"{len(rows)} derivations -> {context.out}; Bengio fold matches REFERENCES: {checks['bengio_all_match']}"]
    return Result(summary=summary, tables={"runs": rows}, files=files, figures={FIGURE: fold_curves_figure()},
                  report=report)


SUMMARY_KEYS: dict[str, str] = {
    "files": "the `.tex` files written, one per (system, derivation)",
    "count": "how many derivations were written",
    "closed_form_checks": ("the closed forms checked against the reference values (Bengio's fold x*, multiplier and "
                           "h*(w); Pascanu's fold curve; the LSTM's fixed point and origin eigenvalues) and whether "
                           "each matches"),
    "figures": "the figure files written",
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="derivations", config=DerivationsConfig, run=run, description=__doc__, summary_keys=SUMMARY_KEYS)
