"""The latching-landscape study (dynlatch.studies.latching_landscape) on a tiny config: the bistable region of the
one-unit SRNN planes is the closed form of x = tanh(U x + b) (two stable fixed points iff U > 1 and |b| below the
fold), the Keras-2 initial points are where the initialiser puts them (U = +-1, W within Glorot's limit), each row is
what its surface says, and every surface is a file that loads back as computed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from dynlatch._checks import CheckError
from dynlatch.landscape import Surface
from dynlatch.studies import RunContext
from dynlatch.studies.latching_landscape import LATCHING_PAIRS, LatchingLandscapeConfig, run, surface_file

TINY = dict(pairs=("srnn:U,W", "srnn:U,b"), lengths=(3, 6), resolution=9, n=40, init_points=6)


def srnn_bistable(U, b):
    """Two stable fixed points of x -> tanh(U x + b): U > 1 and |b| below the fold at x* = sqrt(1 - 1/U), where the
    multiplier U (1 - x*^2) is 1 and b = atanh(x*) - U x*."""
    U, b = np.broadcast_arrays(np.asarray(U, dtype=float), np.asarray(b, dtype=float))
    x_fold = np.sqrt(np.clip(1 - 1 / np.where(U > 1, U, 2.0), 0, None))
    return (U > 1) & (np.abs(b) < U * x_fold - np.arctanh(x_fold))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    config = LatchingLandscapeConfig(**TINY)
    return config, run(config, RunContext(out=tmp_path_factory.mktemp("landscape"), quiet=True))


def surface_of(result, pair, T):
    buffer = io.BytesIO()
    result.files[surface_file(pair, T)](buffer)
    buffer.seek(0)
    return Surface.load(buffer)


def test_the_srnn_bistable_region_is_the_closed_form(tiny):
    config, result = tiny
    for pair in config.pairs:
        (nx, rx), (ny, ry) = LATCHING_PAIRS[pair]
        X, Y = np.meshgrid(np.linspace(*rx, 9), np.linspace(*ry, 9))
        planes = {nx: X, ny: Y}
        expected = srnn_bistable(planes["U"], planes.get("b", 0.0))  # the base model's b is 0 (Keras 2)
        assert expected.any() and not expected.all()
        for T in config.lengths:
            row = next(r for r in result.tables["runs"] if r["pair"] == pair and r["T"] == T)
            assert row["fraction_bistable"] == pytest.approx(expected.mean(), abs=1e-12)
            s = surface_of(result, pair, T)
            assert row["accuracy_0.9_in_bistable"] == pytest.approx(np.mean(s.accuracy[expected] >= 0.9), abs=1e-12)
            assert row["accuracy_0.9_elsewhere"] == pytest.approx(np.mean(s.accuracy[~expected] >= 0.9), abs=1e-12)


def test_rows_are_what_their_surfaces_say(tiny):
    config, result = tiny
    rows = result.tables["runs"]
    assert [(r["pair"], r["T"]) for r in rows] == [(p, T) for p in config.pairs for T in config.lengths]
    for r in rows:
        s = surface_of(result, r["pair"], r["T"])
        assert (s.x_name, s.y_name) == tuple(name for name, _ in LATCHING_PAIRS[r["pair"]])
        assert s.loss.shape == s.accuracy.shape == (9, 9) and s.metadata["T"] == r["T"]
        assert s.metadata["sequences"] == config.n and s.metadata["cell"] == "srnn"
        assert r["cell"] == "srnn" and r["min_loss"] == np.nanmin(s.loss)
        assert r["fraction_accuracy_0.9"] == np.mean(s.accuracy >= 0.9)
        assert r["keras2_init_models_bistable"] == 0.0  # Keras-2 SRNNs have U = +-1: no second attractor
        planes = result.summary["planes"][f"{r['pair']}@T={r['T']}"]
        assert planes == {k: v for k, v in r.items() if k not in ("pair", "T", "cell")}


def test_keras2_initial_points_and_the_figure(tiny):
    config, result = tiny
    assert set(result.files) == {surface_file(p, T) for p in config.pairs for T in config.lengths}
    assert surface_file("lstm:b_f,U_c", 20) == "surface_lstm_b_f-U_c_T20.npz"
    fig = result.figures["latching_landscape"]
    assert set(result.figures) == {"latching_landscape"} and isinstance(fig, Figure)
    assert len([ax for ax in fig.axes if ax.get_title()]) == len(config.pairs) * len(config.lengths)
    for ax in fig.axes:
        if ax.get_title():
            points = ax.lines[-1].get_xydata()  # the Keras-2 initial points, (U, W) or (U, b)
            assert len(points) == config.init_points
            np.testing.assert_array_equal(np.abs(points[:, 0]), 1.0)  # orthogonal 1 x 1 recurrent kernel
            if ax.get_ylabel() == "W":
                assert (np.abs(points[:, 1]) <= np.sqrt(6 / 2)).all()  # Glorot uniform, fan_in = fan_out = 1
            else:
                np.testing.assert_array_equal(points[:, 1], 0.0)  # zero bias
    assert len(result.report) == len(result.tables["runs"])


@pytest.mark.parametrize("settings,field", [(dict(lengths=(5,)), "lengths"), (dict(pairs=("srnn:U,Q",)), "pairs"),
                                            (dict(pairs=("srnn:U,W", "srnn:U,W")), "pairs")])
def test_bad_settings_are_refused(settings, field):
    with pytest.raises(CheckError) as e:
        LatchingLandscapeConfig(**settings)
    assert e.value.name == field


def test_a_surface_assembled_from_its_tiles_is_the_surface_computed_whole():
    """Tiles of grid rows (the shards) put together give the untiled surface, bit for bit: every grid point is one
    model of the batched program, computed alone."""
    from dynlatch.landscape import parameter_surface
    from dynlatch.studies.latching_landscape import (
        TILE_ROWS, assemble_surface, base_model, compute_surface_tile, landscape_data, plane_axes, surface_tiles,
    )

    config = LatchingLandscapeConfig(pairs=("lstm:b_f,U_c",), lengths=(3, 4), resolution=TILE_ROWS + 5, n=30,
                                     init_points=2)
    tiles = [key for key in surface_tiles(config) if key["T"] == 4]
    assert [key["first_row"] for key in tiles] == [0, TILE_ROWS]
    tiled = assemble_surface(config, "lstm:b_f,U_c", [r for key in tiles for r in compute_surface_tile(config, key)])
    nx, xs, ny, ys = plane_axes(config, "lstm:b_f,U_c")
    x, y = landscape_data(config, 4)
    whole = parameter_surface(base_model(config, "lstm:b_f,U_c"), x, y, axes=((nx, xs), (ny, ys)))
    assert tiled.metadata == whole.metadata
    for name in ("loss", "grad_norm", "accuracy"):
        np.testing.assert_array_equal(getattr(tiled, name), getattr(whole, name))
