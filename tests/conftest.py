"""Shared test settings."""

import shutil
import socket

import numpy as np
import pytest
import torch


def pytest_collection_modifyitems(items):
    """Under pytest-xdist (``--dist loadgroup``) a test module runs on one worker, so its module-scoped fixtures are
    built once; the modules reading a ``quick_run`` folder share one worker, so each end-to-end study still runs once
    per session, not once per worker."""
    shares_quick_runs = {item.module.__name__ for item in items if "quick_run" in getattr(item, "fixturenames", ())}
    for item in items:
        module = item.module.__name__
        item.add_marker(pytest.mark.xdist_group("quick_run" if module in shares_quick_runs else module))


@pytest.fixture(autouse=True, scope="session")
def _single_torch_thread():
    """The tests use tiny tensors: one intra-op thread is faster, and far faster when the CPUs are contended (with
    two threads the torch backward of a 3-unit LSTM took ~100x longer under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def usage_error(tmp_path, capsys):
    """``usage_error(name, argv)`` runs ``dynlatch run name argv --out DIR`` and asserts what every bad command line
    must give: exit code 2, one line on stderr naming an error, and nothing written. Returns that line."""

    def run(name: str, argv: list[str]) -> str:
        from dynlatch._cli import main

        out = tmp_path / "usage-error-out"
        with pytest.raises(SystemExit) as e:
            main(["run", name, *argv, "--out", str(out)])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "error" in err[0], err
        assert not out.exists()
        return err[0]

    return run


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """``quick_run(name)``: the output folder of ``dynlatch run NAME --quick --quiet``, run once per test session and
    shared by every test that reads it (each end-to-end study runs once; tests must not change the folder)."""
    from dynlatch._cli import main

    done: dict[str, object] = {}

    def run(name: str):
        if name not in done:
            out = tmp_path_factory.mktemp(name) / "out"
            assert main(["run", name, "--quick", "--quiet", "--out", str(out)]) == 0
            done[name] = out
        return done[name]

    return run


@pytest.fixture
def latex_tools():
    """Paths of pdflatex and latexmk; skips the test where LaTeX is not installed (``make latex`` installs it from
    Debian: latexmk, texlive-latex-recommended, texlive-fonts-recommended)."""
    tools = {name: shutil.which(name) for name in ("pdflatex", "latexmk")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        pytest.skip(f"LaTeX not installed ({', '.join(missing)} missing; make latex installs it)")
    return tools


@pytest.fixture
def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS's pick, released for the test to bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chromium_tools():
    """Paths of Debian's chromium and chromedriver; skips the test where they are not installed (``make browser``
    installs them)."""
    tools = {name: shutil.which(name) for name in ("chromium", "chromedriver")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        pytest.skip(f"headless Chromium not installed ({', '.join(missing)} missing; make browser installs it)")
    return tools


@pytest.fixture
def random_one_unit_cell():
    """``random_one_unit_cell(cls, gate, *, models, seed, scale, **kw)``: a batch of one-unit cells of class ``cls``
    (any registered kind; ``kw`` to its constructor) with kernel, recurrent kernel and biases drawn N(0, scale^2) and
    gate nonlinearity ``gate``: the random population the dynamics tests check finders against."""

    def make(cls, gate, *, models: int, seed: int, scale: float, **kw):
        rng = np.random.default_rng(seed)
        G = cls.n_gates
        nb = 2 if kw.get("reset_after") else 1
        return cls(rng.normal(0, scale, (models, 1, G)), rng.normal(0, scale, (models, 1, G)),
                   rng.normal(0, scale, (models, nb, G)), batched=True, recurrent_activation=gate, **kw)

    return make
