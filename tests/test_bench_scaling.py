"""The scaling and cluster benchmarks (benchmarks/scaling.py, benchmarks/cluster.py) compute what they claim; no speed
is asserted. Oracles: a power law given exactly is recovered by the fit and its extrapolations follow in closed form;
the cluster benchmark's comparison finds a one-byte change in runs.csv and a changed weight, and nothing in a copy."""

import importlib
import shutil

import numpy as np
import pytest

from dynlatch._cli import main as cli, script_package

scaling = importlib.import_module(script_package("benchmarks").__name__ + ".scaling")
cluster = importlib.import_module(script_package("benchmarks").__name__ + ".cluster")


def test_the_power_law_fit_and_its_extrapolations_are_exact_on_exact_data():
    laws = {"T": (2e-3, 1.0), "units": (0.3, 1.5), "models": (0.01, 0.9), "grid": (1e-4, 1.0)}
    rows = [{"series": s, "cell": "lstm", "x": x, "seconds": a * x ** k}
            for s, (a, k) in laws.items() for x in scaling.SERIES[s]]
    law, local = scaling.fits(rows), scaling.fits(rows, largest=2)
    for s, (a, k) in laws.items():
        for fit in (law, local):
            assert fit[s]["lstm"]["a"] == pytest.approx(a) and fit[s]["lstm"]["k"] == pytest.approx(k)
    beyond = scaling.extrapolations(law, local)
    expected = 0.3 * 64 ** 1.5 * (1000 / 100) * (1000 / 30) ** 0.9  # units, then T and models relative to 100 and 30
    assert beyond["epoch_T1000_64units_1000models_s"] == pytest.approx(expected)
    assert beyond["surface_1024x1024_T1000_N1000_s"] == pytest.approx(1e-4 * 1024 ** 2 * 10 * 1000 / 300)


def test_the_cluster_comparison_finds_any_difference(tmp_path):
    tiny = ["--cells", "srnn", "--lens", "3", "--repeats", "2", "--n", "40", "--epochs", "1", "--quiet",
            "--backend", "torch"]
    assert cli(["run", "latching-sweep", *tiny, "--out", str(tmp_path / "a")]) == 0
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert cluster.differences(tmp_path / "a", tmp_path / "b") == []
    runs = (tmp_path / "b" / "runs.csv").read_bytes()
    (tmp_path / "b" / "runs.csv").write_bytes(runs[:-2] + bytes([runs[-2] ^ 1]) + runs[-1:])
    with np.load(tmp_path / "a" / "weights.npz") as w:
        arrays = {k: w[k] for k in w.files}
    name = next(k for k, v in arrays.items() if v.dtype.kind == "f")
    arrays[name] = np.nextafter(arrays[name], np.inf)
    np.savez(tmp_path / "b" / "weights.npz", **arrays)
    assert cluster.differences(tmp_path / "a", tmp_path / "b") == ["runs.csv differs", "weights.npz differs"]
