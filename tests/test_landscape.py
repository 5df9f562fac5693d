"""Loss landscapes: the batched surface equals point-by-point evaluation, gradient norms equal finite differences
and autograd (over the swept parameters or all),
Pascanu's wall lies on the basin boundary (closed form) where one passes through x0 and below that threshold converges
onto the fold (root finding on the fold condition) as T grows, the located points are classed against those curves,
the fold curve satisfies the fold conditions, and surfaces round-trip through .npz with their metadata."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy.optimize import brentq

from dynlatch import landscape as L


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def final_state_numpy(w, b, steps=50, x0=0.5):
    """Independent float64 transcription of Pascanu et al.'s map, one point at a time: x_T."""
    x = x0
    for _ in range(steps):
        x = w * sigmoid(x) + b
    return x


def pascanu_numpy(w, b, steps=50, x0=0.5, target=0.7):
    """Independent float64 transcription of Pascanu et al.'s loss, one point at a time."""
    return (sigmoid(final_state_numpy(w, b, steps, x0)) - target) ** 2


def test_batched_surface_equals_point_by_point():
    w = np.linspace(-2, 10, 9)
    b = np.linspace(-8, 1, 7)
    s = L.pascanu_surface(w, b, steps=20)
    assert s.loss.shape == (7, 9) and s.x_name == "w" and s.y_name == "b"
    for i, bi in enumerate(b):
        for j, wj in enumerate(w):
            assert s.loss[i, j] == pytest.approx(pascanu_numpy(wj, bi, steps=20), rel=1e-12, abs=1e-15)


def test_gradient_norms_equal_finite_differences():
    w = np.array([1.0, 3.0, 7.0])
    b = np.array([-5.0, -1.0])
    s = L.pascanu_surface(w, b, steps=10)
    eps = 1e-6
    for i, bi in enumerate(b):
        for j, wj in enumerate(w):
            gw = (pascanu_numpy(wj + eps, bi, 10) - pascanu_numpy(wj - eps, bi, 10)) / (2 * eps)
            gb = (pascanu_numpy(wj, bi + eps, 10) - pascanu_numpy(wj, bi - eps, 10)) / (2 * eps)
            assert s.grad_norm[i, j] == pytest.approx(np.hypot(gw, gb), rel=1e-6, abs=1e-9)
            assert L.pascanu_grad_norm(wj, bi, steps=10) == pytest.approx(s.grad_norm[i, j], rel=1e-12)


def test_chunked_surface_equals_one_chunk():
    w, b = np.linspace(0, 9, 11), np.linspace(-6, 0, 5)
    one = L.map_surface(lambda u, v: L.pascanu_loss(u, v, steps=15), w, b)
    many = L.map_surface(lambda u, v: L.pascanu_loss(u, v, steps=15), w, b, chunk=7)
    np.testing.assert_allclose(one.loss, many.loss, rtol=1e-13, atol=0)  # vector kernels may round the last bit
    np.testing.assert_allclose(one.grad_norm, many.grad_norm, rtol=1e-13, atol=0)


@pytest.mark.parametrize("w", [6.0, 8.0, 10.0, 12.0])
def test_pascanu_wall_lies_on_the_basin_boundary(w):
    walls = L.pascanu_wall(w, b_range=(-10.0, 2.0))
    assert len(walls) == 1
    boundary = L.pascanu_basin_boundary(w)  # b = x0 - w s(x0): x0 = 0.5 is the unstable fixed point
    assert abs(walls[0] - boundary) < 1e-7
    lower, upper = L.pascanu_fold_b(w)
    assert lower < walls[0] < upper  # inside the bistable band, away from both folds
    assert min(abs(walls[0] - lower), abs(walls[0] - upper)) > 0.1


@pytest.mark.parametrize("w", [3.0, 3.99, 4.0])
def test_no_wall_without_bistability(w):
    assert L.pascanu_wall(w, b_range=(-10.0, 2.0)) == []  # near the cusp x_T rises steeply but continuously
    assert np.isnan(L.pascanu_basin_boundary(w))


