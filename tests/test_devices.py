"""The device path: training and surfaces with --device run the torch backend, the code path a GPU takes. On the CPU
(device "cpu", given explicitly, so the argument travels the whole way) the numbers are the compiled numba backend's
to float tolerance; where CUDA exists the same comparison runs on the GPU. Nothing here needs a GPU."""

import csv

import numpy as np
import pytest
import torch

from dynlatch._cli import main as cli
from dynlatch.landscape import Surface

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SWEEP = ["--cells", "srnn,lstm,gru", "--lens", "3,6", "--repeats", "3", "--n", "60", "--epochs", "2", "--quiet"]
SURFACES = ["--lens", "3,5", "--resolution", "10", "--n", "30", "--init-points", "4", "--quiet"]


def numbers(path):
    with open(path) as f:
        return [{k: v for k, v in row.items()} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def numba_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("numba")
    assert cli(["run", "latching-sweep", *SWEEP, "--backend", "numba", "--out", str(out / "sweep")]) == 0
    assert cli(["run", "latching-landscape", *SURFACES, "--backend", "numba", "--out", str(out / "surfaces")]) == 0
    return out


@pytest.mark.parametrize("device", DEVICES)
def test_training_on_a_device_gives_the_numba_numbers(device, numba_runs, tmp_path):
    assert cli(["run", "latching-sweep", *SWEEP, "--device", device, "--out", str(tmp_path)]) == 0
    on_device, reference = numbers(tmp_path / "runs.csv"), numbers(numba_runs / "sweep" / "runs.csv")
    assert len(on_device) == len(reference) == 3 * 2 * 3
    for a, b in zip(on_device, reference):
        assert {k: a[k] for k in ("cell", "T", "repeat", "seed", "diverged")} == \
            {k: b[k] for k in ("cell", "T", "repeat", "seed", "diverged")}
        for k in ("val_acc", "train_acc", "val_loss", "train_loss"):
            assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-9, abs=1e-12), (k, a, b)
    with np.load(tmp_path / "weights.npz") as a, np.load(numba_runs / "sweep" / "weights.npz") as b:
        for k in b.files:
            if b[k].dtype.kind == "f":
                np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("device", DEVICES)
def test_surfaces_on_a_device_give_the_numba_numbers(device, numba_runs, tmp_path):
    assert cli(["run", "latching-landscape", *SURFACES, "--device", device, "--out", str(tmp_path)]) == 0
    files = sorted(p.name for p in (numba_runs / "surfaces").glob("surface_*.npz"))
    assert len(files) == 4 * 2  # every plane at both lengths
    for name in files:
        a, b = Surface.load(tmp_path / name), Surface.load(numba_runs / "surfaces" / name)
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_allclose(a.loss, b.loss, rtol=1e-10)
        np.testing.assert_allclose(a.grad_norm, b.grad_norm, rtol=1e-8, atol=1e-12)
        np.testing.assert_array_equal(a.accuracy, b.accuracy)
