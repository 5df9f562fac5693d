"""``dynlatch fixed-points --weights FILE [--x X] [--json]``: every fixed point and 2-cycle of the cell(s) in a
weight file (guaranteed complete for one-unit cells; the optimisation finder otherwise)."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..cells import Cell, WeightFileError, load
from ..scripting import ArgumentParser, fail
from ._fixed_points import FixedPoint, NotCertifiedWarning, fixed_points

PROG = "dynlatch fixed-points"


def parser() -> ArgumentParser:
    """The command's flags (a bad one is one line on stderr, exit 2)."""
    p = ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, required=True, help="weight file (.json or .npz) read by dynlatch.cells.load")
    p.add_argument("--x", type=float, default=0.0, help="constant input on every input unit (default: %(default)s)")
    p.add_argument("--json", action="store_true",
                   help="print JSON: {guaranteed_complete, points} (a list of those for a batched file)")
    return p


def _as_json(fp: FixedPoint) -> dict[str, Any]:
    out = {"state": fp.state.tolist(), "period": fp.period, "orbit": fp.orbit, "kind": fp.kind,
           "eigenvalues": [[float(e.real), float(e.imag)] for e in fp.eigenvalues], "stable": fp.stable,
           "multiplicity": fp.multiplicity, "residual": fp.residual, "guaranteed_complete": fp.guaranteed_complete}
    if fp.extent is not None:
        out["extent"] = [fp.extent[0].tolist(), fp.extent[1].tolist()]
    return out


def _fmt(v: np.ndarray) -> str:
    return "[" + ", ".join(f"{x: .6f}" for x in v) + "]"


def _table(points: list[FixedPoint]) -> str:
    if not points:
        return "  (no fixed points or 2-cycles)"
    lines = [f"  {'period':>6} {'orbit':>5} {'kind':10} {'stable':6} {'mult':>4}  state / eigenvalues"]
    for fp in points:
        eig = ", ".join(f"{e.real:.4g}" + (f"{e.imag:+.4g}i" if abs(e.imag) > 0 else "") for e in fp.eigenvalues)
        extra = f"  extent {_fmt(fp.extent[0])} .. {_fmt(fp.extent[1])}" if fp.extent is not None else ""
        lines.append(f"  {fp.period:6d} {fp.orbit:5d} {fp.kind:10} {str(fp.stable):6} {fp.multiplicity:4d}  "
                     f"{_fmt(fp.state)} / [{eig}]{extra}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Settings:
    """A validated command line: the cell read from --weights, the input --x, and whether to print JSON."""

    cell: Cell
    x: float
    json: bool


def parse(argv: list[str] | None) -> Settings:
    """Parse and check the command line and read the weight file; a bad flag or file ends the program with one line
    on stderr and exit code 2."""
    args = parser().parse_args(argv)
    if not np.isfinite(args.x):
        fail(PROG, f"--x must be finite; got {args.x}")
    try:
        cell = load(args.weights, dtype=torch.float64)
    except (WeightFileError, ValueError, OSError) as e:
        fail(PROG, f"--weights: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    return Settings(cell=cell, x=args.x, json=args.json)


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code (a bad flag or file ends it with one line on stderr, exit code 2)."""
    args = parse(argv)
    cell = args.cell
    with warnings.catch_warnings(record=True) as caught:  # reported per model below, not as a Python warning
        warnings.simplefilter("always", NotCertifiedWarning)
        result = fixed_points(cell, x=args.x)
    uncertified = {int(m) for w in caught if isinstance(w.message, NotCertifiedWarning) for m in w.message.models}
    per_model = result if cell.batched else [result]
    guaranteed = [_guaranteed(cell.units, pts, m not in uncertified) for m, pts in enumerate(per_model)]
    if args.json:
        data = [{"guaranteed_complete": g, "points": [_as_json(fp) for fp in pts]}
                for g, pts in zip(guaranteed, per_model)]
        print(json.dumps(data if cell.batched else data[0]))
        return 0
    print(f"{cell!r} at x = {args.x:g}: fixed points and 2-cycles"
          + ("" if cell.batched else f" ({_completeness(cell.units, guaranteed[0])})"))
    for m, pts in enumerate(per_model):
        if cell.batched:
            print(f"model {m} ({_completeness(cell.units, guaranteed[m])}):")
        print(_table(pts))
    return 0


def _guaranteed(units: int, points: list[FixedPoint], certified: bool) -> bool:
    """Whether a model's list is proved complete: a one-unit cell whose finder certified it (an empty list too)."""
    return units == 1 and certified and all(fp.guaranteed_complete for fp in points)


def _completeness(units: int, guaranteed: bool) -> str:
    """What the list is worth, in words."""
    if units != 1:
        return "optimisation finder, not guaranteed complete"
    if guaranteed:
        return "guaranteed complete"
    return "NOT certified complete: a subdivision ran over its budget or a 2-cycle box stayed unresolved"