def lower_fold_by_root_finding(w):
    """The fold where the upper attractor vanishes: x* > 0 with w s(x*) (1 - s(x*)) = 1, b = x* - w s(x*)."""
    x = brentq(lambda x: w * sigmoid(x) * (1 - sigmoid(x)) - 1, 0.0, 20.0, xtol=1e-15)
    return x - w * sigmoid(x)


def test_below_the_boundary_threshold_the_jump_converges_onto_the_fold():
    w = 4.1
    assert w < 1 / (sigmoid(0.5) * (1 - sigmoid(0.5))) == pytest.approx(L.pascanu_boundary_threshold(), rel=1e-14)
    fold = lower_fold_by_root_finding(w)
    gaps = []
    for T in (50, 200):
        walls = L.pascanu_wall(w, b_range=(-10.0, 2.0), steps=T)
        assert len(walls) == 1 and walls[0] < fold  # below it: the upper attractor is gone, its ghost delays x_T
        gaps.append(fold - walls[0])
    assert gaps[0] < 0.02 and gaps[1] < gaps[0] / 4  # onto the fold, algebraically in T


def test_the_wall_profile_widens_its_window_to_hold_a_fold_step():
    for w, soft in ((4.1, True), (8.0, False)):
        b = L.pascanu_wall(w, b_range=(-10.0, 2.0))[0]
        p = L.pascanu_wall_profile(w, b)
        assert (p["halfwidth"] > 1e-3) == soft and 0 < p["width"] <= p["halfwidth"] / 2
        lo, hi = final_state_numpy(w, b - p["halfwidth"]), final_state_numpy(w, b + p["halfwidth"])
        if soft:  # the 50% crossing of the window's step (at w = 8 x_T jumps within a few ulp of b)
            assert final_state_numpy(w, p["b"]) == pytest.approx(0.5 * (lo + hi), abs=1e-9)
        else:
            assert p["width"] < 1e-12 and abs(p["b"] - b) < 1e-12


def test_wall_kind_against_the_closed_forms():
    boundary = float(L.pascanu_basin_boundary(8.0))
    assert L.pascanu_wall_kind(8.0, boundary + 1e-3, width=1e-3) == "basin_boundary"
    assert L.pascanu_wall_kind(8.0, boundary + 3e-3, width=1e-3) == "neither"
    assert L.pascanu_wall_kind(8.0, boundary, width=0.0) == "basin_boundary"  # the floor: 16 ulp of b
    assert L.pascanu_wall_kind(8.0, boundary + 1e-13, width=0.0) == "neither"
    fold = lower_fold_by_root_finding(4.1)
    assert L.pascanu_wall_kind(4.1, fold - 0.015, width=0.01) == "fold"
    assert L.pascanu_wall_kind(4.1, fold - 0.025, width=0.01) == "neither"
    # just above 1/s'(x0) both curves are within tolerance: the basin boundary (the T -> oo limit) is named
    w = 4.3
    near = float(L.pascanu_basin_boundary(w))
    assert abs(near - lower_fold_by_root_finding(w)) < 1e-3
    assert L.pascanu_wall_kind(w, near - 1e-3, width=1e-3) == "basin_boundary"


def test_fold_curve_satisfies_the_fold_conditions():
    x_star = np.linspace(-4, 4, 41)
    w, b = L.pascanu_fold_curve(x_star)
    np.testing.assert_allclose(w * sigmoid(x_star) + b, x_star, atol=1e-12)  # a fixed point
    np.testing.assert_allclose(w * sigmoid(x_star) * (1 - sigmoid(x_star)), 1.0, atol=1e-12)  # multiplier +1
    assert w.min() == pytest.approx(4.0) and b[20] == pytest.approx(-2.0)  # the cusp at x* = 0
    from scipy.optimize import brentq

    branches = [brentq(lambda x: L.pascanu_fold_curve(x)[0] - 8.0, a, c) for a, c in ((-10, -1e-9), (1e-9, 10))]
    on_curve = sorted(float(L.pascanu_fold_curve(x)[1]) for x in branches)
    assert on_curve == pytest.approx(list(L.pascanu_fold_b(8.0)), abs=1e-10)


