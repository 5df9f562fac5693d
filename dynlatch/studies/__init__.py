"""The studies: one module per study, named as its command, each a :class:`Study` run by one runner.

``dynlatch run NAME`` finds ``NAME`` in :data:`STUDIES` and hands it to :func:`run_study`. A study owns its config
(its flags), its run, its summary and its figures (see :mod:`dynlatch.studies._study`); the library below (cells,
the engine, dynamics, symbolic, landscape, Bengio's theory) imports no study. To add one, write a module exposing
``STUDY = Study(...)`` and list it in :data:`STUDIES`.
"""

from . import bengio94, derivations, handmade_latches, latching_sweep, random_guessing
from ._runner import run_study, write_result
from ._study import Result, RunContext, Study

STUDIES: dict[str, Study] = {m.STUDY.name: m.STUDY for m in (
    bengio94, derivations, handmade_latches, latching_sweep, random_guessing,
)}
"""Every study by command name."""

__all__ = ["STUDIES", "Result", "RunContext", "Study", "bengio94", "derivations", "handmade_latches", "latching_sweep",
           "random_guessing", "run_study", "write_result"]
