"""A griffe extension: dynlatch's reST docstring markup as Markdown, roles cross-linked where their target is on the
site (:mod:`docsite.rest`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import griffe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: docsite and dynlatch

from docsite.api import API_PAGES, EQUATION_MODULES, cell_kinds, members  # noqa: E402
from docsite.rest import to_markdown  # noqa: E402


def _target(obj: Any) -> Any:
    try:
        return obj.final_target if isinstance(obj, griffe.Alias) else obj
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def _documented_members(obj: Any, names: list[str] | None) -> Iterator[Any]:
    for name, member in obj.members.items():
        if names is not None:
            if name in names:
                yield member
        elif not member.inherited and member.is_public and not member.is_module and _has_docstrings(member):
            yield member  # mkdocstrings leaves out members without a docstring (show_if_no_docstring: false)


def _has_docstrings(obj: Any) -> bool:
    target = _target(obj)
    return bool(target is not None and target.has_docstrings)


class RestToMarkdown(griffe.Extension):
    """Rewrites every docstring of the loaded package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        collection = loader.modules_collection
        documented: set[str] = set()

        def add(obj: Any, names: list[str] | None = None, *, recurse: bool = True) -> None:
            target = _target(obj)
            if target is None or target.path in documented:
                return
            documented.add(target.path)
            if recurse and (target.is_class or target.is_module):
                for member in _documented_members(target, names):
                    add(member)

        for page in API_PAGES:
            add(collection[page.module], members(page))
        for path in cell_kinds().values():
            add(collection[path], recurse=False)
        for _, path in EQUATION_MODULES:
            add(collection[path], recurse=False)

        def resolve_in(scope: Any, target: str) -> str | None:
            candidates = [target] if target.startswith("dynlatch") else []
            node = scope
            while node is not None:
                candidates.append(f"{node.path}.{target}")
                node = node.parent
            for candidate in candidates:
                try:
                    found = _target(collection[candidate])
                except KeyError:
                    continue
                if found is not None and found.path in documented:
                    return found.path
            return None

        for obj in _walk(pkg):
            if obj.docstring is not None:
                scope = obj if obj.is_module or obj.is_class else obj.parent
                obj.docstring.value = to_markdown(obj.docstring.value, lambda t, s=scope: resolve_in(s, t))


def _walk(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if not isinstance(member, griffe.Alias):
            yield from _walk(member)
