"""The fixed-point census study (``dynlatch run fixed-point-census``): the census of a (fake) read sweep and its
summary on hand-built SRNNs with known structure, the config, the flags and a tiny sweep end to end.

Oracles: closed forms of one-unit SRNNs (h = tanh(U h) has two stable fixed points iff U > 1; the Jacobian at 0 is U),
a hand-computed AUC, and the fixed points of the trained models counted directly.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from analyses import fixed_point_census as script
from dynlatch.cells import SRNN, handmade, stack
from dynlatch.dynamics import fixed_point_census, fixed_points
from dynlatch.studies.fixed_point_census import FixedPointCensusConfig, summarise_census

F64 = torch.float64


def pair_count_auc(positive: list[float], negative: list[float]) -> float:
    """The AUC by its definition: the fraction of (positive, negative) pairs ordered right, ties 1/2; NaN if a class
    is empty."""
    if not positive or not negative:
        return float("nan")
    return float(np.mean([1.0 if p > q else 0.5 if p == q else 0.0 for p in positive for q in negative]))


def _srnn(U: float) -> SRNN:
    return handmade.srnn_latch().with_params(U=torch.tensor([[U]], dtype=F64))


class _FakeSweep:
    """The part of SweepResults the census reads, over hand-built SRNNs (final = initial with U doubled)."""

    def __init__(self, Us, ok):
        self.rows = tuple({"cell": "srnn", "T": 5 + 5 * (i % 2), "repeat": i, "seed": i, "val_acc": 0.95 if s else 0.5}
                          for i, s in enumerate(ok))
        self.Us, self.ok = Us, ok

    def select(self, cell, *, T=None, succeeded=None):
        return [i for i, r in enumerate(self.rows) if r["cell"] == cell and (T is None or r["T"] == T)
                and (succeeded is None or self.ok[i] == succeeded)]

    def models(self, cell, *, T=None, stage="final"):
        idx = self.select(cell, T=T)
        scale = 2.0 if stage == "final" else 1.0
        return [self.rows[i] for i in idx], type("M", (), {"cell": stack([_srnn(scale * self.Us[i]) for i in idx])})


def test_fixed_point_census_and_summary_on_known_models():
    Us = [0.9, 0.4, 0.6, 0.3, 0.8, 0.2]
    ok = [True, False, True, False, False, True]
    rows = fixed_point_census(_FakeSweep(Us, ok), cells=["srnn"])
    assert len(rows) == 12
    for r in rows:
        U = Us[r["repeat"]] * (2.0 if r["stage"] == "final" else 1.0)
        assert r["succeeded"] == ok[r["repeat"]] and r["T"] == 5 + 5 * (r["repeat"] % 2)
        assert r["two_stable_states"] == (U > 1)
        assert r["origin_max_abs_eig"] == pytest.approx(U, abs=1e-12)
    s = summarise_census(rows)
    g = {(x["T"], x["stage"], x["succeeded"]): x for x in s["groups"]}
    # T = 5: repeats 0 (0.9, ok), 2 (0.6, ok), 4 (0.8, fail); final U = 1.8, 1.2, 1.6 -> all bistable
    assert g[(5, "final", True)]["two_stable_states"] == 2 and g[(5, "final", False)]["two_stable_states"] == 1
    assert g[(5, "initial", True)]["two_stable_states"] == 0
    # T = 10: repeats 1 (0.4 fail), 3 (0.3 fail), 5 (0.2 ok); final 0.8, 0.6, 0.4 -> none
    assert g[(10, "final", False)]["fraction_two_stable_states"] == 0.0
    assert g[(5, "initial", True)]["median_origin_max_abs_eig"] == pytest.approx(0.75)
    auc = s["origin_eig_auc_initial"]["srnn"]
    assert auc["auc"] == pytest.approx(pair_count_auc([0.9, 0.6, 0.2], [0.4, 0.3, 0.8]))
    assert auc["auc"] == pytest.approx(5 / 9)  # 0.9 beats 3, 0.6 beats 2, 0.2 beats 0
    assert (auc["succeeded"], auc["failed"]) == (3, 3)
    assert auc["by_T"]["5"]["auc"] == pytest.approx(0.5)  # 0.9 > 0.8, 0.6 < 0.8


def test_config_checks_and_sweep_config():
    c = FixedPointCensusConfig(lengths=(5, 20), repeats=3, n=100, seed=2)
    sc = c.sweep_config()
    assert (sc.lengths, sc.repeats, sc.n, sc.seed, sc.cells) == ((5, 20), 3, 100, 2, ("srnn", "lstm", "gru"))


@pytest.mark.parametrize("argv", [["--lens", "1"], ["--cells", "srnn,foo"], ["--repeats", "0"], ["--n", "x"],
                                  ["--seed", "-1"], ["--lens", "5,5"]])
def test_bad_flags_exit_2_with_one_line(argv, usage_error):
    usage_error("fixed-point-census", argv)


@pytest.mark.parametrize("damage", ["absent", "no summary", "empty"])
def test_a_named_sweep_that_is_not_finished_is_one_line_and_exit_2(damage, tmp_path, capsys):
    """A mistyped or unfinished --sweep is an error naming the file, never a silent sweep of the census's own."""
    folder = tmp_path / "sweep"
    if damage != "absent":
        folder.mkdir()
        for name in ("runs.csv", "sweep.json", "weights.npz") if damage == "no summary" else ():
            (folder / name).write_text("cell,T,repeat\n" if name == "runs.csv" else '{"settings": {}}')
    with pytest.raises(SystemExit) as e:
        script.main(["--quiet", "--sweep", str(folder), "--out", str(tmp_path / "out")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sweep" in err[0] and str(folder) in err[0]
    assert not (tmp_path / "out" / "sweep").exists() and not (tmp_path / "out" / "summary.json").exists()


@pytest.mark.slow
def test_tiny_sweep_end_to_end_matches_direct_check(tmp_path, monkeypatch):
    from dynlatch.sweep import read_sweep

    monkeypatch.chdir(tmp_path)  # the default --sweep, results/latching-sweep, does not exist here: a sweep is run
    out = tmp_path / "census"
    argv = ["--quiet", "--out", str(out), "--cells", "srnn,lstm", "--lens", "5", "--repeats", "3", "--n", "200"]
    assert script.main(argv) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["sweep"] == str(out / "sweep") and "missing" in s["sweep_not_used"]
    res = read_sweep(out / "sweep")
    csv_rows = (out / "runs.csv").read_text().strip().splitlines()
    assert len(csv_rows) == 1 + 2 * 3 * 2  # header, 2 cells x 3 repeats x 2 stages
    for cell in ("srnn", "lstm"):
        for stage in ("initial", "final"):
            runs, model = res.models(cell, T=5, stage=stage)
            direct = [sum(p.period == 1 and p.stable and p.kind == "point" for p in pts) >= 2
                      or any(p.period == 2 and p.stable for p in pts) or any(p.kind == "continuum" for p in pts)
                      for pts in fixed_points(model.cell, x=0.0)]
            n = sum(g["two_stable_states"] for g in s["groups"] if g["cell"] == cell and g["stage"] == stage)
            assert n == sum(direct)
        assert 0.0 <= s["origin_eig_auc_initial"][cell]["auc"] <= 1.0 or np.isnan(
            s["origin_eig_auc_initial"][cell]["auc"])
    # a second run reads the finished sweep it was pointed at
    assert script.main(["--quiet", "--cells", "srnn,lstm", "--sweep", str(out / "sweep"), "--out",
                        str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert again["sweep"] == str(out / "sweep") and again["sweep_not_used"] is None
    assert again["groups"] == s["groups"]
    assert not (tmp_path / "again" / "sweep").exists()
    # the summary's AUC per cell is the rank AUC of runs.csv's initial eigenvalues by outcome
    rows = list(csv.DictReader(open(out / "runs.csv")))
    for cell in ("srnn", "lstm"):
        init = [r for r in rows if r["cell"] == cell and r["stage"] == "initial"]
        expected = pair_count_auc([float(r["origin_max_abs_eig"]) for r in init if r["succeeded"] == "True"],
                                  [float(r["origin_max_abs_eig"]) for r in init if r["succeeded"] == "False"])
        got = s["origin_eig_auc_initial"][cell]["auc"]
        assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)
        assert sum(g["models"] for g in s["groups"] if g["cell"] == cell and g["stage"] == "initial") == 3
