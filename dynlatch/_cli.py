"""The ``dynlatch`` command: list and run the analyses in ``analyses/`` and the benchmarks in ``benchmarks/``.

    dynlatch list
    dynlatch run NAME [--quick] [--out DIR] [--seed S] [analysis flags]
    dynlatch bench NAME [flags]
    dynlatch derive CELL [--what W] [--format F] [--at WEIGHTS]  (symbolic derivations; --help for flags)
    dynlatch fixed-points --weights FILE [--x X] [--json]
    dynlatch paper [--results DIR] [--run quick|full] [--dest DIR]  (the paper's numbers and figures; --help)

``NAME`` is a script's module name with ``-`` for ``_`` (``latching-sweep`` runs ``analyses/latching_sweep.py``).
Scripts are found by import: the wheel installs ``analyses/`` and ``benchmarks/`` as the packages
``dynlatch._analyses`` and ``dynlatch._benchmarks`` (``package-dir`` in pyproject.toml); run from a checkout (its root
on ``sys.path``) they are that checkout's top-level packages ``analyses`` and ``benchmarks``.
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

from .scripting import EXIT_USAGE

USAGE = ("usage: dynlatch {list | run NAME [flags] | bench NAME [flags] | derive CELL [flags] | "
         "fixed-points --weights FILE | paper [flags]}  (dynlatch run NAME --help for flags)")
PACKAGES = {"analyses": ("dynlatch._analyses", "analyses"), "benchmarks": ("dynlatch._benchmarks", "benchmarks")}


def script_package(folder: str) -> ModuleType | None:
    """The package holding the ``folder`` scripts (``analyses`` or ``benchmarks``).

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


def _run_script(folder: str, name: str, argv: list[str]) -> int:
    available = scripts(folder)
    if name not in available:
        known = ", ".join(available) or f"none (no {folder} package found)"
        what = {"analyses": "analysis", "benchmarks": "benchmark"}[folder]
        print(f"dynlatch: error: unknown {what} {name!r}; known: {known}", file=sys.stderr)
        return EXIT_USAGE
    module = importlib.import_module(available[name])
    return int(module.main(argv) or 0)


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
        for folder, verb in (("analyses", "run"), ("benchmarks", "bench")):
            for name, module in scripts(folder).items():
                print(f"{verb:5} {name:24} {summary_line(module)}")
        return 0
    if command == "derive":
        from .symbolic._cli import main as derive_main

        return derive_main(rest)
    if command == "fixed-points":
        from .dynamics._cli import main as fixed_points_main

        return fixed_points_main(rest)
    if command == "paper":
        from ._paper import main as paper_main

        return paper_main(rest)
    if command in ("run", "bench"):
        if not rest or rest[0].startswith("-"):
            print(f"dynlatch: error: '{command}' needs a NAME; see 'dynlatch list'", file=sys.stderr)
            return EXIT_USAGE
        return _run_script("analyses" if command == "run" else "benchmarks", rest[0], rest[1:])
    print(f"dynlatch: error: unknown command {command!r}; {USAGE}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
