"""What every analysis script shares: flags, one-line errors with exit code 2, tidy outputs and figures."""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, NoReturn, Sequence

from . import _atomic
from ._checks import SCHEDULER_LOCAL, CheckError, one_line, scheduler
from ._checks import out_dir as checked_out_dir
from ._config import build_parser, config_from_args, provenance

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT, as a shell reports it)."""


class UsageError(Exception):
    """An impossible configuration: reported as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error (``prog: error: ...``) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)}\n")


def analysis_parser(name: str, description: str) -> ArgumentParser:
    """A parser with the flags every analysis takes: --quick, --out, --seed, --quiet, --device."""
    p = ArgumentParser(prog=f"dynlatch run {name}", description=description)
    p.add_argument("--quick", action="store_true", help="CI-sized run (about a minute)")
    p.add_argument("--out", type=Path, default=Path("results") / name, help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="base seed; results are deterministic given it")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--device", default=None, help="torch device (default CPU; a GPU is never required)")
    return p


def csv_list(kind: type, choices: Sequence[str] | None = None):
    """An argparse type for comma-separated lists, e.g. ``--lens 5,50,100``."""

    def parse(text: str) -> list:
        try:
            items = [kind(t) for t in text.split(",") if t.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {kind.__name__}; got {text!r}") from None
        if not items:
            raise argparse.ArgumentTypeError("expected at least one value")
        if choices is not None:
            bad = [i for i in items if i not in choices]
            if bad:
                raise argparse.ArgumentTypeError(f"unknown {', '.join(map(str, bad))}; choose from {', '.join(choices)}")
        return items

    parse.__name__ = f"list of {kind.__name__}"
    return parse


def checked_flag(parser: argparse.ArgumentParser, check: Callable[..., Any], flag: str, value: Any,
                 **bounds: Any) -> Any:
    """``check(flag, value, **bounds)`` (one of :mod:`dynlatch._checks`), a refusal reported as ``parser``'s one-line
    error (exit code 2)."""
    try:
        return check(flag, value, **bounds)
    except CheckError as e:
        parser.error(str(e))


def fail(prog: str, message: str) -> NoReturn:
    """Print one line to stderr and exit with code 2."""
    print(f"{prog}: error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def write_csv(rows: Iterable[dict[str, Any]], path: Path) -> Path:
    """Write tidy rows (same keys in every row) to ``path``, atomically (a temporary file, then a rename)."""
    rows = list(rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO(newline="")
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return _atomic.write_text(path, buf.getvalue(), role=path.name)


def write_summary(summary: dict[str, Any], out_dir: Path, *, config: Any = None) -> Path:
    """Write ``summary.json`` (headline numbers the paper reads), atomically.

    With ``config`` (an analysis' :class:`dynlatch._config.Config`) the file opens with its ``config`` block and the
    ``provenance`` of the run (:func:`dynlatch._config.provenance`), so every stored result carries its settings.
    """
    if config is not None:
        summary = {"config": config.as_dict(), "provenance": provenance(), **summary}
    path = Path(out_dir) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return _atomic.write_text(path, json.dumps(summary, indent=2, allow_nan=True) + "\n", role="summary.json")


def save_figure(fig: Any, out_dir: Path, stem: str) -> list[Path]:
    """Save a matplotlib figure as ``stem.pdf`` and ``stem.png`` (each atomically) and close it."""
    import matplotlib.pyplot as plt  # pyplot on first use: importing it costs ~0.3 s that most callers never need

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.pdf", out_dir / f"{stem}.png"]
    try:
        for path, fmt, extra in ((paths[0], "pdf", {}), (paths[1], "png", {"dpi": 150})):
            with _atomic.atomic_path(path, role="figure") as tmp:
                fig.savefig(tmp, format=fmt, bbox_inches="tight", **extra)
    finally:
        plt.close(fig)
    return paths


def run_flags(name: str, *, sharded: bool = False):
    """Adds the flags every analysis takes besides its config's: --quick, --out, --quiet, --force, and for a sharded
    study --scheduler."""

    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--quick", action="store_true", help="CI-sized run (about a minute); flags given win")
        p.add_argument("--out", type=str, default=str(Path("results") / name),
                       help="output folder (default: %(default)s)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--force", action="store_true",
                       help="replace a finished run in --out that has other settings (refused otherwise)")
        if sharded:
            p.add_argument("--scheduler", type=_scheduler_address, default=SCHEDULER_LOCAL, metavar="local|tcp://HOST:PORT",
                           help="where the shards run: this process (local, the default) or the Dask scheduler at "
                                "tcp://HOST:PORT (docs/scaling.md); the results are the same bytes")

    return add


def _scheduler_address(text: str) -> str:
    try:
        return scheduler("--scheduler", text)
    except CheckError as e:
        raise argparse.ArgumentTypeError(e.problem) from None


@functools.lru_cache(maxsize=32)
def _analysis_parser(cls: type, name: str, description: str, sharded: bool) -> argparse.ArgumentParser:
    return build_parser(cls, prog=f"dynlatch run {name}", description=description,
                        extra=run_flags(name, sharded=sharded))


def parse_config(cls: type, name: str, description: str, argv: Sequence[str] | None, *, sharded: bool = False):
    """Parse an analysis' command line into its config (``cls``, see :mod:`dynlatch._config`) and the run flags.

    Everything is validated here, before anything is written: a bad value ends the program with one line on stderr
    naming the flag and exit code 2.

    Returns:
        (config, args): args has ``quick``, ``out`` (a :class:`~pathlib.Path`), ``quiet``, ``force`` and, for a
        ``sharded`` study, ``scheduler`` (``local`` or a checked ``tcp://HOST:PORT``).
    """
    prog = f"dynlatch run {name}"
    args = _analysis_parser(cls, name, description, sharded).parse_args(argv)
    try:
        args.out = checked_out_dir("--out", args.out)
        config = config_from_args(cls, args, quick=args.quick)
    except CheckError as e:
        fail(prog, str(e))
    return config, args
