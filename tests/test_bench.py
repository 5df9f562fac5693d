"""The speed benchmark runs end to end at quick scale and its numbers are consistent (no speed is asserted)."""

import csv
import json
import math

from dynlatch._cli import main as cli


def test_quick_sweep_benchmark_writes_consistent_results(tmp_path, capsys):
    stale = tmp_path / "dynlatch-sweep"  # a leftover sweep with other settings: must be replaced, not resumed
    stale.mkdir()
    (stale / "sweep.json").write_text(json.dumps({"settings": {"stale": True}}))

    assert cli(["bench", "sweep", "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "goal: full grid <= 5 min and >= 100x the torch.nn loop" in out

    rows = list(csv.DictReader(open(tmp_path / "bench.csv")))
    measured = {(r["impl"], r["cell"], int(r["T"])) for r in rows}
    cells = ("srnn", "lstm", "gru")
    assert measured == ({("torch.nn", cell, T) for cell in cells for T in (5, 20)}
                        | {("dynlatch", cell, T) for cell in cells for T in (5, 20, 50)})
    for r in rows:
        assert float(r["seconds"]) > 0
        assert math.isclose(float(r["seconds_per_model_epoch"]),
                            float(r["seconds"]) / (int(r["models"]) * int(r["epochs"])))

    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["mode"] == "quick" and s["dynlatch_extrapolated"] and s["baseline_extrapolated"]
    for key in ("baseline_grid_hours", "dynlatch_grid_seconds", "speedup", "peak_rss_gib", "dynlatch_measured_seconds"):
        assert s[key] > 0, key
    assert math.isclose(s["speedup"], s["baseline_grid_hours"] * 3600 / s["dynlatch_grid_seconds"])
    cells = s["cells"]
    assert math.isclose(sum(c["baseline"]["grid_seconds"] for c in cells.values()), s["baseline_grid_hours"] * 3600)
    assert math.isclose(sum(c["dynlatch"]["grid_seconds"] for c in cells.values()), s["dynlatch_grid_seconds"])
    for c in cells.values():
        assert math.isclose(c["speedup"], c["baseline"]["grid_seconds"] / c["dynlatch"]["grid_seconds"])
    assert s["dynlatch_models_trained"] == 3 * 3 * 30
    assert s["goal"]["met"] == (s["dynlatch_grid_seconds"] <= 300 and s["speedup"] >= 100)
    assert {"torch", "cpu_count", "platform", "baseline_torch_threads"} <= set(s["machine"])
    assert not (tmp_path / "dynlatch-sweep" / "sweep.json").read_text().count("stale")
