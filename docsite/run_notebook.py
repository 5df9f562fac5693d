"""``python docsite/run_notebook.py [NOTEBOOK]``: execute the tutorial notebook (default ``examples/tutorial.ipynb``)
from top to bottom with nbclient, after checking that its jupytext twin (``.py``, percent format) holds the same
cells. Any error in a cell, or a twin that disagrees, is one line on stderr and exit code 1. The executed copy (with
its outputs) goes to ``results/tutorial/tutorial.ipynb``; the committed notebook stays output-free."""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docsite.notebook_twin import twin_disagreement  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "examples" / "tutorial.ipynb"
EXECUTED = ROOT / "results" / "tutorial"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT
    problem = twin_disagreement(path)
    if problem:
        print(f"run_notebook: error: {problem}", file=sys.stderr)
        return 1
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dynlatch-notebook-") as folder:
        client = NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": folder}})
        try:
            client.execute()
        except CellExecutionError as e:
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))  # the traceback's terminal colours
            lines = [line for line in text.splitlines() if line.strip()]
            print(f"run_notebook: error: {path.name}: {lines[-1] if lines else 'a cell failed'}", file=sys.stderr)
            return 1
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, EXECUTED / path.name)
    print(f"run_notebook: {path.name} ran without error in {time.perf_counter() - start:.0f} s "
          f"(executed copy: {EXECUTED / path.name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
