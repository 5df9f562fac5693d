"""The compiled path of a model (:mod:`dynlatch._kernel_path`): which path a model takes, and that typing a driver on
one path never reaches the other path's kernels, read off numba's own record of the signatures each dispatcher has
compiled or loaded. The numerics of both paths are tested against torch autograd in test_train.py and
test_evaluate.py."""

import json
import subprocess
import sys

import numpy as np
import pytest
from numba.core.errors import TypingError

from dynlatch import _fastpath as fp
from dynlatch._kernel_path import GENERIC, UNIT
from dynlatch.cells import _kernels

# In a fresh interpreter (no kernel typed yet): type an uncached driver on one path, then on the other, and report
# how many signatures each path's kernels hold after each step.
_PROBE = """
import json
import numpy as np
from numba import njit
from dynlatch import _fastpath as fp
from dynlatch.cells import _srnn

UNIT_KERNELS = (fp._unit_forward, fp._unit_backward, _srnn.unit_forward, _srnn.unit_backward)
GENERIC_KERNELS = (fp._forward, fp._backward, _srnn.forward, _srnn.backward)


@njit
def probe(path, X, Y):
    ws = fp._workspace(path, 0, X.shape[1], 1, 1, 16)
    theta = np.zeros(16)
    grad = np.zeros(16)
    return fp._batch_loss_grad(path, 0, 0, True, theta, grad, X, Y, np.arange(16), 16, 1, 2, ws)


def counts():
    return [sum(len(k.signatures) for k in UNIT_KERNELS), sum(len(k.signatures) for k in GENERIC_KERNELS)]


X, Y = np.ones((16, 3, 1)), np.zeros(16, dtype=np.int64)
report = {"start": counts()}
probe(fp.UNIT, X, Y)
report["after_unit"] = counts()
probe(fp.GENERIC, X, Y)
report["after_generic"] = counts()
print(json.dumps(report))
"""


def test_path_for_takes_the_one_unit_kernels_exactly_where_they_exist():
    for spec in _kernels.SPECS:
        assert fp.path_for(spec.code, 1, 1) is (UNIT if spec.unit_rows else GENERIC)
        assert fp.path_for(spec.code, 2, 1) is GENERIC
        assert fp.path_for(spec.code, 1, 2) is GENERIC


@pytest.mark.slow
def test_a_path_compiles_none_of_the_other_paths_kernels():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=600)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["start"] == [0, 0]
    unit, generic = report["after_unit"]
    assert unit > 0 and generic == 0  # the one-unit driver reached the one-unit kernels only
    assert report["after_generic"][0] == unit and report["after_generic"][1] > 0  # and the generic one its own


def test_a_driver_refuses_a_flag_that_is_not_a_path():
    with pytest.raises(TypingError, match="kernel path token"):
        fp.final_states(True, 0, 0, np.zeros((1, 16)), np.ones((2, 3, 1)), 1, 16)
