"""Every analysis script runs end to end at --quick scale and writes runs.csv, summary.json (with the keys the issues
name as a contract) and its figures; a bad flag is one line and exit code 2."""

from __future__ import annotations

import csv
import json
import math

import pytest

from dynlatch._cli import main as cli

CONTRACT = {
    "pascanu-cliff": ["wall", "max_distance_to_basin_boundary", "median_distance_to_fold", "grad_norm_on_wall",
                      "final_loss"],
    "cliff-vs-length": ["growth"],
    "handmade-latches": ["latches"],
    "bifurcations": ["events", "srnn_fold_b", "passage_time", "border_collisions"],
    "latching-landscape": ["planes"],
    "lstm-failure": ["hypotheses", "predictor", "success"],
    "bit-relay": ["setups", "ranking_at_T100", "which_setup_gives_gru_best", "mechanism_8_units"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONTRACT))
def test_quick_run_writes_its_results(name, tmp_path, capsys):
    out = tmp_path / name
    assert cli(["run", name, "--quick", "--quiet", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in CONTRACT[name]:
        assert key in summary, key
    assert {"config", "provenance"} <= set(summary)
    assert list(csv.DictReader(open(out / "runs.csv")))
    assert len(list(out.glob("*.png"))) >= 1 and len(list(out.glob("*.pdf"))) >= 1
    if name == "pascanu-cliff":
        assert summary["max_distance_to_basin_boundary"] < 1e-5 and summary["median_distance_to_fold"] > 0.1
        assert set(summary["final_loss"]) == {"unclipped", "clipped"}
        assert len(summary["wall"]["w"]) == len(summary["wall"]["b"]) > 0
    if name == "cliff-vs-length":
        g = summary["growth"]
        assert math.isclose(g["measured_rate"], g["predicted_rate"], rel_tol=0.05)


@pytest.mark.parametrize("name,argv", [("pascanu-cliff", ["--w-max", "3"]), ("pascanu-cliff", ["--resolution", "x"]),
                                       ("cliff-vs-length", ["--w", "2"]), ("cliff-vs-length", ["--lens", "5"]),
                                       ("handmade-latches", ["--sigmas", "nan"]),
                                       ("bifurcations", ["--bogus"])])
def test_bad_flags_are_one_line_and_exit_2(name, argv, usage_error):
    usage_error(name, argv)
