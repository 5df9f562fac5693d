"""Checks of the built paper against its numbers: ``dynlatch paper --check-pdf paper/main.pdf``.

The paper prints every number through a macro of ``generated/numbers.tex`` (exact values, see :mod:`dynlatch._paper`)
and a format of ``paper/numfmt.sty`` (``\\fix``, ``\\dfix``, ``\\sci``, ``\\ci``). This module reads ``main.tex``,
expands the paper's own one-level macros (``\\newcommand{\\eff}[3]{...}``), and renders every number the text prints,
here in Python from the JSON value, independently of LaTeX's own arithmetic; then it looks for each rendered string in
the PDF's text (``pdftotext``). It also refuses unresolved references (``??``) and, at full scale, the placeholder box.

Rounding ties (0.125 at two decimals) are accepted either way, since the rule of LaTeX's l3fp need not be Python's.
"""

from __future__ import annotations

import ast
import math
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Iterator

PLACEHOLDER = "Placeholder numbers"
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_DEFINITION = re.compile(r"\\newcommand\{\\([A-Za-z]+)\}(?:\[(\d)\])?")
_NUMBER_LINE = re.compile(r"^\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}(?:%.*)?$")
_FORMATS = {"fix": 2, "dfix": 2, "sci": 2, "ci": 3}
"""numfmt's formats and their argument counts (precision first)."""
_TESTS = {"IfBelow": 2, "IfFullScale": 0}
"""numfmt's conditionals: how many leading arguments are compared, not printed (their branches are scanned)."""

_TEX_UNESCAPE = ((r"\textbackslash{}", "\\"), (r"\textasciicircum{}", "^"), (r"\textasciitilde{}", "~"),
                 (r"\{", "{"), (r"\}", "}"), (r"\$", "$"), (r"\&", "&"), (r"\#", "#"), (r"\_", "_"), (r"\%", "%"))


