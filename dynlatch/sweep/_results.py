"""The trained models of a finished sweep (``weights.npz`` beside ``runs.csv``) and :func:`read_sweep` to get them.

The latching sweep (:mod:`dynlatch.studies.latching_sweep`) writes such folders.

``weights.npz`` (written atomically, read with ``allow_pickle=False``) holds, for the i-th row of ``runs.csv``,
``cell[i]``, ``T[i]``, ``repeat[i]``; and for each cell kind ``k`` present, ``k.row`` (the runs.csv row of each of its
models) and ``k.initial.NAME`` / ``k.final.NAME`` for NAME in :data:`PARAM_NAMES` (kernel, recurrent_kernel, bias in
Keras layout with the model dimension first, and the read-out W_out, b_out), float64.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._checks import NPZ_READ_ERRORS
from .._model import Model, readout_classes
from ..cells import CellParams
from ..cells._init import check_scheme
from ._models import PARAM_NAMES
from ._store import Row

WEIGHTS_FILE = "weights.npz"
STAGES = ("initial", "final")


def _typed(value: str) -> Any:
    if value in ("True", "False"):
        return value == "True"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


@dataclass(frozen=True)
class SweepResults:
    """A finished sweep folder: its rows (typed, runs.csv order), settings, threshold and models.

    Attributes:
        folder: the folder.
        rows: one dict per model, as in runs.csv.
        settings: what the results depend on (``sweep.json``): init, hidden, readout, task, backend, ...
        threshold: the success threshold of ``summary.json`` (0.9 if there is none).
        arrays: the contents of ``weights.npz``.
    """

    folder: Path
    rows: tuple[Row, ...]
    settings: dict[str, Any]
    threshold: float
    arrays: dict[str, np.ndarray]

    def select(self, cell: str, *, T: int | None = None, succeeded: bool | None = None,
               where: Callable[[Row], bool] | None = None) -> list[int]:
        """Indices (into :attr:`rows`) of the ``cell`` models at length ``T`` (any if None) that succeeded
        (``val_acc >= threshold``; diverged runs fail) or failed, and satisfy ``where(row)``."""
        def ok(row: Row) -> bool:
            success = (not row["diverged"]) and float(row["val_acc"]) >= self.threshold
            return (row["cell"] == cell and (T is None or row["T"] == T)
                    and (succeeded is None or success == succeeded) and (where is None or where(row)))
        return [i for i, row in enumerate(self.rows) if ok(row)]

    def models(self, cell: str, *, T: int | None = None, succeeded: bool | None = None,
               where: Callable[[Row], bool] | None = None, stage: str = "final",
               dtype: torch.dtype = torch.float64) -> tuple[list[Row], Model | None]:
        """The selected runs (see :meth:`select`) and their models as one batched :class:`~dynlatch.Model` (its
        ``.cell`` is the batched cell), ``stage`` ``"initial"`` or ``"final"``; ``(rows, None)`` if none matches.

        Raises:
            ValueError: unknown stage.
        """
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}; got {stage!r}")
        chosen = self.select(cell, T=T, succeeded=succeeded, where=where)
        rows = [self.rows[i] for i in chosen]
        if not chosen:
            return rows, None
        position = {int(r): j for j, r in enumerate(self.arrays[f"{cell}.row"])}
        idx = [position[i] for i in chosen]
        params = [torch.as_tensor(self.arrays[f"{cell}.{stage}.{name}"][idx], dtype=dtype) for name in PARAM_NAMES]
        s = self.settings
        try:
            template = Model.init(cell, seeds=[r["seed"] for r in rows], units=s["hidden"],
                                  input_dim=params[0].shape[1], init=s["init"], readout=s["readout"], dtype=dtype)
            return rows, Model(template.cell.replace(CellParams(*params[:3])), params[3], params[4], template.seeds,
                               template.readout)
        except ValueError as e:
            raise ValueError(f"{self.folder / WEIGHTS_FILE}: the {cell} models do not fit their settings ({e})") from None


REQUIRED_COLUMNS: tuple[str, ...] = ("cell", "T", "repeat")
"""Columns every sweep's ``runs.csv`` has (the keys matching it to ``weights.npz``)."""


def _threshold(folder: Path) -> float:
    """The success threshold the sweep was summarised with: ``summary.json``'s, which only a finished sweep has."""
    path = folder / "summary.json"
    if not path.is_file():
        raise ValueError(f"{path} is missing: {folder} is not a finished sweep (killed before its summary?); "
                         "rerun the sweep")
    try:
        summary = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is unreadable ({e})") from None
    if not isinstance(summary, dict):
        raise ValueError(f"{path} is not a sweep summary (a JSON object with a threshold)")
    value = summary.get("threshold")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"{path}: the threshold must be a number in (0, 1]; got {value!r}")
    return float(value)


