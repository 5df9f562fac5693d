"""Gate nonlinearities shared by every cell and by the compiled fast path.

The names are the public vocabulary (``recurrent_activation=`` everywhere); the integer codes are
what the compiled kernels in :mod:`dynlatch._fastpath` branch on.
"""

from __future__ import annotations

from typing import Callable

import torch

GATE_ACTIVATIONS: tuple[str, ...] = ("sigmoid", "hard_sigmoid", "hard_sigmoid_keras3")
"""Known gate nonlinearities:

* ``"sigmoid"``: 1 / (1 + exp(-z)) (PyTorch; Keras >= 2.3).
* ``"hard_sigmoid"``: clip(0.2 z + 0.5, 0, 1), the Keras 2.0-2.2 default of 2018.
* ``"hard_sigmoid_keras3"``: clip(z / 6 + 0.5, 0, 1), Keras 3's different function of the same name.
"""

# slope and offset of the piecewise-linear gates: clip(slope * z + 0.5, 0, 1)
HARD_SIGMOID_SLOPE = {"hard_sigmoid": 0.2, "hard_sigmoid_keras3": 1.0 / 6.0}


def check_gate_activation(name: str) -> str:
    """Return ``name`` if it is a known gate nonlinearity.

    Raises:
        ValueError: naming the known choices.
    """
    if name not in GATE_ACTIVATIONS:
        raise ValueError(f"unknown recurrent_activation {name!r}; choose one of {', '.join(GATE_ACTIVATIONS)}")
    return name


def gate_function(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The torch function for the gate nonlinearity ``name`` (see :data:`GATE_ACTIVATIONS`)."""
    check_gate_activation(name)
    if name == "sigmoid":
        return torch.sigmoid
    slope = HARD_SIGMOID_SLOPE[name]
    return lambda z: torch.clamp(slope * z + 0.5, 0.0, 1.0)


def gate_code(name: str) -> int:
    """Integer code of a gate nonlinearity for the compiled kernels (0 sigmoid, 1 Keras-2 hard, 2 Keras-3 hard)."""
    return GATE_ACTIVATIONS.index(check_gate_activation(name))
