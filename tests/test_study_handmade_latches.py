"""The handmade-latches study (dynlatch.studies.handmade_latches, run by dynlatch run handmade-latches): its config
checks, and a small run whose summary agrees with its rows and with Bengio's threshold h*(2) = 0.533."""

from __future__ import annotations

import csv
import json

import pytest

from dynlatch._cli import main as cli
from dynlatch.studies.handmade_latches import HandmadeLatchesConfig


def test_config_checks():
    with pytest.raises(ValueError, match="latches"):
        HandmadeLatchesConfig(latches=("no_such_latch",))
    with pytest.raises(ValueError, match="sigmas"):
        HandmadeLatchesConfig(sigmas=(-0.1,))


def test_small_run_summary_agrees_with_its_rows(tmp_path):
    argv = ["--latches", "srnn_latch,gru_latch", "--lens", "5,40", "--sigmas", "0.1,2.0", "--n", "100", "--quiet"]
    assert cli(["run", "handmade-latches", *argv, "--out", str(tmp_path)]) == 0
    with open(tmp_path / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {(r["latch"], int(r["T"]), float(r["sigma"])) for r in rows} == {
        (name, T, s) for name in ("srnn_latch", "gru_latch") for T in (5, 40) for s in (0.1, 2.0)}
    latches = summary["latches"]
    assert set(latches) == {"srnn_latch", "gru_latch"} and latches["srnn_latch"]["cell"] == "srnn"
    for r in rows:
        assert latches[r["latch"]]["accuracy"][str(float(r["sigma"]))][r["T"]] == float(r["accuracy"])
    # sigma 0.1 is below h*(2) = 0.533 (REFERENCES): latched at every T; sigma 2 is far beyond it
    assert latches["srnn_latch"]["largest_sigma_with_accuracy_0.99_at_every_T"] == 0.1
    for name, entry in latches.items():
        robust = [s for s, by_T in entry["accuracy"].items() if min(by_T.values()) >= 0.99]
        assert entry["largest_sigma_with_accuracy_0.99_at_every_T"] == (max(map(float, robust)) if robust else None)
    assert (tmp_path / "handmade_latches.png").stat().st_size > 0
