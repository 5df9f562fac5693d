"""``dynlatch explore [--port P] [--weights FILE] [--predictor SUMMARY]``: a local web page (a Bokeh server on
127.0.0.1) to drag a one-unit cell's parameters and watch its map, fixed points, bifurcation diagram, start-state
eigenvalue, gradient decay and predicted latching success change (:mod:`dynlatch._explore`)."""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import _explore as ex
from .cells import Cell
from .scripting import EXIT_INTERRUPTED, ArgumentParser, fail
from .studies._lstm_failure_features import LogisticFit

PROG = "dynlatch explore"
EXIT_FAILURE = 1
DEFAULT_PORT = 5006


def port(text: str) -> int:
    """A TCP port number, 1..65535 (argparse reports a ValueError as "invalid port value")."""
    value = int(text)
    if not 1 <= value <= 65535:
        raise ValueError(text)
    return value


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parser() -> ArgumentParser:
    """The command's flags (a bad one is one line on stderr, exit 2)."""
    p = ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--port", type=port, default=DEFAULT_PORT, help="TCP port on 127.0.0.1 (default: %(default)s)")
    p.add_argument("--weights", type=Path,
                   help="start from the one-unit cell in this weight file (read by dynlatch.cells.load)")
    p.add_argument("--predictor", type=Path, default=None,
                   help="an lstm-failure summary.json whose fitted predictor gives the predicted success "
                        "(default: the full-scale run committed in paper/results/full/, when present)")
    return p


@dataclass(frozen=True)
class Settings:
    """A validated command line: the port, the cell of --weights (None: the page's default) and the predictors of
    --predictor or the committed run (empty where neither exists) with where they came from."""

    port: int
    cell: Cell | None
    predictors: dict[str, dict[int, LogisticFit]]
    predictor_source: str


def parse(argv: list[str] | None) -> Settings:
    """Parse and check the command line and read --weights and --predictor; a bad flag or file ends the program with
    one line on stderr and exit code 2 (SystemExit)."""
    args = parser().parse_args(argv)
    source = args.predictor or (ex.PUBLISHED_PREDICTOR if ex.PUBLISHED_PREDICTOR.is_file() else None)
    try:
        predictors = ex.read_predictors(source) if source is not None else {}
    except (ValueError, OSError) as e:
        fail(PROG, f"--predictor: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    try:
        cell = ex.read_one_unit_cell(args.weights) if args.weights is not None else None
    except ValueError as e:
        fail(PROG, f"--weights: {e}")
    return Settings(args.port, cell, predictors, f"predictor of {_shown(Path(source))}" if source is not None else "")


def main(argv: list[str] | None = None) -> int:
    """Run the explorer until Ctrl-C; returns the exit code (2 bad flag or file, 1 no Bokeh or port taken, 130 on
    Ctrl-C)."""
    settings = parse(argv)
    # Ctrl-C must stop the server even when it was started from a shell that ignores SIGINT in background jobs
    # (a non-interactive shell does, and the ignore is inherited): restore Python's handler, which raises
    # KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return serve(settings)
    except KeyboardInterrupt:
        print(f"{PROG}: stopped (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED


def serve(settings: Settings) -> int:
    """Start the server on 127.0.0.1:``settings.port``, print its URL and serve until interrupted
    (KeyboardInterrupt)."""
    try:
        # Bokeh is an optional dependency (the ``explore`` extra): imported only when the explorer starts.
        from bokeh.application import Application
        from bokeh.application.handlers.function import FunctionHandler
        from bokeh.server.server import Server

        from ._explore_page import PageSettings, build_document, settings_from_cell
    except ModuleNotFoundError as e:
        print(f"{PROG}: error: needs {e.name} (pip install 'dynlatch[explore]')", file=sys.stderr)
        return EXIT_FAILURE
    page = PageSettings(predictors=settings.predictors, predictor_source=settings.predictor_source)
    if settings.cell is not None:
        page = settings_from_cell(settings.cell, page)
    port = settings.port
    origins = [f"127.0.0.1:{port}", f"localhost:{port}"]
    application = Application(FunctionHandler(partial(build_document, settings=page)))
    try:
        server = Server({"/": application}, address="127.0.0.1", port=port, allow_websocket_origin=origins)
    except OSError as e:
        print(f"{PROG}: error: cannot listen on 127.0.0.1:{port}: {e.strerror or e}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{PROG}: serving http://127.0.0.1:{port}/ (Ctrl-C stops it)", flush=True)
    server.start()
    server.io_loop.start()
    return 0
