"""The paper's inputs, generated from the analyses' results: ``dynlatch paper``.

The paper (``paper/main.tex``) never retypes a number. Every number it prints is a LaTeX macro defined in
``paper/generated/numbers.tex``, which this module writes from the ``summary.json`` of each analysis in a results
folder (``RESULTS/NAME/summary.json``, as ``dynlatch run NAME --out RESULTS/NAME`` writes it); the figures are the
analyses' own PDFs, copied to ``paper/generated/figures/``, and the symbolic derivations the paper shows are the
``.tex`` files of ``dynlatch run derivations`` (the same names ``dynlatch run derivations --paper`` writes there).

Macro names are derived from the key path, mechanically, so a reader can go from the macro to the JSON and back:
the analysis name in lower case without separators, then each key with its first letter capitalised, every digit
spelled out as a capitalised word (TeX control words hold letters only) and ``.`` as ``Pt``; other characters
separate words and are dropped. ``success -> lstm -> "100"`` of ``lstm-failure`` is
``\\lstmfailureSuccessLstmOneZeroZero``; ``max_distance_to_basin_boundary`` of ``pascanu-cliff`` is
``\\pascanucliffMaxDistanceToBasinBoundary``. Lists are indexed by position (``wall -> w -> 0``: ``...WallWZero``),
except the lists of records named in :data:`RECORD_KEYS`, which are keyed by their identifying fields (``groups``
of ``fixed-point-census`` by cell, T, stage and succeeded), since their length and order depend on the outcome of a
run (records sharing those fields are numbered in order).
Two key paths that give the same name are an error, never a silent overwrite.

Values are written exactly: a float as Python's shortest round-trip ``repr`` (``0.03333333333333333``), an integer as
itself, ``true``/``false``, ``nan`` for a missing value (JSON ``null`` or NaN), strings with LaTeX's special
characters escaped. Rounding is the paper's business (``paper/numfmt.sty``: ``\\fix{2}{\\macro}``), so the same
summary can be printed at any precision and tested against the JSON value for equality.

Scales. ``dynlatch paper --run quick|full`` runs every analysis whose summary is missing, with the arguments of
:data:`PAPER_ANALYSES`. ``quick`` shrinks sizes only (models per arm, sequences, trials, grid resolution); the lists
that decide which keys a summary has (sequence lengths, hypotheses, cells) stay those of the full run, so the paper
builds from either and a quick paper is the full paper with placeholder numbers. Which scale each summary came from
is recorded in ``RESULTS/paper-runs.json`` and printed on the paper (``\\paperScale``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from . import _atomic
from ._checks import CheckError, one_line
from ._checks import out_dir as check_out_dir
from ._paper_check import PaperCheckError, check_pdf
from .scripting import EXIT_USAGE, ArgumentParser, fail, parse_config
from .studies import STUDIES, run_study
from .studies.lstm_failure import HYPOTHESES

SCALES = ("quick", "full")
MANIFEST = "paper-runs.json"
PROVENANCE = "PROVENANCE.md"
DEFAULT_DEST = Path("paper") / "generated"
PUBLISHED = Path("paper") / "results" / "full"
"""Where the full-scale results the paper reads are committed (summaries, figure PDFs, derivations, provenance)."""
RERUN_RESULTS = Path("results") / "paper-full"
"""Where ``make paper RERUN=1`` recomputes them before publishing."""
_DIGITS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
_MACRO = re.compile(r"^[A-Za-z]+$")


class MissingSummaryError(ValueError):
    """A summary the paper reads is absent: the message names the analysis and the command that produces it."""


class StaleSummaryError(ValueError):
    """A summary's recorded settings differ from the ones the paper asks for: the message names the analysis, the
    settings that differ and the command that reproduces the expected ones."""


@dataclass(frozen=True)
class PaperAnalysis:
    """One analysis the paper reads.

    Attributes:
        name: the analysis' name in the paper: its results are ``RESULTS/NAME/``, its macros start with the name.
        study: the study it runs (``dynlatch run STUDY``); the name by default, another where the paper reads one
            study under several settings (``latching-sweep-torch`` is ``latching-sweep --init torch``).
        args: arguments at every scale (``{results}`` is replaced by the results folder).
        quick: further arguments at the quick scale (sizes only; never the lists that decide the summary's keys).
        figures: stems of the analysis' figures the paper includes (``STEM.pdf`` in its results folder).
        derivations: ``.tex`` files of the analysis' folder the paper inputs (the derivations analysis only).
    """

    name: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    derivations: tuple[str, ...] = ()
    study: str = ""

    @property
    def study_name(self) -> str:
        """The study this analysis runs."""
        return self.study or self.name

    def argv(self, scale: str, results: Path) -> list[str]:
        """The ``dynlatch run`` arguments of this analysis at ``scale``, writing to ``results/NAME``."""
        if scale not in SCALES:
            raise ValueError(f"scale: expected one of {', '.join(SCALES)}; got {scale!r}")
        extra = self.args + (("--quick", *self.quick) if scale == "quick" else ())
        return [self.study_name, *(a.replace("{results}", str(results)) for a in extra),
                "--out", str(results / self.name)]

    def command(self, scale: str, results: Path) -> str:
        """The command line that produces this analysis' summary in ``results``."""
        return "dynlatch run " + " ".join(self.argv(scale, results))


_ALL_LENS = "2,5,8,10,15,20,25,30,40,50,60,70,80,90,100,110,120,130,140,150,160,170,180,190,200"
_HYPOTHESES = ",".join(HYPOTHESES)
_LSTM_FAILURE_QUICK = ("--landscape-length", "50", "--repeats", "4", "--n", "1000", "--powered-lens", "50,100,200",
                       "--powered-repeats", "4", "--lambda-repeats", "2")
_REPLICATION = ("--seed", "1", "--lens", "50,100,200", "--hypotheses", "forget_bias_3,chrono", "--lambda-cells", "lstm",
                "--lambdas", "0.9,1.0,1.1", "--lambda-lens", "200", "--predictor-cells", "lstm", "--predictor-lens",
                "200", "--fit-seeds", "20", "--fresh-seeds", "20")
"""The fresh-seed replication of the lstm-failure study's headline arms (new models and data, 100 models per arm)."""

PAPER_ANALYSES: tuple[PaperAnalysis, ...] = (
    PaperAnalysis("latching-sweep", quick=("--lens", _ALL_LENS, "--repeats", "8", "--n", "1000"),
                  figures=("success_vs_length",)),
    PaperAnalysis("latching-sweep-torch", study="latching-sweep", args=("--init", "torch"),
                  quick=("--lens", _ALL_LENS, "--repeats", "8", "--n", "1000"), figures=("success_vs_length",)),
    PaperAnalysis("latching-sweep-bug", study="latching-sweep", args=("--split", "keras-tail"),
                  quick=("--lens", _ALL_LENS, "--repeats", "8", "--n", "1000"), figures=("success_vs_length",)),
    PaperAnalysis("bengio94", quick=("--lens", "2,3,5,7,10,15,20,30,50,70,100"), figures=("bengio94",)),
    PaperAnalysis("pascanu-cliff", figures=("pascanu_cliff", "pascanu_clipping")),
    PaperAnalysis("cliff-vs-length"),
    PaperAnalysis("bifurcations", figures=("bifurcations",)),
    PaperAnalysis("fixed-point-census", args=("--sweep", "{results}/latching-sweep"), figures=("fixed_point_census",)),
    PaperAnalysis("gradient-decay", figures=("gradient_decay",)),
    PaperAnalysis("handmade-latches", quick=("--lens", "5,20,50,100,200,500,1000",
                                             "--sigmas", "0.05,0.1,0.2,0.3,0.5,1.0", "--n", "100")),
    PaperAnalysis("random-guessing", quick=("--lens", "5,10,20,50,100", "--gd-lens", "5,20,50")),
    PaperAnalysis("lstm-failure", quick=_LSTM_FAILURE_QUICK + (
                      "--lens", "5,20,50,100,200", "--hypotheses", _HYPOTHESES, "--predictor-cells", "srnn,gru,lstm",
                      "--predictor-lens", "50,100,200", "--units-100-lens", "20,50", "--lambda-cells", "srnn,lstm,gru",
                      "--lambda-lens", "20,50,100,200"),
                  figures=("learned_vs_builtin", "lambda_sweep", "training_traces")),
    PaperAnalysis("lstm-failure-seed1", study="lstm-failure", args=_REPLICATION, quick=_LSTM_FAILURE_QUICK),
    PaperAnalysis("bit-relay", quick=("--lens", "5,100", "--ranking-len", "100"), figures=("bit_relay",)),
    PaperAnalysis("derivations", derivations=("lstm-hard_sigmoid-n1-origin-eigenvalues.tex",
                                              "bengio-fold-curve.tex")),
)
"""Every analysis the paper reads, in the order ``dynlatch paper --run`` runs them (the census reads the sweep)."""

RECORD_KEYS: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {
    ("fixed-point-census", ("groups",)): ("cell", "T", "stage", "succeeded"),
    ("bengio94", ("success_vs_T_rows",)): ("T",),
    ("bengio94", ("success_vs_w0_s",)): ("T", "w0", "noise_variance"),
    ("bifurcations", ("events",)): ("diagram", "kind"),
    ("bifurcations", ("border_collisions",)): ("diagram", "kind"),
}
"""Lists of records keyed by their identifying fields instead of their position: (analysis, key path) -> fields."""


# -- names and values ----------------------------------------------------------------------------------------------
def _words(text: str, *, capitalise: bool) -> str:
    out = []
    for token in re.findall(r"[A-Za-z]+|[0-9]|\.", text):
        if token.isdigit():
            out.append(_DIGITS[int(token)])
        elif token == ".":
            out.append("Pt")
        else:
            out.append(token[0].upper() + token[1:] if capitalise else token.lower())
    return "".join(out)


def macro_prefix(analysis: str) -> str:
    """The macro prefix of an analysis: its name in lower case without separators (``lstm-failure``:
    ``lstmfailure``; digits spelled: ``bengio94``: ``bengioNineFour``).

    Raises:
        ValueError: if ``analysis`` has no letter to start a name with.
    """
    prefix = _words(analysis, capitalise=False)
    if not prefix or not prefix[0].islower() or not prefix[0].isalpha():
        raise ValueError(f"analysis: a name starting with a letter is needed for a macro prefix; got {analysis!r}")
    return prefix


def macro_name(analysis: str, path: Sequence[str]) -> str:
    """The LaTeX macro (without backslash) of the value at ``path`` in ``analysis``' summary.

    Args:
        analysis: the analysis name (``lstm-failure``).
        path: the keys from the summary's root (list positions and record keys as strings).

    Returns:
        letters only, e.g. ``lstmfailureSuccessLstmOneZeroZero`` for ``("success", "lstm", "100")``.

    Raises:
        ValueError: for an empty path or one that gives no letters.
    """
    if not path:
        raise ValueError("path: at least one key is needed")
    name = macro_prefix(analysis) + "".join(_words(str(k), capitalise=True) for k in path)
    if not _MACRO.match(name):  # pragma: no cover - _words only emits letters
        raise ValueError(f"path: {path!r} gives no valid macro name")
    return name


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}"}


