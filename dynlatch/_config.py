"""One frozen dataclass per analysis is the single source of its flags, checks and ``summary.json`` config block.

A field becomes a flag by its metadata::

    @dataclass(frozen=True)
    class MyConfig(Config):
        repeats: int = option(30, help="models per (cell, T)", check=positive, quick=8)

:func:`option` takes the default, the help text, optionally the flag name (default ``--`` + field name with ``-``
for ``_``), ``choices``, a ``check(name, value)`` from :mod:`dynlatch._checks` and the ``--quick`` value. The flag's
parser follows the field's type: ``int``, ``float``, ``str``, ``bool`` (a switch), ``tuple[int, ...]`` /
``tuple[str, ...]`` (comma-separated), and ``X | None`` (the word ``none`` gives None). ``Config.__post_init__``
runs every field's check and then :meth:`Config.check_together`, so an impossible config cannot be built; on the
command line the same messages name the flag and end the program with one line on stderr and exit code 2.

Why not a library: no dataclass-to-CLI package (tyro, simple-parsing, ...) is among the pinned dependencies and none
may be added here; this builder is ~100 lines of argparse and gives exactly the one-line errors and exit code 2 the
scripts need.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import os
import platform
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any, Callable, Sequence

from ._checks import CheckError, choice, one_line
from ._version import __version__

Check = Callable[[str, Any], Any]
_NO_QUICK = object()


def option(default: Any, *, help: str, flag: str | None = None, choices: Sequence[str] | None = None,
           check: Check | None = None, quick: Any = _NO_QUICK, cli: bool = True) -> Any:
    """A config field that is also a command-line flag (see the module docstring).

    Args:
        default: the field's default.
        help: the flag's help text (the default is appended).
        flag: the flag name; default ``--`` + the field name with ``-`` for ``_``.
        choices: allowed values (for a tuple field: of each element); checked in the config, listed in ``--help``.
        check: ``check(name, value)`` raising :class:`dynlatch._checks.CheckError`.
        quick: the value under ``--quick`` when the flag is not given.
        cli: False for a field that is not a flag.
    """
    meta = {"help": help, "flag": flag, "choices": tuple(choices) if choices else None, "check": check,
            "quick": quick, "cli": cli}
    return dataclasses.field(default=default, metadata={"dynlatch": meta})


def _meta(f: dataclasses.Field) -> dict[str, Any]:
    return f.metadata.get("dynlatch", {"help": "", "flag": None, "choices": None, "check": None, "quick": _NO_QUICK,
                                       "cli": False})


def flag_name(f: dataclasses.Field) -> str:
    return _meta(f)["flag"] or "--" + f.name.replace("_", "-")


@dataclasses.dataclass(frozen=True)
class Config:
    """Base of analysis configs: validates on construction."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            m = _meta(f)
            value = getattr(self, f.name)
            if m["choices"] is not None:
                for v in value if isinstance(value, tuple) else (value,):
                    choice(f.name, v, m["choices"])
            if m["check"] is not None:
                m["check"](f.name, value)
        self.check_together()

    def check_together(self) -> None:
        """Checks that involve several fields (raise :class:`CheckError` naming the field at fault)."""

    def check(self):
        """Return self (the config was validated when it was built); kept for callers of the old API."""
        return self

    def as_dict(self) -> dict[str, Any]:
        """The config as JSON-able values (tuples as lists), for ``summary.json``'s ``config`` block."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


# -- the command line ----------------------------------------------------------------------------------------
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _scalar_parser(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an' if kind is int else 'a'} {kind.__name__}; got {text!r}")
    return parse


def _parser_for(tp: Any) -> tuple[Callable[[str], Any] | None, str]:
    """(argparse type, metavar) for a field type; None for a bool switch."""
    tp, optional = _strip_optional(tp)
    if tp is bool:
        return None, ""
    if typing.get_origin(tp) is tuple:
        (elem, _) = typing.get_args(tp)
        one = _scalar_parser(elem)

        def parse_list(text: str) -> tuple:
            items = [t.strip() for t in text.split(",") if t.strip()]
            if not items:
                raise argparse.ArgumentTypeError(f"expected a comma-separated list of {elem.__name__}; got {text!r}")
            return tuple(one(t) for t in items)
        base, metavar = parse_list, f"{elem.__name__.upper()},..."
    elif tp in (int, float, str):
        base, metavar = _scalar_parser(tp), tp.__name__.upper()
    else:
        raise TypeError(f"no command-line parser for field type {tp!r}")
    if not optional:
        return base, metavar

    def parse_optional(text: str) -> Any:
        return None if text.strip().lower() == "none" else base(text)
    return parse_optional, metavar + "|none"


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def add_config_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one flag per ``option`` field of ``cls`` (defaults are resolved later, by :func:`config_from_args`)."""
    hints = _field_types(cls)
    for f in dataclasses.fields(cls):
        m = _meta(f)
        if not m["cli"]:
            continue
        kind, metavar = _parser_for(hints[f.name])
        default = f.default
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        text = m["help"] + f" (default: {shown}"
        if m["quick"] is not _NO_QUICK:
            q = m["quick"]
            text += "; --quick: " + (",".join(map(str, q)) if isinstance(q, tuple) else str(q))
        text += ")"
        if m["choices"]:
            text += f"; one of {', '.join(m['choices'])}"
        if kind is None:
            parser.add_argument(flag_name(f), dest=f.name, action="store_true", default=argparse.SUPPRESS,
                                help=text)
        else:
            parser.add_argument(flag_name(f), dest=f.name, type=kind, metavar=metavar, default=argparse.SUPPRESS,
                                help=text.replace("%", "%%"))


def config_from_args(cls: type, args: argparse.Namespace, *, quick: bool = False):
    """Build ``cls`` from parsed flags: a given flag, else its ``--quick`` value under ``quick``, else the default.

    Raises:
        CheckError: the config's check failed; ``err.name`` is the flag.
    """
    values = {}
    flags = {}
    for f in dataclasses.fields(cls):
        m = _meta(f)
        flags[f.name] = flag_name(f)
        if f.name in vars(args):
            values[f.name] = getattr(args, f.name)
        elif quick and m["quick"] is not _NO_QUICK:
            values[f.name] = m["quick"]
    try:
        return cls(**values)
    except CheckError as e:
        raise e.relabel(flags.get(e.name, e.name)) from None


def build_parser(cls: type, *, prog: str, description: str, extra: Callable[[argparse.ArgumentParser], None]
                 | None = None) -> argparse.ArgumentParser:
    """An argparse parser (one-line errors, exit code 2) with ``cls``'s flags and any ``extra`` ones."""
    p = _OneLineParser(prog=prog, description=description)
    if extra is not None:
        extra(p)
    add_config_flags(p, cls)
    return p


# -- provenance ----------------------------------------------------------------------------------------------
def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit(package_dir: Path | None = None) -> str | None:
    """The commit of the git checkout this package runs from (``-dirty`` if tracked files changed), or None when it
    runs from an installed copy or git is missing."""
    pkg = (Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent).resolve()

    def git(*a: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(pkg), *a], capture_output=True, text=True, timeout=5)

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0 or (Path(top.stdout.strip()) / pkg.name).resolve() != pkg:
            return None  # not a checkout of this package (e.g. site-packages inside some repository)
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def provenance() -> dict[str, Any]:
    """What produced a result: dynlatch version and git commit, library versions, python and the machine."""
    return {
        "dynlatch": __version__, "git_commit": git_commit(),
        "torch": _version("torch"), "numba": _version("numba"), "numpy": _version("numpy"),
        "python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
