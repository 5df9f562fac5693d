"""The one runner of every study: flags, validation, the locked output folder, atomic writes, provenance, errors.

``run_study(study, argv)`` is what ``dynlatch run NAME`` and ``python analyses/NAME.py`` call. It

1. parses the flags into the study's config (every value checked before anything is written: a bad one is one line
   on stderr naming the flag, exit code 2);
2. takes the output folder's lock (a second run on the same folder is refused at once, one line, exit 2);
3. runs the study and writes its :class:`~dynlatch.studies.Result`: tables as CSV, other files, figures as PDF and
   PNG, and ``summary.json`` last (with the ``config`` and ``provenance`` blocks), each file atomically (a temporary
   file, then a rename), so a reader never sees a truncated file and a folder with a ``summary.json`` holds a
   finished run;
4. prints the study's report. Ctrl-C ends with one line and exit code 130.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

from .. import _atomic
from .._checks import CheckError
from ..scripting import UsageError, fail, parse_config, save_figure, write_csv, write_summary
from ..sweep import SweepLockedError, SweepSettingsError, lock_folder
from ._study import FileContent, Result, RunContext, Study

EXIT_INTERRUPTED = 130


def write_file(path: Path, content: FileContent) -> Path:
    """Write one of a result's files atomically."""
    if isinstance(content, str):
        return _atomic.write_text(path, content)
    if isinstance(content, bytes):
        return _atomic.write_bytes(path, content)
    with _atomic.atomic_path(path) as tmp:
        with open(tmp, "xb") as f:
            content(f)
    return path


def write_result(result: Result, out: Path, *, config: Any) -> list[Path]:
    """Write ``result`` into ``out``: tables, files, figures, then ``summary.json``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_csv(rows, out / f"{stem}.csv") for stem, rows in result.tables.items()]
    paths += [write_file(out / name, content) for name, content in result.files.items()]
    for stem, fig in result.figures.items():
        paths += save_figure(fig, out, stem)
    paths.append(write_summary(result.summary, out, config=config))
    return paths


def run_study(study: Study, argv: Sequence[str] | None = None) -> int:
    """Run ``study`` from command-line arguments (see the module docstring); returns the exit code."""
    prog = f"dynlatch run {study.name}"
    config, args = parse_config(study.config, study.name, study.description, argv)
    context = RunContext(out=Path(args.out), quiet=args.quiet)
    try:
        with lock_folder(context.out):
            result = study.run(config, context)
            paths = write_result(result, context.out, config=config)
    except (CheckError, UsageError, SweepSettingsError, SweepLockedError) as e:
        fail(prog, str(e))
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted; files already written in {context.out} are complete, rerun the same command "
              "to finish", file=sys.stderr)
        return EXIT_INTERRUPTED
    for line in result.report:
        print(line)
    figures = [p for p in paths if p.suffix == ".png"]
    print(f"results: {context.out}/summary.json" + (f"; figure: {figures[0]}" if figures else ""))
    return 0
