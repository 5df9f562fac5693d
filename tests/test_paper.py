"""The paper's generated inputs (dynlatch._paper, ``dynlatch paper``): macro names, exact values, missing summaries,
and the paper itself: every number macro ``paper/main.tex`` uses is defined by the ``numbers.tex`` written from real
summaries, and the PDF builds with latexmk where LaTeX is installed.

The real summaries are ``tests/data/paper/NAME/summary.json``, copied from ``dynlatch paper --run quick`` (refresh them
after an analysis changes its summary: ``dynlatch paper --results DIR --run quick`` then copy each
``DIR/NAME/summary.json``). The checks of ``main.tex`` parse the LaTeX source and the written ``numbers.tex`` here,
independently of the generator's own bookkeeping.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dynlatch import _paper as P
from dynlatch._cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
PAPER = ROOT / "paper"
FIXTURES = Path(__file__).resolve().parent / "data" / "paper"
NEWCOMMAND = re.compile(r"^\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}%?(?: ([^:]+): (.*))?$")


def parse_numbers(text: str) -> dict[str, str]:
    """Macro name -> body of every ``\\newcommand`` line of a numbers.tex (an independent parser)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("%"):
            continue
        m = NEWCOMMAND.match(line)
        assert m, f"not a \\newcommand line: {line!r}"
        assert m.group(1) not in out, f"\\{m.group(1)} defined twice"
        out[m.group(1)] = m.group(2)
    return out


def walk(obj, path=()):
    """Every scalar of a JSON object with its key path (a plain recursion, for comparison)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, path + (str(i),))
    else:
        yield path, obj


def load_fixtures() -> dict:
    return {a.name: json.loads((FIXTURES / a.name / "summary.json").read_text()) for a in P.PAPER_ANALYSES}


# -- names ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("analysis,path,name", [
    ("lstm-failure", ("success", "lstm", "100"), "lstmfailureSuccessLstmOneZeroZero"),
    ("pascanu-cliff", ("max_distance_to_basin_boundary",), "pascanucliffMaxDistanceToBasinBoundary"),
    ("bengio94", ("success_vs_T", "20"), "bengioNineFourSuccessVsTTwoZero"),
    ("handmade-latches", ("latches", "gru_latch", "accuracy", "0.3", "50"),
     "handmadelatchesLatchesGruLatchAccuracyZeroPtThreeFiveZero"),
    ("lstm-failure", ("hypotheses", "lr_1e-2", "verdict"), "lstmfailureHypothesesLrOneETwoVerdict"),
    ("random-guessing", ("results", "random_guessing/srnn/T=5", "mean_trials"),
     "randomguessingResultsRandomGuessingSrnnTFiveMeanTrials"),
    ("pascanu-cliff", ("wall", "w", "0"), "pascanucliffWallWZero"),
])
def test_macro_names_follow_the_rule(analysis, path, name):
    assert P.macro_name(analysis, path) == name
    assert re.fullmatch(r"[A-Za-z]+", name)


@pytest.mark.parametrize("analysis,path", [("", ("a",)), ("94", ("a",)), ("x", ())])
def test_bad_names_are_refused(analysis, path):
    with pytest.raises(ValueError):
        P.macro_name(analysis, path)


def test_two_paths_with_one_name_are_an_error():
    with pytest.raises(ValueError, match="both"):
        P.numbers({"x": {"a_b": 1, "aB": 2}})


# -- values --------------------------------------------------------------------------------------------------------
def test_numbers_tex_holds_exact_values_and_escaped_strings():
    summary = {"success": {"lstm": {"100": 1 / 30, "5": 0.9666666666666667}}, "wall": {"w": [5.525, 1e-07]},
               "ok": True, "bad": False, "count": 30, "auc": None, "rate": float("nan"), "big": 1.3267316734134962e11,
               "verdict": "raises success at T = 20 & 50_ok {x} 100%"}
    defs = parse_numbers(P.numbers_tex({"lstm-failure": summary}, scale="quick", results="results/x_y"))
    assert defs["paperScale"] == "quick" and defs["paperResults"] == r"results/x\_y"
    assert float(defs["lstmfailureSuccessLstmOneZeroZero"]) == 1 / 30
    assert float(defs["lstmfailureSuccessLstmFive"]) == 0.9666666666666667
    assert float(defs["lstmfailureWallWZero"]) == 5.525 and float(defs["lstmfailureWallWOne"]) == 1e-07
    assert float(defs["lstmfailureBig"]) == 1.3267316734134962e11
    assert defs["lstmfailureOk"] == "true" and defs["lstmfailureBad"] == "false" and defs["lstmfailureCount"] == "30"
    assert defs["lstmfailureAuc"] == "nan" and defs["lstmfailureRate"] == "nan"
    assert defs["lstmfailureVerdict"] == r"raises success at T = 20 \& 50\_ok \{x\} 100\%"
    assert len(defs) == 2 + 11


def test_record_lists_are_keyed_by_their_identity():
    groups = [{"cell": "srnn", "T": 20, "stage": "final", "succeeded": True, "models": 5},
              {"cell": "lstm", "T": 20, "stage": "final", "succeeded": False, "models": 3}]
    names = P.numbers({"fixed-point-census": {"groups": groups}})
    assert names["fixedpointcensusGroupsSrnnTwoZeroFinalTrueModels"][2] == 5
    assert names["fixedpointcensusGroupsLstmTwoZeroFinalFalseModels"][2] == 3
    # the same records in the other order give the same macros
    assert set(P.numbers({"fixed-point-census": {"groups": groups[::-1]}})) == set(names)
    events = [{"diagram": "srnn_b", "kind": "fold", "value": -0.5}, {"diagram": "srnn_b", "kind": "fold", "value": 0.5},
              {"diagram": "lstm_U_c", "kind": "fold", "value": 1.2}]
    ev = P.numbers({"bifurcations": {"events": events}})
    assert ev["bifurcationsEventsSrnnBFoldZeroValue"][2] == -0.5 and ev["bifurcationsEventsSrnnBFoldOneValue"][2] == 0.5
    assert ev["bifurcationsEventsLstmUCFoldValue"][2] == 1.2
    with pytest.raises(ValueError, match="fields"):
        P.numbers({"fixed-point-census": {"groups": [{"cell": "srnn"}]}})


def test_every_fixture_value_is_written_exactly():
    """numbers.tex from the real quick summaries: each macro's body equals the JSON value at its key path."""
    summaries = load_fixtures()
    defs = parse_numbers(P.numbers_tex(summaries))
    table = P.numbers(summaries)
    assert set(defs) == set(table) | {"paperScale", "paperResults"}
    plain = 0
    for name, (analysis, path, value) in table.items():
        body = defs[name]
        if isinstance(value, bool):
            assert body == str(value).lower()
        elif isinstance(value, (int, float)) and value is not None:
            assert (math.isnan(value) and body == "nan") or float(body) == value, name
        elif value is None:
            assert body == "nan"
        # the key path is the JSON's: walk the summary by it (records by their identity fields are not plain paths)
        if any((analysis, path[:i]) in P.RECORD_KEYS for i in range(len(path))):
            continue
        node = summaries[analysis]
        for k in path:
            node = node[int(k)] if isinstance(node, list) else node[k]
        assert node == value or (isinstance(value, float) and math.isnan(value) and math.isnan(node))
        plain += 1
    assert plain > 0.5 * len(table)
    # every scalar of every summary became a macro
    assert len(table) == sum(1 for s in summaries.values() for _ in walk(s))