def test_wall_steepens_at_the_unstable_multiplier_rate():
    w = 8.0
    profiles = [L.pascanu_wall_profile(w, L.pascanu_wall(w, b_range=(-10, 2), steps=T)[0], steps=T) for T in (20, 40)]
    predicted = np.log(w * sigmoid(0.5) * (1 - sigmoid(0.5)))
    measured = np.log(profiles[1]["grad_norm"] / profiles[0]["grad_norm"]) / 20
    width_rate = -np.log(profiles[1]["width"] / profiles[0]["width"]) / 20
    assert measured == pytest.approx(predicted, rel=0.02)
    assert width_rate == pytest.approx(predicted, rel=0.02)


def test_clipping_bounds_the_step_where_plain_descent_is_thrown():
    start = dict(w0=6.0, b0=-3.5, lr=1.0, iterations=60)  # a start whose plain descent lands on the steep wall
    plain = L.gradient_descent(**start)
    clipped = L.gradient_descent(**start, clip=0.5)
    step_plain = np.nanmax(np.hypot(*np.diff(plain[:, :2], axis=0).T))
    step_clipped = np.nanmax(np.hypot(*np.diff(clipped[:, :2], axis=0).T))
    assert step_clipped <= 1.0 * 0.5 + 1e-12  # lr * clip: g <- clip g / ||g||
    assert step_plain > 2 * step_clipped
    np.testing.assert_array_equal(plain[0], clipped[0])


def test_surface_round_trips_through_npz(tmp_path):
    s = L.pascanu_surface(np.linspace(0, 5, 4), np.linspace(-3, 0, 3), steps=5)
    back = L.Surface.load(s.save(tmp_path / "s.npz"))
    assert (back.x_name, back.y_name, back.metadata) == (s.x_name, s.y_name, s.metadata)
    for k in ("x", "y", "loss", "grad_norm"):
        np.testing.assert_array_equal(getattr(back, k), getattr(s, k))
    assert back.metadata["steps"] == 5 and back.accuracy is None
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a dynlatch surface"):
        L.Surface.load(tmp_path / "bad.npz")


