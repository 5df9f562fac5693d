"""The random-guessing study (dynlatch.studies.random_guessing, run by dynlatch run random-guessing): its config names
the bad setting, a bad flag is one line and exit code 2, and the --quick run's mean trials are 1 / solved fraction
with the Wilson interval's ends mapped through 1/p."""

from __future__ import annotations

import csv
import json
import math

import pytest

from dynlatch._cli import main as cli
from dynlatch._stats import wilson_interval
from dynlatch.studies.bengio94 import Bengio94Config
from dynlatch.studies.random_guessing import RandomGuessingConfig


def test_config_names_the_bad_setting():
    with pytest.raises(ValueError, match="cells"):
        RandomGuessingConfig(cells=("tcn",)).check()
    with pytest.raises(ValueError, match="guesses"):
        RandomGuessingConfig(guesses=0).check()
    assert RandomGuessingConfig().check()


@pytest.mark.parametrize("argv", [["random-guessing", "--guesses", "0"], ["random-guessing", "--cells", "tcn"],
                                  ["random-guessing", "--bogus"]])
def test_bad_flags_exit_2(argv, usage_error):
    usage_error(argv[0], argv[1:])


def _read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def _inverse(p: float) -> float:
    return math.inf if p == 0 else 1.0 / p


@pytest.mark.slow
def test_random_guessing_quick_end_to_end(tmp_path):
    assert cli(["run", "random-guessing", "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    rows = _read(tmp_path / "runs.csv")
    assert {r["model"] for r in rows} == {"bengio_neuron", "srnn", "lstm", "gru"}
    assert {r["method"] for r in rows} == {"random_guessing", "gradient_descent"}
    for name in ("summary.json", "random_guessing.pdf", "random_guessing.png"):
        assert (tmp_path / name).stat().st_size > 0

    quick = json.loads((tmp_path / "summary.json").read_text())["config"]
    results = json.loads((tmp_path / "summary.json").read_text())["results"]
    assert len(results) == len(rows) == 2 * 4 + 1 * 4  # --quick: T in (5, 20) guessed, T = 5 trained
    gd = Bengio94Config()
    for r in rows:
        n, k, T = int(r["guesses"]), int(r["solved"]), int(r["T"])
        assert float(r["solved_fraction"]) == k / n
        assert float(r["mean_trials"]) == _inverse(k / n)
        lo, hi = wilson_interval(k, n)  # the other Wilson implementation of the code base
        assert math.isclose(float(r["ci_low"]), _inverse(hi), rel_tol=1e-12)
        if k == 0:
            assert float(r["ci_high"]) == math.inf
        else:
            assert math.isclose(float(r["ci_high"]), _inverse(lo), rel_tol=1e-12)
        if r["method"] == "random_guessing":
            assert n == quick["guesses"]
            sequences = quick["neuron_sequences"] if r["model"] == "bengio_neuron" else quick["cell_sequences"]
            steps = sequences * T
        elif r["model"] == "bengio_neuron":
            assert n == quick["gd_trials"]
            steps = gd.epochs * gd.train_sequences * T
        else:
            assert n == quick["gd_repeats"]
            continue  # the training set's size depends on the split
        if k:
            assert math.isclose(float(r["sequence_steps_per_success"]), steps * n / k, rel_tol=1e-12)
        entry = results[f"{r['method']}/{r['model']}/T={T}"]
        assert entry["guesses"] == n and entry["mean_trials"] == float(r["mean_trials"])
