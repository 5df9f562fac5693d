"""Dynamics of recurrent maps: fixed points, Jacobians, Lyapunov spectra, gradient decay, bifurcations.

Everything works on a :class:`Map` (a batched ``state -> next state`` function with a leading model dimension) and in
float64; cells are converted with :func:`cell_map` (their own step functions), and any torch callable with
:func:`function_map`.
"""

from ._bifurcation import locate_bifurcation
from ._census import STRUCTURES, census_of_cell, fixed_point_census
from ._continuation import (
    Basins, Branches, basins, branches, fold_curve_2d, logistic_map, odd_cycle_map, parameter_map, passage_time,
    scaling_exponent,
)
from ._decay import GradientDecay, gradient_decay
from ._fixed_points import FixedPoint, NotCertifiedWarning, fixed_points
from ._jacobian import jacobian
from ._lstm_cycles import CycleSearch, lstm_cycle_search
from ._lyapunov import lyapunov_spectrum
from ._maps import Map, as_map, bengio_neuron, cell_map, function_map, pascanu_neuron

__all__ = [
    "STRUCTURES", "Basins", "Branches", "CycleSearch", "FixedPoint", "GradientDecay", "Map", "NotCertifiedWarning",
    "as_map", "basins", "bengio_neuron", "branches", "cell_map", "census_of_cell", "fixed_point_census", "fixed_points", "fold_curve_2d", "function_map",
    "gradient_decay", "jacobian", "locate_bifurcation", "logistic_map", "lstm_cycle_search", "lyapunov_spectrum",
    "odd_cycle_map", "parameter_map", "pascanu_neuron", "passage_time", "scaling_exponent",
]
