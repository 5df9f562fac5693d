"""Dynamics of recurrent maps: fixed points, Jacobians, Lyapunov spectra, gradient decay (issue 8).

Everything works on a :class:`Map` (a batched ``state -> next state`` function with a leading model dimension) and in
float64; cells are converted with :func:`cell_map` (their own step functions), and any torch callable with
:func:`function_map`.
"""

from ._bifurcation import locate_bifurcation
from ._continuation import (BifurcationsConfig, Basins, Branches, basins, branches, bifurcations, fold_curve_2d,
                            parameter_map, passage_time, scaling_exponent)
from ._decay import GradientDecay, gradient_decay
from ._fixed_points import FixedPoint, fixed_points
from ._jacobian import jacobian
from ._lyapunov import lyapunov_spectrum
from ._maps import Map, as_map, bengio_neuron, cell_map, function_map, pascanu_neuron

__all__ = ["Basins", "BifurcationsConfig", "Branches", "FixedPoint", "basins", "bifurcations", "branches", "fold_curve_2d",
           "parameter_map", "passage_time", "scaling_exponent", "GradientDecay", "Map", "as_map", "bengio_neuron", "cell_map", "fixed_points", "function_map", "gradient_decay", "jacobian", "locate_bifurcation", "lyapunov_spectrum",
           "pascanu_neuron"]
