"""Test cases generated from the cell registry, so that every registered kind is tested (a new kind joins by
registering). Kinds come in a fixed order (the SRNN, LSTM and GRU first, then the others by name) so that test ids
and indices into the lists stay stable."""

from __future__ import annotations

from typing import Any

from dynlatch import GATE_ACTIVATIONS
from dynlatch.cells import CELL_CLASSES

_FIRST = ("srnn", "lstm", "gru")

KINDS: list[str] = sorted(CELL_CLASSES, key=lambda k: (_FIRST.index(k) if k in _FIRST else len(_FIRST), k))
"""Every registered kind."""
GATED_KINDS = [k for k in KINDS if CELL_CLASSES[k].gated]
TORCH_KINDS = [k for k in KINDS if CELL_CLASSES[k].torch_modules]
"""The kinds with a ``torch.nn`` counterpart (an independent oracle)."""
KERAS_KINDS = [k for k in KINDS if CELL_CLASSES[k].keras_layer]

CLASS_VARIANTS: list[tuple[Any, dict[str, Any]]] = [(CELL_CLASSES[k], o) for k in KINDS for o in CELL_CLASSES[k].variants()]
"""(class, options) of every form of every kind."""
VARIANTS: list[tuple[str, bool | None]] = [(c.kind, o.get("reset_after")) for c, o in CLASS_VARIANTS]
"""(kind, reset_after) of every form; reset_after None where the kind has no such option."""


def variant_id(kind: str, reset_after: bool | None) -> str:
    return kind + ("" if reset_after is None else "-after" if reset_after else "-before")


VARIANT_IDS = [variant_id(*v) for v in VARIANTS]
CASES: list[tuple[str, bool | None, str]] = [
    (k, ra, act) for k, ra in VARIANTS for act in (GATE_ACTIVATIONS if CELL_CLASSES[k].gated else ("sigmoid",))
]
"""(kind, reset_after, gate activation) of every form and gate function (one for the ungated SRNN)."""
CASE_IDS = [f"{k}-{'ra' if ra else 'rb' if ra is False else ''}-{a}" for k, ra, a in CASES]
