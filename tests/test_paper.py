"""The paper's generated inputs (dynlatch._paper, ``dynlatch paper``): macro names, exact values, missing summaries,
settings that are not the paper's, the committed full-scale results (their settings and keys against today's
analyses), and the paper itself: every number macro ``paper/main.tex`` uses is defined by the ``numbers.tex`` written
from real summaries, and the PDF builds with latexmk where LaTeX is installed.

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
from hypothesis import HealthCheck, given, settings, strategies as st

from _cli_fuzz import MORE_TRICKY, TRICKY, argv_of, flags_of, junk_paths, settings_or_usage_error
from dynlatch import _paper as P
from dynlatch._cli import main as cli
from dynlatch._paper_check import check_pdf
from dynlatch.studies import STUDIES

ROOT = Path(__file__).resolve().parent.parent
PAPER = ROOT / "paper"
FIXTURES = Path(__file__).resolve().parent / "data" / "paper"
COMMITTED = ROOT / P.PUBLISHED
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


def load_fixtures(root: Path = FIXTURES) -> dict:
    return {a.name: json.loads((root / a.name / "summary.json").read_text()) for a in P.PAPER_ANALYSES}


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


@pytest.mark.parametrize("root", [FIXTURES, COMMITTED], ids=["quick fixtures", "committed full results"])
def test_every_number_macro_in_main_tex_is_defined(root):
    defs = parse_numbers(P.numbers_tex(load_fixtures(root)))
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
        P._record_run(results, a, "quick", wall_seconds=1.0)
    assert P.results_scale(results) == "quick"
    P._record_run(results, P.PAPER_ANALYSES[0], "full", wall_seconds=1.0)
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
    assert len(err) == 1 and all(a.command("full", tmp_path / "none") in err[0] for a in P.PAPER_ANALYSES)


# -- settings, publishing and the committed results -----------------------------------------------------------------
def test_quick_fixtures_have_the_paper_quick_settings():
    """The fixtures are what ``dynlatch paper --run quick`` writes today (refresh them when a study's options
    change)."""
    for a in P.PAPER_ANALYSES:
        summary = json.loads((FIXTURES / a.name / "summary.json").read_text())
        assert P.settings_differences(a, summary, "quick") == {}, a.name


def test_a_summary_with_other_settings_is_refused(tmp_path, capsys):
    results = _fake_results(tmp_path / "results")
    path = results / "latching-sweep" / "summary.json"
    summary = json.loads(path.read_text())
    summary["config"]["n"] = 123
    path.write_text(json.dumps(summary))
    dest = tmp_path / "generated"
    with pytest.raises(P.StaleSummaryError, match=r"latching-sweep \(n: recorded 123, expected \d+"):
        P.write_paper_inputs(results, dest)
    assert not dest.exists()
    assert cli(["paper", "--results", str(results), "--dest", str(dest)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dynlatch run latching-sweep" in err[0] and "latching-sweep-bug" not in err[0]


def test_expected_config_follows_the_command_line():
    sweeps = {a.name: a for a in P.PAPER_ANALYSES}
    assert P.expected_config(sweeps["latching-sweep-torch"], "full")["init"] == "torch"
    assert P.expected_config(sweeps["latching-sweep-bug"], "quick")["split"] == "keras-tail"
    assert P.expected_config(sweeps["lstm-failure-seed1"], "full")["seed"] == 1
    census = P.expected_config(sweeps["fixed-point-census"], "full")
    assert census["sweep"] == "{results}/latching-sweep"
    assert P.settings_differences(sweeps["fixed-point-census"], {"config": {**census, "sweep": "/x/latching-sweep"}},
                                  "full") == {}
    assert "sweep" in P.settings_differences(sweeps["fixed-point-census"], {"config": {**census, "sweep": "/x/y"}},
                                             "full")


def _full_results(root: Path) -> Path:
    """Fixture summaries given the full run's settings, recorded as a full run (publish checks no more than that)."""
    results = _fake_results(root)
    for a in P.PAPER_ANALYSES:
        path = results / a.name / "summary.json"
        summary = json.loads(path.read_text())
        config = P.expected_config(a, "full")
        summary["config"] = {k: v.replace("{results}", str(results)) if isinstance(v, str) else v
                             for k, v in config.items()}
        path.write_text(json.dumps(summary))
        P._record_run(results, a, "full", wall_seconds=60.0)
    return results


