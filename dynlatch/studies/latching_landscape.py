"""Latching loss surfaces of the one-unit SRNN and LSTM, with stable fixed points and Keras-2 starts overlaid.

For each plane ``cell:x,y`` (two parameters of a Keras-2 initialised one-unit model, every other parameter fixed) and
each length T: the loss, gradient norm and accuracy of the question's latching task (Dense(2) + softmax read-out,
noise 0.1) over the plane (:func:`dynlatch.landscape.parameter_surface`, each grid point one model of a batched
program); the number of stable fixed points at zero input at every grid point
(:func:`dynlatch.dynamics.fixed_points`); and where ``init_points`` Keras-2 initial models fall on the plane.

Writes ``runs.csv`` (one row per plane and T: the bistable fraction of the plane and how often accuracy 0.9 is reached
inside and outside it), one ``surface_CELL_X-Y_TT.npz`` per plane and T (:meth:`dynlatch.landscape.Surface.load`
reads them), ``summary.json`` and ``latching_landscape.pdf/.png``. About a minute at ``--quick``.

Each surface is computed in tiles of grid rows, the shards of the store in ``OUT/shards`` (:mod:`dynlatch.sweep`): an
interrupted run resumes from its finished tiles, ``--scheduler tcp://HOST:PORT`` computes them on a Dask cluster and
``--device cuda`` on a GPU (torch backend).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
import torch
from matplotlib.figure import Figure

from .. import _checks, dynamics, tasks
from .._config import Config, option
from .._model import Model
from .._train import BACKENDS, resolve_backend
from ..landscape import Surface, parameter_surface
from ..sweep import ShardExecutor, run_shards
from ._study import Result, RunContext, Study

Plane = tuple[tuple[str, tuple[float, float]], tuple[str, tuple[float, float]]]

LATCHING_PAIRS: dict[str, Plane] = {
    "srnn:U,W": (("U", (-3.0, 3.0)), ("W", (-3.0, 3.0))),
    "srnn:U,b": (("U", (-3.0, 3.0)), ("b", (-2.0, 2.0))),
    "lstm:b_f,U_c": (("b_f", (-3.0, 5.0)), ("U_c", (-4.0, 4.0))),
    "lstm:W_c,b_i": (("W_c", (-3.0, 3.0)), ("b_i", (-3.0, 3.0))),
}
"""The planes of ``dynlatch run latching-landscape``: ``cell:x,y`` with the swept ranges."""

INIT_SEED_OFFSET = 1000
"""The Keras-2 initial models drawn on each plane have seeds ``INIT_SEED_OFFSET + seed + k``, apart from the base
model's ``seed``."""


def _pairs(name: str, values: Any) -> tuple[str, ...]:
    return tuple(_checks.choice(name, v, tuple(LATCHING_PAIRS)) for v in _checks.distinct(name, values))


def _lengths(name: str, values: Any) -> tuple[int, ...]:
    return _checks.lengths(name, values, different=2)


@dataclass(frozen=True)
class LatchingLandscapeConfig(Config):
    """Settings of ``dynlatch run latching-landscape``: loss surfaces of the question's latching task (Dense(2) +
    softmax read-out, noise 0.1) around a Keras-2 initialised model, over pairs of its parameters."""

    pairs: tuple[str, ...] = option(tuple(LATCHING_PAIRS), help="planes cell:x,y", check=_pairs)
    lengths: tuple[int, ...] = option((5, 20, 100), flag="--lens", help="sequence lengths T", check=_lengths,
                                      quick=(5, 20))
    resolution: int = option(64, help="grid points per axis", check=_checks.integer_at_least(8), quick=20)
    n: int = option(1000, help="latching sequences the loss is taken on", check=_checks.integer_at_least(1),
                    quick=300)
    init_points: int = option(200, help="Keras-2 initial models drawn on each plane",
                              check=_checks.integer_at_least(1), quick=50)
    seed: int = option(0, help="seed of the base model (Keras-2 init) and of the data", check=_checks.seed)
    backend: str = option("auto", help="surface engine: numba on the CPU, torch elsewhere (auto)", choices=BACKENDS)
    device: str | None = option(None, help="torch device (none: the CPU; a GPU is never required)",
                                check=_checks.device)

    def check_together(self) -> None:
        try:
            resolve_backend(self.backend, self.device)
        except ValueError as e:
            raise _checks.CheckError("backend", f"numba cannot run on device {self.device} ({e})") from None


