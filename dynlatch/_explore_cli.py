"""``dynlatch explore [--port P] [--weights FILE] [--predictor SUMMARY]``: a local web page (a Bokeh server on
127.0.0.1) to drag a one-unit cell's parameters and watch its map, fixed points, bifurcation diagram, start-state
eigenvalue, gradient decay and predicted latching success change (:mod:`dynlatch._explore`)."""

from __future__ import annotations

import signal
import sys
from functools import partial
from pathlib import Path

from . import _explore as ex
from .scripting import EXIT_USAGE, ArgumentParser

PROG = "dynlatch explore"
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
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


def main(argv: list[str] | None = None) -> int:
    """Run the explorer until Ctrl-C; returns the exit code (2 bad flag or file, 1 no Bokeh or port taken, 130 on
    Ctrl-C)."""
    args = parser().parse_args(argv)
    # Ctrl-C must stop the server even when it was started from a shell that ignores SIGINT in background jobs
    # (a non-interactive shell does, and the ignore is inherited): restore Python's handler, which raises
    # KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return serve(port=args.port, weights=args.weights, predictor=args.predictor)
    except KeyboardInterrupt:
        print(f"{PROG}: stopped (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED


def serve(*, port: int, weights: Path | None, predictor: Path | None) -> int:
    """Start the server on 127.0.0.1:``port``, print its URL and serve until interrupted (KeyboardInterrupt)."""
    try:
        # Bokeh is an optional dependency (the ``explore`` extra): imported only when the explorer starts.
        from bokeh.application import Application
        from bokeh.application.handlers.function import FunctionHandler
        from bokeh.server.server import Server

        from ._explore_page import PageSettings, build_document, settings_from_weights
    except ModuleNotFoundError as e:
        print(f"{PROG}: error: needs {e.name} (pip install 'dynlatch[explore]')", file=sys.stderr)
        return EXIT_FAILURE
    source = predictor or (ex.PUBLISHED_PREDICTOR if ex.PUBLISHED_PREDICTOR.is_file() else None)
    settings = PageSettings()
    try:
        if source is not None:
            settings.predictors = ex.read_predictors(source)
            settings.predictor_source = f"predictor of {_shown(Path(source))}"
        if weights is not None:
            settings = settings_from_weights(weights, settings)
    except (ValueError, OSError) as e:
        print(f"{PROG}: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return EXIT_USAGE
    origins = [f"127.0.0.1:{port}", f"localhost:{port}"]
    application = Application(FunctionHandler(partial(build_document, settings=settings)))
    try:
        server = Server({"/": application}, address="127.0.0.1", port=port, allow_websocket_origin=origins)
    except OSError as e:
        print(f"{PROG}: error: cannot listen on 127.0.0.1:{port}: {e.strerror or e}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{PROG}: serving http://127.0.0.1:{port}/ (Ctrl-C stops it)", flush=True)
    server.start()
    server.io_loop.start()
    return 0
