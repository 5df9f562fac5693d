"""The public functions a researcher calls, each handed one bad argument at a time (the others valid): the error is a
ValueError or TypeError whose message names the argument, never an AttributeError, IndexError, KeyError,
RuntimeError, AssertionError, ZeroDivisionError or a numba typing error from deep inside."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest
import torch

import dynlatch
from dynlatch import cells, dynamics, landscape, symbolic, tasks

NAN, INF = math.nan, math.inf
NOT_A_NUMBER = [None, "x", NAN, INF, -INF]
NOT_A_SIZE = [None, "x", -1, 1.5, NAN]
NOT_A_CELL = [None, "lstm", object(), 3.0]
NOT_AN_ARRAY = [None, "x", [[NAN]], [[INF]], np.zeros((2, 3, 4, 5))]


def _cell() -> cells.Cell:
    return cells.SRNN([[0.5]], [[1.5]], [0.1], dtype=torch.float64)


def _model() -> dynlatch.Model:
    return dynlatch.Model.init("srnn", seeds=[0])


def _data() -> tasks.Dataset:
    return tasks.latching(length=3, n=40, seed=0)


NOT_AN_ARRAY_OF_NUMBERS = [[[NAN]], [[INF]], np.zeros((2, 3, 4, 5))]

CASES: dict[str, tuple[Callable[..., Any], Callable[[], dict[str, Any]], dict[str, list[Any]]]] = {
    "evaluate": (dynlatch.evaluate, lambda: {"model": _model(), "x": _data().x_train, "y": _data().y_train},
                 {"model": NOT_A_CELL, "x": NOT_AN_ARRAY, "y": [np.zeros(7), "x", np.full(32, NAN)]}),
    "SRNN": (cells.SRNN, lambda: {"kernel": [[0.5]], "recurrent_kernel": [[1.5]], "bias": [0.1]},
             {"kernel": NOT_AN_ARRAY_OF_NUMBERS, "recurrent_kernel": NOT_AN_ARRAY_OF_NUMBERS,
              "bias": NOT_AN_ARRAY_OF_NUMBERS}),
    "LSTM": (cells.LSTM, lambda: {"kernel": np.zeros((1, 4)), "recurrent_kernel": np.zeros((1, 4)),
                                  "bias": np.zeros(4)},
             {"kernel": NOT_AN_ARRAY_OF_NUMBERS, "recurrent_kernel": NOT_AN_ARRAY_OF_NUMBERS,
              "bias": NOT_AN_ARRAY_OF_NUMBERS}),
    "fixed_points": (dynamics.fixed_points, lambda: {"cell_or_map": _cell(), "x": 0.0, "grid": 65, "starts": 4},
                     {"cell_or_map": NOT_A_CELL, "x": NOT_A_NUMBER, "grid": NOT_A_SIZE, "starts": NOT_A_SIZE,
                      "tol": NOT_A_NUMBER, "seed": [None, "x", -1]}),
    "gradient_decay": (dynamics.gradient_decay, lambda: {"map_or_cell": _cell(), "state0": [0.1], "steps": 5},
                       {"map_or_cell": NOT_A_CELL, "state0": NOT_AN_ARRAY, "steps": NOT_A_SIZE}),
    "lyapunov_spectrum": (dynamics.lyapunov_spectrum, lambda: {"map_or_cell": _cell(), "state0": [0.1], "steps": 5},
                          {"map_or_cell": NOT_A_CELL, "state0": NOT_AN_ARRAY, "steps": NOT_A_SIZE,
                           "burn_in": NOT_A_SIZE}),
    "jacobian": (dynamics.jacobian, lambda: {"map_or_cell": _cell(), "state": [0.1], "x": [0.0]},
                 {"map_or_cell": NOT_A_CELL, "state": NOT_AN_ARRAY_OF_NUMBERS,
                  "x": ["x", [NAN], np.zeros((2, 3, 4))]}),
    "branches": (dynamics.branches, lambda: {"cell_or_map": _cell(), "parameter": "U", "values": [0.5, 1.5],
                                             "grid": 65},
                 {"cell_or_map": NOT_A_CELL, "parameter": [None, "nope", 3], "values": [None, [NAN], []],
                  "grid": NOT_A_SIZE}),
    "basins": (dynamics.basins, lambda: {"map_or_cell": _cell(), "grid": np.linspace(-1, 1, 5), "steps": 10},
               {"map_or_cell": NOT_A_CELL, "grid": [None, [NAN], []], "steps": NOT_A_SIZE, "tol": NOT_A_NUMBER}),
    "latching": (tasks.latching, lambda: {"length": 3, "n": 40},
                 {"length": NOT_A_SIZE, "n": NOT_A_SIZE, "noise": NOT_A_NUMBER, "val_fraction": NOT_A_NUMBER + [2.0],
                  "seed": [None, -1], "split": [None, "nope"]}),
    "bit_relay": (tasks.bit_relay, lambda: {"length": 3, "n": 40},
                  {"length": NOT_A_SIZE, "n": NOT_A_SIZE, "noise": NOT_A_NUMBER, "seed": [None, -1]}),
    "build_system": (symbolic.build_system, lambda: {"kind": "lstm", "units": 1},
                     {"kind": [None, "nope", 3], "gate": [None, "nope"], "units": NOT_A_SIZE,
                      "input_dim": NOT_A_SIZE}),
    "derive": (symbolic.derive, lambda: {"system": symbolic.build_system("srnn"), "what": "map"},
               {"system": NOT_A_CELL, "what": [None, "nope", 3]}),
    "system_for_cell": (symbolic.system_for_cell, lambda: {"cell": _cell()}, {"cell": NOT_A_CELL}),
}

BAD_CALLS = [pytest.param(name, argument, i, id=f"{name}-{argument}-{i}")
             for name, (_, _, bad) in CASES.items() for argument, values in bad.items() for i in range(len(values))]


@pytest.mark.parametrize("name,argument,index", BAD_CALLS)
def test_a_bad_argument_is_a_value_or_type_error_naming_it(name, argument, index):
    function, valid, bad = CASES[name]
    kwargs = valid() | {argument: bad[argument][index]}
    with pytest.raises((ValueError, TypeError)) as e:
        function(**kwargs)
    assert type(e.value).__module__.split(".")[0] in ("builtins", "dynlatch"), repr(e.value)  # not numba's errors
    assert argument in str(e.value), (bad[argument][index], str(e.value))


def test_every_case_calls_a_public_function():
    public = [getattr(module, n) for module in (dynlatch, cells, dynamics, landscape, symbolic) for n in module.__all__]
    public += [tasks.latching, tasks.bit_relay]
    for name, (function, _, _) in CASES.items():
        assert any(function is p for p in public), name


def test_landscape_exports_only_its_own_names():
    assert {"np", "torch", "json", "brentq", "dataclass", "field", "evaluate"}.isdisjoint(landscape.__all__)
    assert all(getattr(landscape, n).__module__ == "dynlatch.landscape" for n in landscape.__all__
               if callable(getattr(landscape, n)))
