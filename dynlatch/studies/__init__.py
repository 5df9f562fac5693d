"""The studies: one module per study, named as its command, each a :class:`Study` run by one runner.

``dynlatch run NAME`` finds ``NAME`` in :data:`STUDIES` and hands it to :func:`run_study`. A study owns its config
(its flags), its run, its summary and its figures (see :mod:`dynlatch.studies._study`); the library below (cells,
the engine, dynamics, symbolic, landscape, Bengio's theory) imports no study. To add one, write a module exposing
``STUDY = Study(...)`` and list it in :data:`STUDY_MODULES`.
"""

from . import (
    bengio94, bifurcations, bit_relay, cliff_vs_length, derivations, fixed_point_census, gradient_decay,
    handmade_latches, latching_landscape, latching_sweep, lstm_failure, pascanu_cliff, random_guessing,
)
from ._runner import run_study, write_result
from ._study import Result, RunContext, Study

STUDY_MODULES = (
    latching_sweep, bengio94, random_guessing, pascanu_cliff, cliff_vs_length, latching_landscape, derivations,
    gradient_decay, bifurcations, fixed_point_census, handmade_latches, lstm_failure, bit_relay,
)
"""The study modules, in the order ``dynlatch list`` shows them."""

STUDIES: dict[str, Study] = {m.STUDY.name: m.STUDY for m in STUDY_MODULES}
"""Every study by command name."""

__all__ = [
    "STUDIES", "STUDY_MODULES", "Result", "RunContext", "Study", "bengio94", "bifurcations", "bit_relay",
    "cliff_vs_length", "derivations", "fixed_point_census", "gradient_decay", "handmade_latches", "latching_landscape",
    "latching_sweep", "lstm_failure", "pascanu_cliff", "random_guessing", "run_study", "write_result",
]
