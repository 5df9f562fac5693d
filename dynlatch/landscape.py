r"""Loss landscapes: whole 2-D surfaces evaluated as one batched program, and Pascanu et al.'s cliff located exactly.

Pascanu, Mikolov & Bengio (2013, Fig. 6) drew the loss of the one-unit map ``x_t = w sigmoid(x_{t-1}) + b``,
``x_0 = 0.5``, ``E = (sigmoid(x_T) - 0.7)^2`` at ``T = 50`` over ``(w, b)``: a plateau cut by a wall where the gradient
explodes. They argued that crossing a boundary between basins of attraction is sufficient for such a wall, and a
bifurcation neither necessary nor sufficient. Here each grid point is one model of a batched map, so a 512 x 512
surface with its gradient is a single tensor program; and, since at ``T = 50`` the wall is far thinner than any grid
spacing, :func:`pascanu_wall` locates it by 1-D root finding across it instead of reading it off the grid.

Closed forms used as overlays (REFERENCES; derivation in :mod:`dynlatch.symbolic` where present):

* fixed points ``x* = w s(x*) + b``, ``s`` the logistic sigmoid; multiplier ``w s'(x*)``;
* the fold curve (multiplier +1), parametrised by the fixed point: ``w = 1 / s'(x*)``, ``b = x* - w s(x*)``; two
  stable fixed points coexist between its two branches (``w > 4``);
* the basin boundary through ``x_0``: in the bistable region the unstable middle fixed point separates the basins,
  and it equals ``x_0`` exactly when ``b = x_0 - w s(x_0)`` with ``w s'(x_0) > 1``; across it the wall steepens with
  T at ``log(w s'(x_0))`` per step.

Which of the two the wall follows (:func:`pascanu_wall_kind`): where a basin boundary passes through ``x_0``
(``w > 1 / s'(x_0)``, about 4.26 at ``x_0 = 0.5``) the jump of ``x_T`` sits on it; between the cusp (``w = 4``) and
that threshold ``x_0`` is never the unstable fixed point: it lies in one basin for every ``b`` of the bistable band,
and ``x_T`` jumps where that basin's attractor vanishes, at a fold (the lower one for ``x_0 = 0.5``), where the limit
``T -> oo`` of ``x_T`` is discontinuous. In both regimes the wall is where ``x_0`` changes basin -- the boundary sweeps
across it, or the basin holding it vanishes -- which is Pascanu et al.'s sufficient condition for a cliff, crossing a
boundary between basins of attraction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from scipy.optimize import brentq

from . import _checks
from ._atomic import atomic_path
from ._checks import NPZ_READ_ERRORS
from ._evaluate import evaluate
from ._model import Model
from .bengio import latch_cost
from .cells import CellParams

__all__ = [
    "GRAD_WRT", "PASCANU", "Surface", "WALL_KINDS", "WALL_KIND_TOLERANCE", "WALL_STEEP", "WALL_ULP_FLOOR",
    "bengio_surface", "direction_surface", "gradient_descent", "map_surface", "model_directions", "parameter_surface",
    "pascanu_basin_boundary", "pascanu_boundary_rate", "pascanu_boundary_threshold", "pascanu_descent",
    "pascanu_final_state", "pascanu_fold_b", "pascanu_fold_curve", "pascanu_grad_norm", "pascanu_loss",
    "pascanu_loss_and_grad", "pascanu_start_before_wall", "pascanu_steepest", "pascanu_surface", "pascanu_wall",
    "pascanu_wall_kind", "pascanu_wall_line", "pascanu_wall_profile", "pascanu_wall_tolerance", "plot_surface",
    "plot_surface_3d",
]

PASCANU = {"x0": 0.5, "target": 0.7, "steps": 50}
"""Pascanu et al. (2013), Fig. 6: initial state, target of sigmoid(x_T), number of steps."""


# -- the map -----------------------------------------------------------------------------------------------------
def _check_map(*, steps: int, x0: float, target: Any = ...) -> None:
    """The settings every Pascanu function shares: ``steps`` an integer >= 1, ``x0`` finite, ``target`` (when the
    function has one) in (0, 1).

    Raises:
        ValueError: naming the argument.
    """
    _checks.integer("steps", steps, minimum=1)
    _checks.number("x0", x0)
    if target is not ...:
        _checks.number("target", target, above=0, below=1)  # as sigmoid(x_T) does


def _check_descent(*, lr: float, iterations: int, clip: float | None) -> None:
    """The settings of gradient descent: ``lr`` > 0, ``iterations`` an integer >= 1, ``clip`` > 0 or None.

    Raises:
        ValueError: naming the argument.
    """
    _checks.number("lr", lr, above=0)
    _checks.integer("iterations", iterations, minimum=1)
    if clip is not None:
        _checks.number("clip", clip, above=0)



def pascanu_final_state(w: torch.Tensor, b: torch.Tensor, *, steps: int = 50, x0: float = 0.5) -> torch.Tensor:
    """``x_T`` of ``x_t = w sigmoid(x_{t-1}) + b`` from ``x_0`` for arrays of ``(w, b)`` (broadcast together)."""
    x = torch.full(torch.broadcast_shapes(w.shape, b.shape), float(x0), dtype=w.dtype, device=w.device)
    for _ in range(int(steps)):
        x = w * torch.sigmoid(x) + b
    return x


def pascanu_loss(w: torch.Tensor, b: torch.Tensor, *, steps: int = 50, x0: float = 0.5,
                 target: float = 0.7) -> torch.Tensor:
    """``E = (sigmoid(x_T) - target)^2`` of Pascanu's map, elementwise over ``(w, b)``."""
    return (torch.sigmoid(pascanu_final_state(w, b, steps=steps, x0=x0)) - target) ** 2


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def pascanu_fold_curve(x_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(w, b)`` of the fold curve of ``x -> w sigmoid(x) + b``, parametrised by the fixed point ``x*``:
    ``w = 1 / s'(x*)``, ``b = x* - w s(x*)``. ``x* < 0`` and ``x* > 0`` give the two branches; they meet in the cusp
    ``(w, b) = (4, -2)`` at ``x* = 0``."""
    x_star = np.asarray(x_star, dtype=np.float64)
    s = _sigmoid(x_star)
    w = 1.0 / (s * (1.0 - s))
    return w, x_star - w * s


def pascanu_basin_boundary(w: np.ndarray, *, x0: float = 0.5) -> np.ndarray:
    """``b`` at which ``x0`` is the unstable middle fixed point, i.e. lies on the boundary between the two basins
    (``b = x0 - w s(x0)``); NaN where ``w s'(x0) <= 1`` (there ``x0`` cannot be an unstable fixed point)."""
    w = np.asarray(w, dtype=np.float64)
    s = _sigmoid(x0)
    return np.where(w * s * (1 - s) > 1, x0 - w * s, np.nan)


def pascanu_boundary_rate(w: float, *, x0: float = 0.5) -> float:
    """``log(w s'(x0))``, the log multiplier of ``x0`` as the unstable fixed point on the basin boundary
    (:func:`pascanu_basin_boundary`): a perturbation of ``b`` there grows by ``w s'(x0)`` per step, so the wall's
    gradient norm grows, and its width shrinks, at this rate per step of T. Positive where ``w s'(x0) > 1``, the only
    case with such a boundary."""
    s = _sigmoid(x0)
    return float(np.log(w * s * (1 - s)))


def pascanu_boundary_threshold(*, x0: float = 0.5) -> float:
    """``1 / s'(x0)``: the smallest ``w`` at which a basin boundary passes through ``x0`` (``x0`` is an unstable fixed
    point only where its multiplier ``w s'(x0)`` exceeds 1); about 4.255 at ``x0 = 0.5``, at least 4 (the cusp)."""
    s = _sigmoid(x0)
    return float(1.0 / (s * (1 - s)))


def pascanu_fold_b(w: float) -> tuple[float, float]:
    """The two fold values of ``b`` at a given ``w > 4`` (lower, upper), between which two attractors coexist.

    Raises:
        ValueError: for ``w <= 4`` (no fold at this w).
    """
    if not w > 4:
        raise ValueError(f"the sigmoid map has folds only for w > 4; got w={w}")
    # s'(x*) = 1/w  <=>  s(x*) = (1 +- sqrt(1 - 4/w)) / 2
    root = np.sqrt(1 - 4 / w)
    bs = []
    for s in ((1 - root) / 2, (1 + root) / 2):
        x_star = np.log(s / (1 - s))
        bs.append(x_star - w * s)
    return min(bs), max(bs)


# -- surfaces ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Surface:
    """A loss surface on a 2-D grid.

    Attributes:
        x_name, y_name: what the axes are (parameter names or direction labels).
        x, y: axis values, (G,) and (H,).
        loss: (H, G), ``loss[i, j]`` at ``(x[j], y[i])`` (NaN where it diverged).
        grad_norm: (H, G) Euclidean norm of the loss gradient (see ``metadata["grad_wrt"]``).
        accuracy: (H, G) or None.
        metadata: the full settings the surface came from (JSON-able).
    """

    x_name: str
    y_name: str
    x: np.ndarray
    y: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    accuracy: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = (np.size(self.y), np.size(self.x))
        for name in ("loss", "grad_norm", "accuracy"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != shape:
                raise ValueError(f"{name}: expected shape {shape} (len(y), len(x)); got {np.shape(value)}")

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the surface's ``.npz`` file (what :meth:`save` writes and :meth:`load` reads): the axes'
        values and names, loss, gradient norm, accuracy if any, and the metadata as a JSON string (no pickles)."""
        arrays = {"x": self.x, "y": self.y, "loss": self.loss, "grad_norm": self.grad_norm,
                  "axes": np.array([self.x_name, self.y_name]),
                  "metadata": np.array(json.dumps(self.metadata, sort_keys=True, allow_nan=True))}
        if self.accuracy is not None:
            arrays["accuracy"] = self.accuracy
        return arrays

    def save(self, path: Any) -> Any:
        """Write the surface as ``.npz`` (:meth:`arrays`) to a path (atomically) or to an open binary file (a
        study's :class:`~dynlatch.studies.Result` hands its file writers one); returns ``path``."""
        arrays = self.arrays()
        if hasattr(path, "write"):
            np.savez(path, **arrays)
            return path
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
        return path

    @classmethod
    def load(cls, path: Any) -> "Surface":
        """Read a surface written by :meth:`save` (``allow_pickle=False``).

        Raises:
            ValueError: if the file is not such a surface.
        """
        try:
            with np.load(path, allow_pickle=False) as f:
                data = {k: f[k] for k in f.files}
            x_name, y_name = (str(a) for a in data["axes"])
            metadata = json.loads(str(data["metadata"]))
            if not isinstance(metadata, dict):
                raise ValueError("its metadata is not a JSON object")
            for name in ("x", "y", "loss", "grad_norm", "accuracy"):
                if name in data and data[name].dtype.kind not in "fiu":
                    raise ValueError(f"{name} is not numeric")
            for name in ("x", "y"):
                if data[name].ndim != 1 or not np.isfinite(data[name]).all():
                    raise ValueError(f"the axis {name} is not a 1-D array of finite values")
            return cls(x_name, y_name, data["x"], data["y"], data["loss"], data["grad_norm"], data.get("accuracy"),
                       metadata)
        except (*NPZ_READ_ERRORS, KeyError, TypeError) as e:
            raise ValueError(f"{path}: not a dynlatch surface ({e or type(e).__name__})") from None


def _grid_axis(values: Any, name: str) -> np.ndarray:
    a = _checks.real_array(name, values, finite=False).astype(np.float64).reshape(-1)
    if a.size < 2 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} needs at least 2 finite values")
    return a


def map_surface(loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: Any, y: Any, *,
                x_name: str = "x", y_name: str = "y", chunk: int = 1 << 16, device: Any = None,
                metadata: dict[str, Any] | None = None) -> Surface:
    """Loss and gradient norm of a function of two scalars on the grid ``x`` x ``y``, as batched tensor programs.

    Args:
        loss: elementwise ``loss(u, v)`` on 1-D float64 tensors of grid points (e.g. :func:`pascanu_loss`).
        x, y: axis values.
        chunk: grid points per batched evaluation (bounds memory).
        device: torch device.

    Raises:
        ValueError: for axes with fewer than two or non-finite values, or ``chunk < 1``.
    """
    xs, ys = _grid_axis(x, x_name), _grid_axis(y, y_name)
    _checks.integer("chunk", chunk, minimum=1)
    U, V = np.meshgrid(xs, ys)
    u_all, v_all = U.reshape(-1), V.reshape(-1)
    L = np.empty(u_all.size)
    G = np.empty(u_all.size)
    for start in range(0, u_all.size, chunk):
        sl = slice(start, start + chunk)
        u = torch.tensor(u_all[sl], dtype=torch.float64, device=device, requires_grad=True)
        v = torch.tensor(v_all[sl], dtype=torch.float64, device=device, requires_grad=True)
        values = loss(u, v)
        gu, gv = torch.autograd.grad(values.sum(), (u, v))
        L[sl] = values.detach().cpu().numpy()
        G[sl] = torch.sqrt(gu**2 + gv**2).cpu().numpy()
    meta = {"grad_wrt": [x_name, y_name], **(metadata or {})}
    return Surface(x_name, y_name, xs, ys, L.reshape(U.shape), G.reshape(U.shape), None, meta)


def pascanu_surface(w: Any, b: Any, *, steps: int = 50, x0: float = 0.5, target: float = 0.7,
                    device: Any = None) -> Surface:
    """Pascanu et al.'s Fig. 6 surface over ``(w, b)`` (see the module docstring).

    Raises:
        ValueError: for ``steps < 1``, a non-finite ``x0``, a ``target`` outside (0, 1) or bad axes.
    """
    _check_map(steps=steps, x0=x0, target=target)
    meta = {"map": "pascanu", "steps": int(steps), "x0": float(x0), "target": float(target)}
    return map_surface(lambda u, v: pascanu_loss(u, v, steps=steps, x0=x0, target=target), w, b,
                       x_name="w", y_name="b", device=device, metadata=meta)


GRAD_WRT: tuple[str, ...] = ("swept", "all")
"""What the gradient norm of :func:`parameter_surface` is taken over: the two swept parameters, or every parameter."""


def parameter_surface(model: Any, x: Any, y: Any = None, *, axes: tuple[tuple[str, Any], tuple[str, Any]],
                      loss: str = "readout", target: Any = None, accuracy: bool = True, grad_wrt: str = "swept",
                      backend: str = "auto", chunk_models: int = 4096, device: Any = None) -> Surface:
    """Loss, gradient norm and accuracy of one model with two named parameters swept over a grid, every other parameter
    fixed: each grid point is one model of a batched program (:func:`dynlatch.evaluate`, the compiled fast path on the
    CPU).

    Args:
        model: a single-model :class:`dynlatch.Model` (or a one-model cell, for ``loss="squared_error"``).
        x: the sequences (N, T, D) the loss is taken on.
        y: their labels (N,).
        axes: ``((name_x, values_x), (name_y, values_y))`` with Keras parameter names of the cell (``"U_c"``,
            ``"b_f"``, ...; one-element blocks).
        loss, target: as :func:`dynlatch.evaluate`.
        accuracy: also return the accuracy (read-out loss only).
        grad_wrt: ``"swept"`` (default): ``grad_norm`` is ``||(dL/dp_x, dL/dp_y)||``, the gradient of the surface
            itself (the loss as a function of the two swept parameters, all others fixed; as :func:`map_surface`),
            computed in forward (tangent) mode -- no stored trajectory, no backward pass (``evaluate(wrt=...)``).
            ``"all"``: the norm of the gradient with respect to every parameter of the model (cell and read-out),
            what training sees, by reverse mode (``evaluate(grad=True)``), about twice the cost.
        backend, device: as :func:`dynlatch.evaluate`.
        chunk_models: grid points evaluated per call.

    Returns:
        A :class:`Surface`; ``metadata["grad_wrt"]`` is ``[name_x, name_y]`` or ``"all parameters"``.

    Raises:
        ValueError: for a batched model, unknown names, blocks of more than one element, bad axes or an unknown
            ``grad_wrt``.
    """
    cell = model.cell if isinstance(model, Model) else model
    if cell.models != 1:
        raise ValueError(f"parameter_surface needs a single model; got {cell.models}")
    (nx, vx), (ny, vy) = axes
    xs, ys = _grid_axis(vx, nx), _grid_axis(vy, ny)
    for name in (nx, ny):
        if int(np.prod(cell.block_shape(name))) != 1:
            raise ValueError(f"{name} is a block of shape {cell.block_shape(name)}; sweep one-element parameters")
    if nx == ny:
        raise ValueError(f"the two axes must be different parameters; got {nx} twice")
    if grad_wrt not in GRAD_WRT:
        raise ValueError(f"grad_wrt must be one of {', '.join(GRAD_WRT)}; got {grad_wrt!r}")
    swept = grad_wrt == "swept"
    U, V = np.meshgrid(xs, ys)
    losses, norms, accs = [], [], []
    for start in range(0, U.size, chunk_models):
        sl = slice(start, start + chunk_models)
        grid = cell.with_params(**{nx: torch.as_tensor(U.reshape(-1)[sl]), ny: torch.as_tensor(V.reshape(-1)[sl])})
        M = grid.models
        if isinstance(model, Model):
            grid = Model(grid, model.weight.expand(M, *model.weight.shape[1:]),
                         model.bias.expand(M, *model.bias.shape[1:]), None, model.readout)
        res = evaluate(grid, x, y, loss=loss, target=target, grad=not swept, wrt=[nx, ny] if swept else None,
                       backend=backend, device=device)
        losses.append(res.loss)
        norms.append(np.sqrt(sum(np.square(g).reshape(M, -1).sum(1) for g in res.grads.values())))
        if accuracy and res.accuracy is not None:
            accs.append(res.accuracy)
    meta = {"grad_wrt": [nx, ny] if swept else "all parameters", "cell": cell.kind, "loss": loss,
            "sequences": int(np.shape(x)[0]),
            "T": int(np.shape(x)[1]), **{k: v for k, v in cell.options().items()}}
    acc = np.concatenate(accs).reshape(U.shape) if accs else None
    return Surface(nx, ny, xs, ys, np.concatenate(losses).reshape(U.shape), np.concatenate(norms).reshape(U.shape),
                   acc, meta)


def bengio_surface(w: Any, h: Any, *, steps: int = 20, noise_variance: float = 0.2, sequences: int = 100,
                   seed: int = 0) -> Surface:
    """Bengio et al. (1994)'s cost over (recurrent weight ``w``, trained input ``h``): class +1 sequences start with
    input ``+h``, class -1 with ``-h``, then ``steps - 1`` steps of N(0, noise_variance) noise (one fixed draw shared by
    every grid point), targets +-0.8, ``C = 1/2 sum_p (tanh(a_T) - d)^2`` (:func:`dynlatch.bengio.latch_cost`)."""
    _checks.integer("steps", steps, minimum=1)
    _checks.number("noise_variance", noise_variance, at_least=0)
    _checks.integer("sequences", sequences, minimum=2)
    _checks.seed("seed", seed)
    _checks.fits_in_memory("sequences", float(sequences) * steps, what="the noise draw")
    g = torch.Generator().manual_seed(int(seed))
    noise = torch.randn(1, sequences, int(steps), generator=g, dtype=torch.float64) * float(noise_variance) ** 0.5

    def loss(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        classes = torch.stack([v, -v], dim=-1).unsqueeze(-1)  # (M, 2, L = 1)
        return latch_cost(u, classes, noise.expand(u.shape[0], -1, -1), lengths=[int(steps)] * u.shape[0])

    meta = {"map": "bengio", "steps": int(steps), "noise_variance": float(noise_variance),
            "sequences": int(sequences), "seed": int(seed)}
    return map_surface(loss, w, h, x_name="w", y_name="h", metadata=meta)


def model_directions(model: Any, x: Any, y: Any, *, kind: str = "random", seed: int = 0,
                     iterations: int = 100) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Two directions in a single model's parameter space (cell and read-out, as :meth:`Model.parameters`).

    ``"random"``: Gaussian, each parameter tensor rescaled to the norm of that parameter (Li et al. 2018's
    normalisation, per tensor; a zero parameter gets a unit-norm direction). ``"hessian"``: the two leading
    eigenvectors of the loss Hessian on ``(x, y)`` (power iteration with deflation on Hessian-vector products,
    float64 autograd), unit norm.

    Raises:
        ValueError: for a batched model or an unknown kind.
    """
    if not isinstance(model, Model) or model.models != 1:
        raise ValueError("directions need a single-model dynlatch.Model")
    params = [p.detach().to(torch.float64) for p in model.parameters()]
    if kind == "random":
        g = torch.Generator().manual_seed(int(seed))
        out = []
        for _ in range(2):
            d = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
            out.append([di * (p.norm() / di.norm() if p.norm() > 0 else 1 / di.norm()) for di, p in zip(d, params)])
        return out[0], out[1]
    if kind != "hessian":
        raise ValueError(f"unknown direction kind {kind!r}; choose random or hessian")
    X, Y = torch.as_tensor(np.asarray(x), dtype=torch.float64), torch.as_tensor(np.asarray(y))

    def loss_of(ps: list[torch.Tensor]) -> torch.Tensor:
        m = Model(model.cell.to(torch.float64).replace(CellParams(*ps[:3])), ps[3], ps[4], None, model.readout)
        return m.losses(X, Y)[0].sum()

    def hvp(v: list[torch.Tensor]) -> list[torch.Tensor]:
        return list(torch.autograd.functional.hvp(lambda *ps: loss_of(list(ps)), tuple(params), tuple(v))[1])

    g = torch.Generator().manual_seed(int(seed))
    found: list[list[torch.Tensor]] = []
    for _ in range(2):
        v = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
        for _ in range(iterations):
            for u in found:  # deflate: keep orthogonal to the eigenvectors found so far
                dot = sum((a * b).sum() for a, b in zip(v, u))
                v = [a - dot * b for a, b in zip(v, u)]
            v = hvp(v)
            norm = torch.sqrt(sum((a**2).sum() for a in v))
            v = [a / norm for a in v]
        found.append(v)
    return found[0], found[1]


def direction_surface(model: Any, x: Any, y: Any, *, directions: tuple[list[torch.Tensor], list[torch.Tensor]],
                      span: float = 1.0, resolution: int = 51, backend: str = "auto") -> Surface:
    """Loss, gradient norm and accuracy at ``theta0 + a d1 + b d2`` for ``a, b`` in ``[-span, span]``: the surface
    around a trained point along two directions (:func:`model_directions`), every grid point one model of a batched
    :func:`dynlatch.evaluate`."""
    if not isinstance(model, Model) or model.models != 1:
        raise ValueError("direction_surface needs a single-model dynlatch.Model")
    if not span > 0 or resolution < 2:
        raise ValueError("need span > 0 and resolution >= 2")
    alpha = np.linspace(-span, span, resolution)
    A, B = np.meshgrid(alpha, alpha)
    a = torch.as_tensor(A.reshape(-1))
    b = torch.as_tensor(B.reshape(-1))
    d1, d2 = directions
    params = [p.detach().to(torch.float64) for p in model.parameters()]
    grid = [p + a.view(-1, *[1] * (p.ndim - 1)) * u + b.view(-1, *[1] * (p.ndim - 1)) * v
            for p, u, v in zip(params, d1, d2)]
    cell = model.cell.to(torch.float64)
    cell = cell[[0] * a.numel()].replace(CellParams(*grid[:3]))
    res = evaluate(Model(cell, grid[3], grid[4], None, model.readout), x, y, grad=True, backend=backend)
    norms = np.sqrt(sum(np.square(g).reshape(a.numel(), -1).sum(1) for g in res.grads.values()))
    meta = {"grad_wrt": "all parameters", "span": float(span), "cell": cell.kind}
    return Surface("alpha", "beta", alpha, alpha, res.loss.reshape(A.shape), norms.reshape(A.shape),
                   res.accuracy.reshape(A.shape), meta)


# -- the wall ----------------------------------------------------------------------------------------------------
WALL_STEEP = 20.0
"""A step of :func:`pascanu_wall`'s scan is steep when it exceeds this many times the scan's median step. Away from the
jump ``x_T`` follows an attractor branch, ``dx*/db = 1 / (1 - w s'(x*)) >= 1``, so the median step is about one
sample spacing; at T = 50 (b in [-10, 1], 4001 samples) the jump's steepest step is 47 times that at w = 4.02, 72 at
w = 4.1 and over 1000 from w = 5 on."""

WALL_KIND_TOLERANCE = 2.0
"""How many of the wall's widths (:func:`pascanu_wall_profile`) a located ``b`` may lie from a curve of the theory
and still be on it (:func:`pascanu_wall_kind`). The located ``b`` is where ``x_T`` crosses the midpoint of its step;
the step's two sides are unequal (the attractors lie at different distances from the midpoint), so at finite T the
crossing sits a fraction of the step's width from the step's T -> oo position: 0.3 to 1.2 widths, measured at
T = 50 over 4 < w <= 8, for the basin boundary and for the fold alike (from w of about 10 on the width is a few units
in the last place, and so is the distance). Two widths allows for that with a margin, and stays well short of the
distance between the two curves wherever they are apart: at T = 50 the fold lies 3 widths from the wall at w = 4.5,
12 at w = 4.6, 700 at w = 5."""

WALL_ULP_FLOOR = 16
"""The least distance :func:`pascanu_wall_tolerance` allows, in units in the last place of ``b``: from w of about 10 on
(T = 50) the wall is not resolved in float64, its measured width and its distance to the basin boundary are a few
units in the last place."""

WALL_KINDS: tuple[str, ...] = ("basin_boundary", "fold", "neither")
"""What :func:`pascanu_wall_kind` calls a located wall point."""


def _final_state_of_b(w: float, *, steps: int, x0: float) -> Callable[[Any], np.ndarray]:
    """``b -> x_T`` at fixed ``w`` on float64 arrays (or scalars) of ``b``."""
    return lambda bb: pascanu_final_state(torch.full(np.shape(bb), float(w), dtype=torch.float64),
                                          torch.as_tensor(bb, dtype=torch.float64), steps=steps, x0=x0).numpy()


def _steep_runs(steep: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` indices of every run of consecutive True values."""
    edges = np.diff(np.concatenate([[0], steep.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1))


def pascanu_wall(w: float, *, b_range: tuple[float, float], steps: int = 50, x0: float = 0.5,
                 samples: int = 4001) -> list[float]:
    """Every ``b`` in ``b_range`` at which ``x_T(b)`` jumps between the two attractors at fixed ``w``: the wall.

    ``x_T`` rises with ``b``. A jump is a run of consecutive steps of a dense 1-D scan each steeper than
    :data:`WALL_STEEP` times the scan's median step; it is located by Brent's method (float64) where ``x_T`` crosses
    the midpoint between its values at the two ends of the run. Its position therefore does not depend on where a 2-D
    grid point happens to fall, and the test does not depend on ``b_range`` (only on the slope of ``x_T``).

    A run rather than a single step, because of the fold. Where a basin boundary passes through ``x0``
    (:func:`pascanu_boundary_threshold`, ``w > 1/s'(x0)``) the jump straddles it and its width shrinks like
    ``(w s'(x0))^-T`` (at T = 50: 2e-4 at w = 4.8, 6e-14 at w = 8). Below that threshold the jump sits at a fold: the
    attractor holding the trajectory vanishes there, so ``lim x_T`` is discontinuous, but at finite T the trajectory
    lingers in the fold's ghost for about ``pi / sqrt(k |b - b_fold|)`` steps (``k = |w s''(x*)| / 2`` at the fold
    point), so the step is smeared over a ``b`` range shrinking only algebraically in T (like ``T^-2`` for large T;
    0.014 wide at w = 4.1, T = 50: several samples of the scan) and lies on the side of the fold where the attractor
    is gone. No single step of the scan is then a sizeable part of the jump, and a one-step test misses it.

    With ``w <= 4`` the map has one attractor and there is no jump between two (near the cusp ``x_T`` still rises
    steeply, as ``1 / (1 - w s'(x*))``, but continuously): the answer is empty.

    Returns:
        The located ``b`` values, ascending (empty if ``x_T`` has no such jump in ``b_range``).

    Raises:
        ValueError: for an empty ``b_range`` or fewer than 3 samples.
    """
    lo, hi = (float(v) for v in b_range)
    if not hi > lo or samples < 3 or not np.isfinite(lo) or not np.isfinite(hi):
        raise ValueError(f"need a finite b_range (lo, hi) with hi > lo and samples >= 3; got {b_range}, {samples}")
    if not np.isfinite(w):
        raise ValueError(f"w must be finite; got {w!r}")
    _check_map(steps=steps, x0=x0)
    if not w > 4:
        return []
    bs = np.linspace(lo, hi, samples)
    x_T = _final_state_of_b(w, steps=steps, x0=x0)
    vals = x_T(bs)
    jumps = np.diff(vals)
    walls = []
    for first, last in _steep_runs(jumps > WALL_STEEP * np.median(np.abs(jumps))):
        mid = 0.5 * (vals[first] + vals[last + 1])
        walls.append(brentq(lambda bb: float(x_T(np.array(bb))) - mid, bs[first], bs[last + 1], xtol=1e-14,
                            rtol=1e-15))
    return walls


def pascanu_wall_profile(w: float, b_wall: float, *, steps: int = 50, x0: float = 0.5,
                         target: float = 0.7, halfwidth: float = 1e-3, max_halfwidth: float = 1.0) -> dict[str, float]:
    """Width and steepness of the wall at ``(w, b_wall)``: where ``x_T`` passes 25%, 50% and 75% of its step across
    the window ``[b_wall - h, b_wall + h]`` (Brent's method), the width ``b_75 - b_25`` and the largest gradient norm of
    ``E`` at those three points (its peak across the wall, as well as float64 resolves it).

    The window starts at ``h = halfwidth`` and doubles until the step fills at most a quarter of it
    (``b_75 - b_25 <= h / 2``; a straight line gives ``h``), so that the width is the step's and not the window's.
    Where the wall is sharp (on the basin boundary from w of about 4.7 on, T = 50) the first window holds it many
    times over. Nearer the cusp the step is wider than ``1e-3``, and at a fold (see :func:`pascanu_wall`) it has no
    flat sides -- on one of them ``x_T`` follows the attractor born at the fold, which moves like
    ``sqrt(|b - b_fold|)`` -- and the width is that of its steep core.

    Returns:
        ``{"b", "width", "grad_norm", "halfwidth"}``: the 50% crossing, the width, the peak gradient norm and the
        half-width ``h`` of the window used.

    Raises:
        ValueError: if there is no step around ``b_wall``, or none narrower than a quarter of the window up to
            ``max_halfwidth``.
    """
    x_T = lambda bb: float(_final_state_of_b(w, steps=steps, x0=x0)(float(bb)))  # noqa: E731
    h = float(halfwidth)
    while True:
        lo_b, hi_b = b_wall - h, b_wall + h
        lo, hi = x_T(lo_b), x_T(hi_b)
        if not hi > lo:
            raise ValueError(f"no step of x_T around b = {b_wall} at w = {w}")
        cross = {q: brentq(lambda bb: x_T(bb) - (lo + q * (hi - lo)), lo_b, hi_b, xtol=1e-300, rtol=1e-15)
                 for q in (0.25, 0.5, 0.75)}
        width = cross[0.75] - cross[0.25]
        if width <= h / 2:
            break
        if 2 * h > max_halfwidth:
            raise ValueError(f"x_T rises as wide as the window around b = {b_wall} at w = {w} up to a half-width of "
                             f"{h:g}: no step")
        h *= 2
    grads = [pascanu_grad_norm(w, b, steps=steps, x0=x0, target=target) for b in cross.values()]
    return {"b": cross[0.5], "width": width, "grad_norm": float(max(grads)), "halfwidth": h}


def pascanu_wall_tolerance(b: float, *, width: float, tolerance: float = WALL_KIND_TOLERANCE) -> float:
    """How far (in ``b``) a located wall point at ``b`` of the given width may lie from a curve and still be on it:
    ``tolerance`` widths (:data:`WALL_KIND_TOLERANCE`), never below :data:`WALL_ULP_FLOOR` units in the last place of
    ``b``."""
    return float(max(tolerance * width, WALL_ULP_FLOOR * np.spacing(abs(b))))


def pascanu_wall_kind(w: float, b: float, *, width: float, x0: float = 0.5,
                      tolerance: float = WALL_KIND_TOLERANCE) -> str:
    """What a located wall point ``(w, b)`` lies on: ``"basin_boundary"`` if within ``tolerance`` widths of the basin
    boundary through ``x0`` (:func:`pascanu_basin_boundary`), else ``"fold"`` if within them of a fold value of ``b``
    (:func:`pascanu_fold_b`), else ``"neither"``. ``width`` is the wall's own (:func:`pascanu_wall_profile`); the
    distance allowed is :func:`pascanu_wall_tolerance`.

    The basin boundary comes first. Where it exists the step of ``x_T`` converges onto it as T grows (``x0`` on
    either side of the unstable fixed point goes to a different attractor), exponentially fast; where it does not
    (``w <= 1/s'(x0)``) the step converges onto a fold, only algebraically (like ``T^-2`` for large T). Just above
    ``1/s'(x0)`` the two curves are closer than the tolerance and finite T cannot tell them apart; the limit decides.
    """
    tol = pascanu_wall_tolerance(b, width=width, tolerance=tolerance)
    boundary = float(pascanu_basin_boundary(w, x0=x0))
    if np.isfinite(boundary) and abs(b - boundary) <= tol:
        return "basin_boundary"
    if w > 4 and min(abs(b - f) for f in pascanu_fold_b(w)) <= tol:
        return "fold"
    return "neither"


def pascanu_steepest(w: float, *, b_range: tuple[float, float], steps: int = 50, x0: float = 0.5,
                     target: float = 0.7, samples: int = 801, max_zoom: int = 80) -> dict[str, float]:
    """The steepest point of ``b -> x_T`` at fixed ``w``, found by zooming in on the largest step of a scan until
    the steep region spans several samples: its ``b``, its full width at half the peak slope, and the gradient norm
    of ``E`` there. Unlike :func:`pascanu_wall` it also answers for short T, where the wall is still a smooth rise.

    Returns:
        ``{"b", "width", "grad_norm", "resolved"}``; ``resolved`` is False (width NaN) when the width falls below 64
        units in the last place of ``b`` before the peak is resolved.
    """
    lo, hi = (float(v) for v in b_range)
    x_T = lambda bb: pascanu_final_state(torch.full(np.shape(bb), float(w), dtype=torch.float64),  # noqa: E731
                                         torch.as_tensor(bb, dtype=torch.float64), steps=steps, x0=x0).numpy()
    for _ in range(max_zoom):
        bs = np.linspace(lo, hi, samples)
        d = np.diff(x_T(bs))
        k = int(np.argmax(d))
        left, right = k, k
        while left > 0 and d[left - 1] > d[k] / 2:
            left -= 1
        while right < len(d) - 1 and d[right + 1] > d[k] / 2:
            right += 1
        b = 0.5 * (bs[k] + bs[k + 1])
        if right - left >= 8:
            return {"b": b, "width": (right - left + 1) * (bs[1] - bs[0]),
                    "grad_norm": pascanu_grad_norm(w, b, steps=steps, x0=x0, target=target), "resolved": True}
        lo, hi = bs[max(k - 4, 0)], bs[min(k + 5, samples - 1)]
        if hi - lo < 64 * samples * np.spacing(abs(b) + 1e-300):
            break
    return {"b": b, "width": np.nan, "grad_norm": pascanu_grad_norm(w, b, steps=steps, x0=x0, target=target),
            "resolved": False}


def pascanu_grad_norm(w: float, b: float, *, steps: int = 50, x0: float = 0.5, target: float = 0.7) -> float:
    """Norm of ``dE/d(w, b)`` of Pascanu's loss at one point (autograd, float64)."""
    wt = torch.tensor(float(w), dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    gw, gb = torch.autograd.grad(pascanu_loss(wt, bt, steps=steps, x0=x0, target=target), (wt, bt))
    return float(torch.sqrt(gw**2 + gb**2))


def gradient_descent(w0: float, b0: float, *, lr: float, iterations: int, clip: float | None = None,
                     steps: int = 50, x0: float = 0.5, target: float = 0.7) -> np.ndarray:
    """A gradient-descent trajectory on Pascanu's loss, optionally with norm clipping (Pascanu et al. 2013:
    ``g <- clip g / ||g||`` when ``||g|| >= clip``).

    Returns:
        (iterations + 1, 3): ``w, b, E`` along the way (stops early, NaN-padded, if the loss turns non-finite).
    """
    _check_descent(lr=lr, iterations=iterations, clip=clip)
    _check_map(steps=steps, x0=x0, target=target)
    _checks.fits_in_memory("iterations", 3.0 * (iterations + 1), what="the trajectory", advice="fewer iterations")
    out = np.full((iterations + 1, 3), np.nan)
    w, b = _checks.number("w0", w0), _checks.number("b0", b0)
    for k in range(iterations + 1):
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        E = pascanu_loss(wt, bt, steps=steps, x0=x0, target=target)
        if not torch.isfinite(E):
            break
        out[k] = (w, b, float(E.detach()))
        if k == iterations:
            break
        gw, gb = (float(g) for g in torch.autograd.grad(E, (wt, bt)))
        norm = float(np.hypot(gw, gb))
        if clip is not None and norm >= clip:
            gw, gb = gw * clip / norm, gb * clip / norm
        w, b = w - lr * gw, b - lr * gb
    return out


def pascanu_loss_and_grad(w: np.ndarray, b: np.ndarray, *, steps: int = 50, x0: float = 0.5,
                          target: float = 0.7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``E`` and its gradient ``(dE/dw, dE/db)`` of Pascanu's loss for arrays of ``(w, b)`` (float64, forward-mode
    derivatives carried along the map: ``dx_t/dw = s(x_{t-1}) + w s'(x_{t-1}) dx_{t-1}/dw``,
    ``dx_t/db = 1 + w s'(x_{t-1}) dx_{t-1}/db``)."""
    w, b = np.broadcast_arrays(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
    x = np.full(w.shape, float(x0))
    dw, db = np.zeros(w.shape), np.zeros(w.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(steps)):
            s = _sigmoid(x)
            slope = w * s * (1.0 - s)
            x, dw, db = w * s + b, s + slope * dw, 1.0 + slope * db
        s = _sigmoid(x)
        dE = 2.0 * (s - target) * s * (1.0 - s)
        return (s - target) ** 2, dE * dw, dE * db


def pascanu_descent(w0: Any, b0: Any, *, lr: float, iterations: int, clip: float | None = None, steps: int = 50,
                    x0: float = 0.5, target: float = 0.7) -> np.ndarray:
    """Gradient descent on Pascanu's loss from many starts at once, as :func:`gradient_descent` does from one: norm
    clipping ``g <- clip g / ||g||`` when ``||g|| >= clip``; a trajectory whose loss or gradient turns non-finite stops
    there (NaN afterwards).

    Returns:
        (starts, iterations + 1, 3): ``w, b, E`` along each trajectory.
    """
    _check_descent(lr=lr, iterations=iterations, clip=clip)
    _check_map(steps=steps, x0=x0, target=target)
    w = _checks.real_array("w0", w0).astype(np.float64).ravel()
    b = _checks.real_array("b0", b0).astype(np.float64).ravel()
    if w.shape != b.shape:
        raise ValueError(f"w0 and b0: need one value each per start; got {w.size} and {b.size}")
    _checks.fits_in_memory("iterations", 3.0 * w.size * (iterations + 1), what="the trajectories",
                           advice="fewer starts or iterations")
    out = np.full((w.size, iterations + 1, 3), np.nan)
    alive = np.ones(w.size, dtype=bool)
    for k in range(iterations + 1):
        E, gw, gb = pascanu_loss_and_grad(w, b, steps=steps, x0=x0, target=target)
        alive &= np.isfinite(E)
        out[alive, k] = np.stack([w, b, E], axis=1)[alive]
        if k == iterations:
            break
        alive &= np.isfinite(gw) & np.isfinite(gb)
        scale = 1.0
        if clip is not None:
            norm = np.hypot(gw, gb)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(norm >= clip, clip / norm, 1.0)  # norm >= clip > 0: no division by zero taken
        w = np.where(alive, w - lr * scale * gw, w)
        b = np.where(alive, b - lr * scale * gb, b)
    return out


def pascanu_wall_line(w0: float, *, b_range: tuple[float, float], steps: int = 50, x0: float = 0.5,
                      dw: float = 1e-4) -> tuple[float, float]:
    """The wall near ``w0`` as a line: its centre ``b_wall(w0)`` (the lowest wall of :func:`pascanu_wall` in
    ``b_range``) and its slope ``db_wall/dw`` by central differences; ``(nan, nan)`` where there is no wall."""
    walls = pascanu_wall(w0, b_range=b_range, steps=steps, x0=x0)
    ahead = pascanu_wall(w0 + dw, b_range=b_range, steps=steps, x0=x0)
    behind = pascanu_wall(w0 - dw, b_range=b_range, steps=steps, x0=x0)
    if not walls or len(ahead) != len(walls) or len(behind) != len(walls):
        return np.nan, np.nan
    return walls[0], (ahead[0] - behind[0]) / (2 * dw)


def pascanu_start_before_wall(w0: float, *, land: float, lr: float, b_range: tuple[float, float], steps: int = 50,
                              x0: float = 0.5, target: float = 0.7, reach: float = 3.0, samples: int = 3001,
                              wall_line: tuple[float, float] | None = None) -> tuple[float, float]:
    """A start ``(w0, b0)`` on the plateau below the wall from which one plain gradient step lands ``land`` (in ``b``)
    from the wall's centre: ``b0 - lr dE/db = b_wall(w0 - lr dE/dw) + land``.

    The wall's centre near ``w0`` is its linearisation ``b_wall(w0) + (w - w0) db_wall/dw``
    (:func:`pascanu_wall_line`, or ``wall_line`` where the caller has it). The landing point rises with ``b0`` on the
    plateau, so the start is the first ``b0`` (scanning up from ``reach`` below the wall) at which it reaches the
    target, refined by Brent's method.

    Returns:
        ``(b0, b_wall)``: the start and the wall's centre at the step's ``w``; ``(nan, nan)`` where ``w0`` has no
        wall in ``b_range`` or no plateau start within ``reach`` lands there.
    """
    wall0, slope = wall_line if wall_line is not None else pascanu_wall_line(w0, b_range=b_range, steps=steps, x0=x0)
    if not np.isfinite(wall0):
        return np.nan, np.nan

    def miss(b0: Any) -> np.ndarray:
        _, gw, gb = pascanu_loss_and_grad(w0, b0, steps=steps, x0=x0, target=target)
        return (b0 - lr * gb) - (wall0 - lr * gw * slope + land)

    grid = np.linspace(wall0 + min(land, 0.0) - reach, wall0 + min(land, 0.0), samples)
    values = miss(grid)
    up = np.flatnonzero((values[:-1] < 0) & (values[1:] >= 0))
    if not len(up):
        return np.nan, np.nan
    k = int(up[0])
    b0 = brentq(lambda bb: float(miss(np.array(bb))), grid[k], grid[k + 1], xtol=1e-15, rtol=1e-15)
    _, gw, _ = pascanu_loss_and_grad(w0, b0, steps=steps, x0=x0, target=target)
    return b0, wall0 - lr * float(gw) * slope


# -- plotting ----------------------------------------------------------------------------------------------------
# matplotlib (a third of a second to import) is imported by the plotting helpers on first use, so that
# ``import dynlatch`` does not load it.
def plot_surface(surface: Surface, *, ax: Any = None, what: str = "loss", log: bool = True, levels: int = 30,
                 cmap: str = "viridis") -> Any:
    """Filled contours of ``surface.loss`` (or ``grad_norm``) with a log colour scale (cliffs span decades).

    Args:
        surface: the surface.
        ax: the matplotlib axes to draw on (None: the axes of a new 5 x 4 inch :class:`matplotlib.figure.Figure`,
            ``ax.figure``); a colour bar is added beside it.
        what: ``"loss"`` or ``"grad_norm"``.
        log: log colour scale (non-positive values left blank).
        levels: number of contour levels.
        cmap: colour map.

    Returns:
        The axes drawn on.
    """
    from matplotlib.colors import LogNorm  # matplotlib on first use (see above)
    from matplotlib.figure import Figure
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator

    z = getattr(surface, what)
    if ax is None:
        ax = Figure(figsize=(5, 4)).subplots()
    if log:
        zpos = np.where(z > 0, z, np.nan)
        lo, hi = np.nanpercentile(zpos, 0.5), np.nanmax(zpos)
        lv = np.geomspace(max(lo, hi * 1e-12), hi, levels)
        cs = ax.contourf(surface.x, surface.y, np.clip(zpos, lv[0], hi), levels=lv, norm=LogNorm(), cmap=cmap)
    else:
        cs = ax.contourf(surface.x, surface.y, z, levels=levels, cmap=cmap)
    bar = ax.figure.colorbar(cs, ax=ax, label=what.replace("_", " ") + (" (log scale)" if log else ""))
    if log:
        bar.ax.yaxis.set_major_locator(LogLocator(base=10))
        bar.ax.yaxis.set_major_formatter(LogFormatterSciNotation(base=10))
    ax.set(xlabel=surface.x_name, ylabel=surface.y_name)
    return ax


def plot_surface_3d(surface: Surface, *, what: str = "loss", log: bool = True, ax: Any = None) -> Any:
    """A 3-D view of the surface (log10 of the values when ``log``).

    Args:
        surface: the surface.
        what: ``"loss"`` or ``"grad_norm"``.
        log: plot log10 of the values (non-positive values left blank).
        ax: 3-D axes to draw on (None: those of a new 5.5 x 4.5 inch :class:`matplotlib.figure.Figure`,
            ``ax.figure``).

    Returns:
        The axes drawn on.
    """
    from matplotlib.figure import Figure  # matplotlib on first use (see above)

    z = getattr(surface, what)
    z = np.log10(np.where(z > 0, z, np.nan)) if log else z
    if ax is None:
        ax = Figure(figsize=(5.5, 4.5)).add_subplot(projection="3d")
    X, Y = np.meshgrid(surface.x, surface.y)
    ax.plot_surface(X, Y, z, cmap="viridis", linewidth=0, antialiased=True, rcount=120, ccount=120)
    ax.set(xlabel=surface.x_name, ylabel=surface.y_name, zlabel=("log10 " if log else "") + what.replace("_", " "))
    return ax
