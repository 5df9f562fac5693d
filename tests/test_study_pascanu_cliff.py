"""The pascanu-cliff study (dynlatch.studies.pascanu_cliff): on a tiny config, the located wall sits on the basin
boundary's closed form and its fold columns are the fold's closed form, the trajectories start where asked and clipped
steps are bounded, the summary is what its rows say, and the result's files and figures are what the runner writes
(a surface.npz that loads as the computed surface); bad settings are refused naming the field."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from dynlatch._checks import CheckError
from dynlatch._cli import main as cli
from dynlatch.landscape import Surface
from dynlatch.studies import RunContext
from dynlatch.studies.pascanu_cliff import PascanuCliffConfig, pascanu_cliff, run, wall_row

TINY = dict(resolution=8, wall_points=3, iterations=6, starts=(6.0, -3.5, 8.0, -4.7))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def tiny():
    config = PascanuCliffConfig(**TINY)
    return config, pascanu_cliff(config)


def test_the_wall_lies_on_the_basin_boundary_and_between_the_folds(tiny):
    config, result = tiny
    assert [r["w"] for r in result.wall] == pytest.approx(list(np.linspace(4.6, 12.0, 4)[1:]))
    for r in result.wall:
        s = sigmoid(config.x0)
        boundary = config.x0 - r["w"] * s  # x0 = w s(x0) + b: x0 is the middle (unstable) fixed point
        assert r["basin_boundary_b"] == pytest.approx(boundary, rel=1e-14)
        root = np.sqrt(1 - 4 / r["w"])  # s'(x*) = 1/w at a fold
        folds = sorted(np.log(q / (1 - q)) - r["w"] * q for q in ((1 - root) / 2, (1 + root) / 2))
        assert [r["fold_b_lower"], r["fold_b_upper"]] == pytest.approx(folds, rel=1e-12)
        assert r["walls_found"] == 1 and abs(r["b"] - boundary) < 1e-5
        assert r["distance_to_basin_boundary"] == abs(r["b"] - boundary)
        assert r["distance_to_fold"] == pytest.approx(min(abs(r["b"] - f) for f in folds), rel=1e-12)
        assert folds[0] < r["b"] < folds[1] and r["width"] > 0 and r["grad_norm"] > 1e3


def test_the_summary_is_what_the_rows_say(tiny):
    _, result = tiny
    s = result.summary
    assert s["wall"] == {"w": [r["w"] for r in result.wall], "b": [r["b"] for r in result.wall]}
    assert s["max_distance_to_basin_boundary"] == max(r["distance_to_basin_boundary"] for r in result.wall)
    assert s["median_distance_to_fold"] == pytest.approx(np.median([r["distance_to_fold"] for r in result.wall]))
    assert s["grad_norm_on_wall"] == pytest.approx(np.median([r["grad_norm"] for r in result.wall]))
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
    assert np.isnan(row["basin_boundary_b"])


def test_the_result_holds_tables_the_surface_and_both_figures(tmp_path):
    config = PascanuCliffConfig(**TINY)
    result = run(config, RunContext(out=tmp_path, quiet=True))
    assert set(result.tables) == {"runs", "trajectories"} and set(result.files) == {"surface.npz"}
    assert set(result.figures) == {"pascanu_cliff", "pascanu_cliff_3d"}
    assert all(isinstance(f, Figure) for f in result.figures.values())
    buffer = io.BytesIO()
    result.files["surface.npz"](buffer)
    buffer.seek(0)
    surface = Surface.load(buffer)
    assert surface.metadata == {"grad_wrt": ["w", "b"], "map": "pascanu", "steps": 50, "x0": 0.5, "target": 0.7}
    np.testing.assert_array_equal(surface.x, np.linspace(config.w_min, config.w_max, 8))
    assert surface.loss.shape == surface.grad_norm.shape == (8, 8)
    assert len(result.report) == 1 and "wall located at 3/3" in result.report[0]


def test_the_command_writes_every_file(tmp_path, capsys):
    out = tmp_path / "cliff"
    assert cli(["run", "pascanu-cliff", "--resolution", "8", "--wall-points", "2", "--iterations", "3",
                "--starts", "6,-3.5", "--quiet", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"runs.csv", "trajectories.csv", "surface.npz", "summary.json", "pascanu_cliff.pdf", "pascanu_cliff.png",
            "pascanu_cliff_3d.pdf", "pascanu_cliff_3d.png"} <= names
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["resolution"] == 8 and summary["wall_points_tried"] == 2
    assert Surface.load(out / "surface.npz").loss.shape == (8, 8)
    assert "wall located at 2/2" in capsys.readouterr().out


@pytest.mark.parametrize("settings,field", [(dict(w_max=4.5), "w_max"), (dict(b_min=1.0, b_max=0.0), "b_max"),
                                            (dict(starts=(6.0, -3.5, 7.0)), "starts")])
def test_bad_settings_are_refused(settings, field):
    with pytest.raises(CheckError) as e:
        PascanuCliffConfig(**settings)
    assert e.value.name == field
