"""Writing every derivation as a LaTeX file, the closed-form checks, and the fold-curve figure (``dynlatch run
derivations``; the paper build calls :func:`write_paper_files`)."""

from __future__ import annotations

from dataclasses import dataclass

from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .. import _atomic, _checks
from .._config import Config, option
from .._activations import GATE_ACTIVATIONS
from ._closed_forms import (BENGIO_REFERENCE, bengio_fold_curve, bengio_fold_derivation, bengio_table,
                            lstm_cell_fixed_point, lstm_origin_eigenvalues, pascanu_fold_curve)
from ._derivation import Derivation
from ._derive import DERIVATIONS, derive, jacobian_product_latex
from ._systems import System, build_system


def catalogue_systems(*, quick: bool = False) -> list[System]:
    """Every system variant: cells x gates x GRU conventions x units (1, 2), then Bengio's and Pascanu's maps.
    ``quick``: one unit, sigmoid and Keras-2 hard sigmoid only."""
    gates = ("sigmoid", "hard_sigmoid") if quick else GATE_ACTIVATIONS
    units = (1,) if quick else (1, 2)
    out = [build_system("srnn", units=n) for n in units]
    out += [build_system("lstm", gate=g, units=n) for n in units for g in gates]
    out += [build_system("gru", gate=g, reset_after=ra, units=n) for n in units for g in gates for ra in (False, True)]
    return out + [build_system("bengio"), build_system("pascanu")]


def catalogue(*, quick: bool = False) -> Iterator[tuple[str, Derivation | str]]:
    """(file stem, derivation or LaTeX text) for every derivation of every system and every closed form."""
    for system in catalogue_systems(quick=quick):
        for what in DERIVATIONS:
            if what == "border-collision" and system.gate not in ("hard_sigmoid", "hard_sigmoid_keras3"):
                continue
            yield f"{system.label}-{what}", derive(system, what)
        yield f"{system.label}-jacobian-product", jacobian_product_latex(system)
    yield "bengio-fold-curve", bengio_fold_curve()
    yield "pascanu-fold-curve", pascanu_fold_curve()
    for gate in (("sigmoid", "hard_sigmoid") if quick else GATE_ACTIVATIONS):
        yield f"lstm-{gate}-n1-cell-fixed-point", lstm_cell_fixed_point(gate=gate)
        yield f"lstm-{gate}-n1-origin-eigenvalues", lstm_origin_eigenvalues(gate=gate)


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (:mod:`dynlatch._atomic`), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _atomic.write_text(path, text)


def write_derivations(out_dir: Path, *, quick: bool = False) -> list[dict[str, Any]]:
    """Write ``<stem>.tex`` for every catalogue entry into ``out_dir``; returns one row per file."""
    rows = []
    for stem, item in catalogue(quick=quick):
        text = item if isinstance(item, str) else item.to_latex()
        path = write_atomic(Path(out_dir) / f"{stem}.tex", text)
        rows.append({"file": path.name, "system": stem.rsplit("-", 1)[0] if isinstance(item, str) else item.system,
                     "derivation": "jacobian-product" if isinstance(item, str) else item.name,
                     "entries": 0 if isinstance(item, str) else len(item.labels), "latex_chars": len(text)})
    return rows


def closed_form_checks() -> dict[str, Any]:
    """The closed forms evaluated where REFERENCES gives numbers, with pass/fail at the printed digits."""
    table = bengio_table()
    for row in table:
        ref = BENGIO_REFERENCE[row["w"]]
        row["reference"] = dict(zip(("xbar", "multiplier", "h_star"), ref))
        row["matches_reference"] = bool(all(round(row[k], 3) == v for k, v in zip(("xbar", "multiplier", "h_star"), ref)))
    w_of_x, b_of_x = pascanu_fold_curve().lambdify("numpy")(np.array([[0.0]]))[0]
    return {
        "bengio_fold": table,
        "bengio_fold_proved_equal_to_reference_form": bengio_fold_derivation()[2],
        "bengio_all_match": all(r["matches_reference"] for r in table),
        "pascanu_cusp": {"x": 0.0, "w": float(w_of_x), "b": float(b_of_x)},
    }


def fold_curves_figure() -> Any:
    """Bengio's h*(w) and Pascanu's fold curve in (w, b), both from the derived closed forms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6))
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


def write_paper_files(dest: Path = Path("paper") / "generated", *, quick: bool = False) -> list[dict[str, Any]]:
    """Write the derivations' ``.tex`` files where the paper build reads them (not committed)."""
    return write_derivations(Path(dest), quick=quick)


@dataclass(frozen=True)
class DerivationsConfig(Config):
    """Settings of ``dynlatch run derivations``."""

    scope: str = option("full", help="every cell variant (units 1 and 2, all gate functions) or the one-unit, "
                                     "two-gate subset", choices=("full", "small"), quick="small")
    paper: bool = option(False, help="also write the .tex files to paper/generated/")
    seed: int = option(0, help="seed (derivations are exact; kept for a uniform interface)", check=_checks.seed)
