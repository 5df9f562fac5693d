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
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._model import Model
from ..cells import CellParams
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
        template = Model.init(cell, seeds=[r["seed"] for r in rows], units=s["hidden"],
                              input_dim=params[0].shape[1], init=s["init"], readout=s["readout"], dtype=dtype)
        return rows, Model(template.cell.replace(CellParams(*params[:3])), params[3], params[4], template.seeds,
                           template.readout)


def read_sweep(folder: str | Path) -> SweepResults:
    """Read a finished sweep folder (``runs.csv``, ``weights.npz``, ``sweep.json``, ``summary.json``).

    Example: ``rows, model = read_sweep("results/latching-sweep").models("lstm", T=50, succeeded=False)``.

    Raises:
        ValueError: naming the file, if one is missing, unreadable or inconsistent with runs.csv.
    """
    folder = Path(folder)

    def need(name: str) -> Path:
        if not (folder / name).is_file():
            raise ValueError(f"{folder / name} is missing; is {folder} a finished sweep?")
        return folder / name

    with open(need("runs.csv"), newline="") as f:
        rows = tuple({k: _typed(v) for k, v in row.items()} for row in csv.DictReader(f))
    try:
        settings = json.loads(need("sweep.json").read_text())["settings"]
        summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").is_file() else {}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{folder}: unreadable sweep.json or summary.json ({e})") from None
    try:
        with np.load(need(WEIGHTS_FILE), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{folder / WEIGHTS_FILE} is unreadable ({e})") from None
    keys = [(r["cell"], r["T"], r["repeat"]) for r in rows]
    if keys != list(zip(arrays["cell"].tolist(), arrays["T"].tolist(), arrays["repeat"].tolist())):
        raise ValueError(f"{folder / WEIGHTS_FILE} does not match {folder / 'runs.csv'} row by row (cell, T, repeat)")
    return SweepResults(folder, rows, settings, float(summary.get("threshold", 0.9)), arrays)


__all__: Sequence[str] = ("SweepResults", "read_sweep", "WEIGHTS_FILE", "STAGES")
