# The two commands of the README's quick start, plus what CI and benchmarks run.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test lint typecheck unit bench clean

$(BIN)/signals: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## run: install, then poll every source in sources.toml once and print a summary
run: $(BIN)/signals
	$(BIN)/signals run --once

## test: install, then lint, type-check and run the whole test suite
test: lint typecheck unit

lint: $(BIN)/signals
	$(BIN)/ruff check signals tests bench
	$(BIN)/ruff format --check signals tests bench

typecheck: $(BIN)/signals
	$(BIN)/mypy

unit: $(BIN)/signals
	$(BIN)/pytest

## bench: the speed measurements (JSON lines on stdout)
bench: $(BIN)/signals
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/sources.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/tag.py
	$(BIN)/python bench/stories.py
	$(BIN)/python bench/query.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