def test_publish_copies_a_full_run_with_its_provenance(tmp_path):
    results = _full_results(tmp_path / "results")
    dest = tmp_path / "paper" / "results" / "full"
    (dest / "stale").mkdir(parents=True)
    paths = P.publish(results, dest)
    assert not (dest / "stale").exists() and all(p.is_file() for p in paths)
    assert sorted(p.name for p in dest.iterdir() if p.is_dir()) == sorted(a.name for a in P.PAPER_ANALYSES)
    for a in P.PAPER_ANALYSES:
        assert (dest / a.name / "summary.json").read_bytes() == (results / a.name / "summary.json").read_bytes()
        assert {p.name for p in (dest / a.name).iterdir()} == {"summary.json", *(f"{s}.pdf" for s in a.figures),
                                                              *a.derivations}
    runs = json.loads((dest / P.MANIFEST).read_text())
    assert P.results_scale(dest) == "full" and set(runs) == {a.name for a in P.PAPER_ANALYSES}
    assert all(str(results) not in r["command"] and str(P.RERUN_RESULTS) in r["command"] for r in runs.values())
    table = (dest / P.PROVENANCE).read_text()
    assert all(f"| {a.name} |" in table for a in P.PAPER_ANALYSES)
    assert f"Total wall time: {len(P.PAPER_ANALYSES) * 60 / 3600:.2f} h" in table
    assert not list(dest.parent.glob(".*"))  # no staging folder left behind
    # the published folder is a results folder the paper builds from, at full scale
    out = P.write_paper_inputs(dest, tmp_path / "generated")
    assert out["scale"] == "full"