def test_bad_axes_are_refused():
    with pytest.raises(ValueError, match="at least 2 finite"):
        L.pascanu_surface([1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="at least 2 finite"):
        L.pascanu_surface([1.0, np.nan], [0.0, 1.0])
    with pytest.raises(ValueError, match="w > 4"):
        L.pascanu_fold_b(3.0)


@pytest.mark.parametrize("call,names", [
    (lambda: L.pascanu_surface([5.0, 6.0], [-3.0, -2.0], x0=np.nan), "x0"),
    (lambda: L.pascanu_surface([5.0, 6.0], [-3.0, -2.0], target=np.inf), "target"),
    (lambda: L.pascanu_surface([5.0, 6.0], [-3.0, -2.0], steps=0), "steps"),
    (lambda: L.pascanu_wall(np.nan, b_range=(-10.0, 1.0)), "w must be finite"),
    (lambda: L.pascanu_wall(6.0, b_range=(-10.0, 1.0), steps=0), "steps"),
    (lambda: L.pascanu_wall(6.0, b_range=(-np.inf, 1.0)), "finite b_range"),
])
def test_settings_that_give_no_surface_or_wall_are_refused(call, names):
    """Once these returned all-NaN surfaces or an empty wall as if they were answers."""
    with pytest.raises(ValueError, match=names):
        call()


def test_a_surface_of_the_wrong_shape_or_a_damaged_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="loss: expected shape"):
        L.Surface("w", "b", np.arange(3.0), np.arange(2.0), np.zeros((3, 2)), np.zeros((2, 3)))
    s = L.pascanu_surface(np.linspace(5, 6, 3), np.linspace(-3, -2, 2), steps=5)
    path = s.save(tmp_path / "s.npz")
    arrays = dict(np.load(path, allow_pickle=False))
    arrays["loss"] = arrays["loss"][:, :2]
    np.savez(tmp_path / "wrong.npz", **arrays)
    with pytest.raises(ValueError, match="not a dynlatch surface .*loss: expected shape"):
        L.Surface.load(tmp_path / "wrong.npz")
    data = path.read_bytes()
    for name, content in (("truncated.npz", data[: len(data) // 2]), ("empty.npz", b"")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match="not a dynlatch surface"):
            L.Surface.load(tmp_path / name)


@pytest.mark.parametrize("grad_wrt", ["swept", "all"])
@pytest.mark.parametrize("kind,axes", [("srnn", ("U", "W")), ("lstm", ("b_f", "U_c")), ("gru", ("U_h", "b_z"))])
def test_parameter_surface_equals_autograd_at_single_points(kind, axes, grad_wrt):
    """Each grid point of the batched surface equals the torch model with those two values: its loss from
    Model.losses, its gradient norm from autograd (over the two swept parameters, or over every parameter)."""
    import dynlatch
    from dynlatch import tasks

    model = dynlatch.Model.init(kind, seeds=[4], dtype=torch.float64)
    data = tasks.latching(length=6, n=60, seed=1)
    xs, ys = np.linspace(-2, 2, 4), np.linspace(-1.5, 3, 3)
    s = L.parameter_surface(model, data.x_val, data.y_val, axes=((axes[0], xs), (axes[1], ys)), grad_wrt=grad_wrt)
    assert s.loss.shape == (3, 4) and s.x_name == axes[0]
    assert s.metadata["grad_wrt"] == (list(axes) if grad_wrt == "swept" else "all parameters")
    for i, j in ((0, 0), (2, 3), (1, 2)):
        u = torch.tensor(xs[j], dtype=torch.float64, requires_grad=True)
        v = torch.tensor(ys[i], dtype=torch.float64, requires_grad=True)
        cell = model.cell.with_params(**{axes[0]: u.reshape(model.cell.block_shape(axes[0])),
                                         axes[1]: v.reshape(model.cell.block_shape(axes[1]))})
        params = [p.detach().clone().requires_grad_(True) for p in (*cell.params, model.weight, model.bias)]
        one = dynlatch.Model(cell.replace(cells_params(params[:3])), params[3], params[4], None, model.readout)
        loss, correct = one.losses(torch.as_tensor(data.x_val), torch.as_tensor(data.y_val))
        if grad_wrt == "all":
            grads = torch.autograd.grad(loss.sum(), params)
        else:  # through the swept values (with_params keeps the graph): d loss / d (u, v)
            one = dynlatch.Model(cell, model.weight, model.bias, None, model.readout)
            loss, correct = one.losses(torch.as_tensor(data.x_val), torch.as_tensor(data.y_val))
            grads = torch.autograd.grad(loss.sum(), (u, v))
        assert s.loss[i, j] == pytest.approx(loss.item(), rel=1e-10)
        assert s.grad_norm[i, j] == pytest.approx(torch.sqrt(sum((g**2).sum() for g in grads)).item(), rel=1e-10)
        assert s.accuracy[i, j] == pytest.approx(correct.item() / len(data.y_val))


def test_swept_gradient_norm_is_the_norm_of_the_two_partials_of_all():
    """The default surface's gradient norm is the (b_f, U_c) part of the full gradient; the full norm exceeds it."""
    import dynlatch
    from dynlatch import tasks

    model = dynlatch.Model.init("lstm", seeds=[1], init="keras2", dtype=torch.float64)
    data = tasks.latching(length=8, n=40, seed=2)
    axes = (("b_f", np.linspace(-1, 3, 3)), ("U_c", np.linspace(-2, 2, 4)))
    swept = L.parameter_surface(model, data.x_val, data.y_val, axes=axes)
    full = L.parameter_surface(model, data.x_val, data.y_val, axes=axes, grad_wrt="all")
    np.testing.assert_allclose(swept.loss, full.loss, rtol=1e-13)
    grid = model.cell.with_params(b_f=torch.as_tensor(np.tile(axes[0][1], 4)),
                                  U_c=torch.as_tensor(np.repeat(axes[1][1], 3)))
    grads = dynlatch.evaluate(dynlatch.Model(grid, model.weight.expand(12, 1, 2), model.bias.expand(12, 2), None,
                                             model.readout), data.x_val, data.y_val, grad=True, backend="torch").grads
    expected = np.hypot(grads["b_f"].reshape(-1), grads["U_c"].reshape(-1)).reshape(4, 3)
    np.testing.assert_allclose(swept.grad_norm, expected, rtol=1e-10)
    assert (full.grad_norm >= swept.grad_norm * (1 - 1e-12)).all() and (full.grad_norm > swept.grad_norm).any()


def cells_params(tensors):
    from dynlatch.cells import CellParams

    return CellParams(*tensors)


def test_parameter_surface_refuses_bad_axes():
    import dynlatch

    model = dynlatch.Model.init("lstm", seeds=[0], dtype=torch.float64)
    x, y = np.zeros((4, 3, 1)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="no parameter"):
        L.parameter_surface(model, x, y, axes=(("U_q", [0, 1]), ("b_f", [0, 1])))
    with pytest.raises(ValueError, match="twice"):
        L.parameter_surface(model, x, y, axes=(("b_f", [0, 1]), ("b_f", [0, 1])))
    with pytest.raises(ValueError, match="grad_wrt"):
        L.parameter_surface(model, x, y, axes=(("U_c", [0, 1]), ("b_f", [0, 1])), grad_wrt="both")
    with pytest.raises(ValueError, match="single model"):
        L.parameter_surface(dynlatch.Model.init("lstm", seeds=[0, 1]), x, y, axes=(("U_c", [0, 1]), ("b_f", [0, 1])))


def _trained_srnn():
    import dynlatch
    from dynlatch import tasks

    data = tasks.latching(length=6, n=120, seed=3)
    model = dynlatch.train(dynlatch.Model.init("srnn", seeds=[2], dtype=torch.float64), data, epochs=2).model
    return model, data


def _shifted_loss(model, data, d1, d2, a, b):
    import dynlatch
    from dynlatch.cells import CellParams

    ps = [p.detach() + a * u + b * v for p, u, v in zip(model.parameters(), d1, d2)]
    moved = dynlatch.Model(model.cell.replace(CellParams(*ps[:3])), ps[3], ps[4], None, model.readout)
    return moved.losses(torch.as_tensor(data.x_val), torch.as_tensor(data.y_val))[0].item()


def test_direction_surface_equals_the_moved_model_and_random_directions_are_normalised():
    model, data = _trained_srnn()
    d1, d2 = L.model_directions(model, data.x_val, data.y_val, kind="random", seed=5)
    for d in (d1, d2):
        for u, p in zip(d, model.parameters()):
            assert u.norm().item() == pytest.approx(p.norm().item() if p.norm() > 0 else 1.0, rel=1e-12)
    s = L.direction_surface(model, data.x_val, data.y_val, directions=(d1, d2), span=0.5, resolution=5)
    for i, j in ((2, 2), (0, 4), (3, 1)):
        assert s.loss[i, j] == pytest.approx(_shifted_loss(model, data, d1, d2, s.x[j], s.y[i]), rel=1e-10)


def test_hessian_directions_are_the_leading_eigenvectors():
    model, data = _trained_srnn()
    d1, d2 = L.model_directions(model, data.x_val, data.y_val, kind="hessian", iterations=60)
    params = [p.detach().double() for p in model.parameters()]
    sizes = [p.numel() for p in params]

    def loss(flat):
        from dynlatch.cells import CellParams
        import dynlatch

        ps = [t.reshape(p.shape) for t, p in zip(flat.split(sizes), params)]
        m = dynlatch.Model(model.cell.replace(CellParams(*ps[:3])), ps[3], ps[4], None, model.readout)
        return m.losses(torch.as_tensor(data.x_val), torch.as_tensor(data.y_val))[0].sum()

    H = torch.autograd.functional.hessian(loss, torch.cat([p.reshape(-1) for p in params])).numpy()
    values, vectors = np.linalg.eigh(H)
    order = np.argsort(-np.abs(values))
    for d, k in ((d1, order[0]), (d2, order[1])):
        v = torch.cat([t.reshape(-1) for t in d]).numpy()
        assert abs(abs(v @ vectors[:, k]) - 1) < 1e-4


def test_bengio_surface_equals_a_direct_transcription():
    s = L.bengio_surface([0.5, 2.0], [-1.0, 0.7], steps=4, noise_variance=0.2, sequences=6, seed=1)
    g = torch.Generator().manual_seed(1)
    noise = (torch.randn(1, 6, 4, generator=g, dtype=torch.float64) * 0.2**0.5)[0].numpy()
    for i, h in enumerate([-1.0, 0.7]):
        for j, w in enumerate([0.5, 2.0]):
            cost = 0.0
            for p in range(6):
                first, d = (h, 0.8) if p < 3 else (-h, -0.8)
                a = first
                for t in range(1, 4):
                    a = w * np.tanh(a) + noise[p, t]
                cost += 0.5 * (np.tanh(a) - d) ** 2
            assert s.loss[i, j] == pytest.approx(cost, rel=1e-10)


def _surface_bytes() -> bytes:
    import io

    s = L.Surface("u", "v", np.linspace(0, 1, 4), np.linspace(-1, 1, 3), np.arange(12.0).reshape(3, 4),
                  np.ones((3, 4)), None, {"T": 5})
    buffer = io.BytesIO()
    s.save(buffer)
    return buffer.getvalue()


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("replace"), st.sampled_from(["x", "y", "loss", "grad_norm", "axes", "metadata"]),
              st.sampled_from(["drop", "nan", "short", "text", "2d", "list-json"]))))
