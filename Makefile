# Bürgerbüro per Video — developer and operator entry points.
#   make run    create .venv, install, migrate var/buergerbuero.db, load the demo, serve :8000
#   make test   install the test dependencies and run the whole suite (in parallel)
# Installs are skipped while pyproject.toml is unchanged (stamp files in .venv/).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP      := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PYTEST_ARGS ?=
# Test processes (pytest-xdist): auto = one per CPU core; 0 runs the suite in this process.
PYTEST_WORKERS ?= auto

.DEFAULT_GOAL := help
.PHONY: help run test lint fmt install install-test clean bench

help:
	@echo "make run     install, migrate, load demo data, serve http://127.0.0.1:8000"
	@echo "make test    install test dependencies and run the whole test suite"
	@echo "make lint    ruff and mypy (strict)"
	@echo "make bench   run the benchmarks against their ceilings (installs wrk if missing)"
	@echo "make fmt     let ruff fix what it can and format the code"
	@echo "make clean   remove the virtualenv and caches (keeps var/: database, keys, mail)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv installs (README "Development"): the same packages as pip, resolved and unpacked in seconds
# instead of about a minute of pip's CPU. Should uv itself fail, pip does the install.
$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q uv \
		|| echo "uv could not be installed: pip installs the packages instead"

$(STAMP): pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e . \
		|| $(BIN)/python -m pip install --disable-pip-version-check -q -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[test]' \
		|| $(BIN)/python -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $@ $(STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/buergerbuero migrate
	$(BIN)/buergerbuero demo
	$(BIN)/buergerbuero serve

# --dist loadgroup: tests marked xdist_group(name) run in one worker, one after another
# (README "Development"); all others go to whichever worker is free. Then the calls through
# real networks (marker `network`) run alone: their timings (an ICE restart within 5 s of the
# network's return) are the network's, not the rest of the suite's load. Exit code 5 is "no
# test selected" (PYTEST_ARGS naming only one kind).
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not network" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -p no:randomly -m network $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Benchmarks (bench/, README "Benchmarks"): never part of `make test`. BENCH_ARGS e.g.
# "--rooms 1000 --seconds 10 --only availability,race"; BUERO_BENCH_POSTGRES_URL adds Postgres.
BENCH_ARGS ?=

bench: $(TEST_STAMP)
	@command -v wrk >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y -q wrk || { apt-get update -q && apt-get install -y -q wrk; }; \
		else sudo apt-get install -y -q wrk || { sudo apt-get update -q && sudo apt-get install -y -q wrk; }; fi; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

fmt: $(TEST_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