# -- the paper's source against numbers.tex -----------------------------------------------------------------------
def _tex_without_comments() -> str:
    return re.sub(r"(?m)(?<!\\)%.*$", "", (PAPER / "main.tex").read_text())


def test_every_number_macro_in_main_tex_is_defined():
    defs = parse_numbers(P.numbers_tex(load_fixtures()))
    tex = _tex_without_comments()
    prefixes = [P.macro_prefix(a.name) for a in P.PAPER_ANALYSES]
    used = set(re.findall(r"\\([A-Za-z]+)", tex))
    numbers = {u for u in used if any(u.startswith(p) and u[len(p):][:1].isupper() for p in prefixes)}
    assert len(numbers) > 100  # the paper does read its numbers
    assert not numbers - set(defs), sorted(numbers - set(defs))
    assert {"paperScale", "paperResults"} <= used
    # \optval{name}: values a run may lack; each must at least be one of the generated families
    for name in re.findall(r"\\optval\{([A-Za-z]+)\}", tex):
        assert any(name.startswith(p) and name[len(p):][:1].isupper() for p in prefixes), name


def test_every_figure_and_input_of_main_tex_is_generated():
    tex = _tex_without_comments()
    figures = {f"{a.name}-{stem}" for a in P.PAPER_ANALYSES for stem in a.figures}
    used = set(re.findall(r"\\fig\{([^}]+)\}", tex))
    assert used and used <= figures, used - figures
    inputs = set(re.findall(r"\\input\{generated/([^}]+)\}", tex))
    derivations = {d for a in P.PAPER_ANALYSES for d in a.derivations}
    assert inputs <= derivations | {"numbers.tex"} and "numbers.tex" in inputs


