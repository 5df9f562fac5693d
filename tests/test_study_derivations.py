"""The derivations study (dynlatch.studies.derivations, run by dynlatch run derivations): every catalogue entry as a
.tex file (also under paper/generated/ with --paper), runs.csv matching the files, and the closed-form checks
against REFERENCES and against the numeric theory of dynlatch.bengio."""

from __future__ import annotations

import csv
import json
import math

import pytest

from dynlatch import bengio
from dynlatch._cli import main as dynlatch_main


def test_bad_scope_is_one_line_and_exit_2(usage_error):
    assert "--scope" in usage_error("derivations", ["--scope", "tiny"])


@pytest.mark.slow
def test_derivations_analysis_quick(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --paper writes to paper/generated/ under the working folder
    out = tmp_path / "d"
    assert dynlatch_main(["run", "derivations", "--quick", "--quiet", "--paper", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["closed_form_checks"]["bengio_all_match"] and summary["count"] == len(summary["files"])
    assert all((out / f).read_text().count(r"\begin{align*}") == 1 for f in summary["files"])
    assert {"lstm-hard_sigmoid-n1-border-collision.tex", "bengio-fold-curve.tex", "pascanu-fold-curve.tex",
            "lstm-sigmoid-n1-origin-eigenvalues.tex"} <= set(summary["files"])
    assert (out / "fold_curves.pdf").stat().st_size > 0 and (out / "fold_curves.png").stat().st_size > 0
    assert not list(out.glob(".*.tmp"))

    # one row per file, distinct names, the file's own length
    with open(out / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == summary["files"] and len(set(summary["files"])) == summary["count"]
    assert all(int(r["latex_chars"]) == len((out / r["file"]).read_text()) for r in rows)
    # --paper: the same files, byte for byte, where the paper build reads them
    paper = tmp_path / "paper" / "generated"
    assert sorted(p.name for p in paper.iterdir()) == sorted(summary["files"])
    assert all((paper / f).read_bytes() == (out / f).read_bytes() for f in summary["files"])
    assert summary["figures"] == ["fold_curves.pdf", "fold_curves.png"]

    # the symbolic closed forms against dynlatch.bengio's numeric theory (Brent's method, numpy)
    checks = summary["closed_form_checks"]
    for row in checks["bengio_fold"]:
        assert math.isclose(row["h_star"], bengio.noise_threshold(row["w"]), rel_tol=1e-12)
        assert math.isclose(row["xbar"], bengio.attractor(row["w"]), rel_tol=1e-12)
        assert math.isclose(row["multiplier"], bengio.multiplier(row["w"]), rel_tol=1e-10)
    assert checks["pascanu_cusp"] == {"x": 0.0, "w": 4.0, "b": -2.0}
