# Two entry points (README): `make run` and `make test`. Both create .venv on first use
# with the Python that .python-version selects (pyenv's 3.12.1 here) and install the
# package with its dev extra; later calls reuse it until pyproject.toml changes.
PYTHON ?= python
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SCENARIO ?= scenarios/paper_example.toml

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), f"Python >= 3.12 needed, found {sys.version.split()[0]} (pyenv: 3.12.1 via .python-version)"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/market solve $(SCENARIO)
	$(BIN)/market compare $(SCENARIO) --plot

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_market.py

clean:
	rm -rf $(VENV)