def tex_value(value: Any) -> str:
    """A summary value as the body of its macro: exact numbers (``repr``), ``nan`` for null/NaN, ``true``/``false``,
    strings with LaTeX's special characters escaped.

    Raises:
        ValueError: for a value that is not a JSON scalar.
    """
    if value is None:
        return "nan"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return "".join(_TEX_SPECIAL.get(c, c) for c in one_line(value))
    raise ValueError(f"value: expected a JSON scalar; got {type(value).__name__}")


def flatten(summary: Any, *, analysis: str = "", path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every scalar of a summary with its key path (dict keys; list positions, or a record's identifying fields for
    the lists of :data:`RECORD_KEYS`).

    Records sharing their identifying fields get their running number (from 0, in order) as one more key.

    Raises:
        ValueError: if a record of a record list lacks an identifying field.
    """
    if isinstance(summary, Mapping):
        for key, value in summary.items():
            yield from flatten(value, analysis=analysis, path=path + (str(key),))
    elif isinstance(summary, (list, tuple)):
        fields = RECORD_KEYS.get((analysis, path))
        if fields is None:
            for i, value in enumerate(summary):
                yield from flatten(value, analysis=analysis, path=path + (str(i),))
            return
        if any(not isinstance(r, Mapping) or any(f not in r for f in fields) for r in summary):
            raise ValueError(f"{analysis}: every record of {'.'.join(path)} needs the fields {', '.join(fields)}")
        keys = [tuple(str(r[f]) for f in fields) for r in summary]
        counts = {k: keys.count(k) for k in keys}
        seen: dict[tuple[str, ...], int] = {}
        for key, record in zip(keys, summary):
            if counts[key] > 1:  # records sharing their identity are numbered in order of appearance
                seen[key] = seen.get(key, -1) + 1
                key = key + (str(seen[key]),)
            yield from flatten(record, analysis=analysis, path=path + key)
    else:
        yield path, summary


def numbers(summaries: Mapping[str, Any]) -> dict[str, tuple[str, tuple[str, ...], Any]]:
    """Macro name -> (analysis, key path, value) for every scalar of every summary.

    Raises:
        ValueError: if two key paths give the same macro name.
    """
    out: dict[str, tuple[str, tuple[str, ...], Any]] = {}
    for analysis, summary in summaries.items():
        for path, value in flatten(summary, analysis=analysis):
            name = macro_name(analysis, path)
            if name in out:
                other = out[name]
                raise ValueError(f"macro \\{name} is given by both {other[0]}:{'.'.join(other[1])} and "
                                 f"{analysis}:{'.'.join(path)}; rename a key or extend RECORD_KEYS")
            out[name] = (analysis, path, value)
    return out


def numbers_tex(summaries: Mapping[str, Any], *, scale: str = "unknown", results: str = "") -> str:
    """The text of ``numbers.tex``: one ``\\newcommand`` per summary value, a comment naming its key path.

    Also defines ``\\paperScale`` (the scale the summaries came from: quick, full, mixed or unknown) and
    ``\\paperResults`` (the results folder).
    """
    lines = ["% Generated by `dynlatch paper` from the analyses' summary.json files; do not edit.",
             f"% results: {one_line(results)}",
             f"\\newcommand{{\\paperScale}}{{{tex_value(scale)}}}",
             f"\\newcommand{{\\paperResults}}{{{tex_value(str(results))}}}"]
    for name, (analysis, path, value) in numbers(summaries).items():
        lines.append(f"\\newcommand{{\\{name}}}{{{tex_value(value)}}}% {analysis}: {'.'.join(path)}")
    return "\n".join(lines) + "\n"


# -- reading results and writing the paper's inputs ------------------------------------------------------------------
def read_manifest(results: Path) -> dict[str, str]:
    """Analysis -> scale it was run at by ``dynlatch paper --run`` (empty if none ran there)."""
    path = Path(results) / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) and v.get("scale") in SCALES for v in data.values()):
        raise ValueError(f"{path}: expected {{analysis: {{\"scale\": quick|full, ...}}}} as dynlatch paper --run "
                         "writes it; delete the file to rerun")
    return {str(k): str(v["scale"]) for k, v in data.items()}


def _record_run(results: Path, analysis: PaperAnalysis, scale: str, *, wall_seconds: float) -> None:
    path = Path(results) / MANIFEST
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[analysis.name] = {"scale": scale, "command": analysis.command(scale, Path(results)),
                           "wall_seconds": round(wall_seconds, 1),
                           "finished": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    _atomic.write_text(path, json.dumps(data, indent=2) + "\n")


def results_scale(results: Path, analyses: Sequence[PaperAnalysis] = PAPER_ANALYSES) -> str:
    """``quick`` or ``full`` if every analysis in ``results`` was run at that scale by ``dynlatch paper --run``,
    ``mixed`` if at several, ``unknown`` if any was run otherwise."""
    runs = read_manifest(results)
    scales = {runs.get(a.name, "unknown") for a in analyses}
    if "unknown" in scales:
        return "unknown"
    return scales.pop() if len(scales) == 1 else "mixed"


def read_summaries(results: Path, analyses: Sequence[PaperAnalysis] = PAPER_ANALYSES, *,
                   scale: str = "quick") -> dict[str, Any]:
    """Every summary the paper reads, by analysis name.

    Raises:
        MissingSummaryError: naming each missing analysis and the command that produces it (at ``scale``).
        ValueError: if a summary is not valid JSON, or lacks a key its study writes (``Study.summary_keys``).
    """
    results = Path(results)
    missing, out = [], {}
    for a in analyses:
        path = results / a.name / "summary.json"
        if not path.is_file():
            missing.append(f"{a.name} (run: {a.command(scale, results)})")
            continue
        try:
            out[a.name] = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(out[a.name], dict) or not isinstance(out[a.name].get("config"), dict):
            raise ValueError(f"{path}: not a study's summary (a JSON object with its config block)")
        absent = [k for k in STUDIES[a.study_name].summary_keys if k not in out[a.name]]
        if absent:
            raise ValueError(f"{path}: not a complete {a.study_name} summary (no {', '.join(absent)}); rerun "
                             f"{a.command(scale, results)}")
    if missing:
        raise MissingSummaryError(f"no summary.json in {results} for " + "; ".join(missing)
                                  + f" (or all at once: dynlatch paper --results {results} --run {scale})")
    return out


_RESULTS_PLACEHOLDER = "{results}"


def expected_config(analysis: PaperAnalysis, scale: str) -> dict[str, Any]:
    """The ``config`` block the analysis writes when run by ``dynlatch paper --run SCALE`` (parsed from its command
    line, nothing is run), as JSON values. Paths inside the results folder keep the ``{results}`` placeholder."""
    study = STUDIES[analysis.study_name]
    argv = analysis.argv(scale, Path(_RESULTS_PLACEHOLDER))[1:]
    config, _ = parse_config(study.config, study.name, study.description, argv)
    return json.loads(json.dumps(config.as_dict()))


def _same_setting(recorded: Any, expected: Any) -> bool:
    if isinstance(expected, str) and expected.startswith(_RESULTS_PLACEHOLDER + "/"):
        # a path inside the results folder: the folder itself may be anywhere
        tail = expected[len(_RESULTS_PLACEHOLDER):]
        return isinstance(recorded, str) and recorded.replace("\\", "/").endswith(tail)
    return recorded == expected


def settings_differences(analysis: PaperAnalysis, summary: Mapping[str, Any], scale: str) -> dict[str, tuple]:
    """Setting -> (recorded, expected) for every setting of ``summary['config']`` that differs from the one
    ``dynlatch paper --run SCALE`` would use today (a setting added or removed since counts too)."""
    recorded = summary.get("config")
    if not isinstance(recorded, Mapping):
        return {"config": (recorded, "a config block")}
    expected = expected_config(analysis, scale)
    return {k: (recorded.get(k), expected.get(k)) for k in sorted(set(recorded) | set(expected))
            if k not in recorded or k not in expected or not _same_setting(recorded[k], expected[k])}


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_settings(results: Path, summaries: Mapping[str, Any],
                   analyses: Sequence[PaperAnalysis] = PAPER_ANALYSES) -> None:
    """Refuse summaries whose settings are not the paper's: each analysis is compared with the command of the scale
    ``dynlatch paper --run`` recorded for it (either scale where none is recorded).

    Raises:
        StaleSummaryError: naming every such analysis, the first differing settings and the command to rerun.
    """
    runs = read_manifest(results)
    stale = []
    for a in analyses:
        scales = (runs[a.name],) if runs.get(a.name) in SCALES else SCALES
        diffs = [settings_differences(a, summaries[a.name], scale) for scale in scales]
        if all(diffs):
            best = min(zip(diffs, scales), key=lambda d: len(d[0]))
            shown = "; ".join(f"{k}: recorded {_short(v[0])}, expected {_short(v[1])}"
                              for k, v in list(best[0].items())[:3])
            stale.append(f"{a.name} ({shown}; rerun: {a.command(best[1], Path(results))})")
    if stale:
        raise StaleSummaryError(f"{results}: the settings of " + " and ".join(stale) + " are not the paper's (the "
                                f"committed results in {PUBLISHED} are recomputed by make paper RERUN=1)")


def checked_inputs(results: Path, analyses: Sequence[PaperAnalysis], *, scale_hint: str) -> list[Path]:
    """The figure PDFs and derivation files the paper includes, as paths ``NAME/FILE`` inside ``results``, each
    checked to be there (and a figure to be a whole PDF).

    Raises:
        MissingSummaryError: naming every missing file and the command that writes it.
        ValueError: naming every figure that is not a PDF.
    """
    files = [Path(a.name) / f for a in analyses for f in (*(f"{s}.pdf" for s in a.figures), *a.derivations)]
    absent = [str(results / f) for f in files if not (results / f).is_file()]
    if absent:
        raise MissingSummaryError(f"missing {', '.join(absent)}; rerun the analysis (dynlatch paper --results "
                                  f"{results} --run {scale_hint} runs only analyses without a summary: delete the "
                                  "folder first)")
    not_pdf = [str(results / f) for f in files if f.suffix == ".pdf" and not _is_pdf(results / f)]
    if not_pdf:
        raise ValueError(f"not a PDF figure: {', '.join(not_pdf)}; rerun the analysis that writes it")
    return files


def _is_pdf(path: Path) -> bool:
    """Whether ``path`` is a whole PDF: its header, and its end-of-file marker in the last kilobyte."""
    data = path.read_bytes()
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]


def _copy(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _atomic.atomic_path(dest, role=dest.name) as tmp:
        shutil.copyfile(src, tmp)
    return dest


def write_paper_inputs(results: Path, dest: Path = DEFAULT_DEST, *,
                       analyses: Sequence[PaperAnalysis] = PAPER_ANALYSES, scale_hint: str = "quick") -> dict[str, Any]:
    """Write ``dest/numbers.tex``, copy the figures to ``dest/figures/NAME-STEM.pdf`` and the derivations to ``dest``.

    Everything is checked before anything is written: every summary, figure and derivation must exist.

    Args:
        results: folder holding ``NAME/summary.json`` for every analysis.
        dest: the paper's generated folder (``paper/generated``; ``dynlatch run derivations --paper`` writes there
            too, with the same derivation file names).
        scale_hint: the scale named in the command a missing summary's error suggests.

    Returns:
        ``{"numbers": path, "macros": count, "figures": [paths], "derivations": [paths], "scale": scale}``.

    Raises:
        MissingSummaryError: if a summary, figure or derivation is missing (one line, naming the command).
        StaleSummaryError: if a summary's settings are not the ones the paper asks for.
        ValueError: if two key paths give the same macro name.
    """
    results, dest = Path(results), Path(dest)
    summaries = read_summaries(results, analyses, scale=scale_hint)
    check_settings(results, summaries, analyses)
    copies = [(results / f, dest / "figures" / f"{f.parent.name}-{f.name}" if f.suffix == ".pdf" else dest / f.name)
              for f in checked_inputs(results, analyses, scale_hint=scale_hint)]
    for path in (dest, dest / "figures", dest / "numbers.tex"):
        if path.exists() and (path.is_dir() == (path.name == "numbers.tex")):
            raise ValueError(f"--dest: {path} is {'a folder' if path.is_dir() else 'a file'}; choose another --dest")
    if any(parent.exists() and not parent.is_dir() for parent in dest.parents):
        raise ValueError(f"--dest: {dest} lies inside a file; choose another --dest")
    scale = results_scale(results, analyses)
    text = numbers_tex(summaries, scale=scale, results=str(results))
    dest.mkdir(parents=True, exist_ok=True)
    path = _atomic.write_text(dest / "numbers.tex", text, role="numbers.tex")
    done = [_copy(src, target) for src, target in copies]
    return {"numbers": path, "macros": text.count("\\newcommand") - 2,
            "figures": [p for p in done if p.suffix == ".pdf"], "derivations": [p for p in done if p.suffix == ".tex"],
            "scale": scale}


def run_missing(results: Path, scale: str, *, analyses: Sequence[PaperAnalysis] = PAPER_ANALYSES,
                quiet: bool = False) -> list[str]:
    """Run every analysis of ``analyses`` whose summary is missing in ``results``, at ``scale``; returns their names.

    Raises:
        ValueError: for an unknown scale, or if ``results`` holds an analysis run at another scale by this command.
        RuntimeError: if an analysis fails (its exit code is named).
    """
    if scale not in SCALES:
        raise ValueError(f"--run: expected one of {', '.join(SCALES)}; got {scale!r}")
    results = Path(results)
    earlier = read_manifest(results)
    other = sorted(n for n, s in earlier.items() if s != scale and (results / n / "summary.json").is_file())
    if other:
        raise ValueError(f"--results: {results} holds {', '.join(other)} run at another scale; choose another "
                         f"folder (results/paper-{scale}) or delete those")
    ran = []
    for a in analyses:
        if (results / a.name / "summary.json").is_file():
            continue
        argv = a.argv(scale, results) + (["--quiet"] if quiet else [])
        print(f"dynlatch paper: running {a.command(scale, results)}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            code = run_study(STUDIES[a.study_name], argv[1:])
        except SystemExit as e:  # an analysis' own one-line error (already printed) ends it with SystemExit
            code = e.code if isinstance(e.code, int) else 1
        if code:
            raise RuntimeError(f"{a.command(scale, results)} exited with code {code}")
        _record_run(results, a, scale, wall_seconds=time.perf_counter() - start)
        ran.append(a.name)
    return ran


# -- the committed full-scale results --------------------------------------------------------------------------------
def _provenance_table(summaries: Mapping[str, Any], runs: Mapping[str, Any],
                      analyses: Sequence[PaperAnalysis]) -> str:
    rows = ["| analysis | command | seed | git commit | wall time | finished (UTC) |", "|---|---|---|---|---|---|"]
    machines: dict[str, set[str]] = {}
    for a in analyses:
        prov = summaries[a.name].get("provenance", {})
        run = runs.get(a.name, {})
        seed = summaries[a.name].get("config", {}).get("seed", "")
        wall = run.get("wall_seconds")
        minutes = f"{wall / 60:.1f} min" if isinstance(wall, (int, float)) else ""
        rows.append(f"| {a.name} | `{run.get('command', '')}` | {seed} | `{prov.get('git_commit')}` | {minutes} | "
                    f"{run.get('finished', '')} |")
        for key in ("dynlatch", "python", "torch", "numba", "numpy", "platform", "machine", "cpu_count"):
            machines.setdefault(key, set()).add(str(prov.get(key)))
    total = sum(r.get("wall_seconds", 0) for r in runs.values() if isinstance(r, Mapping))
    versions = [f"- {k}: {', '.join(sorted(v))}" for k, v in machines.items()]
    return "\n".join([
        "# Provenance of the paper's full-scale results", "",
        "Written by `dynlatch paper --publish` from the runs of `dynlatch paper --run full` (`make paper RERUN=1`); "
        "each `NAME/summary.json` also carries its own `config` and `provenance` blocks. Do not edit.", "",
        *rows, "", f"Total wall time: {total / 3600:.2f} h.", "", "Software and machine:", *versions, ""])


def publish(results: Path, dest: Path = PUBLISHED, *,
            analyses: Sequence[PaperAnalysis] = PAPER_ANALYSES) -> list[Path]:
    """Copy what the paper reads from a full-scale run into ``dest`` (committed with the repository): every
    ``NAME/summary.json``, the figure PDFs and derivations the paper includes, the run manifest and ``PROVENANCE.md``.

    The folder is replaced as a whole (written beside it, then renamed), so it never holds a mixture of two runs.

    Raises:
        ValueError: if ``results`` is not one complete full-scale run with the paper's settings (missing summaries,
            figures or derivations, another scale, stale settings).
    """
    results, dest = Path(results), Path(dest)
    summaries = read_summaries(results, analyses, scale="full")
    scale = results_scale(results, analyses)
    if scale != "full":
        raise ValueError(f"--publish: {results} holds a {scale}-scale run; only a full run of every analysis "
                         f"(dynlatch paper --results {results} --run full) is published")
    check_settings(results, summaries, analyses)
    files = [Path(a.name) / "summary.json" for a in analyses] + checked_inputs(results, analyses, scale_hint="full")
    runs = json.loads((results / MANIFEST).read_text())
    runs = {k: {**v, "command": v["command"].replace(str(results), str(RERUN_RESULTS))} for k, v in runs.items()
            if k in {a.name for a in analyses}}
    staging = dest.parent / f".{dest.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    for f in files:
        _copy(results / f, staging / f)
    _atomic.write_text(staging / MANIFEST, json.dumps(runs, indent=2) + "\n")
    _atomic.write_text(staging / PROVENANCE, _provenance_table(summaries, runs, analyses))
    old = dest.parent / f".{dest.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    staging.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return [dest / f for f in files] + [dest / MANIFEST, dest / PROVENANCE]


def _check_pdf(pdf: Path, tex: Path, numbers_tex: Path) -> int:
    try:
        count = check_pdf(pdf, tex, numbers_tex)
    except PaperCheckError as e:
        print(f"dynlatch paper: error: {one_line(str(e))}", file=sys.stderr)
        return 1
    print(f"{pdf}: {count} printed numbers found in its text; no unresolved reference")
    return 0


# -- command line --------------------------------------------------------------------------------------------------
PROG = "dynlatch paper"


def parser() -> ArgumentParser:
    """The command's flags (a bad one is one line on stderr, exit 2)."""
    p = ArgumentParser(prog=PROG, description="Write paper/generated/ (numbers.tex, figures/, "
                       "derivations) from the analyses' summary.json files in --results; with --run, first run the "
                       "analyses whose summary is missing. Then build the PDF: cd paper && latexmk -pdf main.tex "
                       "(or make paper).")
    p.add_argument("--results", type=Path, default=None,
                   help=f"folder holding NAME/summary.json per analysis (default: results/paper-SCALE with --run, "
                        f"else the committed {PUBLISHED})")
    p.add_argument("--run", choices=SCALES, default=None,
                   help="run the analyses whose summary is missing, at this scale (quick: ~40 min on 2 busy "
                        "cores, with placeholder numbers; full: the analyses' defaults, hours)")
    p.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where to write (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress output from the analyses")
    p.add_argument("--publish", type=Path, default=None, metavar="DIR",
                   help=f"copy a complete full-scale run's summaries, figures and provenance to DIR (the committed "
                        f"{PUBLISHED}), then write the paper's inputs from there")
    p.add_argument("--check-pdf", type=Path, default=None, metavar="PDF",
                   help="only check a built paper: every number main.tex prints (from DEST/numbers.tex) is in the "
                        "PDF's text, no ?? and, at full scale, no placeholder box")
    p.add_argument("--tex", type=Path, default=Path("paper") / "main.tex", help="the paper's source, for "
                   "--check-pdf (default: %(default)s)")
    return p


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and check the command line (``results`` is the folder the summaries are read from, the default
    resolved); a bad flag or folder ends the program with one line on stderr and exit code 2 (SystemExit)."""
    args = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.check_pdf is not None:
        for path in (args.check_pdf, args.tex, args.dest / "numbers.tex"):
            if not path.is_file():
                fail(PROG, f"--check-pdf: {path} does not exist (build the paper first: make paper)")
        return args
    scale = args.run or "full"
    default = Path("results") / f"paper-{scale}" if args.run else PUBLISHED
    args.results = args.results if args.results is not None else default
    if args.results.exists() and not args.results.is_dir():
        fail(PROG, f"--results: {args.results} is not a folder")
    try:
        for flag in ("dest", "publish"):
            if getattr(args, flag) is not None:
                check_out_dir(f"--{flag}", getattr(args, flag))
    except CheckError as e:
        fail(PROG, str(e))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """``dynlatch paper [--results DIR] [--run quick|full] [--dest DIR] [--quiet]``: (run the missing analyses,) then
    write the paper's numbers and figures. Errors are one line on stderr, exit code 2."""
    args = parse(argv)
    if args.check_pdf is not None:
        return _check_pdf(args.check_pdf, args.tex, args.dest / "numbers.tex")
    scale = args.run or "full"
    results = args.results
    try:
        if args.run:
            run_missing(results, args.run, quiet=args.quiet)
        if args.publish is not None:
            publish(results, args.publish)
            results = args.publish
        out = write_paper_inputs(results, args.dest, scale_hint=scale)
    except ValueError as e:
        print(f"dynlatch paper: error: {one_line(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as e:
        print(f"dynlatch paper: error: {one_line(str(e))}", file=sys.stderr)
        return 1
    print(f"{out['macros']} numbers -> {out['numbers']} (scale: {out['scale']}); {len(out['figures'])} figures and "
          f"{len(out['derivations'])} derivations -> {args.dest}")
    return 0
