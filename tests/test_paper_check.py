"""The built paper's check (dynlatch._paper_check, ``dynlatch paper --check-pdf``): numbers rendered as numfmt.sty
prints them (checked against LaTeX itself where it is installed), the paper's own macros expanded, and a PDF text
missing a number, showing ``??`` or the placeholder box at full scale refused."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from dynlatch import _paper as P
from dynlatch._paper_check import (PaperCheckError, check_pdf_text, evaluate, normalise, printed_numbers, read_numbers,
                                   render)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "data" / "paper"


@pytest.mark.parametrize("fmt,places,x,expected", [
    ("fix", 2, 0.1, ("0.10",)), ("fix", 2, 0.7345, ("0.73",)), ("fix", 0, 2.5, ("2", "3")),
    ("fix", 2, 0.125, ("0.12", "0.13")), ("fix", 2, -0.004, ("0.00",)), ("fix", 3, -1.2345678, ("-1.235",)),
    ("dfix", 2, 0.3, ("+0.30",)), ("dfix", 2, -0.13, ("-0.13",)), ("dfix", 2, -0.0001, ("+0.00",)),
    ("sci", 1, 4.3e-7, ("4.3×10-7",)), ("sci", 0, 9.6e-5, ("1×10-4",)), ("sci", 1, 0.0, ("0",)),
    ("sci", 1, 3.14, ("3.1",)), ("sci", 2, -25300.0, ("-2.53×104",)),
    ("fix", 2, math.nan, ("n/a",)), ("fix", 2, math.inf, ("∞",)),
])
def test_render_as_numfmt(fmt, places, x, expected):
    assert render(fmt, places, x) == expected


def test_expressions_of_macros_are_evaluated():
    assert evaluate(r"exp(50 * \a)", {"a": "-0.5"}) == pytest.approx(math.exp(-25), rel=1e-15)
    assert evaluate(r"100*\b", {"b": "0.2"}) == pytest.approx(20.0)
    assert math.isnan(evaluate(r"\optval{missing}", {}))
    with pytest.raises(PaperCheckError):
        evaluate(r"\unknown + 1", {})
    with pytest.raises(PaperCheckError):
        evaluate("__import__('os')", {})


TEX = r"""\documentclass{article}
\newcommand{\pair}[2]{\fix{2}{#1}\,/\,\fix{2}{#2}}
\begin{document}
\IfFullScale{}{\fbox{Placeholder numbers}}
Rate \pair{\xRate}{\xOnly}, difference \dfix{2}{\xDiff} \ci{2}{\xLo}{\xHi}; \xCount\ runs; \xVerdict.
\IfBelow{\xP}{0.05}{$^*$}{} p \sci{1}{\xP}. % \fix{2}{\xIgnored} in a comment is not printed
\end{document}
"""
NUMBERS = {"paperScale": "full", "xRate": "0.7166666", "xOnly": "0.0", "xDiff": "-0.13", "xLo": "-0.2149",
           "xHi": "-0.0412", "xCount": "100", "xVerdict": "not significant", "xP": "0.00012", "xIgnored": "9.99"}


def test_printed_numbers_expand_the_papers_own_macros():
    printed = {p.source: p.texts for p in printed_numbers(TEX, NUMBERS)}
    assert printed == {r"\fix{2}{\xRate}": ("0.72",), r"\fix{2}{\xOnly}": ("0.00",), r"\dfix{2}{\xDiff}": ("-0.13",),
                       r"\ci{2}{\xLo}{\xHi}": ("[-0.21,-0.04]",), r"\xCount": ("100",),
                       r"\xVerdict": ("not significant",), r"\sci{1}{\xP}": ("1.2×10-4",)}


def _text(*, drop: str = "", extra: str = "") -> str:
    text = ("Rate 0.72 / 0.00, difference \u22120.13 [\u22120.21, \u22120.04]; 100 runs; not signif-\nicant.\n"
            "* p 1.2 × 10\u22124.")
    return text.replace(drop, "") + extra


def test_a_complete_pdf_text_passes():
    assert check_pdf_text(_text(), TEX, NUMBERS, full_scale=True) == 7


@pytest.mark.parametrize("drop,extra,full,message", [
    ("100 runs", "", True, r"1 of 7 printed numbers not found .*\\xCount"),
    ("\u22120.13", "0.13", True, r"\\dfix\{2\}\{\\xDiff\}"),  # a sign lost is a number missing
    ("", " see Fig. ??", True, r"\?\?"),
    ("", " Placeholder numbers", True, "placeholder"),
])
def test_a_wrong_pdf_text_is_refused(drop, extra, full, message):
    with pytest.raises(PaperCheckError, match=message):
        check_pdf_text(_text(drop=drop, extra=extra), TEX, NUMBERS, full_scale=full)


def test_the_placeholder_is_allowed_below_full_scale():
    assert check_pdf_text(_text(extra=" Placeholder numbers"), TEX, NUMBERS, full_scale=False) == 7


def test_normalise_joins_hyphenated_words_and_keeps_the_minus_sign():
    assert normalise("signif-\n  icant \u22120.5 \ufb01t") == "significant-0.5fit"
    assert normalise("Bengio\u2019s \u02dc6") == normalise("Bengio's ~6") == "Bengio's~6"


def test_the_real_paper_prints_hundreds_of_generated_numbers():
    numbers = read_numbers(P.numbers_tex({a.name: __import__("json").loads((FIXTURES / a.name / "summary.json")
                                                                             .read_text())
                                          for a in P.PAPER_ANALYSES}))
    printed = list(printed_numbers((ROOT / "paper" / "main.tex").read_text(), numbers))
    assert len(printed) > 300 and all(p.texts and all(p.texts) for p in printed)


@pytest.mark.slow
def test_render_agrees_with_latex(tmp_path, latex_tools):
    """numfmt.sty's own output (LaTeX's l3fp arithmetic), read back by pdftotext, against :func:`render`."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (make latex installs poppler-utils)")
    values = [0.0, 0.1, 0.125, 0.7345, -0.004, -1.2345678, 1 / 3, 2 / 3, 0.995, 0.9949999, 12.5, -0.0001, 4.3e-7,
              9.6e-5, 1.3267316734134962e11, 0.05, 0.985, 100.0, -25300.0, 0.3049999999]
    cases = [(fmt, places, x) for x in values for fmt, places in (("fix", 2), ("fix", 0), ("dfix", 2), ("sci", 1))]
    body = "\n\n".join(f"C{i}: \\{fmt}{{{places}}}{{{x!r}}} :E" for i, (fmt, places, x) in enumerate(cases))
    shutil.copy(ROOT / "paper" / "numfmt.sty", tmp_path / "numfmt.sty")
    (tmp_path / "t.tex").write_text("\\documentclass{article}\\usepackage{numfmt}\\newcommand{\\paperScale}{full}"
                                    f"\\begin{{document}}\n{body}\n\\end{{document}}\n")
    r = subprocess.run([latex_tools["pdflatex"], "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
    text = normalise(subprocess.run(["pdftotext", "-enc", "UTF-8", "t.pdf", "-"], cwd=tmp_path, capture_output=True,
                                    text=True).stdout)
    for i, (fmt, places, x) in enumerate(cases):
        start = text.index(f"C{i}:") + len(f"C{i}:")
        printed = text[start:text.index(":E", start)]
        assert printed in render(fmt, places, x), (fmt, places, x, printed)