def _read_rows(path: Path) -> tuple[dict[str, Any], ...]:
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            raw = list(reader)
            columns = reader.fieldnames or []
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is unreadable ({e})") from None
    missing = [c for c in (*REQUIRED_COLUMNS, "seed") if c not in columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)}")
    if any(None in row or any(v is None for v in row.values()) for row in raw):
        raise ValueError(f"{path} has a row with too many or too few fields (truncated?)")
    return tuple({k: _typed(v) for k, v in row.items()} for row in raw)


def read_sweep(folder: str | Path) -> SweepResults:
    """Read a finished sweep folder (``runs.csv``, ``weights.npz``, ``sweep.json``, ``summary.json``).

    Example: ``rows, model = read_sweep("results/latching-sweep").models("lstm", T=50, succeeded=False)``.

    A folder without ``summary.json`` (a sweep that did not finish) is refused: the summary holds the success
    threshold the rows are judged by.

    Raises:
        ValueError: naming the file, if one is missing, unreadable, not of a sweep's shape (columns, arrays, finite
            weights) or inconsistent with runs.csv.
    """
    folder = Path(folder)

    def need(name: str) -> Path:
        if not (folder / name).is_file():
            raise ValueError(f"{folder / name} is missing; is {folder} a finished sweep?")
        return folder / name

    rows = _read_rows(need("runs.csv"))
    try:
        settings = json.loads(need("sweep.json").read_text())["settings"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{folder / 'sweep.json'}: unreadable ({e})") from None
    level = _threshold(folder)
    try:
        with np.load(need(WEIGHTS_FILE), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except NPZ_READ_ERRORS as e:
        raise ValueError(f"{folder / WEIGHTS_FILE} is unreadable ({e})") from None
    absent = [k for k in REQUIRED_COLUMNS if k not in arrays]
    if absent:
        raise ValueError(f"{folder / WEIGHTS_FILE} lacks the array(s) {', '.join(absent)}")
    bad = [k for k, v in arrays.items() if v.dtype.kind == "f" and not np.isfinite(v).all()]
    if bad:
        raise ValueError(f"{folder / WEIGHTS_FILE}: non-finite values in {', '.join(sorted(bad))}")
    keys = [(r["cell"], r["T"], r["repeat"]) for r in rows]
    if keys != list(zip(arrays["cell"].tolist(), arrays["T"].tolist(), arrays["repeat"].tolist())):
        raise ValueError(f"{folder / WEIGHTS_FILE} does not match {folder / 'runs.csv'} row by row (cell, T, repeat)")
    _check_settings(folder / "sweep.json", settings)
    for cell in sorted({str(r["cell"]) for r in rows}):
        _check_models(folder / WEIGHTS_FILE, cell, arrays, rows, settings["hidden"])
    return SweepResults(folder, rows, settings, level, arrays)


def _check_settings(path: Path, settings: Any) -> None:
    """The settings a sweep's models are rebuilt from: hidden units, init scheme and read-out."""
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: settings must be a JSON object")
    hidden = settings.get("hidden")
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
        raise ValueError(f"{path}: settings.hidden must be a positive integer; got {hidden!r}")
    for key, check in (("init", check_scheme), ("readout", readout_classes)):
        try:
            check(settings.get(key))
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path}: settings.{key}: {e}") from None


def _check_models(path: Path, cell: str, arrays: dict[str, np.ndarray], rows: Sequence[Row], hidden: int) -> None:
    """``cell``'s arrays: its rows of runs.csv (integers, each a row of that cell) and, per stage, parameters with
    one model per row and ``hidden`` units (so a damaged file is refused here, not met as a shape error later)."""
    row = arrays.get(f"{cell}.row")
    if row is None or row.ndim != 1 or row.dtype.kind not in "iu":
        raise ValueError(f"{path}: {cell}.row must be a 1-D integer array")
    if not all(0 <= int(i) < len(rows) and rows[int(i)]["cell"] == cell for i in row):
        raise ValueError(f"{path}: {cell}.row names rows of runs.csv that are not {cell} models")
    for stage in STAGES:
        shapes = {}
        for name in PARAM_NAMES:
            a = arrays.get(f"{cell}.{stage}.{name}")
            if a is None or a.dtype.kind != "f" or a.ndim < 2 or a.shape[0] != row.size:
                raise ValueError(f"{path}: {cell}.{stage}.{name} must be a float array with one model per row")
            shapes[name] = a.shape
        if len(shapes["recurrent_kernel"]) != 3 or shapes["recurrent_kernel"][1] != hidden:
            raise ValueError(f"{path}: {cell}.{stage}.recurrent_kernel has the shape {shapes['recurrent_kernel']}, "
                             f"not (models, {hidden}, gates x {hidden}) as sweep.json's hidden = {hidden} says")
        if len(shapes["kernel"]) != 3 or len(shapes["W_out"]) != 3 or shapes["W_out"][1] != hidden:
            raise ValueError(f"{path}: {cell}.{stage}: kernel and W_out must be (models, inputs or {hidden}, ...)")


__all__: Sequence[str] = ("SweepResults", "read_sweep", "WEIGHTS_FILE", "STAGES")
