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
    return LITERAL.sub(lambda m: f"`{m.group(1)}`", text)