@dataclass(frozen=True)
class LatchingLandscape:
    """What :func:`latching_landscape` computes.

    Attributes:
        surfaces: by (pair, T).
        stable_points: by pair, (H, G) number of stable fixed points (x = 0) at every grid point.
        init: by pair, (init_points, 2) Keras-2 initial values of the two parameters.
        rows: one row per (pair, T).
        summary: ``planes``: the rows by ``PAIR@T=T``.
    """

    surfaces: dict[tuple[str, int], Surface]
    stable_points: dict[str, np.ndarray]
    init: dict[str, np.ndarray]
    rows: list[dict[str, Any]]
    summary: dict[str, Any]


def stable_point_counts(cell: Any) -> np.ndarray:
    """Number of stable fixed points at zero input (period 1) of each model of a batched one-unit cell, (M,)."""
    return np.array([sum(p.stable for p in fps) for fps in dynamics.fixed_points(cell, x=0.0, periods=(1,))])


def plane_row(pair: str, T: int, surface: Surface, bistable: np.ndarray, init_bistable: float) -> dict[str, Any]:
    """One row of ``runs.csv``: the plane's smallest loss, its bistable fraction, how often accuracy 0.9 is reached on
    the whole plane, inside and outside the bistable region, and the fraction of bistable Keras-2 initial models."""
    s = surface
    return {
        "pair": pair, "cell": pair.split(":")[0], "T": int(T), "min_loss": float(np.nanmin(s.loss)),
        "fraction_bistable": float(bistable.mean()),
        "fraction_accuracy_0.9": float(np.mean(s.accuracy >= 0.9)),
        "accuracy_0.9_in_bistable": float(np.mean(s.accuracy[bistable] >= 0.9)) if bistable.any() else np.nan,
        "accuracy_0.9_elsewhere": float(np.mean(s.accuracy[~bistable] >= 0.9)) if (~bistable).any() else np.nan,
        "keras2_init_models_bistable": init_bistable,
    }


TILE_ROWS = 16
"""Grid rows per shard: each surface is computed in tiles of ``TILE_ROWS`` x ``resolution`` points."""


def surface_tiles(config: LatchingLandscapeConfig) -> list[dict[str, Any]]:
    """One shard per tile ``{"pair", "T", "first_row"}``: plane-major, then T, then rows of the grid."""
    return [{"pair": pair, "T": int(T), "first_row": first} for pair in config.pairs for T in config.lengths
            for first in range(0, config.resolution, TILE_ROWS)]


def surface_settings(config: LatchingLandscapeConfig) -> dict[str, Any]:
    """What a tile depends on besides its key (the backend resolved, the device normalised)."""
    return {"resolution": config.resolution, "n": config.n, "seed": config.seed, "tile_rows": TILE_ROWS,
            "backend": resolve_backend(config.backend, config.device),
            "device": _checks.device("device", config.device) or "cpu"}


def plane_axes(config: LatchingLandscapeConfig, pair: str) -> tuple[str, np.ndarray, str, np.ndarray]:
    """``(x name, x values, y name, y values)`` of the plane ``pair`` at the config's resolution."""
    (nx, rx), (ny, ry) = LATCHING_PAIRS[pair]
    return nx, np.linspace(*rx, config.resolution), ny, np.linspace(*ry, config.resolution)


def base_model(config: LatchingLandscapeConfig, pair: str) -> Model:
    """The Keras-2 initialised one-unit model the plane ``pair`` is taken around."""
    return Model.init(pair.split(":")[0], seeds=[config.seed], init="keras2", dtype=torch.float64)


