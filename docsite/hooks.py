"""mkdocs hooks: the pages generated from the code at build time.

* ``api/*.md``: one page per public module (:data:`docsite.api.API_PAGES`), rendered by mkdocstrings;
* ``equations.md``: every registered cell kind's class and gate equations (from :data:`dynlatch.cells.CELL_CLASSES`,
  so a new kind appears by itself), the fixed-point reductions, what *certified* means and the QR method;
* ``gallery/*.md``: one page per study of :data:`dynlatch.studies.STUDIES` with its question, commands, flags,
  figures and summary keys, the figures and keys read from the quick run ``make gallery`` wrote into
  ``results/docs-gallery/NAME/`` (a key the run wrote that the study does not describe, or the reverse, fails the
  build);
* ``tutorial.md``: ``examples/tutorial.py`` (the notebook's jupytext twin) as a page;
* the site's copy of MathJax (from the ``jupyter-server-mathjax`` package), so the equations render offline.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import jupyter_server_mathjax
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docsite.api import API_PAGES, EQUATION_MODULES, cell_kinds, members  # noqa: E402
from docsite.rest import to_markdown  # noqa: E402
from dynlatch._config import flag_name  # noqa: E402
from dynlatch.studies import STUDIES  # noqa: E402

GALLERY_RUNS = ROOT / "results" / "docs-gallery"
TUTORIAL = ROOT / "examples" / "tutorial.py"
log = logging.getLogger("mkdocs.plugins.dynlatch")


def on_config(config: Any) -> Any:
    config["nav"] = [
        {"Home": "index.md"},
        {"The question": "question.md"},
        {"Why the one-unit LSTM fails": "explanation.md"},
        {"Tutorial": "tutorial.md"},
        {"Explorer": "explore.md"},
        {"Gallery": ["gallery/index.md", *(f"gallery/{name}.md" for name in STUDIES)]},
        {"Cells and equations": "equations.md"},
        {"API reference": [f"api/{page.stem}.md" for page in API_PAGES]},
        {"References": "references.md"},
        {"Benchmarks": "benchmarks.md"},
    ]
    return config


def _generated(files: Files, config: Any, uri: str, content: str | None = None, source: Path | None = None) -> None:
    files.append(File.generated(config, uri, content=content, abs_src_path=None if source is None else str(source)))


def _directive(identifier: str, **options: Any) -> str:
    lines = [f"::: {identifier}"]
    if options:
        lines.append("    options:")
        lines += [f"      {key}: {json.dumps(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def api_page(page: Any) -> str:
    selected = members(page)
    options = {"members": selected} if selected is not None else {}
    return f"# {page.title}\n\n{page.intro}\n\n" + _directive(page.module, show_root_heading=False, **options)


def equations_page() -> str:
    parts = ["# Cells and equations\n",
             "Every registered cell kind with its gate equations (Keras names for the parameters, one unit shown as "
             "the general vector form), then the reductions [`fixed_points`][dynlatch.dynamics.fixed_points] solves, "
             "what its *certified* lists guarantee, and the QR method behind "
             "[`lyapunov_spectrum`][dynlatch.dynamics.lyapunov_spectrum]. The loss surfaces are on "
             "[dynlatch.landscape](api/landscape.md); the sources of every equation are in "
             "[References](references.md).\n"]
    for kind, identifier in cell_kinds().items():
        parts.append(f"## `{kind}`\n\n" + _directive(identifier, members=False, show_root_heading=True,
                                                         heading_level=3))
    for title, module in EQUATION_MODULES:
        parts.append(f"## {title}\n\n" + _directive(module, members=False, show_root_heading=False))
    return "\n".join(parts)


# -- the gallery -------------------------------------------------------------------------------------------------
def _flag_rows(study: Any) -> list[str]:
    rows = ["| flag | default | `--quick` | meaning |", "|---|---|---|---|"]
    for f in dataclasses.fields(study.config):
        meta = f.metadata.get("dynlatch")
        if not meta or not meta["cli"]:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        quick = "" if type(meta["quick"]) is object else f"`{_short(meta['quick'])}`"  # object(): no quick value
        rows.append(f"| `{flag_name(f)}` | `{_short(default)}` | {quick} | {meta['help'].replace('|', '/')} |")
    return rows


def _short(value: Any) -> str:
    text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def gallery_page(name: str, study: Any, files: Files, config: Any) -> str:
    headline, _, rest = to_markdown(study.description, lambda target: None).strip().partition("\n")
    out = GALLERY_RUNS / name
    lines = [f"# {name}\n", f"**{headline.strip()}**\n", rest.strip() + "\n" if rest.strip() else "",
             "## Command\n", "```", f"dynlatch run {name}                 # full scale -> results/{name}/",
             f"dynlatch run {name} --quick         # CI scale (the figures below)", "```\n",
             f"Source: `dynlatch/studies/{name.replace('-', '_')}.py` (its `STUDY`; the runner is "
             "[`run_study`][dynlatch.studies.run_study]).\n",
             "## Flags\n", "Every study also takes `--quick`, `--out DIR`, `--seed S`, `--quiet`, `--device` and "
             "`--force`.\n", *_flag_rows(study), ""]
    summary_path = out / "summary.json"
    if not summary_path.is_file():
        log.warning(f"gallery: no quick run of {name} in {out} (make gallery runs it)")
        return "\n".join(lines)
    summary = json.loads(summary_path.read_text())
    written = [k for k in summary if k not in ("config", "provenance")]
    described = dict(study.summary_keys)
    undescribed = [k for k in written if k not in described]
    if undescribed:
        log.warning(f"gallery: {name} writes summary keys it does not describe (Study.summary_keys): {undescribed}")
    lines += ["## Figures (quick run)\n"]
    for png in sorted(out.glob("*.png")):
        uri = f"gallery/{name}/{png.name}"
        _generated(files, config, uri, source=png)
        lines += [f"### {png.stem}\n", f"![{png.stem}]({name}/{png.name})\n"]
    if not any(out.glob("*.png")):
        lines.append("This study writes no figure; its results are the tables and the summary below.\n")
    lines += ["## Summary keys\n",
              f"`summary.json` holds the run's `config` (its flags) and `provenance` (versions, commit, machine), "
              f"then these keys:\n", "| key | meaning |", "|---|---|"]
    lines += [f"| `{key}` | {text.replace('|', '/')}{'' if key in written else ' (not written by this run)'} |"
              for key, text in described.items()]
    times = GALLERY_RUNS / "seconds.json"
    seconds = json.loads(times.read_text()).get(name) if times.is_file() else None
    lines.append("\nOther files it writes: " + ", ".join(f"`{p.name}`" for p in sorted(out.iterdir())
                                                        if p.is_file() and p.suffix not in (".png",)
                                                        and not p.name.startswith(".")) + ".")
    if seconds:
        lines.append(f"\nThe quick run took {seconds:.0f} s.")
    return "\n".join(lines) + "\n"


def gallery_index() -> str:
    rows = ["| study | what it answers |", "|---|---|"]
    rows += [f"| [{name}]({name}.md) | {study.headline.replace('|', '/')} |" for name, study in STUDIES.items()]
    return ("# Study gallery\n\nEach study is one command, `dynlatch run NAME`, writing tidy CSV tables, figures and a "
            "`summary.json` into `results/NAME/` (`--out DIR` elsewhere). The figures here come from the `--quick` "
            "run the site's build makes (`make gallery`): smaller sizes, the same keys; the full-scale numbers are in "
            "the README and the paper.\n\n" + "\n".join(rows) + "\n")


# -- the tutorial ------------------------------------------------------------------------------------------------
def tutorial_page() -> str:
    """``examples/tutorial.py`` (jupytext percent format): markdown cells as text, code cells as code blocks."""
    text = TUTORIAL.read_text()
    body = re.sub(r"\A# ---\n.*?# ---\n", "", text, flags=re.S)  # the jupytext header
    note = ("!!! note \"Run it\"\n    This page is `examples/tutorial.py`, the twin of `examples/tutorial.ipynb`: "
            "open the notebook in Jupyter, or run `make notebook`, which executes it at quick scale.\n")
    out: list[str] = []
    for cell in re.split(r"^# %%", body, flags=re.M)[1:]:
        header, _, content = cell.partition("\n")
        if header.strip().startswith("[markdown]"):
            out.append(re.sub(r"^# ?", "", content.strip(), flags=re.M) + "\n")
            if len(out) == 1:
                out.append(note)  # under the notebook's title
        elif content.strip():
            out.append("```python\n" + content.strip() + "\n```\n")
    return "\n".join(out)


def on_files(files: Files, config: Any) -> Files:
    for page in API_PAGES:
        _generated(files, config, f"api/{page.stem}.md", content=api_page(page))
    _generated(files, config, "equations.md", content=equations_page())
    _generated(files, config, "gallery/index.md", content=gallery_index())
    for name, study in STUDIES.items():
        _generated(files, config, f"gallery/{name}.md", content=gallery_page(name, study, files, config))
    _generated(files, config, "tutorial.md", content=tutorial_page())
    return files


def on_post_build(config: Any) -> None:
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(source, Path(config["site_dir"]) / "assets" / "mathjax", dirs_exist_ok=True)
