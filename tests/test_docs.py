"""The documentation's own code: the tutorial's two forms agree, every study describes the summary keys a real run
wrote, and docstring markup converts to what mkdocstrings renders (the strict site build itself is ``make docs``)."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from dynlatch.studies import STUDIES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
pytest.importorskip("jupytext", reason="the notebook twin check needs jupytext (the test extra)")
from docsite.notebook_twin import twin_disagreement  # noqa: E402  (after the jupytext check)
from docsite.rest import to_markdown  # noqa: E402

TUTORIAL = ROOT / "examples" / "tutorial.ipynb"
COMMITTED = ROOT / "paper" / "results" / "full"


def test_tutorial_notebook_and_script_agree():
    assert twin_disagreement(TUTORIAL) is None


def test_a_script_edit_not_synced_to_the_notebook_is_found(tmp_path):
    shutil.copy(TUTORIAL, tmp_path / "tutorial.ipynb")
    text = TUTORIAL.with_suffix(".py").read_text()
    (tmp_path / "tutorial.py").write_text(text.replace("range(8)", "range(9)", 1))
    assert "differs" in twin_disagreement(tmp_path / "tutorial.ipynb")
    (tmp_path / "tutorial.py").write_text(text + "\n# %%\nprint('one more cell')\n")
    assert "cells" in twin_disagreement(tmp_path / "tutorial.ipynb")


@pytest.mark.parametrize("name", [n for n in STUDIES if (COMMITTED / n / "summary.json").is_file()])
def test_summary_keys_describe_what_the_full_run_wrote(name):
    """The committed full-scale summaries were written by the studies (the quick runs are checked by the docs build,
    which refuses a key a run writes that its study does not describe)."""
    summary = json.loads((COMMITTED / name / "summary.json").read_text())
    written = [k for k in summary if k not in ("config", "provenance")]
    assert list(STUDIES[name].summary_keys) == written
    assert all(text.strip() for text in STUDIES[name].summary_keys.values())


def test_roles_become_cross_references_or_code():
    known = {"dynlatch.dynamics.fixed_points": "dynlatch.dynamics._fixed_points.fixed_points"}
    text = "See :func:`~dynlatch.dynamics.fixed_points` and :class:`dynlatch._config.Config`, ``x = 1``."
    assert to_markdown(text, known.get) == ("See [`fixed_points()`][dynlatch.dynamics._fixed_points.fixed_points] and "
                                            "`dynlatch._config.Config`, `x = 1`.")


def test_math_directive_and_role_become_arithmatex():
    text = "The map:\n\n    .. math::\n        a &= b \\\\\n        c &= \\text{d\\_e}\n\n    with :math:`x^2`."
    assert to_markdown(text, lambda t: None) == ("The map:\n\n    \\[\n    \\begin{aligned}\n    a &= b \\\\\n"
                                                 "    c &= \\text{d_e}\n    \\end{aligned}\n    \\]\n\n"
                                                 "    with \\(x^2\\).")
    assert to_markdown(".. math:: h = \\tanh(w h)", lambda t: None) == "\\[\nh = \\tanh(w h)\n\\]"


def test_grouped_arguments_become_one_item_each():
    text = ("Do it.\n\nArgs:\n    dtype, device: where it lives\n        (continued).\n    n: count.\n\n"
            "Returns:\n    a, b: no.")
    assert to_markdown(text, lambda t: None) == ("Do it.\n\nArgs:\n    dtype: where it lives\n"
                                                 "    device: where it lives\n        (continued).\n    n: count.\n\n"
                                                 "Returns:\n    a, b: no.")


def test_citations_link_to_their_reference_section_outside_code_and_math():
    text = "As Bengio et al. (1994) showed, not `Bengio et al. 1994` nor :math:`Pascanu et al. 2013`."
    assert to_markdown(text, lambda t: None) == (
        "As [Bengio et al. (1994)][bengio-simard--frasconi-1994-the-latching-neuron] showed, not "
        "`Bengio et al. 1994` nor \\(Pascanu et al. 2013\\).")
