"""The cliff-vs-length study (dynlatch.studies.cliff_vs_length): the predicted rate is the closed form log(w s'(x0)),
the measured rates of the wall's gradient norm and width agree with it, the steepest point converges on the basin
boundary as T grows, the fit takes only resolved, steep rows, and the result carries its table and figure."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from dynlatch._checks import CheckError
from dynlatch.studies import RunContext
from dynlatch.studies.cliff_vs_length import CliffVsLengthConfig, cliff_vs_length, fitted_rates, run

TINY = dict(lengths=(10, 30, 60, 100), resolution=8)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def tiny():
    config = CliffVsLengthConfig(**TINY)
    return config, cliff_vs_length(config)


def test_measured_rates_agree_with_the_unstable_multiplier(tiny):
    config, result = tiny
    g = result.summary["growth"]
    s = sigmoid(config.x0)
    assert g["predicted_rate"] == pytest.approx(np.log(config.w * s * (1 - s)), rel=1e-14)
    assert g["w"] == config.w and g["lengths_fitted"] == [30, 60, 100]
    assert g["measured_rate"] == pytest.approx(g["predicted_rate"], rel=0.05)
    assert g["measured_width_rate"] == pytest.approx(g["predicted_rate"], rel=0.05)


def test_the_steepest_point_converges_on_the_basin_boundary(tiny):
    config, result = tiny
    boundary = config.x0 - config.w * sigmoid(config.x0)
    assert result.summary["basin_boundary_b"] == pytest.approx(boundary, rel=1e-14)
    assert [r["T"] for r in result.rows] == list(config.lengths)
    distances = [r["distance_to_basin_boundary"] for r in result.rows]
    assert all(r["basin_boundary_b"] == result.summary["basin_boundary_b"] for r in result.rows)
    assert distances == [abs(r["b"] - r["basin_boundary_b"]) for r in result.rows]
    assert distances[-1] < 1e-6 and distances[-1] < distances[0]
    assert sorted(result.surfaces) == list(config.lengths)
    assert all(s.loss.shape == (8, 8) and s.metadata["steps"] == T for T, s in result.surfaces.items())


def test_the_fit_takes_only_resolved_steep_rows():
    rows = [{"T": 10, "resolved": True, "grad_norm": 5.0, "width": 1.0},  # the plateau's slope: not a wall
            {"T": 20, "resolved": True, "grad_norm": 100.0, "width": 0.1},
            {"T": 30, "resolved": False, "grad_norm": 1e9, "width": np.nan},  # not resolved in float64
            {"T": 40, "resolved": True, "grad_norm": 100.0 * np.exp(2.0), "width": 0.1 * np.exp(-2.0)}]
    grad_rate, width_rate, fitted = fitted_rates(rows)
    assert fitted == [20, 40]
    assert grad_rate == pytest.approx(0.1, rel=1e-12) and width_rate == pytest.approx(0.1, rel=1e-12)
    grad_rate, width_rate, fitted = fitted_rates(rows[:2])
    assert np.isnan(grad_rate) and np.isnan(width_rate) and fitted == [20]


def test_the_result_holds_the_table_and_the_figure(tmp_path, tiny):
    config, computed = tiny
    result = run(config, RunContext(out=tmp_path, quiet=True))
    assert result.tables == {"runs": computed.rows} and result.summary == computed.summary
    assert set(result.figures) == {"cliff_vs_length"} and isinstance(result.figures["cliff_vs_length"], Figure)
    assert not result.files and "fitted over T = [30, 60, 100]" in result.report[0]


@pytest.mark.parametrize("settings,field", [(dict(lengths=(5, 5)), "lengths"), (dict(w=4.0), "w"),
                                            (dict(b_min=1.0, b_max=1.0), "b_max")])
def test_bad_settings_are_refused(settings, field):
    with pytest.raises(CheckError) as e:
        CliffVsLengthConfig(**settings)
    assert e.value.name == field
