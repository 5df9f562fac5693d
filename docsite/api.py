"""What the site's API reference documents: one page per public module, and the equations page.

Shared by the mkdocs hooks (which write the pages) and the griffe extension (which must know what is documented to
turn a docstring's role into a cross-reference or into plain code).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import dynlatch
from dynlatch.cells import CELL_CLASSES


@dataclass(frozen=True)
class ApiPage:
    """One API page: its file stem, title and module; ``intro`` is a line above the module's own text."""

    stem: str
    title: str
    module: str
    intro: str = ""


API_PAGES: tuple[ApiPage, ...] = (
    ApiPage("dynlatch", "dynlatch: models, training, evaluation", "dynlatch",
            "The top level: batched models, training and evaluation (the cells are on [Cells and equations]"
            "(../equations.md) and [dynlatch.cells](cells.md), sweeps on [dynlatch.sweep](sweep.md))."),
    ApiPage("cells", "dynlatch.cells", "dynlatch.cells",
            "Each registered kind's class and gate equations are on [Cells and equations](../equations.md)."),
    ApiPage("handmade", "dynlatch.cells.handmade", "dynlatch.cells.handmade"),
    ApiPage("tasks", "dynlatch.tasks", "dynlatch.tasks"),
    ApiPage("dynamics", "dynlatch.dynamics", "dynlatch.dynamics",
            "The fixed-point reductions, what *certified* means and the QR method are on "
            "[Cells and equations](../equations.md)."),
    ApiPage("symbolic", "dynlatch.symbolic", "dynlatch.symbolic"),
    ApiPage("landscape", "dynlatch.landscape", "dynlatch.landscape"),
    ApiPage("bengio", "dynlatch.bengio", "dynlatch.bengio"),
    ApiPage("sweep", "dynlatch.sweep", "dynlatch.sweep"),
    ApiPage("studies", "dynlatch.studies", "dynlatch.studies",
            "Each study's question, command, figures and summary keys are in the [gallery](../gallery/index.md)."),
    ApiPage("scripting", "dynlatch.scripting", "dynlatch.scripting"),
)

EQUATION_MODULES: tuple[tuple[str, str], ...] = (
    ("Fixed points of one-unit cells: the reductions", "dynlatch.dynamics._fixed_points"),
    ("What certified means: guaranteed root finding", "dynlatch.dynamics._roots"),
    ("Lyapunov spectra: the QR method", "dynlatch.dynamics._lyapunov"),
)
"""Modules whose own text (not their members) the equations page shows."""


def cell_kinds() -> dict[str, str]:
    """Every registered cell kind's class, by the identifier the equations page renders it under."""
    return {kind: f"{cls.__module__}.{cls.__qualname__}" for kind, cls in CELL_CLASSES.items()}


def _module(path: str) -> ModuleType:
    module = dynlatch
    for part in path.split(".")[1:]:
        module = getattr(module, part)
    return module


def members(page: ApiPage) -> list[str] | None:
    """The members a page renders, or None for every public one. The top level leaves out what a subpackage's page
    documents; ``dynlatch.cells`` leaves out the cell classes (on the equations page)."""
    module = _module(page.module)
    exported = list(getattr(module, "__all__", []))
    cell_classes = {id(cls) for cls in CELL_CLASSES.values()}
    if page.module == "dynlatch":
        elsewhere = {id(getattr(_module(p.module), n)) for p in API_PAGES if p.module != "dynlatch"
                     for n in getattr(_module(p.module), "__all__", [])}
        return [n for n in exported if not isinstance(getattr(module, n), ModuleType)
                and id(getattr(module, n)) not in elsewhere | cell_classes]
    if page.module == "dynlatch.cells":
        return [n for n in exported if id(getattr(module, n)) not in cell_classes]
    return None