_TYPOGRAPHIC = str.maketrans({"\u02dc": "~", "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
"""Characters LaTeX's fonts print for ASCII ones (a text-mode tilde, curly quotes), mapped back."""


class PaperCheckError(ValueError):
    """The built paper disagrees with its numbers, or shows unresolved references or the placeholder box."""


@dataclass(frozen=True)
class Printed:
    """One number as the paper prints it: the text to find, the alternatives a rounding tie allows, and its source."""

    texts: tuple[str, ...]
    source: str
    words: bool = False


# -- reading the sources -------------------------------------------------------------------------------------------
def read_numbers(text: str) -> dict[str, str]:
    """Macro -> body of every ``\\newcommand`` line of a ``numbers.tex``."""
    out = {}
    for line in text.splitlines():
        m = _NUMBER_LINE.match(line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def strip_comments(tex: str) -> str:
    """``tex`` without its comments (an unescaped ``%`` to the end of the line)."""
    return re.sub(r"(?m)(?<!\\)%.*$", "", tex)


def _group(text: str, start: int) -> tuple[str, int]:
    """The brace group opening at ``text[start]`` (skipping blanks first): (its content, the index after it)."""
    i = start
    while i < len(text) and text[i] in " \t\n":
        i += 1
    if i >= len(text) or text[i] != "{":
        raise PaperCheckError(f"main.tex: expected '{{' at {text[i:i + 40]!r}")
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "\\":
            continue
        if text[j] == "{" and (j == 0 or text[j - 1] != "\\"):
            depth += 1
        elif text[j] == "}" and text[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[i + 1:j], j + 1
    raise PaperCheckError(f"main.tex: unbalanced braces after {text[start:start + 40]!r}")


def paper_macros(tex: str) -> dict[str, tuple[int, str]]:
    """The paper's own macros: name -> (number of arguments, body), from ``\\newcommand{\\name}[n]{body}``."""
    out = {}
    for m in _DEFINITION.finditer(tex):
        body, _ = _group(tex, m.end())
        out[m.group(1)] = (int(m.group(2) or 0), body)
    return out


# -- rendering as numfmt does ----------------------------------------------------------------------------------------
def _fixed(x: float, places: int, *, sign: bool, rounding: str) -> str:
    q = Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=rounding)
    if q == 0:
        q = abs(q)
    text = f"{abs(q):.{places}f}"
    return ("-" if q < 0 else "+" if sign else "") + text


def render(fmt: str, places: int, x: float) -> tuple[str, ...]:
    """The text numfmt's ``\\fix``/``\\dfix``/``\\sci`` print for ``x`` at ``places`` decimals (as pdftotext reads
    it, blanks removed); several where a rounding tie allows either."""
    if math.isnan(x):
        return ("n/a",)
    if math.isinf(x):
        return ("-∞" if x < 0 else "∞",)
    out = []
    for rounding in (ROUND_HALF_EVEN, ROUND_HALF_UP):
        if fmt == "sci":
            out.append(_scientific(x, places, rounding))
        else:
            out.append(_fixed(x, places, sign=fmt == "dfix", rounding=rounding))
    return tuple(dict.fromkeys(out))


def _scientific(x: float, places: int, rounding: str) -> str:
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    mantissa = Decimal(repr(x)).scaleb(-exponent).quantize(Decimal(1).scaleb(-places), rounding=rounding)
    if abs(mantissa) >= 10:
        exponent += 1
        mantissa = mantissa / 10
    text = _fixed(float(mantissa), places, sign=False, rounding=rounding)
    return text if exponent == 0 else f"{text}×10{exponent}"


_FUNCTIONS = {"exp": math.exp, "ln": math.log, "sqrt": math.sqrt, "abs": abs}


def evaluate(expression: str, numbers: dict[str, str]) -> float:
    """An l3fp expression of macros and constants (``exp(50 * \\macro)``), evaluated in Python."""
    def substitute(m: re.Match) -> str:
        name = m.group(1)
        if name == "optval":
            return ""
        return f"({numbers[name]})" if name in numbers else m.group(0)

    text = re.sub(r"\\optval\{([A-Za-z]+)\}", lambda m: f"({numbers.get(m.group(1), 'nan')})", expression)
    text = _COMMAND.sub(substitute, text).strip()
    if "\\" in text:
        raise PaperCheckError(f"main.tex: cannot evaluate {expression!r}")
    text = text.replace("^", "**")
    return float(_eval(ast.parse(text, mode="eval").body))


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.Name) and node.id in ("nan", "inf"):
        return float(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
        a, b = _eval(node.left), _eval(node.right)
        return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b,
                ast.Div: a / b if b else math.nan, ast.Pow: a ** b}[type(node.op)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        return _FUNCTIONS[node.func.id](*(_eval(a) for a in node.args))
    raise PaperCheckError(f"main.tex: unsupported expression {ast.unparse(node)!r}")


def _string(body: str) -> str:
    for escaped, char in _TEX_UNESCAPE:
        body = body.replace(escaped, char)
    return body


# -- what the paper prints -------------------------------------------------------------------------------------------
def printed_numbers(tex: str, numbers: dict[str, str]) -> Iterator[Printed]:
    """Every generated number ``tex`` prints, rendered as it appears in the PDF's text."""
    tex = strip_comments(tex)
    own = paper_macros(tex)
    begin = tex.find("\\begin{document}")
    yield from _scan(tex[begin if begin >= 0 else 0:], numbers, own, depth=0)


def _scan(text: str, numbers: dict[str, str], own: dict[str, tuple[int, str]], *, depth: int) -> Iterator[Printed]:
    if depth > 5:
        raise PaperCheckError("main.tex: macros nest too deeply to check")
    i = 0
    while True:
        m = _COMMAND.search(text, i)
        if not m:
            return
        name, i = m.group(1), m.end()
        if name in _FORMATS:
            args = []
            for _ in range(_FORMATS[name]):
                arg, i = _group(text, i)
                args.append(arg)
            yield from _formatted(name, args, numbers)
        elif name in _TESTS:
            for _ in range(_TESTS[name]):
                _, i = _group(text, i)
        elif name == "optval":
            arg, i = _group(text, i)
            if arg in numbers:
                yield _bare(arg, numbers)
        elif name in own and own[name][0] > 0:
            count, body = own[name]
            args = []
            for _ in range(count):
                arg, i = _group(text, i)
                args.append(arg)
            for k, arg in enumerate(args, start=1):
                body = body.replace(f"#{k}", arg)
            yield from _scan(body, numbers, own, depth=depth + 1)
        elif name in numbers and name not in ("paperScale", "paperResults"):
            yield _bare(name, numbers)


def _bare(name: str, numbers: dict[str, str]) -> Printed:
    """A macro printed as it is: a number as its exact text, anything else as words (hyphenation may split them)."""
    body = numbers[name]
    try:
        float(body)
    except ValueError:
        return Printed((_string(body),), f"\\{name}", words=True)
    return Printed((body,), f"\\{name}")


def _formatted(fmt: str, args: list[str], numbers: dict[str, str]) -> Iterator[Printed]:
    places = int(args[0])
    if fmt == "ci":
        lo, hi = (render("fix", places, evaluate(a, numbers)) for a in args[1:])
        yield Printed(tuple(f"[{a},{b}]" for a in lo for b in hi), f"\\ci{{{args[0]}}}{{{args[1]}}}{{{args[2]}}}")
    else:
        yield Printed(render(fmt, places, evaluate(args[1], numbers)), f"\\{fmt}{{{args[0]}}}{{{args[1]}}}")


# -- the PDF ---------------------------------------------------------------------------------------------------------
def normalise(text: str) -> str:
    """Text for comparison: compatibility forms (ligatures), typographic tildes and quotes as ASCII, the minus sign as
    '-', words joined across a hyphenated line break, and no blanks."""
    text = re.sub(r"-\n\s*", "", unicodedata.normalize("NFKC", text.translate(_TYPOGRAPHIC)))
    return re.sub(r"\s+", "", text.replace("\u2212", "-"))


def pdf_text(pdf: Path) -> str:
    """The PDF's text by ``pdftotext`` (poppler-utils).

    Raises:
        PaperCheckError: if pdftotext is missing or fails.
    """
    tool = shutil.which("pdftotext")
    if tool is None:
        raise PaperCheckError("pdftotext not found: install poppler-utils (make latex does)")
    r = subprocess.run([tool, "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise PaperCheckError(f"pdftotext {pdf}: {r.stderr.strip()[:200]}")
    return r.stdout


def check_pdf_text(text: str, tex: str, numbers: dict[str, str], *, full_scale: bool) -> int:
    """Check a built paper's text: no ``??``, no placeholder box at full scale, every printed number present.

    Returns:
        how many printed numbers were checked.

    Raises:
        PaperCheckError: naming what is wrong (the first few missing numbers with their source).
    """
    flat = normalise(text)
    problems = []
    if "??" in flat:
        problems.append("unresolved references or citations (??)")
    if full_scale and normalise(PLACEHOLDER) in flat:
        problems.append("the placeholder box of a quick build")
    printed = list(printed_numbers(tex, numbers))
    hyphenless = flat.replace("-", "")
    missing = [p for p in printed if not any(normalise(t) in flat
                                             or (p.words and normalise(t).replace("-", "") in hyphenless)
                                             for t in p.texts)]
    if missing:
        shown = "; ".join(f"{p.source} -> {p.texts[0]!r}" for p in missing[:5])
        problems.append(f"{len(missing)} of {len(printed)} printed numbers not found in the PDF's text ({shown})")
    if problems:
        raise PaperCheckError("paper: " + "; ".join(problems))
    return len(printed)


def check_pdf(pdf: Path, tex: Path, numbers_tex: Path) -> int:
    """Check ``pdf`` against ``tex`` and ``numbers_tex`` (see :func:`check_pdf_text`); full scale is read from
    ``\\paperScale``. Returns how many printed numbers were checked."""
    numbers = read_numbers(Path(numbers_tex).read_text())
    return check_pdf_text(pdf_text(Path(pdf)), Path(tex).read_text(), numbers,
                          full_scale=numbers.get("paperScale") == "full")
