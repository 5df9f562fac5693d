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
  and it equals ``x_0`` exactly when ``b = x_0 - w s(x_0)`` with ``w s'(x_0) > 1``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from scipy.optimize import brentq

from . import _checks
from ._checks import CheckError
from ._config import Config, option

PASCANU = {"x0": 0.5, "target": 0.7, "steps": 50}
"""Pascanu et al. (2013), Fig. 6: initial state, target of sigmoid(x_T), number of steps."""


# -- the map -----------------------------------------------------------------------------------------------------
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

    def save(self, path: Any) -> Any:
        """Write the surface as ``.npz`` (metadata as JSON, no pickles) to a path (atomically) or to an open binary
        file (``Result.files`` hands its writers one); returns ``path``."""
        from ._atomic import atomic_path

        arrays = {"x": self.x, "y": self.y, "loss": self.loss, "grad_norm": self.grad_norm,
                  "axes": np.array([self.x_name, self.y_name]),
                  "metadata": np.array(json.dumps(self.metadata, sort_keys=True, allow_nan=True))}
        if self.accuracy is not None:
            arrays["accuracy"] = self.accuracy
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
            return cls(x_name, y_name, data["x"], data["y"], data["loss"], data["grad_norm"], data.get("accuracy"),
                       json.loads(str(data["metadata"])))
        except (OSError, KeyError, ValueError, TypeError) as e:
            raise ValueError(f"{path}: not a dynlatch surface ({e})") from None


def _grid_axis(values: Any, name: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).reshape(-1)
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
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1; got {chunk}")
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
    """Pascanu et al.'s Fig. 6 surface over ``(w, b)`` (see the module docstring)."""
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
        x, y: the sequences (N, T, D) and labels (N,) the loss is taken on.
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
    from ._evaluate import evaluate
    from ._model import Model

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
    from .bengio import latch_cost

    if steps < 1 or sequences < 2 or not noise_variance >= 0:
        raise ValueError("need steps >= 1, sequences >= 2 and noise_variance >= 0")
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
    from ._model import Model

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
        from .cells import CellParams

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
    from ._evaluate import evaluate
    from ._model import Model
    from .cells import CellParams

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
def pascanu_wall(w: float, *, b_range: tuple[float, float], steps: int = 50, x0: float = 0.5,
                 samples: int = 4001) -> list[float]:
    """Every ``b`` in ``b_range`` at which ``x_T(b)`` jumps between the two attractors at fixed ``w``: the wall.

    ``x_T`` rises with ``b``; a wall is a step between two neighbouring samples of a dense 1-D scan that is both a
    sizeable part of the whole rise (> 10%) and far above the scan's typical step (> 50 x the median), refined by
    Brent's method (float64) to where ``x_T`` crosses the midpoint of the step. Its position therefore does not
    depend on where a 2-D grid point happens to fall.

    Returns:
        The located ``b`` values, ascending (empty if ``x_T`` has no such jump in ``b_range``).

    Raises:
        ValueError: for an empty ``b_range`` or fewer than 3 samples.
    """
    lo, hi = (float(v) for v in b_range)
    if not hi > lo or samples < 3:
        raise ValueError(f"need b_range (lo, hi) with hi > lo and samples >= 3; got {b_range}, {samples}")
    bs = np.linspace(lo, hi, samples)
    x_T = lambda bb: pascanu_final_state(torch.full(np.shape(bb), float(w), dtype=torch.float64),  # noqa: E731
                                         torch.as_tensor(bb, dtype=torch.float64), steps=steps, x0=x0).numpy()
    vals = x_T(bs)
    jumps = np.diff(vals)
    span = vals.max() - vals.min()
    typical = np.median(np.abs(jumps))
    walls = []
    for k in np.flatnonzero((jumps > 0.1 * span) & (jumps > 50 * typical)):
        mid = 0.5 * (vals[k] + vals[k + 1])
        walls.append(brentq(lambda bb: float(x_T(np.array(bb))) - mid, bs[k], bs[k + 1], xtol=1e-14, rtol=1e-15))
    return walls


