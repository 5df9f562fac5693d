"""The one runner of every study: flags, validation, the locked output folder, atomic writes, provenance, errors.

``run_study(study, argv)`` is what ``dynlatch run NAME`` and ``python analyses/NAME.py`` call. It

1. parses the flags into the study's config (every value checked before anything is written: a bad one is one line
   on stderr naming the flag, exit code 2);
2. takes the output folder's lock (a second run on the same folder is refused at once, one line, exit 2), refuses a
   folder holding a finished run with other settings unless ``--force`` (one line naming the settings, exit 2), and
   clears what a killed run left behind (its staging folder, temporary files); with ``--force`` the shards of the run
   it replaces are removed too where their settings differ from this run's;
3. runs the study and publishes its :class:`~dynlatch.studies.Result` as one transaction: tables as CSV, other
   files, figures as PDF and PNG and ``summary.json`` (with the ``config`` and ``provenance`` blocks) are written into
   ``OUT/.staging/``; then the previous run's ``summary.json`` is withdrawn, the new files are renamed into ``OUT``,
   the previous run's files that this run did not write are removed, and the new ``summary.json`` comes last. A
   folder with a ``summary.json`` therefore holds exactly one finished run, and a run killed at any moment leaves
   either the previous complete result or no ``summary.json`` at all (readers refuse such a folder);
4. prints the study's report. Ctrl-C ends with one line and exit code 130.

A sharded study (``Study.sharded``) also takes ``--scheduler local | tcp://HOST:PORT``: the runner connects to the
Dask scheduler before it takes the lock or writes anything (malformed or unreachable: one line, exit code 2) and hands
the study the executor in ``RunContext.shards``; the study passes it to :func:`~dynlatch.sweep.run_shards` and never
branches on where its shards run.

Studies that keep resumable state of their own (the sweeps' shards) write it into ``OUT`` directly; the transaction
leaves such state alone.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

from .. import _atomic
from .._checks import SCHEDULER_LOCAL, CheckError
from ..scripting import (
    EXIT_INTERRUPTED, UsageError, fail, parse_config, save_figure, write_csv, write_summary,
)
from ..sweep import (
    SchedulerError, SweepLockedError, SweepSettingsError, clear_shards, lock_folder, shard_executor,
)
from ._study import FileContent, Result, RunContext, Study


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


STAGING = ".staging"
"""The folder inside ``OUT`` where a run's files are written before they are published."""
FILES = ".files.json"
"""The list of the files the published run wrote (``OUT/.files.json``), so that the next run removes those it does
not write again."""


def write_result(result: Result, out: Path, *, config: Any) -> list[Path]:
    """Write ``result`` into ``out``: tables, files, figures, then ``summary.json``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_csv(rows, out / f"{stem}.csv") for stem, rows in result.tables.items()]
    paths += [write_file(out / name, content) for name, content in result.files.items()]
    for stem, fig in result.figures.items():
        paths += save_figure(fig, out, stem)
    paths.append(write_summary(result.summary, out, config=config))
    return paths


def settings_of(config: Any) -> dict[str, Any]:
    """A config as ``summary.json`` records it (JSON values)."""
    return json.loads(json.dumps(config.as_dict()))


def check_finished_run(out: Path, config: Any, *, force: bool) -> bool:
    """Refuse to replace a finished run in ``out`` whose settings differ from ``config``'s, unless ``force``.

    Returns:
        whether ``force`` replaces a finished run with other settings (or an unreadable one).

    Raises:
        UsageError: naming the first differing settings, ``--force`` and ``--out``.
    """
    path = out / "summary.json"
    if not path.is_file():
        return False
    try:
        recorded = json.loads(path.read_text()).get("config")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        if force:
            return True
        raise UsageError(f"--out: {path} is not a readable summary; remove it, or use --force to replace it") from None
    wanted = settings_of(config)
    if not isinstance(recorded, dict):
        recorded = {}
    differ = [k for k in sorted(set(recorded) | set(wanted)) if recorded.get(k) != wanted.get(k)]
    if differ and force:
        return True
    if differ:
        shown = ", ".join(f"{k}: {recorded.get(k)!r} there, {wanted.get(k)!r} now" for k in differ[:3])
        raise UsageError(f"--out: {out} holds a finished run with other settings ({shown}); use --force to replace it, "
                         "or another --out")


def clear_leftovers(out: Path) -> None:
    """Remove what a killed run left in ``out``: its staging folder and temporary files of atomic writes."""
    shutil.rmtree(out / STAGING, ignore_errors=True)
    for leftover in out.glob("*.tmp-*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)


def _published_files(out: Path) -> list[str]:
    try:
        names = json.loads((out / FILES).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return []
    if not isinstance(names, list):
        return []
    return [n for n in names if isinstance(n, str) and n and not Path(n).is_absolute() and ".." not in Path(n).parts
            and n not in (".", STAGING, FILES)]


def publish_result(result: Result, out: Path, *, config: Any) -> list[Path]:
    """Write ``result`` into ``OUT/.staging/`` and publish it into ``out`` as one transaction (module docstring).

    Returns:
        the published paths, ``summary.json`` last.
    """
    staging = out / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staged = write_result(result, staging, config=config)
    names = [p.relative_to(staging).as_posix() for p in staged]
    (out / "summary.json").unlink(missing_ok=True)  # from here on the folder holds no finished run
    for name in names[:-1]:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).replace(out / name)
    for name in set(_published_files(out)) - set(names):
        (out / name).unlink(missing_ok=True)
    _atomic.write_text(out / FILES, json.dumps(names) + "\n", role=FILES)
    (staging / "summary.json").replace(out / "summary.json")
    shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name in names]


def run_study(study: Study, argv: Sequence[str] | None = None) -> int:
    """Run ``study`` from command-line arguments (see the module docstring); returns the exit code."""
    prog = f"dynlatch run {study.name}"
    config, args = parse_config(study.config, study.name, study.description, argv, sharded=study.sharded)
    out = Path(args.out)
    try:
        with shard_executor(getattr(args, "scheduler", SCHEDULER_LOCAL)) as shards:  # the cluster is contacted first
            context = RunContext(out=out, quiet=args.quiet, shards=shards)
            if shards.where != SCHEDULER_LOCAL:
                context.say(f"shards run on the Dask scheduler at {shards.where}")
            with lock_folder(context.out):
                replacing = check_finished_run(context.out, config, force=args.force)
                clear_leftovers(context.out)
                try:
                    result = study.run(config, context)
                except SweepSettingsError as e:
                    if not replacing:
                        raise
                    clear_shards(e.folder)  # --force: the shards of the run it replaces have other settings
                    result = study.run(config, context)
                paths = publish_result(result, context.out, config=config)
    except (CheckError, UsageError, SweepSettingsError, SweepLockedError, SchedulerError) as e:
        fail(prog, str(e))
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted; {out} holds the previous finished run or none, rerun the same "
              "command to finish", file=sys.stderr)
        return EXIT_INTERRUPTED
    for line in result.report:
        print(line)
    figures = [p for p in paths if p.suffix == ".png"]
    print(f"results: {context.out}/summary.json" + (f"; figure: {figures[0]}" if figures else ""))
    return 0
