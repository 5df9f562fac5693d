"""The catalogue of every derivation as LaTeX: each system variant's derivations and the closed forms, as ``.tex``
texts (:func:`catalogue_files`) or written into a folder (:func:`write_derivations`, :func:`write_paper_files`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Mapping

from .. import _atomic
from .._activations import GATE_ACTIVATIONS
from ._closed_forms import bengio_fold_curve, lstm_cell_fixed_point, lstm_origin_eigenvalues, pascanu_fold_curve
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


def catalogue_files(*, quick: bool = False) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The LaTeX of every catalogue entry by file name (``<stem>.tex``), and one row per file: its name, system,
    derivation, number of entries (0 for a text) and LaTeX length, in catalogue order."""
    files: dict[str, str] = {}
    rows = []
    for stem, item in catalogue(quick=quick):
        text = item if isinstance(item, str) else item.to_latex()
        name = f"{stem}.tex"
        files[name] = text
        rows.append({"file": name, "system": stem.rsplit("-", 1)[0] if isinstance(item, str) else item.system,
                     "derivation": "jacobian-product" if isinstance(item, str) else item.name,
                     "entries": 0 if isinstance(item, str) else len(item.labels), "latex_chars": len(text)})
    return files, rows


def write_tex_files(files: Mapping[str, str], dest: Path) -> list[Path]:
    """Write every ``name -> text`` of ``files`` into ``dest`` (created), each atomically; returns the paths."""
    return [write_atomic(Path(dest) / name, text) for name, text in files.items()]


def write_derivations(out_dir: Path, *, quick: bool = False) -> list[dict[str, Any]]:
    """Write ``<stem>.tex`` for every catalogue entry into ``out_dir``; returns one row per file."""
    files, rows = catalogue_files(quick=quick)
    write_tex_files(files, out_dir)
    return rows


PAPER_DIR = Path("paper") / "generated"
"""Where the paper build reads the derivations' ``.tex`` files (relative to the checkout's root; not committed)."""


def write_paper_files(dest: Path = PAPER_DIR, *, quick: bool = False) -> list[dict[str, Any]]:
    """Write the derivations' ``.tex`` files where the paper build reads them (not committed)."""
    return write_derivations(Path(dest), quick=quick)
