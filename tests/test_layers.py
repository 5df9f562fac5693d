"""The package's layering (the import-linter contract in pyproject.toml): utilities < cells, tasks < engine < dynamics,
symbolic, bengio < landscape < studies < paper < command line, every module in a layer, no upward import."""

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dynlatch"


def test_the_import_contract_holds(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def _package_modules(tree: ast.Module, path: Path) -> dict[str, str]:
    """Local names bound to modules of the package by ``from . import x [as y]`` / ``import dynlatch.x as y``."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("dynlatch")):
            base = PACKAGE / Path(*(node.module or "").split(".")[node.level == 0:]) if node.level == 0 else (
                path.parents[node.level - 1] / Path(*(node.module or "").split(".")) if node.module else
                path.parents[node.level - 1])
            for alias in node.names:
                if (base / alias.name).with_suffix(".py").is_file() or (base / alias.name / "__init__.py").is_file():
                    bound[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dynlatch.") and alias.asname:
                    bound[alias.asname] = alias.name
    return bound


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_reaches_for_another_modules_private_names():
    """A name with a leading underscore is private to its module: another module of the package neither imports it
    (``from ._fastpath import _gather``) nor reads it off an imported module (``ou._points``). Private *modules*
    (``_one_unit``) are fine: the package re-exports what users see."""
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = _package_modules(tree, path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("dynlatch")):
                offences += [f"{path.relative_to(ROOT)}:{node.lineno} imports {a.name}" for a in node.names
                             if _private(a.name) and a.name not in modules.values()]
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                  and _private(node.attr)):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} reads {node.value.id}.{node.attr}")
    assert not offences, "\n".join(offences)
