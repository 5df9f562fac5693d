"""numba's on-disk cache, keyed on the source of every file a kernel depends on.

numba caches a compiled function beside its source and reuses it while *that file* is unchanged. A kernel that calls
compiled helpers in another file, or freezes a constant imported from one, is not recompiled when that other file
changes: the cache goes stale and old code runs. Here every cached function of this package gets a locator whose
source stamp is the SHA-256 of its module's source and of every module of this package that module imports,
transitively (read from the import statements, never executed), and whose cache folder is named by that digest. An edit
anywhere a kernel depends on gives a new digest, hence a fresh compile; returning to earlier sources finds their cache
again.

:func:`install` puts the locator first in numba's list; the package's ``__init__`` calls it before any kernel module
is imported. Functions outside this package keep numba's own locators, and ``NUMBA_CACHE_LOCATOR_CLASSES`` (numba's
override) still wins. The hook is numba's cache-locator interface (``numba.core.caching``), which numba documents for
custom locators through a class attribute (``CacheImpl._locator_classes``).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from numba.core import caching

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE = PACKAGE_DIR.name
CACHE_FOLDER_PREFIX = "kernels-"


def module_path(name: str) -> Path | None:
    """The source file of module ``name`` of this package (``dynlatch.cells._lstm``), or None if it has none."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE_DIR).with_suffix("")
    parts = [PACKAGE, *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """The modules of this package that the source file ``path`` imports (absolute or relative, at any depth)."""
    st = path.stat()
    return set(_imports_of(path, st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=None)
def _imports_of(path: Path, mtime_ns: int, size: int) -> frozenset[str]:
    """:func:`imported_modules` of ``path`` in one state of the file (each file parsed once per state, not once per
    kernel module whose import closure holds it)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != PACKAGE:
                continue
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if module_path(f"{base}.{a.name}") is not None)
    return frozenset(m for m in found if module_path(m) is not None)


@functools.lru_cache(maxsize=None)
def _digest_of(path: Path, mtime_ns: int, size: int) -> str:
    closure, todo = set(), [path]
    while todo:
        p = todo.pop()
        if p in closure:
            continue
        closure.add(p)
        todo.extend(module_path(m) for m in imported_modules(p))
    h = hashlib.sha256()
    for p in sorted(closure):
        h.update(str(p.relative_to(PACKAGE_DIR)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def source_digest(path: str | Path) -> str:
    """SHA-256 over the source of ``path`` (a module of this package) and of every package module it imports,
    transitively. Recomputed when ``path`` changes in this process; the other files are read once per ``path`` state.
    """
    p = Path(path).resolve()
    st = p.stat()
    return _digest_of(p, st.st_mtime_ns, st.st_size)


class SourceDigestLocator(caching._CacheLocator):
    """Cache locator for this package's functions: stamp and folder from :func:`source_digest`.

    The folder is ``__pycache__/kernels-<digest>`` beside the source when writable, else under the user's cache
    folder (``$XDG_CACHE_HOME`` or ``~/.cache``) as ``dynlatch/kernels-<digest>/<file's folder hash>``.
    """

    def __init__(self, py_func: Any, py_file: str, cache_path: str, digest: str) -> None:
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = cache_path
        self._digest = digest

    def get_cache_path(self) -> str:
        return self._cache_path

    def get_source_stamp(self) -> str:
        return self._digest

    def get_disambiguator(self) -> str:
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> "SourceDigestLocator | None":
        path = Path(py_file).resolve()
        if not path.is_file() or PACKAGE_DIR not in path.parents:
            return None
        digest = source_digest(path)
        folder = f"{CACHE_FOLDER_PREFIX}{digest[:20]}"
        user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / PACKAGE / folder
        for cache_path in (path.parent / "__pycache__" / folder, user_cache / cls.get_suitable_cache_subpath(py_file)):
            try:
                cache_path.mkdir(parents=True, exist_ok=True)
                tempfile.TemporaryFile(dir=cache_path).close()
            except OSError:
                continue
            return cls(py_func, py_file, str(cache_path), digest)
        return None


def install() -> None:
    """Put :class:`SourceDigestLocator` first among numba's cache locators (idempotent)."""
    classes = caching.CacheImpl._locator_classes
    if SourceDigestLocator not in classes:
        classes.insert(0, SourceDigestLocator)
