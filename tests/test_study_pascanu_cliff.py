"""The pascanu-cliff study (dynlatch.studies.pascanu_cliff): on a tiny config, where a basin boundary passes through
x0 the located wall sits on its closed form, below w = 1/s'(x0) the jump sits at the fold found by root finding on the
fold condition (classed "fold"), the fold columns are the fold's closed form, the trajectories start where asked and
clipped steps are bounded, the summary is what its rows say, and the result's files and figures are what the runner
writes (a surface.npz that loads as the computed surface, a runs.csv with each point's kind); bad settings are refused
naming the field."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy.optimize import brentq

import torch

from dynlatch import landscape as L
from dynlatch._checks import CheckError
from dynlatch._cli import main as cli
from dynlatch.landscape import Surface
from dynlatch.studies import RunContext
from dynlatch.studies.pascanu_cliff import (
    PascanuCliffConfig, clipping_rows, clipping_summary, pascanu_cliff, run, wall_row,
)

TINY = dict(resolution=8, wall_points=3, iterations=6, starts=(6.0, -3.5, 8.0, -4.7), clip_lengths=(10, 20),
            clip_ws=2, clip_offsets=3, clip_iterations=8)
WALL = dict(b_range=(-10.0, 1.0), steps=50, x0=0.5, target=0.7)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def folds_by_root_finding(w):
    """Both fold values of b at w, from the fold conditions solved numerically: a fixed point x* = w s(x*) + b with
    multiplier w s(x*) (1 - s(x*)) = 1 (one root on each side of x* = 0), b = x* - w s(x*)."""
    multiplier = lambda x: w * sigmoid(x) * (1 - sigmoid(x)) - 1  # noqa: E731
    roots = [brentq(multiplier, lo, hi, xtol=1e-15) for lo, hi in ((-20.0, 0.0), (0.0, 20.0))]
    return sorted(x - w * sigmoid(x) for x in roots)


def boundary_threshold(x0=0.5):
    return 1 / (sigmoid(x0) * (1 - sigmoid(x0)))  # w s'(x0) = 1: below it x0 is never an unstable fixed point


@pytest.fixture(scope="module")
def tiny():
    config = PascanuCliffConfig(**TINY)
    return config, pascanu_cliff(config)


def test_the_wall_is_searched_from_wall_w_min_geometrically_in_w_minus_4(tiny):
    config, result = tiny
    assert config.wall_w_min == 4.1
    expected = [4.0 + 0.1 * (80.0 ** (k / 2)) for k in range(3)]  # w - 4 from 0.1 to 8, ratio sqrt(80)
    assert [r["w"] for r in result.wall] == pytest.approx(expected, rel=1e-14)


def test_the_wall_lies_on_the_basin_boundary_where_one_passes_through_x0(tiny):
    config, result = tiny
    above = [r for r in result.wall if r["w"] > boundary_threshold(config.x0)]
    assert len(above) == 2
    for r in above:
        s = sigmoid(config.x0)
        boundary = config.x0 - r["w"] * s  # x0 = w s(x0) + b: x0 is the middle (unstable) fixed point
        assert r["basin_boundary_b"] == pytest.approx(boundary, rel=1e-14)
        folds = folds_by_root_finding(r["w"])
        assert [r["fold_b_lower"], r["fold_b_upper"]] == pytest.approx(folds, rel=1e-12)
        assert r["walls_found"] == 1 and r["kind"] == "basin_boundary" and not r["fold_within_tolerance"]
        assert r["distance_to_basin_boundary"] == abs(r["b"] - boundary) <= 2 * r["width"] + 1e-13
        assert r["distance_to_fold"] == pytest.approx(min(abs(r["b"] - f) for f in folds), rel=1e-12)
        assert r["distance_to_fold"] > 100 * r["width"]
        assert folds[0] < r["b"] < folds[1] and r["width"] >= 0 and r["grad_norm"] > 1e3


@pytest.mark.parametrize("w", [4.1, 4.2])
def test_below_the_threshold_the_jump_sits_at_the_fold(w):
    assert w * sigmoid(0.5) * (1 - sigmoid(0.5)) < 1  # no basin boundary through x0 = 0.5
    row = wall_row(w, **WALL)
    lower, upper = folds_by_root_finding(w)
    assert [row["fold_b_lower"], row["fold_b_upper"]] == pytest.approx([lower, upper], rel=1e-12)
    assert np.isnan(row["basin_boundary_b"]) and np.isnan(row["distance_to_basin_boundary"])
    assert row["walls_found"] == 1 and row["kind"] == "fold" and row["fold_within_tolerance"]
    # x0 = 0.5 lies above the unstable fixed point in the whole bistable band, so x_T leaves the upper attractor only
    # where it vanishes, the lower fold, lingering in its ghost: the jump lies just below it, within two widths
    assert lower - 2 * row["width"] <= row["b"] < lower
    assert row["distance_to_fold"] == pytest.approx(lower - row["b"], rel=1e-12)
    assert row["tolerance_b"] == pytest.approx(2 * row["width"], rel=1e-15)
    assert 1 < row["grad_norm"] < 100  # a fold's step at T = 50 is no cliff


def test_just_above_the_threshold_both_curves_are_within_tolerance_and_the_boundary_is_named():
    w = 4.3
    row = wall_row(w, **WALL)
    lower, _ = folds_by_root_finding(w)
    boundary = 0.5 - w * sigmoid(0.5)
    assert 0 < boundary - lower < row["width"]  # the two curves closer than the wall is wide at T = 50
    assert row["kind"] == "basin_boundary" and row["fold_within_tolerance"]


def test_at_w_8_the_wall_is_on_the_basin_boundary():
    row = wall_row(8.0, **WALL)
    assert row["kind"] == "basin_boundary" and not row["fold_within_tolerance"]
    assert abs(row["b"] - (0.5 - 8.0 * sigmoid(0.5))) < 1e-12
    assert row["distance_to_fold"] == pytest.approx(min(abs(row["b"] - f) for f in folds_by_root_finding(8.0)))


def test_the_summary_is_what_the_rows_say(tiny):
    config, result = tiny
    s = result.summary
    rows = result.wall
    on_boundary = [r for r in rows if r["kind"] == "basin_boundary"]
    at_fold = [r for r in rows if r["kind"] == "fold"]
    assert s["wall"] == {"w": [r["w"] for r in rows], "b": [r["b"] for r in rows],
                         "kind": ["fold", "basin_boundary", "basin_boundary"]}
    assert s["wall_points_by_kind"] == {"basin_boundary": 2, "fold": 1, "neither": 0}
    assert s["wall_points_near_both"] == 0
    assert s["basin_boundary_threshold_w"] == pytest.approx(boundary_threshold(config.x0), rel=1e-14)
    assert (s["fold_w_max"], s["basin_boundary_w_min"]) == (rows[0]["w"], rows[1]["w"])
    assert s["max_distance_to_basin_boundary"] == max(r["distance_to_basin_boundary"] for r in on_boundary)
    assert s["max_distance_to_basin_boundary_in_widths"] == max(
        r["distance_to_basin_boundary"] / r["width"] for r in on_boundary
        if 2 * r["width"] >= 16 * np.spacing(abs(r["b"])))  # widths float64 resolves (w = 12's is a few ulp)
    assert s["median_distance_to_fold"] == pytest.approx(np.median([r["distance_to_fold"] for r in on_boundary]))
    assert s["grad_norm_on_wall"] == pytest.approx(np.median([r["grad_norm"] for r in on_boundary]))
    assert s["max_distance_to_fold_at_folds"] == at_fold[0]["distance_to_fold"]
    assert s["max_distance_to_fold_at_folds_in_widths"] == at_fold[0]["distance_to_fold"] / at_fold[0]["width"]
    assert s["grad_norm_at_folds"] == at_fold[0]["grad_norm"]
    assert (s["wall_points_located"], s["wall_points_tried"]) == (3, 3)
    assert s["max_grad_norm_on_grid"] == np.nanmax(result.surface.grad_norm)
    assert set(s["final_loss"]) == {"unclipped", "clipped"}


def test_trajectories_start_where_asked_and_clipped_steps_are_bounded(tiny):
    config, result = tiny
    rows = result.trajectories
    assert len(rows) == 2 * 2 * (config.iterations + 1)
    for start, (w0, b0) in enumerate(((6.0, -3.5), (8.0, -4.7))):
        for clipped in (False, True):
            path = [r for r in rows if r["start"] == start and r["clipped"] == clipped]
            assert [r["iteration"] for r in path] == list(range(config.iterations + 1))
            assert (path[0]["w"], path[0]["b"]) == (w0, b0)
            assert path[0]["loss"] == pytest.approx((sigmoid_of_x_T(w0, b0, config) - config.target) ** 2, rel=1e-12)
            if clipped:
                steps = np.hypot(np.diff([r["w"] for r in path]), np.diff([r["b"] for r in path]))
                assert steps.max() <= config.lr * config.clip + 1e-12


def sigmoid_of_x_T(w, b, config):
    x = config.x0
    for _ in range(config.steps):
        x = w * sigmoid(x) + b
    return sigmoid(x)


def test_no_wall_below_bistability():
    row = wall_row(3.0, b_range=(-10.0, 1.0), steps=50, x0=0.5, target=0.7)
    assert row["walls_found"] == 0 and np.isnan(row["b"]) and np.isnan(row["fold_b_lower"])
    assert np.isnan(row["basin_boundary_b"]) and row["kind"] == ""


def test_the_result_holds_tables_the_surface_and_both_figures(tmp_path):
    config = PascanuCliffConfig(**TINY)
    result = run(config, RunContext(out=tmp_path, quiet=True))
    assert set(result.tables) == {"runs", "trajectories", "clipping"} and set(result.files) == {"surface.npz"}
    assert set(result.figures) == {"pascanu_cliff", "pascanu_clipping", "pascanu_cliff_3d"}
    assert all(isinstance(f, Figure) for f in result.figures.values())
    buffer = io.BytesIO()
    result.files["surface.npz"](buffer)
    buffer.seek(0)
    surface = Surface.load(buffer)
    assert surface.metadata == {"grad_wrt": ["w", "b"], "map": "pascanu", "steps": 50, "x0": 0.5, "target": 0.7}
    np.testing.assert_array_equal(surface.x, np.linspace(config.w_min, config.w_max, 8))
    assert surface.loss.shape == surface.grad_norm.shape == (8, 8)
    assert len(result.report) == 3 and "wall located at 3/3" in result.report[0]
    assert result.report[1].startswith("T = 10, 6 starts one step before the wall: thrown")


def test_the_command_writes_every_file(tmp_path, capsys):
    out = tmp_path / "cliff"
    assert cli(["run", "pascanu-cliff", "--resolution", "8", "--wall-points", "2", "--wall-w-min", "4.2",
                "--iterations", "3", "--starts", "6,-3.5", "--clip-lens", "10", "--clip-ws", "1", "--clip-offsets",
                "1", "--clip-iterations", "3", "--quiet", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"runs.csv", "trajectories.csv", "clipping.csv", "surface.npz", "summary.json", "pascanu_cliff.pdf",
            "pascanu_cliff.png", "pascanu_clipping.pdf", "pascanu_clipping.png", "pascanu_cliff_3d.pdf",
            "pascanu_cliff_3d.png"} <= names
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["resolution"] == 8 and summary["wall_points_tried"] == 2
    assert summary["config"]["wall_w_min"] == 4.2 and summary["wall"]["w"] == [4.2, 12.0]
    runs = list(csv.DictReader(open(out / "runs.csv")))
    assert [r["kind"] for r in runs] == summary["wall"]["kind"] == ["fold", "basin_boundary"]
    assert Surface.load(out / "surface.npz").loss.shape == (8, 8)
    assert "wall located at 2/2" in capsys.readouterr().out


@pytest.mark.parametrize("settings,field", [(dict(w_max=4.1), "w_max"), (dict(b_min=1.0, b_max=0.0), "b_max"),
                                            (dict(wall_w_min=4.0), "wall_w_min"),
                                            (dict(wall_w_min=6.0, w_max=5.0), "w_max"),
                                            (dict(starts=(6.0, -3.5, 7.0)), "starts"),
                                            (dict(clip_lengths=(10, 10)), "clip_lengths"),
                                            (dict(clip_lengths=(1,)), "clip_lengths"),
                                            (dict(clip_lengths=(500,)), "clip_lengths"),
                                            (dict(throw_distance=0.0), "throw_distance")])
def test_bad_settings_are_refused(settings, field):
    with pytest.raises(CheckError) as e:
        PascanuCliffConfig(**settings)
    assert e.value.name == field


# -- the clipping experiment -----------------------------------------------------------------------------------------
def final_state_loop(w, b, T, x0=0.5):
    """x_T of the map by a plain Python float loop (independent of the library's array code)."""
    x = x0
    for _ in range(T):
        x = w / (1.0 + math.exp(-x)) + b
    return x


def wall_by_bisection(w, T, lo=-10.0, hi=1.0):
    """The wall at w: where x_T crosses the midpoint of its values at the ends of [lo, hi], by bisection on the loop
    (not the library's centre, which takes the midpoint of the steep run's ends: the two agree to within the width)."""
    mid = 0.5 * (final_state_loop(w, lo, T) + final_state_loop(w, hi, T))
    for _ in range(200):
        m = 0.5 * (lo + hi)
        lo, hi = (m, hi) if final_state_loop(w, m, T) < mid else (lo, m)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("T,w0", [(20, 6.0), (50, 5.5)])
def test_a_start_one_step_before_the_wall_is_thrown_plain_and_crosses_clipped(T, w0):
    """Checked against torch autograd descent (gradient_descent) and the wall found by bisection on a float loop."""
    b0, _ = L.pascanu_start_before_wall(w0, land=0.0, lr=1.0, b_range=(-10.0, 1.0), steps=T)
    plain = L.gradient_descent(w0, b0, lr=1.0, iterations=20, steps=T)
    clipped = L.gradient_descent(w0, b0, lr=1.0, iterations=20, steps=T, clip=0.5)
    w1, b1 = plain[1, :2]
    width = L.pascanu_wall_profile(w0, L.pascanu_wall(w0, b_range=(-10.0, 1.0), steps=T)[0], steps=T)["width"]
    assert abs(b1 - wall_by_bisection(w1, T)) < width  # the first plain step lands on the wall
    assert b0 < wall_by_bisection(w0, T) - 10 * width  # from the plateau below it
    steps_plain = np.hypot(*np.diff(plain[:, :2], axis=0).T)
    assert steps_plain[0] < 0.2 and steps_plain[1] > 10.0  # then thrown
    steps_clipped = np.hypot(*np.diff(clipped[:, :2], axis=0).T)
    assert np.all(steps_clipped <= 0.5 + 1e-12)
    w2, b2, loss2 = clipped[2]  # the clipped step from the wall crosses it: above, where x_T is on the upper attractor
    assert b2 > wall_by_bisection(w2, T) and loss2 < 0.25 * clipped[0, 2]
    assert np.nanmin(plain[2:, 2]) > 0.08  # thrown to where sigmoid(x_T) = 1 (loss 0.09) or 0, never to the valley


def test_the_batched_descent_is_the_per_start_loop():
    """pascanu_descent (numpy, forward-mode gradients, all starts at once) against gradient_descent (torch autograd,
    one start at a time): trajectories, thrown flags and final losses."""
    config = PascanuCliffConfig(clip_lengths=(10, 20), clip_ws=3, clip_offsets=3, clip_iterations=12)
    rows, paths = clipping_rows(config)
    assert len(rows) == 18
    for r, k in zip(rows, [k for T in (10, 20) for k in range(9)]):
        for label, clip in (("unclipped", None), ("clipped", 0.5)):
            loop = L.gradient_descent(r["w0"], r["b0"], lr=1.0, iterations=12, steps=r["T"], clip=clip)
            batched = paths[r["T"]][label][k]
            np.testing.assert_allclose(batched[:3], loop[:3], rtol=1e-9, atol=1e-12)  # up to and across the wall
            steps = np.hypot(*np.diff(loop[:, :2], axis=0).T)
            assert r[f"thrown_{label}"] == bool(np.nanmax(steps) > config.throw_distance)
            assert r[f"largest_step_{label}"] == pytest.approx(np.nanmax(steps), rel=1e-9)
    summary = clipping_summary(rows, (10, 20))
    for T in ("10", "20"):
        sel = [r for r in rows if str(r["T"]) == T]
        assert summary[T]["starts"] == 9
        assert summary[T]["thrown_fraction_unclipped"] == sum(r["thrown_unclipped"] for r in sel) / 9
        assert summary[T]["median_final_loss_clipped"] == float(np.median([r["final_loss_clipped"] for r in sel]))
        assert summary[T]["thrown_fraction_clipped"] == 0.0  # a clipped step is at most lr * clip = 0.5 < 1


def test_loss_and_gradient_equal_autograd():
    rng = np.random.default_rng(0)
    w, b = rng.uniform(0, 12, 50), rng.uniform(-10, 1, 50)
    for T in (1, 10, 50):
        E, gw, gb = L.pascanu_loss_and_grad(w, b, steps=T)
        wt = torch.tensor(w, requires_grad=True)
        bt = torch.tensor(b, requires_grad=True)
        Et = L.pascanu_loss(wt, bt, steps=T)
        gwt, gbt = torch.autograd.grad(Et.sum(), (wt, bt))
        np.testing.assert_allclose(E, Et.detach().numpy(), rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(gw, gwt.numpy(), rtol=1e-9, atol=1e-300)
        np.testing.assert_allclose(gb, gbt.numpy(), rtol=1e-9, atol=1e-300)


def test_the_quick_run_shows_the_phenomenon(tmp_path):
    config = PascanuCliffConfig(resolution=8, wall_points=2, clip_ws=4, clip_offsets=3, clip_iterations=30)
    summary = pascanu_cliff(config).summary["clipping"]
    assert set(summary) == {"10", "20", "50"}
    for T in ("20", "50"):
        k = summary[T]
        assert k["starts"] == 12 and k["thrown_fraction_unclipped"] >= 0.9 and k["thrown_fraction_clipped"] == 0.0
        assert k["median_final_loss_clipped"] < k["median_final_loss_unclipped"] < k["median_start_loss"]
