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
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from ._explore_cli import main as explore_main, parse as explore_parse
from ._paper import main as paper_main, parse as paper_parse
from .dynamics._cli import main as fixed_points_main, parse as fixed_points_parse
from .scripting import EXIT_INTERRUPTED, fail, parse_config
from .studies import STUDIES, run_study
from .symbolic._cli import main as derive_main, parse as derive_parse

USAGE = ("usage: dynlatch {list | run NAME [flags] | bench NAME [flags] | derive CELL [flags] | "
         "fixed-points --weights FILE | paper [flags] | explore [--port P]}  (dynlatch run NAME --help for flags)")
PROG = "dynlatch"
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


@dataclass(frozen=True)
class Command:
    """A command line routed to its entry point: ``run(argv)`` does the work and returns the exit code, ``parse(argv)``
    only parses and checks the flags (a settings object, or one line on stderr and SystemExit(2))."""

    run: Callable[[list[str]], int]
    parse: Callable[[list[str]], Any]
    argv: list[str]


def _help(argv: list[str]) -> int:
    print(USAGE)
    print(__doc__.split("\n\n", 2)[-1].strip())
    return 0


def _list(argv: list[str]) -> int:
    for name, study in STUDIES.items():
        print(f"{'run':5} {name:24} {study.headline}")
    for name, module in scripts("benchmarks").items():
        print(f"{'bench':5} {name:24} {summary_line(module)}")
    return 0


def _study(name: str, argv: list[str]) -> Command:
    if name not in STUDIES:
        fail(PROG, f"unknown study {name!r}; known: {', '.join(STUDIES)}")
    study = STUDIES[name]
    return Command(run=partial(run_study, study),
                   parse=partial(parse_config, study.config, study.name, study.description, sharded=study.sharded),
                   argv=argv)


def _benchmark(name: str, argv: list[str]) -> Command:
    available = scripts("benchmarks")
    if name not in available:
        fail(PROG, f"unknown benchmark {name!r}; known: {', '.join(available) or 'none (no benchmarks package found)'}")
    module = importlib.import_module(available[name])
    return Command(run=lambda rest: int(module.main(rest) or 0), parse=module.parse, argv=argv)


def route(argv: list[str]) -> Command:
    """The entry point ``argv`` names, with the arguments left for it; an unknown command or name, or a missing NAME,
    ends the program with one line on stderr and exit code 2 (SystemExit)."""
    if not argv:
        fail(PROG, f"no command; {USAGE}")
    command, rest = argv[0], argv[1:]
    if command in ("-h", "--help"):
        return Command(run=_help, parse=list, argv=rest)
    if command == "list":
        if rest:
            fail(PROG, f"'list' takes no arguments; got {' '.join(rest)!r}")
        return Command(run=_list, parse=list, argv=rest)
    entry_points = {"derive": (derive_main, derive_parse), "fixed-points": (fixed_points_main, fixed_points_parse),
                    "paper": (paper_main, paper_parse), "explore": (explore_main, explore_parse)}
    if command in entry_points:
        run, parse = entry_points[command]
        return Command(run=run, parse=parse, argv=rest)
    if command in ("run", "bench"):
        if not rest or rest[0].startswith("-"):
            fail(PROG, f"'{command}' needs a NAME; see 'dynlatch list'")
        return (_study if command == "run" else _benchmark)(rest[0], rest[1:])
    fail(PROG, f"unknown command {command!r}; {USAGE}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code: 2 with one line on stderr for a
    bad command, 130 with one line on Ctrl-C."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        command = route(argv)
    except SystemExit as e:
        return int(e.code)
    try:
        return command.run(command.argv)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
