# Two commands do everything on a fresh machine with only python3: `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: dev test lint bench histories install clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

## The local stack: Temporal dev server + UI (:8233), the Graph emulator, the worker. Ctrl-C stops it.
dev: $(INSTALLED)
	$(BIN)/python scripts/dev_stack.py

## The whole suite: unit, workflow (time-skipping server) and integration (dev server) tests.
test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Re-record tests/replay/histories (the workflow histories `make test` replays); commit them.
histories: $(INSTALLED)
	$(BIN)/python -m tests.replay.record

## Benchmarks against a bare Temporal baseline in the same run; prints one table.
bench: $(INSTALLED)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .data .pytest_cache .ruff_cache
