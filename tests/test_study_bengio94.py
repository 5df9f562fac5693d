"""The bengio94 study (dynlatch.studies.bengio94, run by dynlatch run bengio94): its config names the bad setting, a
bad flag is one line and exit code 2, and the --quick run writes tables whose numbers agree with each other and with
independent closed forms."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from dynlatch._cli import main as cli
from dynlatch._stats import wilson_interval
from dynlatch.studies.bengio94 import Bengio94Config
from dynlatch.symbolic import bengio_fold_curve


def test_config_names_the_bad_setting():
    with pytest.raises(ValueError, match="trials"):
        Bengio94Config(trials=0).check()
    with pytest.raises(ValueError, match="lengths"):
        Bengio94Config(lengths=(0, 5)).check()
    with pytest.raises(ValueError, match="success_accuracy"):
        Bengio94Config(success_accuracy=1.5).check()
    assert Bengio94Config().check()
    assert Bengio94Config().success_accuracy == 0.9  # the threshold test_bengio.py's hand-set latch is judged by


@pytest.mark.parametrize("argv", [["bengio94", "--trials", "0"], ["bengio94", "--lens", "x"],
                                  ["bengio94", "--threshold", "2"]])
def test_bad_flags_exit_2(argv, usage_error):
    usage_error(argv[0], argv[1:])


def _read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_bengio94_quick_end_to_end(tmp_path):
    assert cli(["run", "bengio94", "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    rows = _read(tmp_path / "success_vs_T.csv")
    assert {"T", "success_frequency", "ci_low", "ci_high", "trials"} <= set(rows[0])
    f = [float(r["success_frequency"]) for r in rows]
    assert f[0] > f[-1]
    assert _read(tmp_path / "success_vs_w0_s.csv") and _read(tmp_path / "runs.csv")
    for name in ("summary.json", "bengio94.pdf", "bengio94.png"):
        assert (tmp_path / name).stat().st_size > 0

    # the tables agree with each other: per T, the successes among the trials of runs.csv
    trials = [r for r in _read(tmp_path / "runs.csv") if r["part"] == "success_vs_T"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    for row in rows:
        mine = [t for t in trials if t["T"] == row["T"]]
        k = sum(t["success"] == "True" for t in mine)
        assert int(row["trials"]) == len(mine) and int(row["successes"]) == k
        assert float(row["success_frequency"]) == k / len(mine) == summary["success_vs_T"][row["T"]]
        # the interval against the other Wilson implementation of the code base
        lo, hi = wilson_interval(k, len(mine))
        assert math.isclose(float(row["ci_low"]), lo, abs_tol=1e-12)
        assert math.isclose(float(row["ci_high"]), hi, abs_tol=1e-12)
    # h* of every final w against the symbolic closed form (0 where w <= 1: no latch)
    w = np.array([float(t["w"]) for t in trials])
    want = np.where(w > 1, bengio_fold_curve().lambdify("numpy")(np.maximum(w, 1.0)[:, None])[:, 0], 0.0)
    np.testing.assert_allclose([float(t["h_star"]) for t in trials], want, rtol=1e-12, atol=1e-14)
    assert summary["config"]["trials"] == 24 and summary["choices"]["trials_per_T"] == 24
