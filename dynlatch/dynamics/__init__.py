"""Dynamics of recurrent maps: fixed points, Jacobians, Lyapunov spectra, gradient decay (issue 8).

Everything works on a :class:`Map` (a batched ``state -> next state`` function with a leading model dimension) and in
float64; cells are converted with :func:`cell_map` (their own step functions), and any torch callable with
:func:`function_map`.
"""

from ._bifurcation import locate_bifurcation
from ._census import (
    FixedPointCensusConfig, census_of_cell, fixed_point_census, load_or_run_sweep, rank_auc, summarise_census,
)
from ._continuation import (
    Basins, BifurcationsConfig, Branches, basins, bifurcations, branches, fold_curve_2d, logistic_map, odd_cycle_map,
    parameter_map, passage_time, scaling_exponent,
)
from ._decay import GradientDecay, gradient_decay
from ._decay_study import GradientDecayConfig, decay_study, srnn_latch_w2_rates, summarise_decay
from ._fixed_points import FixedPoint, fixed_points
from ._jacobian import jacobian
from ._lstm_cycles import CycleSearch, lstm_cycle_search
from ._lyapunov import lyapunov_spectrum
from ._maps import Map, as_map, bengio_neuron, cell_map, function_map, pascanu_neuron

__all__ = [
    "Basins", "BifurcationsConfig", "Branches", "CycleSearch", "FixedPoint", "FixedPointCensusConfig",
    "GradientDecay", "GradientDecayConfig", "Map", "as_map", "basins", "bengio_neuron", "bifurcations", "branches",
    "cell_map", "census_of_cell", "decay_study", "fixed_point_census", "fixed_points", "fold_curve_2d",
    "function_map", "gradient_decay", "jacobian", "load_or_run_sweep", "locate_bifurcation", "logistic_map",
    "lstm_cycle_search", "lyapunov_spectrum", "odd_cycle_map", "parameter_map", "pascanu_neuron", "passage_time",
    "rank_auc", "scaling_exponent", "srnn_latch_w2_rates", "summarise_census", "summarise_decay",
]