def pascanu_wall_profile(w: float, b_wall: float, *, steps: int = 50, x0: float = 0.5,
                         target: float = 0.7, halfwidth: float = 1e-3) -> dict[str, float]:
    """Width and steepness of the wall at ``(w, b_wall)``: where ``x_T`` passes 25%, 50% and 75% of its step
    (Brent's method in ``[b_wall - halfwidth, b_wall + halfwidth]``), the width ``b_75 - b_25`` and the largest
    gradient norm of ``E`` at those three points (its peak across the wall, as well as float64 resolves it).

    Raises:
        ValueError: if there is no step around ``b_wall``.
    """
    lo_b, hi_b = b_wall - halfwidth, b_wall + halfwidth
    x_T = lambda bb: float(pascanu_final_state(torch.tensor(float(w), dtype=torch.float64),  # noqa: E731
                                               torch.tensor(float(bb), dtype=torch.float64), steps=steps, x0=x0))
    lo, hi = x_T(lo_b), x_T(hi_b)
    if not hi > lo:
        raise ValueError(f"no step of x_T around b = {b_wall} at w = {w}")
    cross = {q: brentq(lambda bb: x_T(bb) - (lo + q * (hi - lo)), lo_b, hi_b, xtol=1e-300, rtol=1e-15)
             for q in (0.25, 0.5, 0.75)}
    grads = [pascanu_grad_norm(w, b, steps=steps, x0=x0, target=target) for b in cross.values()]
    return {"b": cross[0.5], "width": cross[0.75] - cross[0.25], "grad_norm": float(max(grads))}


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
    if not lr > 0 or iterations < 1 or (clip is not None and not clip > 0):
        raise ValueError("need lr > 0, iterations >= 1 and clip > 0 (or None)")
    out = np.full((iterations + 1, 3), np.nan)
    w, b = float(w0), float(b0)
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


