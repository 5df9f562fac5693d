"""A notebook and its jupytext twin (``.py``, percent format) must hold the same cells, so the reviewed script is the
notebook that runs."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat


def cells_of(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """(type, source) of every cell, trailing blank lines dropped."""
    return [(cell.cell_type, cell.source.rstrip()) for cell in notebook.cells]


def twin_disagreement(notebook_path: Path) -> str | None:
    """Where ``NOTEBOOK.ipynb`` and ``NOTEBOOK.py`` differ (the first differing cell), or None when they agree."""
    twin = notebook_path.with_suffix(".py")
    if not twin.is_file():
        return f"{twin} is missing"
    ipynb, py = cells_of(nbformat.read(notebook_path, as_version=4)), cells_of(jupytext.read(twin))
    for k, (a, b) in enumerate(zip(ipynb, py)):
        if a != b:
            return (f"cell {k + 1} differs between {notebook_path.name} and {twin.name} "
                    f"(jupytext --sync {notebook_path})")
    if len(ipynb) != len(py):
        return f"{notebook_path.name} has {len(ipynb)} cells, {twin.name} {len(py)} (jupytext --sync {notebook_path})"
    return None
