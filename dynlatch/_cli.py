"""The ``dynlatch`` command: list and run the studies (:mod:`dynlatch.studies`) and the benchmarks in ``benchmarks/``.

    dynlatch list
    dynlatch run NAME [--quick] [--out DIR] [--seed S] [analysis flags]
    dynlatch bench NAME [flags]
    dynlatch derive CELL [--what W] [--format F] [--at WEIGHTS]  (symbolic derivations; --help for flags)
    dynlatch fixed-points --weights FILE [--x X] [--json]
    dynlatch paper [--results DIR] [--run quick|full] [--dest DIR]  (the paper's numbers and figures; --help)
    dynlatch explore [--port P] [--weights FILE] [--predictor SUMMARY]  (a local web page to drag a cell's parameters)

``dynlatch run NAME`` runs the study ``NAME`` of :data:`dynlatch.studies.STUDIES` (``latching-sweep`` is
:mod:`dynlatch.studies.latching_sweep`; ``analyses/latching_sweep.py`` is the same study's script entry point).
Benchmarks are scripts found by import: the wheel installs ``benchmarks/`` as the package ``dynlatch._benchmarks``
(``package-dir`` in pyproject.toml); run from a checkout (its root on ``sys.path``) they are that checkout's
top-level package ``benchmarks``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.resources
import importlib.util
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from ._explore_cli import main as explore_main
from ._paper import main as paper_main
from .dynamics._cli import main as fixed_points_main
from .scripting import EXIT_USAGE
from .studies import STUDIES, run_study
from .symbolic._cli import main as derive_main

USAGE = ("usage: dynlatch {list | run NAME [flags] | bench NAME [flags] | derive CELL [flags] | "
         "fixed-points --weights FILE | paper [flags] | explore [--port P]}  (dynlatch run NAME --help for flags)")
PACKAGES = {"benchmarks": ("dynlatch._benchmarks", "benchmarks")}


def script_package(folder: str) -> ModuleType | None:
    """The package holding the ``folder`` scripts (``benchmarks``).

    From a checkout whose root is on ``sys.path`` (``dynlatch/`` beside ``analyses/``) that checkout's top-level
    package wins, so a source tree never runs another tree's scripts through an editable install's mapping; otherwise
    the installed ``dynlatch._analyses`` / ``dynlatch._benchmarks``.
    """
    installed, checkout = PACKAGES[folder]
    beside = Path(__file__).resolve().parent.parent / folder
    spec = importlib.util.find_spec(checkout)
    if spec is not None and spec.origin and Path(spec.origin).resolve().parent == beside.resolve():
        return importlib.import_module(checkout)
    try:
        return importlib.import_module(installed)
    except ModuleNotFoundError as e:
        if e.name is None or not installed.startswith(e.name):
            raise  # the package exists but an import inside it failed: show that, not "no scripts"
    return None


def scripts(folder: str) -> dict[str, str]:
    """Module names of the scripts in ``folder`` by command name."""
    package = script_package(folder)
    if package is None:
        return {}
    return {m.name.replace("_", "-"): f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
            if not m.name.startswith("_") and not m.ispkg}


def summary_line(module: str) -> str:
    """The first docstring line of a script module, read without importing it."""
    package, _, name = module.rpartition(".")
    source = importlib.resources.files(package).joinpath(f"{name}.py").read_text()
    doc = ast.get_docstring(ast.parse(source)) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _run_benchmark(name: str, argv: list[str]) -> int:
    available = scripts("benchmarks")
    if name not in available:
        known = ", ".join(available) or "none (no benchmarks package found)"
        print(f"dynlatch: error: unknown benchmark {name!r}; known: {known}", file=sys.stderr)
        return EXIT_USAGE
    module = importlib.import_module(available[name])
    return int(module.main(argv) or 0)


def _run_study(name: str, argv: list[str]) -> int:
    if name not in STUDIES:
        print(f"dynlatch: error: unknown study {name!r}; known: {', '.join(STUDIES)}", file=sys.stderr)
        return EXIT_USAGE
    return run_study(STUDIES[name], argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(f"dynlatch: error: no command; {USAGE}", file=sys.stderr)
        return EXIT_USAGE
    if argv[0] in ("-h", "--help"):
        print(USAGE)
        print(__doc__.split("\n\n", 2)[-1].strip())
        return 0
    command, rest = argv[0], argv[1:]
    if command == "list":
        for name, study in STUDIES.items():
            print(f"{'run':5} {name:24} {study.headline}")
        for name, module in scripts("benchmarks").items():
            print(f"{'bench':5} {name:24} {summary_line(module)}")
        return 0
    if command == "derive":
        return derive_main(rest)
    if command == "fixed-points":
        return fixed_points_main(rest)
    if command == "paper":
        return paper_main(rest)
    if command == "explore":
        return explore_main(rest)
    if command in ("run", "bench"):
        if not rest or rest[0].startswith("-"):
            print(f"dynlatch: error: '{command}' needs a NAME; see 'dynlatch list'", file=sys.stderr)
            return EXIT_USAGE
        return (_run_study if command == "run" else _run_benchmark)(rest[0], rest[1:])
    print(f"dynlatch: error: unknown command {command!r}; {USAGE}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