# -- writing and the command line ------------------------------------------------------------------------------------
def _fake_results(root: Path, *, skip: str | None = None) -> Path:
    """A results folder with the fixture summaries, blank figure PDFs and the derivation files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 1.5))
    fig.text(0.5, 0.5, "figure", ha="center")
    for a in P.PAPER_ANALYSES:
        if a.name == skip:
            continue
        folder = root / a.name
        folder.mkdir(parents=True)
        shutil.copy(FIXTURES / a.name / "summary.json", folder / "summary.json")
        for stem in a.figures:
            fig.savefig(folder / f"{stem}.pdf")
        for d in a.derivations:
            shutil.copy(FIXTURES / a.name / d, folder / d)
    plt.close(fig)
    return root


def test_write_paper_inputs(tmp_path):
    results = _fake_results(tmp_path / "results")
    dest = tmp_path / "generated"
    out = P.write_paper_inputs(results, dest)
    defs = parse_numbers((dest / "numbers.tex").read_text())
    assert out["macros"] == len(defs) - 2 and defs["paperScale"] == "unknown"
    assert sorted(p.name for p in (dest / "figures").iterdir()) == sorted(
        f"{a.name}-{s}.pdf" for a in P.PAPER_ANALYSES for s in a.figures)
    derivation = "bengio-fold-curve.tex"
    assert (dest / derivation).read_text() == (FIXTURES / "derivations" / derivation).read_text()
    assert not [p for p in dest.rglob("*") if ".tmp-" in p.name]


def test_scale_comes_from_the_runs_recorded_by_dynlatch_paper(tmp_path):
    results = _fake_results(tmp_path / "results")
    for a in P.PAPER_ANALYSES:
        P._record_run(results, a, "quick")
    assert P.results_scale(results) == "quick"
    P._record_run(results, P.PAPER_ANALYSES[0], "full")
    assert P.results_scale(results) == "mixed"
    with pytest.raises(ValueError, match="another scale"):
        P.run_missing(results, "quick")


def test_missing_summary_is_one_line_naming_the_analysis_and_its_command(tmp_path, capsys):
    results = _fake_results(tmp_path / "results", skip="lstm-failure")
    dest = tmp_path / "generated"
    with pytest.raises(P.MissingSummaryError) as e:
        P.write_paper_inputs(results, dest)
    assert "lstm-failure" in str(e.value) and "dynlatch run lstm-failure" in str(e.value)
    assert str(results / "lstm-failure") in str(e.value) and "bengio94" not in str(e.value)
    assert not dest.exists()
    assert cli(["paper", "--results", str(results), "--dest", str(dest)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dynlatch paper: error:") and "dynlatch run lstm-failure" in err[0]
    assert not dest.exists()


def test_every_analysis_missing_is_named(tmp_path, capsys):
    assert cli(["paper", "--results", str(tmp_path / "none"), "--dest", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(f"dynlatch run {a.name}" in err[0] for a in P.PAPER_ANALYSES)


@pytest.mark.parametrize("argv", [["--run", "medium"], ["--bogus"]])
def test_bad_flags_are_one_line_and_exit_2(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli(["paper", *argv, "--dest", str(tmp_path / "g")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]
    assert not (tmp_path / "g").exists()


def test_quick_arguments_keep_the_keys_of_the_full_run(tmp_path):
    """quick shrinks sizes only: the lists that name summary keys are given explicitly, equal to the defaults."""
    for a in P.PAPER_ANALYSES:
        quick = a.argv("quick", tmp_path)
        full = a.argv("full", tmp_path)
        assert "--quick" in quick and "--quick" not in full
        assert full[-2:] == quick[-2:] == ["--out", str(tmp_path / a.name)]
    lf = {a.name: a for a in P.PAPER_ANALYSES}["lstm-failure"].argv("quick", tmp_path)
    assert lf[lf.index("--lens") + 1] == "5,20,50,100,200"
    assert lf[lf.index("--predictor-cells") + 1] == "srnn,gru,lstm"
    with pytest.raises(ValueError):
        P.PAPER_ANALYSES[0].argv("medium", tmp_path)


# -- the PDF ---------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_paper_builds_with_latexmk(tmp_path, latex_tools):
    """main.tex builds from generated inputs (fixture summaries, placeholder figures) with no undefined macro,
    citation or reference."""
    paper = tmp_path / "paper"
    paper.mkdir()
    for name in ("main.tex", "refs.bib", "numfmt.sty"):
        shutil.copy(PAPER / name, paper / name)
    P.write_paper_inputs(_fake_results(tmp_path / "results"), paper / "generated")
    r = subprocess.run([latex_tools["latexmk"], "-pdf", "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
                       cwd=paper, capture_output=True, text=True, timeout=300)
    log = (paper / "main.log").read_text(errors="replace")
    assert r.returncode == 0, log[-3000:]
    assert (paper / "main.pdf").stat().st_size > 10_000
    for bad in ("Undefined control sequence", "Citation `", "Reference `", "There were undefined"):
        assert bad not in log, bad
    if shutil.which("pdftotext"):  # scale unknown (no runs recorded): the placeholder banner is printed
        text = subprocess.run(["pdftotext", "main.pdf", "-"], cwd=paper, capture_output=True, text=True).stdout
        assert "Placeholder numbers" in text
