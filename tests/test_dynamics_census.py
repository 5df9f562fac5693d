"""The fixed-point census (dynlatch.dynamics._census) and ``dynlatch run fixed-point-census``.

Oracles: closed forms of one-unit SRNNs (h = tanh(U h) has two stable fixed points iff U > 1, a stable 2-cycle iff
U < -1; the Jacobian at 0 is U), the hand-built latches' documented structure, finite differences of the cell's step
for the origin eigenvalues, a hand-computed AUC and a brute-force pair count.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from analyses import fixed_point_census as script
from dynlatch.cells import LSTM, SRNN, handmade, stack
from dynlatch.dynamics import (
    FixedPointCensusConfig, census_of_cell, fixed_point_census, fixed_points, rank_auc, summarise_census,
)
from dynlatch.dynamics._census import classify_structure

F64 = torch.float64


def test_rank_auc_hand_computed_example_ties_count_half():
    # pairs (p, q): (.9,.5) 1, (.9,.1) 1, (.5,.5) 1/2, (.5,.1) 1, (.5,.5) 1/2, (.5,.1) 1 -> 5/6
    assert rank_auc([0.9, 0.5, 0.5], [0.5, 0.1]) == pytest.approx(5 / 6, abs=1e-15)
    assert rank_auc([1.0, 1.0], [1.0]) == 0.5
    assert rank_auc([3.0], [1.0, 2.0]) == 1.0
    assert rank_auc([0.0], [1.0, 2.0]) == 0.0


def test_rank_auc_equals_brute_force_pair_count():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.integers(0, 5, size=rng.integers(1, 9)).astype(float)
        q = rng.integers(0, 5, size=rng.integers(1, 9)).astype(float)
        brute = np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(p, q)])
        assert rank_auc(p, q) == pytest.approx(brute, abs=1e-12)


def test_rank_auc_empty_and_nan():
    assert np.isnan(rank_auc([], [1.0]))
    assert np.isnan(rank_auc([1.0], []))
    with pytest.raises(ValueError, match="NaN"):
        rank_auc([np.nan], [1.0])


def _srnn(U: float) -> SRNN:
    return handmade.srnn_latch().with_params(U=torch.tensor([[U]], dtype=F64))


@pytest.mark.parametrize("U", [-2.5, -1.5, -0.7, 0.0, 0.5, 0.99, 1.2, 3.0])
def test_srnn_census_matches_closed_form(U):
    (row,) = census_of_cell(_srnn(U))
    assert row["two_stable_states"] == (abs(U) > 1)
    assert row["structure"] == ("bistable" if U > 1 else "stable 2-cycle" if U < -1 else "monostable")
    assert row["n_fixed_points"] == (3 if U > 1 else 1)
    assert row["origin_max_abs_eig"] == pytest.approx(abs(U), abs=1e-12)  # J(0) = U (1 - tanh(0)^2)


def test_batched_census_equals_single_and_handmade_structures():
    cells = [handmade.srnn_latch(), handmade.srnn_flip_latch(), _srnn(0.5)]
    batched = census_of_cell(stack(cells))
    assert batched == [census_of_cell(c)[0] for c in cells]
    assert [r["structure"] for r in batched] == ["bistable", "stable 2-cycle", "monostable"]
    assert [r["two_stable_states"] for r in batched] == [True, True, False]
    assert census_of_cell(handmade.lstm_feedback_latch())[0]["structure"] == "bistable"
    assert census_of_cell(handmade.lstm_integrator_latch())[0]["structure"] == "continuum"
    assert census_of_cell(handmade.gru_latch())[0]["structure"] == "bistable"
    # the pitchfork U = 1: 0 is the only fixed point and it is not stable (|eigenvalue| = 1)
    assert census_of_cell(_srnn(1.0))[0]["structure"] == "no stable state"


def test_census_counts_agree_with_the_finder_point_by_point():
    cell = LSTM.init(seed=list(range(6)), scheme="keras2", dtype=F64).with_params(
        U_c=torch.tensor([[[0.0]], [[2.0]], [[5.0]], [[8.0]], [[-6.0]], [[1.0]]], dtype=F64))
    rows = census_of_cell(cell)
    for r, points in zip(rows, fixed_points(cell, x=0.0, periods=(1, 2))):
        stable = [p for p in points if p.period == 1 and p.stable and p.kind == "point"]
        cycles = {p.orbit for p in points if p.period == 2 and p.stable}
        assert r["n_stable_fixed_points"] == len(stable)
        assert r["n_stable_2cycles"] == len(cycles)
        assert r["two_stable_states"] == (len(stable) >= 2 or len(cycles) >= 1
                                          or any(p.kind == "continuum" for p in points))
    assert any(r["two_stable_states"] for r in rows) and not all(r["two_stable_states"] for r in rows)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_origin_eigenvalues_match_finite_differences(kind):
    from dynlatch.cells import cell_class
    from dynlatch.dynamics import as_map

    cell = cell_class(kind).init(seed=[1, 2, 3], scheme="keras2", dtype=F64)
    m = as_map(cell)
    eps = 1e-6
    J = np.zeros((3, m.state_dim, m.state_dim))
    for j in range(m.state_dim):
        e = torch.zeros(3, 1, m.state_dim, dtype=F64)
        e[..., j] = eps
        J[:, :, j] = ((m(e) - m(-e)) / (2 * eps))[:, 0].numpy()
    expected = np.abs(np.linalg.eigvals(J))
    rows = census_of_cell(cell)
    np.testing.assert_allclose([r["origin_max_abs_eig"] for r in rows], expected.max(1), atol=1e-8)
    np.testing.assert_allclose([r["origin_min_abs_eig"] for r in rows], expected.min(1), atol=1e-8)


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
    assert auc["auc"] == pytest.approx(rank_auc([0.9, 0.6, 0.2], [0.4, 0.3, 0.8]))
    assert auc["auc"] == pytest.approx(5 / 9)  # 0.9 beats 3, 0.6 beats 2, 0.2 beats 0
    assert (auc["succeeded"], auc["failed"]) == (3, 3)
    assert auc["by_T"]["5"]["auc"] == pytest.approx(0.5)  # 0.9 > 0.8, 0.6 < 0.8


def test_structure_precedence():
    table = {"model": np.zeros(3, int), "period": np.array([1, 2, 2]), "orbit": np.array([0, 1, 1]),
             "kind": np.array(["point"] * 3, dtype=object), "stable": np.array([True, True, True]),
             "guaranteed_complete": np.ones(3, bool)}
    (r,) = classify_structure(table, 1)
    assert (r["structure"], r["n_stable_fixed_points"], r["n_stable_2cycles"]) == ("stable 2-cycle", 1, 1)


def test_config_checks_and_sweep_config():
    c = FixedPointCensusConfig(lengths=(5, 20), repeats=3, n=100, seed=2)
    sc = c.sweep_config()
    assert (sc.lengths, sc.repeats, sc.n, sc.seed, sc.cells) == ((5, 20), 3, 100, 2, ("srnn", "lstm", "gru"))


@pytest.mark.parametrize("argv", [["--lens", "1"], ["--cells", "srnn,foo"], ["--repeats", "0"], ["--n", "x"],
                                  ["--seed", "-1"], ["--lens", "5,5"]])
def test_bad_flags_exit_2_with_one_line(argv, usage_error):
    usage_error("fixed-point-census", argv)


@pytest.mark.slow
def test_tiny_sweep_end_to_end_matches_direct_check(tmp_path):
    from dynlatch.sweep import read_sweep

    out = tmp_path / "census"
    argv = ["--quiet", "--out", str(out), "--sweep", str(tmp_path / "none"), "--cells", "srnn,lstm", "--lens", "5",
            "--repeats", "3", "--n", "200"]
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
