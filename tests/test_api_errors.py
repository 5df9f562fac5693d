"""The public functions a researcher calls, each handed one bad argument at a time (the others valid): the error is a
ValueError or TypeError whose message names the argument, never an AttributeError, IndexError, KeyError,
RuntimeError, AssertionError, ZeroDivisionError or a numba typing error from deep inside."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch

import dynlatch
from dynlatch import bengio, cells, dynamics, landscape, symbolic, tasks

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


NOT_AN_ARRAY_OF_NUMBERS = [None, "x", [["x"]], [[NAN]], [[INF]], np.zeros((2, 3, 4, 5))]
NOT_AN_AXIS = [None, "x", [NAN, 1.0], [1.0]]
NOT_A_PATH = [None, 3, object(), b"cell.json", ""]
SPARE_FILE = str(Path(tempfile.gettempdir()) / "dynlatch-api-errors-cell.json")  # written only if a check is missing
HUGE = 10**12  # a size whose arrays cannot fit in memory

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
    "GRU": (cells.GRU, lambda: {"kernel": np.zeros((1, 3)), "recurrent_kernel": np.zeros((1, 3)), "bias": np.zeros(3)},
            {"kernel": NOT_AN_ARRAY_OF_NUMBERS, "recurrent_kernel": NOT_AN_ARRAY_OF_NUMBERS,
             "bias": NOT_AN_ARRAY_OF_NUMBERS}),
    "MGU": (cells.MGU, lambda: {"kernel": np.zeros((1, 2)), "recurrent_kernel": np.zeros((1, 2)), "bias": np.zeros(2)},
            {"kernel": NOT_AN_ARRAY_OF_NUMBERS, "recurrent_kernel": NOT_AN_ARRAY_OF_NUMBERS,
             "bias": NOT_AN_ARRAY_OF_NUMBERS}),
    "train": (dynlatch.train, lambda: {"model": _model(), "data": _data(), "epochs": 1},
              {"model": NOT_A_CELL + [_cell()]}),
    "Model.init": (dynlatch.Model.init, lambda: {"cell": "srnn", "seeds": [0]},
                   {"seeds": [None, "x", 3, [], [NAN], [-1], [1.5], ["x"]], "units": NOT_A_SIZE + [0],
                    "input_dim": NOT_A_SIZE + [0]}),
    "load": (cells.load, lambda: {"path": SPARE_FILE}, {"path": NOT_A_PATH}),
    "save": (cells.save, lambda: {"cell": _cell(), "path": SPARE_FILE},
             {"cell": NOT_A_CELL + [_model()], "path": NOT_A_PATH}),
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
                 {"cell_or_map": NOT_A_CELL, "parameter": [None, "nope", 3], "values": [None, "x", [NAN], []],
                  "grid": NOT_A_SIZE}),
    "basins": (dynamics.basins, lambda: {"map_or_cell": _cell(), "grid": np.linspace(-1, 1, 5), "steps": 10},
               {"map_or_cell": NOT_A_CELL, "grid": [None, "x", [NAN], []], "steps": NOT_A_SIZE, "tol": NOT_A_NUMBER}),
    "pascanu_surface": (landscape.pascanu_surface, lambda: {"w": [1.0, 2.0], "b": [0.0, 1.0], "steps": 5},
                        {"w": NOT_AN_AXIS, "b": NOT_AN_AXIS, "steps": NOT_A_SIZE, "x0": NOT_A_NUMBER,
                         "target": NOT_A_NUMBER + [0.0, 1.0]}),
    "bengio_surface": (landscape.bengio_surface, lambda: {"w": [1.0, 2.0], "h": [0.0, 1.0], "steps": 5, "sequences": 4},
                       {"w": NOT_AN_AXIS, "h": NOT_AN_AXIS, "steps": NOT_A_SIZE,
                        "noise_variance": NOT_A_NUMBER + [-1.0],
                        "sequences": NOT_A_SIZE + [1, HUGE], "seed": [None, "x", -1]}),
    "pascanu_descent": (landscape.pascanu_descent, lambda: {"w0": [1.0], "b0": [0.0], "lr": 0.1, "iterations": 2,
                                                            "steps": 5},
                        {"w0": NOT_AN_ARRAY_OF_NUMBERS[:4], "b0": NOT_AN_ARRAY_OF_NUMBERS[:4],
                         "lr": NOT_A_NUMBER + [0.0, -1.0], "iterations": NOT_A_SIZE + [0, HUGE],
                         "clip": NOT_A_NUMBER[1:] + [0.0, -1.0], "steps": NOT_A_SIZE, "x0": NOT_A_NUMBER,
                         "target": NOT_A_NUMBER + [0.0, 1.0]}),
    "train_latch": (bengio.train_latch, lambda: {"length": 3, "trials": 2, "epochs": 2, "train_sequences": 4,
                                                 "test_sequences": 4},
                    {"length": NOT_A_SIZE, "trials": NOT_A_SIZE + [HUGE], "w0": NOT_A_NUMBER,
                     "noise_variance": NOT_A_NUMBER + [-1.0], "inputs": NOT_A_SIZE, "lr": NOT_A_NUMBER + [-1.0],
                     "epochs": NOT_A_SIZE, "train_sequences": NOT_A_SIZE + [3], "test_sequences": NOT_A_SIZE + [3],
                     "h0": NOT_A_NUMBER, "seed": [None, "x", -1, NAN], "first_trial": NOT_A_SIZE}),
    "latch_accuracy": (bengio.latch_accuracy, lambda: {"w": [1.5, 1.5], "h": np.zeros((2, 2, 1)), "length": 3,
                                                       "noise_variance": 0.2, "sequences": 4, "seed": 0},
                       {"w": [None, "x", [NAN, 1.5], 1.5], "h": [None, "x", np.full((2, 2, 1), NAN), np.zeros((2, 1))],
                        "length": NOT_A_SIZE, "noise_variance": NOT_A_NUMBER + [-1.0],
                        "sequences": NOT_A_SIZE + [HUGE], "seed": [None, "x", -1, NAN],
                        "trials": ["x", [NAN, 1], [-1, 0], [0]]}),
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
    modules = (dynlatch, bengio, cells, dynamics, landscape, symbolic, tasks)
    public = [getattr(module, n) for module in modules for n in module.__all__] + [dynlatch.Model.init]
    for name, (function, _, _) in CASES.items():
        assert any(function is p or function == p for p in public), name  # == : a class method is bound anew


@pytest.mark.parametrize("module", [landscape, bengio, tasks], ids=lambda m: m.__name__)
def test_a_module_exports_only_its_own_names(module):
    assert {"np", "torch", "json", "math", "brentq", "dataclass", "field", "evaluate", "CELL_CLASSES", "cell_class",
            "annotations", "wilson_interval"}.isdisjoint(module.__all__)
    assert all(getattr(module, n).__module__ == module.__name__ for n in module.__all__
               if callable(getattr(module, n)))
    own = {n for n, v in vars(module).items() if not n.startswith("_") and callable(v)
           and getattr(v, "__module__", None) == module.__name__}
    assert own <= set(module.__all__), own - set(module.__all__)
