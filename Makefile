# make demo: set everything up (.venv, pinned dependencies) and run the main job at quick scale.
# make test: run the test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test sweep bench clean

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

clean:
	rm -rf results .pytest_cache
