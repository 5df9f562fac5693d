"""Weight files: JSON or ``.npz`` in Keras layout or PyTorch layout. No pickles are ever read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ._base import Cell, float_array
from ._convert import from_torch_arrays
from ._registry import CELL_CLASSES, classes_with_gates

KERAS_KEYS = ("kernel", "recurrent_kernel", "bias")
TORCH_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


class WeightFileError(ValueError):
    """A weight file that cannot be read as a cell; the message names the file and the problem."""


def _read(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise WeightFileError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(data, dict):
            raise WeightFileError(f"{path}: expected a JSON object of named arrays")
        return data
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except ValueError as e:
            raise WeightFileError(f"{path}: cannot read without unpickling ({e})") from None
    raise WeightFileError(f"{path}: unknown weight-file type {suffix!r}; use .json or .npz")


def _scalar(value: Any) -> Any:
    a = np.asarray(value)
    return a.item() if a.ndim == 0 else value


def _array(path: Path, data: dict[str, Any], key: str) -> np.ndarray:
    try:
        a = float_array(data[key])
    except (TypeError, ValueError):
        raise WeightFileError(f"{path}: {key} is not a numeric array") from None
    if not np.isfinite(a).all():
        raise WeightFileError(f"{path}: {key} contains NaN or inf values")
    return a


def load(path: str | Path, *, dtype=None, device=None) -> Cell:
    """Read a cell from a weight file.

    Keras layout: ``cell`` (srnn|lstm|gru), ``kernel``, ``recurrent_kernel``, ``bias`` and optional
    ``recurrent_activation`` (default ``"sigmoid"``) and ``reset_after`` (GRU; inferred from the bias shape).
    PyTorch layout: ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0`` and optional ``cell`` (inferred
    from the gate count otherwise). Arrays with a leading model dimension give a batched cell.

    Args:
        path: a ``.json`` or ``.npz`` file.
        dtype, device: where the parameters should live (default float64 from JSON, the stored dtype from npz).

    Returns:
        The cell.

    Raises:
        WeightFileError: (a ``ValueError``) for malformed files -- wrong shapes, unknown cell, NaN -- naming the problem.
        FileNotFoundError: if ``path`` does not exist.
    """
    path = Path(path)
    data = _read(path)
    kind = _scalar(data.get("cell"))
    try:
        if all(k in data for k in KERAS_KEYS):
            if not isinstance(kind, str) or kind not in CELL_CLASSES:
                raise WeightFileError(f"{path}: 'cell' must be one of {', '.join(CELL_CLASSES)}; got {kind!r}")
            cls = CELL_CLASSES[kind]
            W, U, b = (_array(path, data, k) for k in KERAS_KEYS)
            batched = W.ndim == 3
            stored = {k: _scalar(data[k]) for k in cls.scheme_options("keras2") if k in data}
            activation = str(stored.pop("recurrent_activation", "sigmoid"))
            opts = cls.keras_options(b[0] if batched else b, b.shape[-1], **stored)
            return cls(W, U, b, batched=batched, dtype=dtype, device=device, recurrent_activation=activation, **opts)
        if all(k in data for k in TORCH_KEYS[:2]):
            W_hh = _array(path, data, "weight_hh_l0")
            if W_hh.ndim != 2 or W_hh.shape[1] == 0 or W_hh.shape[0] % W_hh.shape[1]:
                raise WeightFileError(f"{path}: weight_hh_l0 must be (gates*units, units); got {W_hh.shape}")
            fits = [c.kind for c in classes_with_gates(W_hh.shape[0] // W_hh.shape[1]) if c.torch_modules]
            if kind is None and len(fits) == 1:
                kind = fits[0]
            if kind not in fits:
                raise WeightFileError(f"{path}: weight_hh_l0 of shape {W_hh.shape} does not fit cell {kind!r}")
            biases = [_array(path, data, k) if k in data else None for k in TORCH_KEYS[2:]]
            return from_torch_arrays(kind, _array(path, data, "weight_ih_l0"), W_hh, *biases, dtype=dtype, device=device)
    except WeightFileError:
        raise
    except ValueError as e:
        raise WeightFileError(f"{path}: {e}") from None
    raise WeightFileError(
        f"{path}: expected Keras keys {', '.join(KERAS_KEYS)} (with 'cell') or PyTorch keys {', '.join(TORCH_KEYS)}; "
        f"found {', '.join(sorted(data)) or 'nothing'}"
    )


def save(cell: Cell, path: str | Path) -> Path:
    """Write ``cell`` in Keras layout to ``path`` (``.json`` or ``.npz``); :func:`load` reads it back exactly."""
    path = Path(path)
    record: dict[str, Any] = {"cell": cell.kind, **cell.numpy(), **cell.options()}
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        path.write_text(json.dumps({k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in record.items()}))
    elif suffix == ".npz":
        np.savez(path, **{k: np.asarray(v) for k, v in record.items()})
    else:
        raise ValueError(f"unknown weight-file type {suffix!r}; use .json or .npz")
    return path
