"""``dynlatch derive CELL``: print a derivation, or evaluate it at a weight file's parameters.

    dynlatch derive lstm --what jacobian --gate hard_sigmoid --format latex
    dynlatch derive gru --reset-after --units 2 --what fold
    dynlatch derive lstm --what jacobian --at weights.json --state 0.1,0.5 --x 1 --format json

With ``--at`` the variant (gate, reset convention, units, input size) is read from the weight file (anything
:func:`dynlatch.cells.load` reads); for ``bengio`` and ``pascanu``, which have no weight file, ``--at`` takes
``name=value`` pairs (``--at w=1.5`` or ``--at w=5,b=-2.5``) or a JSON object of them. State order is h then c.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._checks import one_line
from ..scripting import EXIT_USAGE, ArgumentParser, fail
from ._derive import DERIVATIONS, derive
from ._functions import GATE_ACTIVATIONS
from ._systems import MAX_UNITS, SYSTEM_KINDS, System, build_system, system_for_cell
from ..cells import WeightFileError, load

PROG = "dynlatch derive"


def _floats(text: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",")]
    except ValueError:
        raise ValueError(f"expected comma-separated numbers; got {text!r}") from None
    if not all(np.isfinite(values)):
        raise ValueError(f"values must be finite; got {text!r}")
    return values


def parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Print a symbolic derivation of a cell, or evaluate it at weights.")
    p.add_argument("cell", choices=SYSTEM_KINDS, help="which system")
    p.add_argument("--what", choices=DERIVATIONS, default="map", help="which derivation (default: %(default)s)")
    p.add_argument("--format", choices=("latex", "text", "json"), default="text", help="output (default: %(default)s)")
    p.add_argument("--gate", choices=GATE_ACTIVATIONS, default="sigmoid", help="gate nonlinearity without --at")
    p.add_argument("--reset-after", action="store_true", help="GRU: reset after the recurrent matmul (PyTorch)")
    p.add_argument("--units", type=int, default=1, help=f"units, 1..{MAX_UNITS} (default: %(default)s)")
    p.add_argument("--at", default=None, help="weights: a .json/.npz weight file (bengio/pascanu: name=value,...)")
    p.add_argument("--state", default=None, help="state h[,c] (comma-separated, h then c; default zeros)")
    p.add_argument("--x", default=None, help="input x_t (comma-separated; default zeros)")
    p.add_argument("--lam", default=None, help="adjoint: lambda_t (comma-separated; default ones)")
    return p


def _scalar_params(system: System, text: str) -> np.ndarray:
    path = Path(text)
    if "=" not in text and path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"--at: cannot read {text}: {e}") from None
        if not isinstance(data, dict):
            raise ValueError(f"--at: {text} must hold a JSON object of named numbers")
    else:
        data = {}
        for item in text.split(","):
            name, eq, value = item.partition("=")
            if not eq:
                raise ValueError(f"--at for {system.kind} takes name=value pairs; got {item!r}")
            data[name.strip()] = value
    names = system.param_names
    unknown = set(data) - set(names)
    if unknown or set(names) - set(data):
        raise ValueError(f"--at for {system.kind} needs exactly {', '.join(names)}; got {', '.join(sorted(data))}")
    try:
        theta = np.array([float(data[n]) for n in names])
    except (TypeError, ValueError):
        raise ValueError(f"--at values must be numbers; got {data}") from None
    if not np.isfinite(theta).all():
        raise ValueError("--at values must be finite")
    return theta


def _vector(flag: str, text: str | None, size: int, default: float) -> np.ndarray:
    if text is None:
        return np.full(size, default)
    values = _floats(text)
    if len(values) != size:
        raise ValueError(f"--{flag} needs {size} values; got {len(values)}")
    return np.array(values)


def _resolve(args: Any) -> tuple[System, np.ndarray | None]:
    if args.cell in ("bengio", "pascanu") and args.units != 1:
        raise ValueError(f"--units: {args.cell} is a one-unit map")
    if args.reset_after and args.cell != "gru":
        raise ValueError("--reset-after applies to gru only")
    if args.at is None:
        for flag in ("state", "x", "lam"):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag} needs --at")
        return build_system(args.cell, gate=args.gate, reset_after=args.reset_after, units=args.units), None
    if args.cell in ("bengio", "pascanu"):
        system = build_system(args.cell)
        return system, _scalar_params(system, args.at)
    try:
        cell = load(args.at, dtype=None)
    except FileNotFoundError:
        raise ValueError(f"--at: no such file {args.at}") from None
    except WeightFileError as e:
        raise ValueError(f"--at: {e}") from None
    if cell.kind != args.cell:
        raise ValueError(f"--at holds a {cell.kind} cell, not {args.cell}")
    if args.units != 1 and args.units != cell.units:
        raise ValueError(f"--units {args.units} contradicts the weight file's {cell.units} units")
    if cell.batched and cell.models > 1:
        raise ValueError(f"--at holds {cell.models} models; evaluate one model per file")
    system = system_for_cell(cell)
    return system, system.param_vector(cell).reshape(-1)


EXIT_NOT_FINITE = 1
"""Exit code of an evaluation whose value overflows float64: an error, never a printed NaN or inf."""


@dataclass(frozen=True)
class Settings:
    """A validated command line: the flags, the system they name and, with --at, the numbers to evaluate at (the
    parameter vector, then the state, the input and, for the adjoint, lambda)."""

    args: argparse.Namespace
    system: System
    groups: list[np.ndarray] | None


def parse(argv: Sequence[str] | None) -> Settings:
    """Parse and check the command line and read --at; a bad flag or file ends the program with one line on stderr
    and exit code 2 (SystemExit)."""
    args = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        system, theta = _resolve(args)
        if theta is None:
            return Settings(args, system, None)
        S, D = len(system.state), len(system.inputs)
        groups = [theta, _vector("state", args.state, S, 0.0), _vector("x", args.x, D, 0.0) if D else np.zeros(0)]
        if args.what == "adjoint":
            groups.append(_vector("lam", args.lam, S, 1.0))
        elif args.lam is not None:
            raise ValueError("--lam applies to --what adjoint only")
    except ValueError as e:
        fail(PROG, str(e))
    return Settings(args, system, groups)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dynlatch derive``; returns the exit code (2 with one line on stderr for bad arguments, 1 where the value
    at the given weights is not finite)."""
    try:
        settings = parse(argv)
    except SystemExit as e:  # --help (0) or a bad flag (2, one line already on stderr)
        return int(e.code or 0)
    args, system, groups = settings.args, settings.system, settings.groups
    try:
        derivation = derive(system, args.what)
    except ValueError as e:
        print(f"{PROG}: error: {one_line(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    if groups is None:
        if args.format == "latex":
            print(derivation.to_latex(), end="")
        elif args.format == "text":
            print(derivation.to_text())
        else:
            print(json.dumps(derivation.to_json(), indent=1))
        return 0
    with np.errstate(all="ignore"):
        value = np.asarray(derivation.lambdify("numpy")(*groups), dtype=np.float64)
    if not np.all(np.isfinite(value)):
        bad = [n for n, v in zip(derivation.entry_names, value.reshape(-1)) if not np.isfinite(v)]
        print(f"{PROG}: error: {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''} is not finite at these "
              "weights and inputs (float64 overflow); no value printed", file=sys.stderr)
        return EXIT_NOT_FINITE
    if args.format == "json":
        record = {"cell": system.kind, "system": system.label, "what": args.what, "value": value.tolist(),
                  "shape": list(value.shape), "entries": derivation.entry_names, "state_order": system.state_names,
                  "params": system.param_names}
        print(json.dumps(record))
    else:
        for name, v in zip(derivation.entry_names, value.reshape(-1)):
            print(f"{name} = {v:.17g}" if args.format == "text" else f"{name} &= {v:.17g} \\\\")
    return 0