# -- plotting ----------------------------------------------------------------------------------------------------
def plot_surface(surface: Surface, *, ax: Any = None, what: str = "loss", log: bool = True, levels: int = 30,
                 cmap: str = "viridis") -> Any:
    """Filled contours of ``surface.loss`` (or ``grad_norm``) with a log colour scale (cliffs span decades)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    z = getattr(surface, what)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    if log:
        zpos = np.where(z > 0, z, np.nan)
        lo, hi = np.nanpercentile(zpos, 0.5), np.nanmax(zpos)
        lv = np.geomspace(max(lo, hi * 1e-12), hi, levels)
        cs = ax.contourf(surface.x, surface.y, np.clip(zpos, lv[0], hi), levels=lv, norm=LogNorm(), cmap=cmap)
    else:
        cs = ax.contourf(surface.x, surface.y, z, levels=levels, cmap=cmap)
    bar = ax.figure.colorbar(cs, ax=ax, label=what.replace("_", " ") + (" (log scale)" if log else ""))
    if log:
        from matplotlib.ticker import LogFormatterSciNotation, LogLocator

        bar.ax.yaxis.set_major_locator(LogLocator(base=10))
        bar.ax.yaxis.set_major_formatter(LogFormatterSciNotation(base=10))
    ax.set(xlabel=surface.x_name, ylabel=surface.y_name)
    return ax


def plot_surface_3d(surface: Surface, *, what: str = "loss", log: bool = True, ax: Any = None) -> Any:
    """A 3-D view of the surface (log10 of the values when ``log``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z = getattr(surface, what)
    z = np.log10(np.where(z > 0, z, np.nan)) if log else z
    if ax is None:
        ax = plt.figure(figsize=(5.5, 4.5)).add_subplot(projection="3d")
    X, Y = np.meshgrid(surface.x, surface.y)
    ax.plot_surface(X, Y, z, cmap="viridis", linewidth=0, antialiased=True, rcount=120, ccount=120)
    ax.set(xlabel=surface.x_name, ylabel=surface.y_name, zlabel=("log10 " if log else "") + what.replace("_", " "))
    return ax


# -- analysis configs ----------------------------------------------------------------------------------------------
def _pairs(name: str, values: Any) -> tuple[float, ...]:
    if len(values) < 2 or len(values) % 2:
        raise CheckError(name, f"must be w0,b0 pairs (an even number of values); got {list(values)}")
    return tuple(_checks.number(name, v) for v in values)


def _lengths(name: str, values: Any) -> tuple[int, ...]:
    for v in values:
        _checks.integer(name, v, minimum=1)
    if len(set(values)) < 2:
        raise CheckError(name, f"needs at least two different lengths to fit a rate; got {list(values)}")
    return tuple(values)


@dataclass(frozen=True)
class PascanuCliffConfig(Config):
    """Settings of ``dynlatch run pascanu-cliff`` (Pascanu et al. 2013, Fig. 6). The paper does not state its plotted
    ranges; the defaults show the plateau, the wall and both fold branches up to w = 12."""

    w_min: float = option(0.0, help="smallest w of the surface", check=_checks.number_in())
    w_max: float = option(12.0, help="largest w of the surface", check=_checks.number_in())
    b_min: float = option(-10.0, help="smallest b of the surface", check=_checks.number_in())
    b_max: float = option(1.0, help="largest b of the surface", check=_checks.number_in())
    resolution: int = option(512, help="grid points per axis", check=_checks.integer_at_least(8), quick=96)
    steps: int = option(50, help="steps T of the map (Pascanu et al.: 50)", check=_checks.integer_at_least(1))
    x0: float = option(0.5, help="initial state x_0 (Pascanu et al.: 0.5)", check=_checks.number_in())
    target: float = option(0.7, help="target of sigmoid(x_T) (Pascanu et al.: 0.7)", check=_checks.number_in(above=0, below=1))
    wall_points: int = option(24, help="values of w (in (4.6, w_max]) at which the wall is located by root finding",
                              check=_checks.integer_at_least(1), quick=8)
    lr: float = option(1.0, help="gradient-descent learning rate", check=_checks.number_in(above=0))
    iterations: int = option(100, help="gradient-descent iterations per start", check=_checks.integer_at_least(1), quick=30)
    clip: float = option(0.5, help="gradient-norm clipping threshold of the dashed trajectories", check=_checks.number_in(above=0))
    starts: tuple[float, ...] = option((6.0, -3.5, 7.0, -4.2, 8.0, -4.7, 10.0, -6.0),
                                       help="gradient-descent starts as w0,b0 pairs", check=_pairs)
    seed: int = option(0, help="seed (the analysis is deterministic; kept for a uniform interface)",
                       check=_checks.seed)
    device: str | None = option(None, help="torch device (none: the CPU)", check=_checks.device)

    def check_together(self) -> None:
        if not self.w_max > self.w_min:
            raise CheckError("w_max", f"must exceed w_min ({self.w_min}); got {self.w_max}")
        if not self.b_max > self.b_min:
            raise CheckError("b_max", f"must exceed b_min ({self.b_min}); got {self.b_max}")
        if not self.w_max > 4.6:
            raise CheckError("w_max", f"must exceed 4.6 so that the surface has a wall (bistability needs w > 4); "
                                      f"got {self.w_max}")


@dataclass(frozen=True)
class CliffVsLengthConfig(Config):
    """Settings of ``dynlatch run cliff-vs-length``: the wall of Pascanu's map at one w as T grows."""

    lengths: tuple[int, ...] = option((5, 10, 20, 50, 100, 200), flag="--lens", help="numbers of steps T",
                                      check=_lengths)
    w: float = option(5.0, help="w at which the wall is followed (> 4, bistable; a small w keeps the wall resolvable "
                                "in float64 up to T = 200)", check=_checks.number_in(above=4))
    b_min: float = option(-10.0, help="smallest b searched", check=_checks.number_in())
    b_max: float = option(1.0, help="largest b searched", check=_checks.number_in())
    x0: float = option(0.5, help="initial state x_0", check=_checks.number_in())
    target: float = option(0.7, help="target of sigmoid(x_T)", check=_checks.number_in(above=0, below=1))
    resolution: int = option(160, help="grid points per axis of the small surfaces", check=_checks.integer_at_least(8), quick=48)
    seed: int = option(0, help="seed (the analysis is deterministic; kept for a uniform interface)",
                       check=_checks.seed)

    def check_together(self) -> None:
        if not self.b_max > self.b_min:
            raise CheckError("b_max", f"must exceed b_min ({self.b_min}); got {self.b_max}")


# -- the analyses ----------------------------------------------------------------------------------------------------
def wall_row(w: float, *, b_range: tuple[float, float], steps: int, x0: float, target: float) -> dict[str, Any]:
    """The wall of Pascanu's map at one ``w``, with where the theory puts it: the located ``b`` (NaN if none), the
    basin boundary through ``x0``, the two fold values of ``b``, the distances to them (in ``b``), and the wall's
    width and peak gradient norm (:func:`pascanu_wall_profile`)."""
    walls = pascanu_wall(w, b_range=b_range, steps=steps, x0=x0)
    boundary = float(pascanu_basin_boundary(w, x0=x0))
    folds = pascanu_fold_b(w) if w > 4 else (np.nan, np.nan)
    row: dict[str, Any] = {"w": float(w), "b": np.nan, "basin_boundary_b": boundary, "fold_b_lower": folds[0],
                           "fold_b_upper": folds[1], "distance_to_basin_boundary": np.nan,
                           "distance_to_fold": np.nan, "width": np.nan, "grad_norm": np.nan, "walls_found": len(walls)}
    if walls:
        b = walls[0]
        profile = pascanu_wall_profile(w, b, steps=steps, x0=x0, target=target)
        row.update(b=b, distance_to_basin_boundary=abs(b - boundary), width=profile["width"],
                   grad_norm=profile["grad_norm"], distance_to_fold=float(np.nanmin(np.abs(np.subtract(folds, b)))))
    return row


def pascanu_cliff(config: PascanuCliffConfig) -> dict[str, Any]:
    """Everything ``dynlatch run pascanu-cliff`` reports: the surface, the located wall with the theory's curves,
    and gradient-descent trajectories with and without clipping.

    Returns:
        ``{"surface": Surface, "wall": [row per w], "trajectories": [row per (start, clipped, iteration)],
        "summary": {...}}``; the summary's keys are the issue's contract (``wall``, ``max_distance_to_basin_boundary``,
        ``median_distance_to_fold``, ``grad_norm_on_wall``, ``final_loss``).
    """
    c = config
    kw = dict(steps=c.steps, x0=c.x0, target=c.target)
    surface = pascanu_surface(np.linspace(c.w_min, c.w_max, c.resolution), np.linspace(c.b_min, c.b_max, c.resolution),
                              device=c.device, **kw)
    ws = np.linspace(max(c.w_min, 4.6), c.w_max, c.wall_points + 1)[1:]
    wall = [wall_row(w, b_range=(c.b_min, c.b_max), **kw) for w in ws]
    found = [r for r in wall if np.isfinite(r["b"])]
    trajectories, finals = [], {"unclipped": [], "clipped": []}
    for k in range(0, len(c.starts), 2):
        for label, clip in (("unclipped", None), ("clipped", c.clip)):
            path = gradient_descent(c.starts[k], c.starts[k + 1], lr=c.lr, iterations=c.iterations, clip=clip, **kw)
            finite = path[np.isfinite(path[:, 2])]
            finals[label].append(float(finite[-1, 2]) if len(finite) else np.nan)
            trajectories += [{"start": k // 2, "w0": c.starts[k], "b0": c.starts[k + 1], "clipped": clip is not None,
                              "iteration": i, "w": p[0], "b": p[1], "loss": p[2]} for i, p in enumerate(path)]
    summary = {
        "wall": {"w": [r["w"] for r in found], "b": [r["b"] for r in found]},
        "max_distance_to_basin_boundary": float(max(r["distance_to_basin_boundary"] for r in found)) if found
        else np.nan,
        "median_distance_to_fold": float(np.median([r["distance_to_fold"] for r in found])) if found else np.nan,
        "grad_norm_on_wall": float(np.median([r["grad_norm"] for r in found])) if found else np.nan,
        "final_loss": {k: float(np.nanmean(v)) for k, v in finals.items()},
        "wall_points_located": len(found), "wall_points_tried": len(wall),
        "max_grad_norm_on_grid": float(np.nanmax(surface.grad_norm)),
    }
    return {"surface": surface, "wall": wall, "trajectories": trajectories, "summary": summary}


def cliff_vs_length(config: CliffVsLengthConfig) -> dict[str, Any]:
    """How the wall of Pascanu's map forms as T grows, at one ``w``: per T its position, width and peak gradient
    norm (:func:`pascanu_steepest`), and their per-step exponential rates fitted over the T where the wall is
    resolved and steep (gradient norm > 10), against the rate the Jacobian predicts: ``log(w s'(x0))``, the log multiplier of the unstable fixed point
    ``x0`` on the basin boundary (a perturbation of ``b`` there grows by that factor per step).

    Returns:
        ``{"rows": [row per T], "surfaces": {T: Surface}, "summary": {"growth": {"w", "measured_rate",
        "predicted_rate", ...}, ...}}``.
    """
    c = config
    rows, surfaces = [], {}
    boundary = float(pascanu_basin_boundary(c.w, x0=c.x0))
    span = max(1.0, 3 * abs(boundary - np.mean(pascanu_fold_b(c.w))))
    for T in c.lengths:
        steep = pascanu_steepest(c.w, b_range=(c.b_min, c.b_max), steps=T, x0=c.x0, target=c.target)
        rows.append({"T": int(T), "w": float(c.w), **steep, "basin_boundary_b": boundary,
                     "distance_to_basin_boundary": abs(steep["b"] - boundary)})
        surfaces[int(T)] = pascanu_surface(np.linspace(max(c.w - 2, 0), c.w + 2, c.resolution),
                                           np.linspace(boundary - span, boundary + span, c.resolution), steps=T,
                                           x0=c.x0, target=c.target)
    fit = [r for r in rows if r["resolved"] and r["grad_norm"] > 10]  # a wall, not the plateau's gentle slope
    s = _sigmoid(c.x0)
    predicted = float(np.log(c.w * s * (1 - s)))
    if len(fit) >= 2:
        Ts = np.array([r["T"] for r in fit], dtype=float)
        grad_rate = float(np.polyfit(Ts, np.log([r["grad_norm"] for r in fit]), 1)[0])
        width_rate = float(-np.polyfit(Ts, np.log([r["width"] for r in fit]), 1)[0])
    else:
        grad_rate = width_rate = np.nan
    summary = {"growth": {"w": float(c.w), "measured_rate": grad_rate, "predicted_rate": predicted,
                          "measured_width_rate": width_rate, "lengths_fitted": [r["T"] for r in fit]},
               "basin_boundary_b": boundary}
    return {"rows": rows, "surfaces": surfaces, "summary": summary}


# -- latching landscapes -------------------------------------------------------------------------------------------
LATCHING_PAIRS: dict[str, tuple[tuple[str, tuple[float, float]], tuple[str, tuple[float, float]]]] = {
    "srnn:U,W": (("U", (-3.0, 3.0)), ("W", (-3.0, 3.0))),
    "srnn:U,b": (("U", (-3.0, 3.0)), ("b", (-2.0, 2.0))),
    "lstm:b_f,U_c": (("b_f", (-3.0, 5.0)), ("U_c", (-4.0, 4.0))),
    "lstm:W_c,b_i": (("W_c", (-3.0, 3.0)), ("b_i", (-3.0, 3.0))),
}
"""The planes of ``dynlatch run latching-landscape``: ``cell:x,y`` with the swept ranges."""


def _pairs(name: str, values: Any) -> tuple[str, ...]:
    return tuple(_checks.choice(name, v, tuple(LATCHING_PAIRS)) for v in _checks.distinct(name, values))


@dataclass(frozen=True)
class LatchingLandscapeConfig(Config):
    """Settings of ``dynlatch run latching-landscape``: loss surfaces of the question's latching task (Dense(2) +
    softmax read-out, noise 0.1) around a Keras-2 initialised model, over pairs of its parameters."""

    pairs: tuple[str, ...] = option(tuple(LATCHING_PAIRS), help="planes cell:x,y", check=_pairs)
    lengths: tuple[int, ...] = option((5, 20, 100), flag="--lens", help="sequence lengths T", check=_lengths,
                                      quick=(5, 20))
    resolution: int = option(64, help="grid points per axis", check=_checks.integer_at_least(8), quick=20)
    n: int = option(1000, help="latching sequences the loss is taken on", check=_checks.integer_at_least(1), quick=300)
    init_points: int = option(200, help="Keras-2 initial models drawn on each plane", check=_checks.integer_at_least(1), quick=50)
    seed: int = option(0, help="seed of the base model (Keras-2 init) and of the data", check=_checks.seed)


def latching_landscape(config: LatchingLandscapeConfig) -> dict[str, Any]:
    """Surfaces of every plane and T in ``config``, each with the number of stable fixed points (x = 0) of the cell at
    every grid point and the Keras-2 initial values of the two parameters.

    Returns:
        ``{"surfaces": {(pair, T): Surface}, "stable_points": {pair: (H, G) int array}, "init": {pair: (k, 2)},
        "rows": tidy rows per (pair, T), "summary": {...}}``.
    """
    from . import dynamics, tasks
    from ._model import Model

    c = config
    surfaces, stable, init, rows = {}, {}, {}, []
    for pair in c.pairs:
        kind, _ = pair.split(":")
        (nx, rx), (ny, ry) = LATCHING_PAIRS[pair]
        xs, ys = np.linspace(*rx, c.resolution), np.linspace(*ry, c.resolution)
        base = Model.init(kind, seeds=[c.seed], init="keras2", dtype=torch.float64)
        U, V = np.meshgrid(xs, ys)
        grid = base.cell.with_params(**{nx: torch.as_tensor(U.reshape(-1)), ny: torch.as_tensor(V.reshape(-1))})
        found = dynamics.fixed_points(grid, x=0.0, periods=(1,))
        stable[pair] = np.array([sum(p.stable for p in fps) for fps in found]).reshape(U.shape)
        sample = Model.init(kind, seeds=range(1000 + c.seed, 1000 + c.seed + c.init_points), init="keras2",
                            dtype=torch.float64).cell
        named = sample.named_params()
        init_bistable = float(np.mean([sum(p.stable for p in fps) >= 2
                                       for fps in dynamics.fixed_points(sample, x=0.0, periods=(1,))]))
        init[pair] = np.stack([named[nx].reshape(-1).numpy(), named[ny].reshape(-1).numpy()], axis=1)
        for T in c.lengths:
            data = tasks.latching(length=int(T), n=c.n, val_fraction=0.5, seed=c.seed)
            x = np.concatenate([data.x_train, data.x_val])
            y = np.concatenate([data.y_train, data.y_val])
            s = parameter_surface(base, x, y, axes=((nx, xs), (ny, ys)))
            surfaces[(pair, int(T))] = s
            bistable = stable[pair] >= 2
            rows.append({
                "pair": pair, "cell": kind, "T": int(T), "min_loss": float(np.nanmin(s.loss)),
                "fraction_bistable": float(bistable.mean()),
                "fraction_accuracy_0.9": float(np.mean(s.accuracy >= 0.9)),
                "accuracy_0.9_in_bistable": float(np.mean(s.accuracy[bistable] >= 0.9)) if bistable.any() else np.nan,
                "accuracy_0.9_elsewhere": float(np.mean(s.accuracy[~bistable] >= 0.9)) if (~bistable).any()
                else np.nan,
                "keras2_init_models_bistable": init_bistable,
            })
    summary = {"planes": {f"{r['pair']}@T={r['T']}": {k: v for k, v in r.items() if k not in ("pair", "T", "cell")}
                          for r in rows}}
    return {"surfaces": surfaces, "stable_points": stable, "init": init, "rows": rows, "summary": summary}
