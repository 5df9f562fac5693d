# make demo: set everything up (.venv, pinned dependencies) and run the main job at quick scale.
# make test: run the test suite.
# make paper: run the analyses the paper reads (SCALE=quick, 37 min measured on 2 busy cores; SCALE=full, hours), generate its
#             numbers and figures, install LaTeX from Debian if latexmk is missing, build paper/main.pdf.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test sweep bench clean paper paper-numbers latex

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(STAMP)

demo: setup
	$(BIN)/dynlatch run latching-sweep --quick --out results/latching-sweep-quick
	@echo "figure: results/latching-sweep-quick/success_vs_length.png (and .pdf); numbers: summary.json, runs.csv"

test: setup
	$(BIN)/python -m pytest -q

sweep: setup
	$(BIN)/dynlatch run latching-sweep

bench: setup
	$(BIN)/dynlatch bench sweep

# The paper: numbers and figures come from the analyses' summary.json files in $(RESULTS) (never retyped).
SCALE   ?= quick
RESULTS ?= results/paper-$(SCALE)
LATEX_PACKAGES := latexmk texlive-latex-recommended texlive-fonts-recommended
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)

paper: paper-numbers latex
	cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error -file-line-error main.tex
	@echo "paper: paper/main.pdf (numbers from $(RESULTS), scale $(SCALE))"

paper-numbers: setup
	$(BIN)/dynlatch paper --results $(RESULTS) --run $(SCALE)

latex:
	@command -v latexmk >/dev/null 2>&1 || { echo "latexmk missing: installing LaTeX from Debian ($(LATEX_PACKAGES))"; \
	  $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(LATEX_PACKAGES); }

clean:
	rm -rf results .pytest_cache
	cd paper && latexmk -C -quiet main.tex 2>/dev/null || true