def test_fuzz_a_damaged_surface_file_is_read_as_it_is_or_refused_naming_the_file(tmp_path, damage):
    """Oracle: the damage done to a valid file. Surface.load returns a surface whose arrays fit its axes (finite
    axes, metadata a JSON object) or raises ValueError naming the file; never another exception."""
    import io

    data = _surface_bytes()
    path = tmp_path / "s.npz"
    what, where, how = damage
    if what == "truncate":
        path.write_bytes(data[: int(where * len(data))])
    elif what == "flip":
        k = min(int(where * len(data)), len(data) - 1)
        path.write_bytes(data[:k] + bytes([data[k] ^ how]) + data[k + 1:])
    else:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        if how == "drop":
            del arrays[where]
        elif how == "nan":
            arrays[where] = np.full(arrays[where].shape, np.nan)
        elif how == "short":
            arrays[where] = arrays[where].reshape(-1)[:1]
        elif how == "text":
            arrays[where] = np.array(["a", "b", "c"])
        elif how == "2d":
            arrays[where] = np.zeros((2, 2))
        else:
            arrays[where] = np.array("[1, 2]")
        np.savez(path, **arrays)
    try:
        s = L.Surface.load(path)
    except ValueError as e:
        assert str(path) in str(e)
        return
    assert s.loss.shape == s.grad_norm.shape == (s.y.size, s.x.size)
    assert np.isfinite(s.x).all() and np.isfinite(s.y).all() and isinstance(s.metadata, dict)
