# cmk_ilert — every task the README and CI use. Nothing is installed by hand: `make` creates
# .venv from requirements-dev.txt on first use, with the interpreter named by PYTHON (default
# python3). The tooling needs Python 3.10+ (e.g. `make PYTHON=python3.11 test`); the code that
# runs on a Checkmk site needs 3.8+ and is tested under each release's Python by the matrix;
# `make mkp` (the packages) needs only python3 3.8+ and no venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test test-fast test-slow matrix lint mkp bench clean livestatus-server

# Empty when $(PYTHON) can run the tooling, else the one line that says why (tools/check_python.py).
python_problem = $(shell command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: the tooling needs \
Python 3.10+ with venv; run e.g. make PYTHON=python3.11 setup"; exit 0; }; $(PYTHON) tools/check_python.py $(PYTHON))

## The dev venv: the pinned tools, and the checkout's src/ importable (`.venv/bin/python -m cmk_ilert`).
## Beside it the simulated site's Python (.cache/site-python: requests only, never the checkout).
$(VENV)/.ready: requirements-dev.txt tools/link_checkout.py tools/site_python.py
	$(if $(python_problem),$(error $(python_problem)))
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) tools/link_checkout.py
	$(PY) tools/site_python.py
	touch $@

setup: $(VENV)/.ready

## The main job: build the MKPs, install one into a simulated site, run realistic notification
## scenarios through the installed script against the local iLert stand-in (a few seconds).
demo: setup
	$(PY) tools/demo.py

## Everything CI runs: lint, then three stages as nox sessions (noxfile.py), three at a time:
## the test suite, the slow family (crash, storm and budget trials) and the interpreter matrix (the
## script under each release's Python, 3.8 ... 3.13, as far as present; with CI=true a missing one
## fails). tools/matrix.py runs them with nox --parallel and ends with the table of what ran.
## livestatus-server first: the suite runs sync against a real Livestatus server too (icinga2's).
test: setup lint livestatus-server
	@echo "== test suite, slow family, interpreter matrix (nox sessions, 3 at a time)"
	$(PY) tools/matrix.py --suite --slow --jobs 3

test-fast: setup
	$(PY) -m pytest -x -q

test-slow: setup
	$(PY) -m pytest -m slow

matrix: setup
	$(PY) tools/matrix.py --jobs 2

## A real Livestatus server for the suite: Debian's icinga2, installed with apt-get when missing (as
## root; otherwise one line, and the tests that need it are skipped -- with CI=true this fails).
## The tests start their own private daemon (tests/sync/test_real_livestatus.py).
livestatus-server:
	$(PYTHON) tools/icinga2_livestatus.py install

lint: setup
	$(PY) -m ruff check src notifications mkp tools bench tests web cmk_addons_plugins standin noxfile.py
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	/bin/sh tools/check_py38_syntax.sh

## The packages need only python3 3.8+ and its standard library: no venv, nothing from PyPI.
mkp:
	$(PYTHON) mkp/build.py --out dist

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf dist .cache demo-site .pytest_cache .mypy_cache .ruff_cache
