"""The package's layering (the import-linter contract in pyproject.toml): utilities < cells, tasks < engine < dynamics,
symbolic, bengio < landscape < studies < paper < command line, every module in a layer, no upward import."""

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contract_holds(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
