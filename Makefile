# cmk_ilert — every task the README and CI use. Nothing is installed by hand:
# `make` creates .venv from requirements-dev.txt on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test test-fast test-slow matrix lint mkp bench clean

$(VENV)/.ready: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(VENV)/.ready

## The main job: build the MKPs, install one into a simulated site, run a realistic
## notification sequence through the installed script against the local iLert stand-in.
demo: setup
	$(PY) tools/demo.py

## Everything CI runs: lint, the test suite, the interpreter matrix (Python 3.8 ... 3.13).
test: setup lint
	$(PY) -m pytest -n 2
	$(PY) tools/matrix.py

test-fast: setup
	$(PY) -m pytest -x -q

test-slow: setup
	$(PY) -m pytest -m slow

matrix: setup
	$(PY) tools/matrix.py

lint: setup
	$(PY) -m ruff check src notifications mkp tools bench tests web cmk_addons_plugins standin
	$(PY) -m mypy
	/bin/sh tools/check_py38_syntax.sh

mkp: setup
	$(PY) mkp/build.py --out dist

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf dist .cache demo-site .pytest_cache .mypy_cache .ruff_cache