@functools.lru_cache(maxsize=1)
def landscape_data(config: LatchingLandscapeConfig, T: int) -> tuple[np.ndarray, np.ndarray]:
    """The sequences and labels every surface at length ``T`` is taken on."""
    data = tasks.latching(length=int(T), n=config.n, val_fraction=0.5, seed=config.seed)
    return np.concatenate([data.x_train, data.x_val]), np.concatenate([data.y_train, data.y_val])


def compute_surface_tile(config: LatchingLandscapeConfig, key: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per grid row of the tile ``key``: its loss, gradient norm and accuracy along x, and the surface's
    metadata (what a process or a cluster worker computes)."""
    nx, xs, ny, ys = plane_axes(config, key["pair"])
    rows = slice(key["first_row"], key["first_row"] + TILE_ROWS)
    x, y = landscape_data(config, key["T"])
    tile = parameter_surface(base_model(config, key["pair"]), x, y, axes=((nx, xs), (ny, ys[rows])),
                             backend=config.backend, device=config.device)
    return [{"row": key["first_row"] + i, "loss": tile.loss[i].tolist(), "grad_norm": tile.grad_norm[i].tolist(),
             "accuracy": tile.accuracy[i].tolist(), "metadata": tile.metadata} for i in range(len(tile.y))]


def assemble_surface(config: LatchingLandscapeConfig, pair: str, grid_rows: list[dict[str, Any]]) -> Surface:
    """The surface of ``pair`` from its tiles' rows (every grid row once, in order)."""
    nx, xs, ny, ys = plane_axes(config, pair)
    assert [r["row"] for r in grid_rows] == list(range(len(ys))), "tiles must cover the grid's rows once, in order"
    stack = lambda name: np.array([r[name] for r in grid_rows], dtype=np.float64)  # noqa: E731
    return Surface(nx, ny, xs, ys, stack("loss"), stack("grad_norm"), stack("accuracy"), grid_rows[0]["metadata"])


def latching_landscape(config: LatchingLandscapeConfig, out_dir: str | Path, *,
                       say: Callable[[str], None] = lambda _: None, progress: bool = False,
                       executor: ShardExecutor | None = None) -> LatchingLandscape:
    """Surfaces of every plane and T in ``config``, each with the number of stable fixed points (x = 0) of the cell at
    every grid point and the Keras-2 initial values of the two parameters; ``say`` reports progress.

    The surfaces are computed in tiles (:data:`TILE_ROWS` grid rows each), the shards of the store under ``out_dir``
    (resumable), by ``executor`` (default this process; a Dask cluster with ``--scheduler``).
    """
    c = config
    tiles = run_shards(surface_tiles(c), functools.partial(compute_surface_tile, c), out_dir=out_dir,
                       settings=surface_settings(c), progress=progress, desc="surface tiles", executor=executor)
    per_surface = c.resolution  # grid rows per surface, in surface_tiles order
    surfaces, stable, init, rows = {}, {}, {}, []
    for p, pair in enumerate(c.pairs):
        kind, _ = pair.split(":")
        nx, xs, ny, ys = plane_axes(c, pair)
        say(f"plane {pair}: stable fixed points")
        U, V = np.meshgrid(xs, ys)
        grid = base_model(c, pair).cell.with_params(**{nx: torch.as_tensor(U.reshape(-1)),
                                                        ny: torch.as_tensor(V.reshape(-1))})
        stable[pair] = stable_point_counts(grid).reshape(U.shape)
        first = INIT_SEED_OFFSET + c.seed
        sample = Model.init(kind, seeds=range(first, first + c.init_points), init="keras2", dtype=torch.float64).cell
        named = sample.named_params()
        init_bistable = float(np.mean(stable_point_counts(sample) >= 2))
        init[pair] = np.stack([named[nx].reshape(-1).numpy(), named[ny].reshape(-1).numpy()], axis=1)
        for k, T in enumerate(c.lengths):
            start = (p * len(c.lengths) + k) * per_surface
            s = assemble_surface(c, pair, tiles[start:start + per_surface])
            surfaces[(pair, int(T))] = s
            rows.append(plane_row(pair, T, s, stable[pair] >= 2, init_bistable))
    summary = {"planes": {f"{r['pair']}@T={r['T']}": {k: v for k, v in r.items() if k not in ("pair", "T", "cell")}
                          for r in rows}}
    return LatchingLandscape(surfaces, stable, init, rows, summary)


def surface_file(pair: str, T: int) -> str:
    """The name of the ``.npz`` file of the surface of ``pair`` at length ``T``: ``surface_srnn_U-W_T5.npz``."""
    return f"surface_{pair.replace(':', '_').replace(',', '-')}_T{T}.npz"


def npz_writer(arrays: dict[str, np.ndarray]) -> Callable[[BinaryIO], None]:
    """A writer of an ``.npz`` file holding ``arrays`` to an open binary file."""
    def write(f: BinaryIO) -> None:
        np.savez(f, **arrays)
    return write


def landscape_figure(result: LatchingLandscape, config: LatchingLandscapeConfig) -> Figure:
    """One panel per plane (rows) and T (columns): log10 of the loss, the boundary of the bistable region, the
    accuracy-0.9 contour and the Keras-2 initial points."""
    pairs, Ts = list(config.pairs), list(config.lengths)
    fig = Figure(figsize=(3.6 * len(Ts), 3.1 * len(pairs)))
    axes = fig.subplots(len(pairs), len(Ts), squeeze=False)
    for r, pair in enumerate(pairs):
        for k, T in enumerate(Ts):
            ax = axes[r][k]
            s = result.surfaces[(pair, T)]
            cs = ax.contourf(s.x, s.y, np.log10(s.loss), levels=24, cmap="viridis")
            fig.colorbar(cs, ax=ax, label="log10 loss" if k == len(Ts) - 1 else None)
            ax.contour(s.x, s.y, result.stable_points[pair], levels=[1.5], colors="white", linewidths=1.2)
            ax.contour(s.x, s.y, s.accuracy, levels=[0.9], colors="orange", linewidths=0.9, linestyles="--")
            pts = result.init[pair]
            ax.plot(pts[:, 0], pts[:, 1], "r.", ms=2.5, alpha=0.7)
            ax.set(xlim=(s.x[0], s.x[-1]), ylim=(s.y[0], s.y[-1]), xlabel=s.x_name, ylabel=s.y_name,
                   title=f"{pair.split(':')[0].upper()}, T = {T}")
    fig.suptitle("loss of the latching task around a Keras-2 initial model; white: boundary of the region with two "
                 "stable fixed points (x = 0); orange dashed: accuracy 0.9; red: Keras-2 initial values", fontsize=10)
    fig.tight_layout()
    return fig


def run(config: LatchingLandscapeConfig, context: RunContext) -> Result:
    """Compute every plane's surfaces; the result carries the rows, the surfaces, the summary and the figure."""
    result = latching_landscape(config, context.out, say=context.say, progress=context.progress,
                                executor=context.shards)
    files = {surface_file(pair, T): npz_writer(s.arrays()) for (pair, T), s in result.surfaces.items()}
    report = [f"{row['pair']:>14} T={row['T']:<4} bistable {row['fraction_bistable']:.2f} of the plane; accuracy >= "
              f"0.9 on {row['accuracy_0.9_in_bistable']:.2f} of it vs {row['accuracy_0.9_elsewhere']:.2f} elsewhere; "
              f"Keras-2 inits bistable: {row['keras2_init_models_bistable']:.2f}" for row in result.rows]
    return Result(summary=result.summary, tables={"runs": result.rows}, files=files,
                  figures={"latching_landscape": landscape_figure(result, config)}, report=report)


SUMMARY_KEYS: dict[str, str] = {
    "planes": ("per (cell, parameter plane, T): the smallest loss, the fractions of the plane that are bistable and "
               "that reach 90% accuracy, the accuracy inside and outside the bistable region, and the fraction of "
               "Keras-2 initial models that are bistable"),
}
"""What each top-level key of ``summary.json`` means (the documentation's gallery lists them)."""

STUDY = Study(name="latching-landscape", config=LatchingLandscapeConfig, run=run, description=__doc__,
              summary_keys=SUMMARY_KEYS, sharded=True)
