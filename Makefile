# make demo: set everything up (.venv, pinned dependencies) and run the main job at quick scale.
# make test: run the test suite in TEST_WORKERS processes (pytest-xdist; default 2, one per core of the CI machine).
# make soak: every study killed at random moments and rerun, against its uninterrupted result (about 5 minutes).
# make cluster-demo: the quick sweep through a local Dask cluster (a scheduler and two workers), checked against the
#             local run, the cluster shut down after (docs/scaling.md).
# make paper: build paper/main.pdf from the committed full-scale results (installs LaTeX from Debian if missing);
#             RERUN=1 recomputes them, SCALE=quick runs the quick analyses instead (see below).
# make docs: the documentation site in site/ (strict mkdocs build; the gallery's quick runs first, see below).
# make notebook: execute examples/tutorial.ipynb (after checking its .py twin agrees).
# make browser: Debian's chromium and chromedriver, for the explorer's browser test (installed if missing).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_WORKERS ?= 2

.PHONY: setup demo test soak sweep bench cluster-demo clean paper paper-numbers latex docs docs-setup gallery notebook browser

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(STAMP)

# The docs extra (mkdocs-material, mkdocstrings, nbclient, ...) goes into the same .venv.
DOCS_STAMP := $(VENV)/.docs-installed

docs-setup: $(DOCS_STAMP)

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,docs]"
	touch $(DOCS_STAMP)

# The gallery shows every study's --quick run (6-7 minutes on 2 cores for all thirteen; latching-landscape,
# bifurcations and lstm-failure take most of it); runs already in results/docs-gallery/ are kept. Then the strict build: a warning fails it.
gallery: docs-setup
	$(BIN)/python docsite/gallery.py

docs: gallery
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	@echo "site: site/index.html"

notebook: docs-setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python docsite/run_notebook.py examples/tutorial.ipynb

BROWSER_PACKAGES := chromium chromium-driver

browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { echo "chromium or chromedriver missing: installing from Debian ($(BROWSER_PACKAGES))"; \
	  $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BROWSER_PACKAGES); }

demo: setup
	$(BIN)/dynlatch run latching-sweep --quick --out results/latching-sweep-quick
	@echo "figure: results/latching-sweep-quick/success_vs_length.png (and .pdf); numbers: summary.json, runs.csv"

test: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

soak: setup
	$(BIN)/python -m pytest -q -m soak

sweep: setup
	$(BIN)/dynlatch run latching-sweep

bench: setup
	$(BIN)/dynlatch bench sweep

cluster-demo: setup
	$(BIN)/dynlatch bench cluster --out results/cluster-demo

# The paper: numbers and figures come from the analyses' summary.json files (never retyped).
#   make paper                 the full-scale results committed in paper/results/full (nothing is rerun; minutes)
#   make paper RERUN=1         recompute them into results/paper-full (hours; resumes: only analyses without a
#                              summary run), publish them to paper/results/full, then build
#   make paper SCALE=quick     quick runs into results/paper-quick (~40 min), placeholder numbers
# Every build ends with `dynlatch paper --check-pdf`: each number main.tex prints is in the PDF's text, no ??.
SCALE   ?= full
RERUN   ?=
PUBLISHED := paper/results/full
ifeq ($(SCALE)$(RERUN),full)
RESULTS ?= $(PUBLISHED)
RUN_FLAGS :=
else
RESULTS ?= results/paper-$(SCALE)
RUN_FLAGS := --run $(SCALE) $(if $(filter full,$(SCALE)),--publish $(PUBLISHED))
endif
LATEX_PACKAGES := latexmk texlive-latex-recommended texlive-fonts-recommended poppler-utils
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)

paper: paper-numbers latex
	cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error -file-line-error main.tex
	$(BIN)/dynlatch paper --check-pdf paper/main.pdf
	@echo "paper: paper/main.pdf (numbers from $(RESULTS), scale $(SCALE))"

paper-numbers: setup
	$(BIN)/dynlatch paper --results $(RESULTS) $(RUN_FLAGS)

latex:
	@command -v latexmk >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 || { echo "LaTeX or pdftotext missing: installing from Debian ($(LATEX_PACKAGES))"; \
	  $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(LATEX_PACKAGES); }

clean:
	rm -rf results .pytest_cache site
	cd paper && latexmk -C -quiet main.tex 2>/dev/null || true
