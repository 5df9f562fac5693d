"""The ``dynlatch`` command: list and run the analyses in ``analyses/`` and the benchmarks in ``benchmarks/``.

    dynlatch list
    dynlatch run NAME [--quick] [--out DIR] [--seed S] [analysis flags]
    dynlatch bench NAME [flags]
    dynlatch fixed-points --weights FILE [--x X] [--json]

``NAME`` is a script's file name with ``-`` for ``_`` (``latching-sweep`` runs ``analyses/latching_sweep.py``).
Scripts are found in the checkout this package was installed from, or under ``$DYNLATCH_HOME``, or in the current
directory.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from pathlib import Path

from .scripting import EXIT_USAGE

USAGE = "usage: dynlatch {list | run NAME [flags] | bench NAME [flags] | fixed-points --weights FILE}  (dynlatch run NAME --help for flags)"


def _roots() -> list[Path]:
    roots = [Path(os.environ["DYNLATCH_HOME"])] if "DYNLATCH_HOME" in os.environ else []
    return roots + [Path(__file__).resolve().parent.parent, Path.cwd()]


def script_dir(folder: str) -> Path | None:
    """The first ``folder`` (``analyses`` or ``benchmarks``) found under the search roots."""
    for root in _roots():
        if (root / folder).is_dir():
            return root / folder
    return None


def scripts(folder: str) -> dict[str, Path]:
    """Scripts in ``folder`` by command name."""
    d = script_dir(folder)
    if d is None:
        return {}
    return {p.stem.replace("_", "-"): p for p in sorted(d.glob("*.py")) if not p.name.startswith("_")}


def summary_line(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _run_script(folder: str, name: str, argv: list[str]) -> int:
    available = scripts(folder)
    if name not in available:
        known = ", ".join(available) or f"none (no {folder}/ folder found; set DYNLATCH_HOME to the checkout)"
        what = {"analyses": "analysis", "benchmarks": "benchmark"}[folder]
        print(f"dynlatch: error: unknown {what} {name!r}; known: {known}", file=sys.stderr)
        return EXIT_USAGE
    path = available[name]
    spec = importlib.util.spec_from_file_location(f"dynlatch_{folder}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return int(module.main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        print(__doc__.split("\n\n", 2)[-1].strip())
        return 0 if argv else EXIT_USAGE
    command, rest = argv[0], argv[1:]
    if command == "list":
        for folder, verb in (("analyses", "run"), ("benchmarks", "bench")):
            for name, path in scripts(folder).items():
                print(f"{verb:5} {name:24} {summary_line(path)}")
        return 0
    if command == "fixed-points":
        from .dynamics._cli import main as fixed_points_main

        return fixed_points_main(rest)
    if command in ("run", "bench"):
        if not rest or rest[0].startswith("-"):
            print(f"dynlatch: error: '{command}' needs a NAME; see 'dynlatch list'", file=sys.stderr)
            return EXIT_USAGE
        return _run_script("analyses" if command == "run" else "benchmarks", rest[0], rest[1:])
    print(f"dynlatch: error: unknown command {command!r}; {USAGE}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