def test_publish_refuses_a_quick_or_incomplete_run(tmp_path):
    results = _fake_results(tmp_path / "quick")
    for a in P.PAPER_ANALYSES:
        P._record_run(results, a, "quick", wall_seconds=1.0)
    with pytest.raises(ValueError, match="quick-scale"):
        P.publish(results, tmp_path / "dest")
    full = _full_results(tmp_path / "full")
    (full / "bit-relay" / "bit_relay.pdf").unlink()
    with pytest.raises(P.MissingSummaryError, match="bit_relay.pdf"):
        P.publish(full, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_committed_full_results_match_todays_analyses():
    """The results shipped in paper/results/full are one full run with today's settings: every summary's config is
    what ``dynlatch paper --run full`` would use now, its top-level keys are the ones today's analysis writes (the
    quick fixtures, themselves checked against today's settings above), and every figure the paper includes is there.
    A study whose options or summary change makes this fail until the results are recomputed (make paper RERUN=1)."""
    assert P.results_scale(COMMITTED) == "full"
    committed, fixtures = load_fixtures(COMMITTED), load_fixtures()
    P.check_settings(COMMITTED, committed)
    for a in P.PAPER_ANALYSES:
        assert set(committed[a.name]) == set(fixtures[a.name]), a.name
        assert committed[a.name]["provenance"]["git_commit"], a.name
        for stem in a.figures:
            assert (COMMITTED / a.name / f"{stem}.pdf").stat().st_size > 1000
    runs = json.loads((COMMITTED / P.MANIFEST).read_text())
    assert all(r["wall_seconds"] > 0 and r["finished"].endswith("Z") for r in runs.values())
    assert (COMMITTED / P.PROVENANCE).is_file()


def _exit_code(argv: list[str]) -> int:
    """The exit code of ``dynlatch argv``: returned, or raised as SystemExit where the flags are refused."""
    try:
        return cli(argv)
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize("damage,message", [
    ("manifest list", "paper-runs.json: expected"), ("manifest scale", "paper-runs.json: expected"),
    ("manifest json", "paper-runs.json: not valid JSON"), ("summary list", "not a study's summary"),
    ("fake pdf", "not a PDF figure"), ("dest file", "--dest names a file"),
    ("dest inside file", "--dest lies under .*, which is a file"),
    ("numbers folder", "numbers.tex is a folder"),
])
def test_damaged_results_or_dest_are_one_line_and_exit_2(damage, message, tmp_path, capsys):
    results = _fake_results(tmp_path / "results")
    dest = tmp_path / "generated"
    if damage == "manifest list":
        (results / P.MANIFEST).write_text("[1, 2]")
    elif damage == "manifest scale":
        (results / P.MANIFEST).write_text(json.dumps({"bengio94": {"scale": "medium"}}))
    elif damage == "manifest json":
        (results / P.MANIFEST).write_text("{")
    elif damage == "summary list":
        (results / "bengio94" / "summary.json").write_text("[]")
    elif damage == "fake pdf":
        (results / "bengio94" / "bengio94.pdf").write_bytes(b"%PDF-1.4 fake")
    elif damage == "dest file":
        dest.write_text("x")
    elif damage == "dest inside file":
        (tmp_path / "file").write_text("x")
        dest = tmp_path / "file" / "generated"
    elif damage == "numbers folder":
        (dest / "numbers.tex").mkdir(parents=True)
    assert _exit_code(["paper", "--results", str(results), "--dest", str(dest)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err


@pytest.mark.parametrize("argv", [["--run", "medium"], ["--bogus"]])
def test_bad_flags_are_one_line_and_exit_2(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli(["paper", *argv, "--dest", str(tmp_path / "g")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]
    assert not (tmp_path / "g").exists()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_flags_give_settings_or_one_line_and_exit_2(data, tmp_path):
    """Parse and validate only (no analysis runs, nothing is written)."""
    values = [*TRICKY, *MORE_TRICKY, *junk_paths(tmp_path / "junk"), "quick", "full", str(tmp_path / "new")]
    argv = argv_of(data, flags_of(P.parser()), values)
    before = sorted(tmp_path.rglob("*"))
    args = settings_or_usage_error(P.PROG, P.parse, argv)
    if args is not None and args.check_pdf is None:
        assert args.run in (None, *P.SCALES) and not args.results.is_file()
    assert sorted(tmp_path.rglob("*")) == before


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
        # every number the text prints is in the PDF, rendered by LaTeX from the exact values
        assert check_pdf(paper / "main.pdf", paper / "main.tex", paper / "generated" / "numbers.tex") > 300


JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3)


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.sampled_from([a.name for a in P.PAPER_ANALYSES]),
       st.one_of(st.tuples(st.just("truncate"), st.floats(0, 1)), st.tuples(st.just("drop"), st.integers(0, 40)),
                 st.tuples(st.just("retype"), st.integers(0, 40), JSON_LEAVES | st.lists(JSON_LEAVES, max_size=2)),
                 st.tuples(st.just("whole"), JSON_LEAVES | st.lists(JSON_LEAVES, max_size=2))))
def test_fuzz_a_damaged_summary_is_read_as_it_is_or_refused_naming_the_file(tmp_path_factory, name, damage):
    """Oracle: the damage done to one fixture summary. read_summaries returns every summary unchanged but the
    damaged one, which is either still a complete summary of its study (a value changed in place) or refused with
    a ValueError naming its file; never another exception."""
    results = tmp_path_factory.mktemp("fuzz")
    for a in P.PAPER_ANALYSES:
        (results / a.name).mkdir()
        shutil.copy(FIXTURES / a.name / "summary.json", results / a.name / "summary.json")
    path = results / name / "summary.json"
    text = path.read_text()
    data = json.loads(text)
    keys = sorted(data)
    if damage[0] == "truncate":
        path.write_text(text[: int(damage[1] * len(text))])
    elif damage[0] == "drop":
        del data[keys[damage[1] % len(keys)]]
        path.write_text(json.dumps(data))
    elif damage[0] == "retype":
        data[keys[damage[1] % len(keys)]] = damage[2]
        path.write_text(json.dumps(data))
    else:
        path.write_text(json.dumps(damage[1]))
    try:
        out = P.read_summaries(results)
    except ValueError as e:
        assert str(path) in str(e)
        return
    analysis = next(a for a in P.PAPER_ANALYSES if a.name == name)
    assert set(STUDIES[analysis.study_name].summary_keys) <= set(out[name])
    assert isinstance(out[name]["config"], dict)
