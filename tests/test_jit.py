"""The compiled-kernel cache (dynlatch._jit): keyed on every source file a kernel depends on, so it cannot go stale.

Oracle: a copy of the package with a probe kernel calling a compiled helper in another file, run in fresh processes;
after the helper is edited the kernel must return the new helper's value. The same edit under numba's own locators
returns the old value (the staleness the locator exists to prevent), which shows the check can fail."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from numba.core.caching import NullCache
from numba.core.registry import CPUDispatcher as Dispatcher

import dynlatch
from dynlatch import _jit

PROBE_KERNEL = '''from numba import njit

from ._probe_helper import SHIFT, helper


@njit(cache=True)
def kernel(x):
    return helper(x) + SHIFT
'''
PROBE_HELPER = '''from numba import njit

SHIFT = {shift}


@njit(cache=True)
def helper(x):
    return {factor} * x
'''
RUN = ("from dynlatch._probe_kernel import kernel; "
       "v = kernel(1.0); print(v, sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values()))")


def kernel_modules() -> list[str]:
    root = Path(dynlatch.__file__).parent
    return sorted(_jit._module_name(p) for p in root.rglob("*.py")
                  if "__pycache__" not in p.parts and "numba" in p.read_text() and p.name != "_jit.py")


def test_every_cached_kernel_of_the_package_uses_the_source_digest_locator():
    seen = 0
    for name in kernel_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            cache = getattr(value, "_cache", None)
            if cache is None or isinstance(cache, NullCache) or getattr(value, "__module__", None) != name:
                continue
            assert isinstance(cache._impl._locator, _jit.SourceDigestLocator), (name, value)
            seen += 1
    assert seen > 50


def test_imports_are_read_relative_and_absolute():
    root = _jit.PACKAGE_DIR
    assert "dynlatch._activations" in _jit.imported_modules(root / "dynamics" / "_lstm_cycles.py")
    assert "dynlatch.dynamics._one_unit" in _jit.imported_modules(root / "dynamics" / "_lstm_cycles.py")
    assert "dynlatch._losses" in _jit.imported_modules(root / "_tangents.py")


@pytest.fixture
def package_copy(tmp_path):
    shutil.copytree(Path(dynlatch.__file__).parent, tmp_path / "dynlatch",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    (tmp_path / "dynlatch" / "_probe_kernel.py").write_text(PROBE_KERNEL)
    return tmp_path


def run_probe(root: Path, **env: str) -> tuple[float, int, int]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    out = subprocess.run([sys.executable, "-c", RUN], cwd=root, env={**environ, **env}, capture_output=True,
                         text=True, timeout=300, check=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def edit_helper(root: Path, *, factor: float, shift: float) -> None:
    (root / "dynlatch" / "_probe_helper.py").write_text(PROBE_HELPER.format(factor=factor, shift=shift))


@pytest.mark.slow
def test_an_edited_helper_in_another_file_is_recompiled(package_copy):
    edit_helper(package_copy, factor=2.0, shift=1.0)
    assert run_probe(package_copy) == (3.0, 0, 1)  # compiled and cached
    assert run_probe(package_copy) == (3.0, 1, 0)  # read from the cache
    edit_helper(package_copy, factor=5.0, shift=1.0)
    assert run_probe(package_copy)[0] == 6.0  # the kernel's file is unchanged; its helper is not
    edit_helper(package_copy, factor=5.0, shift=-4.0)
    assert run_probe(package_copy)[0] == 1.0  # a constant frozen into the kernel
    edit_helper(package_copy, factor=2.0, shift=1.0)
    assert run_probe(package_copy) == (3.0, 1, 0)  # earlier sources find their cache again


@pytest.mark.slow
def test_numbas_own_locator_goes_stale_on_the_same_edit(package_copy):
    own = {"NUMBA_CACHE_LOCATOR_CLASSES": "InTreeCacheLocator"}
    edit_helper(package_copy, factor=2.0, shift=1.0)
    assert run_probe(package_copy, **own)[0] == 3.0
    edit_helper(package_copy, factor=5.0, shift=1.0)
    assert run_probe(package_copy, **own)[0] == 3.0  # stale: what the source-digest locator prevents


def _dispatchers():
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] != "dynlatch":
            continue
        for value in vars(module).values():
            if isinstance(value, Dispatcher) and value.py_func.__module__ == name:
                yield name, value


def test_every_compiled_kernel_can_be_cached(tmp_path):
    """A compiled function that refers to an address of this process (a function passed as a value and not
    inlined, a ctypes pointer) cannot be written to numba's cache: it would recompile in every process. After the
    one-unit finder, the cycle search, training and a surface have run, no compiled overload of the package has
    such a reference."""
    cell = dynlatch.cells.cell_class("lstm")(np.zeros((1, 4)), np.full((1, 4), 3.0), np.zeros((1, 4)),
                                             dtype=torch.float64)
    dynlatch.dynamics.fixed_points(cell, periods=(1, 2))
    data = dynlatch.tasks.latching(length=5, n=20, noise=0.1, seed=0)
    model = dynlatch.Model.init("gru", seeds=[0], dtype=torch.float64)
    dynlatch.train(model, data, epochs=1, backend="numba")
    dynlatch.evaluate(model, data.x_train, data.y_train, wrt=["U_z"], backend="numba")
    seen = 0
    for name, dispatcher in _dispatchers():
        for signature, compiled in dispatcher.overloads.items():
            seen += 1
            assert not compiled.library.has_dynamic_globals, f"{name}.{dispatcher.__name__}{signature}"
    assert seen > 20
