"""reStructuredText markup of dynlatch's docstrings as Markdown for mkdocstrings.

The docstrings are Google style (``Args:``, ``Returns:``, ``Raises:``) with reST inline markup: roles such as
``:func:`~dynlatch.dynamics.fixed_points```, ``:math:`...```, double-backquoted literals and ``.. math::`` blocks. This
module rewrites them: a role becomes a cross-reference when its target is documented on the site (``resolve`` says
which), inline code otherwise; math becomes arithmatex's ``\\( \\)`` and ``\\[ \\]``.
"""

from __future__ import annotations

import re
import textwrap
from typing import Callable

ROLE = re.compile(r":(?:py:)?(func|class|meth|mod|data|attr|obj|exc|const):`(~?)([^`]+?)`")
MATH_ROLE = re.compile(r":math:`([^`]+)`")
LITERAL = re.compile(r"``([^`]+?)``")
SECTION = re.compile(r"^(?P<indent>[ \t]*)(Args|Arguments|Parameters|Attributes):[ \t]*$")
GROUPED_ITEM = re.compile(r"^(?P<indent>[ \t]+)(?P<names>\w+(?:, \w+)+)(?P<rest>(?: \([^)]*\))?:.*)$")
TEXT = re.compile(r"\\text\{[^}]*\}")
MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<inline>.*)$")


def _cited(authors: str, year: str) -> re.Pattern:
    return re.compile(rf"\b(?:{authors}) (?:\({year}\)|{year})")


CITATIONS: tuple[tuple[re.Pattern, str], ...] = (
    (_cited(r"Bengio, Simard (?:&|and) Frasconi|Bengio et al\.", "1994"),
     "bengio-simard--frasconi-1994-the-latching-neuron"),
    (_cited(r"Pascanu, Mikolov (?:&|and) Bengio|Pascanu et al\.", "2013"), "pascanu-mikolov--bengio-2013-the-cliff"),
    (_cited(r"Hochreiter (?:&|and) Schmidhuber", "1997"), "sources"),
    (_cited(r"Gers et al\.", "2000"), "sources"),
    (_cited(r"Cho et al\.", "2014"), "sources"),
    (_cited(r"Elman", "1990"), "sources"),
    (_cited(r"Sussillo (?:&|and) Barak", "2013"), "sources"),
    (_cited(r"Tallec (?:&|and) Ollivier", "2018"), "sources"),
)
"""Citations of the papers docs/references.md discusses, by the heading they link to (autorefs resolves a heading's
anchor on any page)."""
CODE_OR_MATH = re.compile(r"(`[^`]*`|\\\(.*?\\\)|\\\[.*?\\\])", re.S)


def _link_citations(text: str) -> str:
    """Each citation of :data:`CITATIONS` outside code and math as a link to its section of the references."""
    parts = CODE_OR_MATH.split(text)
    for k in range(0, len(parts), 2):
        for pattern, anchor in CITATIONS:
            parts[k] = pattern.sub(lambda m, a=anchor: f"[{m.group(0)}][{a}]", parts[k])
    return "".join(parts)


def _math_blocks(text: str) -> str:
    """``.. math::`` directives (an indented block, or an expression on the directive's line) as ``\\[ ... \\]``."""
    lines = text.split("\n")
    out: list[str] = []
    k = 0
    while k < len(lines):
        m = MATH_DIRECTIVE.match(lines[k])
        if not m:
            out.append(lines[k])
            k += 1
            continue
        indent = m.group("indent")
        body = [m.group("inline")] if m.group("inline").strip() else []
        k += 1
        while k < len(lines) and (not lines[k].strip() or len(lines[k]) - len(lines[k].lstrip()) > len(indent)):
            body.append(lines[k])
            k += 1
        while body and not body[-1].strip():
            body.pop()
        expression = textwrap.dedent("\n".join(body)).strip()
        expression = TEXT.sub(lambda t: t.group(0).replace("\\_", "_"), expression)  # \text{} is literal in MathJax
        if "\\\\" in expression or "&" in expression:
            expression = "\\begin{aligned}\n" + expression + "\n\\end{aligned}"
        out.extend([indent + "\\[", *(indent + line for line in expression.split("\n")), indent + "\\]"])
        if k < len(lines) and lines[k].strip():
            out.append("")
    return "\n".join(out)


def _split_grouped_items(text: str) -> str:
    """``a, b: text`` items of an ``Args:`` or ``Attributes:`` section as one item per name (griffe's Google parser
    takes one name per item); each gets the text's first line, the last one its continuation lines too."""
    out: list[str] = []
    in_section = False
    for line in text.split("\n"):
        if SECTION.match(line):
            in_section = True
        elif line.strip() and not line.startswith((" ", "\t")):
            in_section = False
        m = GROUPED_ITEM.match(line) if in_section else None
        if m:
            out += [f"{m.group('indent')}{name}{m.group('rest')}" for name in m.group("names").split(", ")]
        else:
            out.append(line)
    return "\n".join(out)


def to_markdown(text: str, resolve: Callable[[str], str | None]) -> str:
    """``text`` with its reST markup as Markdown; ``resolve(target)`` gives the documented identifier of a role's
    target, or None (then the role is shown as code)."""

    def role(m: re.Match) -> str:
        short, target = m.group(2) == "~", m.group(3).strip()
        shown = target.rsplit(".", 1)[-1] if short else target
        if m.group(1) in ("func", "meth"):
            shown += "()"
        identifier = resolve(target.lstrip("."))
        return f"[`{shown}`][{identifier}]" if identifier else f"`{shown}`"

    text = _split_grouped_items(_math_blocks(text))
    text = MATH_ROLE.sub(lambda m: f"\\({m.group(1)}\\)", text)
    text = ROLE.sub(role, text)
    return _link_citations(LITERAL.sub(lambda m: f"`{m.group(1)}`", text))
