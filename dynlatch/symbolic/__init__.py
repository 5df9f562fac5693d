"""Symbolic derivations of the cells with sympy: maps, Jacobians, BPTT adjoints, fixed-point and
bifurcation conditions, and the closed forms of Bengio et al. (1994) and Pascanu et al. (2013); each printable as
LaTeX and compilable to vectorised numpy/torch code that serves as an independent oracle for the hand-written cells
and kernels.

    >>> from dynlatch.symbolic import build_system, derive
    >>> d = derive(build_system("lstm", gate="hard_sigmoid"), "jacobian")
    >>> f = d.lambdify("numpy")          # f(theta (..., P), state (..., S), x (..., D)) -> (..., S, S)
"""

from ._closed_forms import (BENGIO_REFERENCE, bengio_attractor, bengio_fold_curve, bengio_fold_derivation, bengio_table,
                            lstm_cell_fixed_point, lstm_origin_eigenvalues, pascanu_fold_curve,
                            pascanu_fold_derivation)
from ._derivation import Derivation
from ._derive import DERIVATIONS, derive, jacobian_product_latex, state_jacobian_matrix
from ._export import (PAPER_DIR, catalogue, catalogue_files, catalogue_systems, write_derivations,
                      write_paper_files, write_tex_files)
from ._functions import BACKENDS, HARD_SLOPES, gate_expr, hard_sigmoid_kinks, lambdify_entries, sigmoid
from ._systems import (MAX_UNITS, SYSTEM_KINDS, ParamSpec, System, bengio_system, build_system, check_cell_matches,
                       gru_system, lstm_system, mgu_system, pascanu_system, srnn_system, system_for_cell)
from ._trajectory import bptt_gradient, jacobian_product_along, trajectory

__all__ = [
    "BACKENDS", "BENGIO_REFERENCE", "DERIVATIONS", "Derivation", "HARD_SLOPES", "MAX_UNITS", "PAPER_DIR", "ParamSpec",
    "SYSTEM_KINDS", "System", "bengio_attractor", "bengio_fold_curve", "bengio_fold_derivation", "bengio_system",
    "bengio_table", "bptt_gradient", "build_system", "catalogue", "catalogue_files", "catalogue_systems",
    "check_cell_matches", "derive", "gate_expr", "gru_system", "hard_sigmoid_kinks", "jacobian_product_along",
    "jacobian_product_latex", "lambdify_entries", "lstm_cell_fixed_point", "lstm_origin_eigenvalues", "lstm_system",
    "mgu_system", "pascanu_fold_curve", "pascanu_fold_derivation", "pascanu_system", "sigmoid", "srnn_system",
    "state_jacobian_matrix", "system_for_cell", "trajectory", "write_derivations", "write_paper_files",
    "write_tex_files",
]
