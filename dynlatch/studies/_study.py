"""The protocol every study follows: config -> run -> result (tables, files, figures, summary, report).

A study is one module of :mod:`dynlatch.studies`, named as its command (``lstm_failure`` is
``dynlatch run lstm-failure``). The module owns its settings (a frozen :class:`~dynlatch._config.Config` subclass,
whose fields are also its flags), its computation, its summary and its figures, and exposes them as one
:class:`Study`. Everything else (flags and their validation, the output folder and its lock, atomic writes, the
``config`` and ``provenance`` blocks of ``summary.json``, progress, one-line errors) is the runner's business
(:mod:`dynlatch.studies._runner`), the same for every study.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Generic, Mapping, Sequence, TypeVar

from .._config import Config
from ..sweep import LocalShards, ShardExecutor

ConfigT = TypeVar("ConfigT", bound=Config)

FileContent = bytes | str | Callable[[BinaryIO], Any]
"""What a study hands the runner for a file other than a table, a figure or the summary: the bytes, the text
(UTF-8), or a function writing the content to an open binary file (``lambda f: np.savez(f, **arrays)``)."""


@dataclass(frozen=True)
class RunContext:
    """What a running study may know of its surroundings.

    Attributes:
        out: the output folder (created and locked by the runner). Only studies that keep resumable state of their own
            (shards) write into it directly; everything else goes through the :class:`Result`.
        quiet: no progress output.
        shards: where a sharded study's shards run (``--scheduler``): hand it to
            :func:`~dynlatch.sweep.run_shards`; this process unless a cluster was named.
    """

    out: Path
    quiet: bool = False
    shards: ShardExecutor = field(default_factory=LocalShards)

    @property
    def progress(self) -> bool:
        """Whether to show progress bars."""
        return not self.quiet

    def say(self, message: str) -> None:
        """A progress message on stderr (nothing when quiet)."""
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)


@dataclass
class Result:
    """What a study's run returns; the runner writes it into the output folder.

    Attributes:
        summary: the headline numbers the paper and other readers use; written as ``summary.json`` after every
            other file, with the run's ``config`` and ``provenance`` blocks in front.
        tables: tidy rows by file stem, each written as ``STEM.csv`` (``runs`` is the study's main table, one row per
            model, trial or point).
        figures: matplotlib figures by file stem, each written as ``STEM.pdf`` and ``STEM.png`` and then closed.
        files: any other file by name (``surface.npz``, ``fold.tex``): see :data:`FileContent`.
        report: lines printed on stdout at the end (the run's headline in words).
    """

    summary: dict[str, Any]
    tables: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    figures: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, FileContent] = field(default_factory=dict)
    report: Sequence[str] = ()


@dataclass(frozen=True)
class Study(Generic[ConfigT]):
    """One study: its command name, the config class that is its flags, and its run.

    Attributes:
        name: the command name (``dynlatch run NAME``), the module's name with ``-`` for ``_``.
        config: the settings class; every :func:`~dynlatch._config.option` field is a flag.
        run: ``run(config, context) -> Result``; deterministic given the config (its ``seed``).
        description: what the study answers; its first line is what ``dynlatch list`` shows.
        summary_keys: what each top-level key of its ``summary.json`` means (besides ``config`` and
            ``provenance``), in the order it writes them; the documentation's gallery lists them, and its build fails
            when a run writes a key not described here or the reverse.
        sharded: its work runs through the shard store (:func:`~dynlatch.sweep.run_shards`), so it takes
            ``--scheduler`` and runs on a Dask cluster when given one.
    """

    name: str
    config: type[ConfigT]
    run: Callable[[ConfigT, RunContext], Result]
    description: str
    summary_keys: Mapping[str, str] = field(default_factory=dict)
    sharded: bool = False

    @property
    def headline(self) -> str:
        """The first line of the description."""
        text = self.description.strip()
        return text.splitlines()[0] if text else ""
