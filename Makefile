# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-fast lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,examples]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/chaoskit run experiments/netflix_az.yaml

test: $(BIN)/.installed
	$(BIN)/pytest

test-fast: $(BIN)/.installed
	$(BIN)/pytest tests/unit

lint: $(BIN)/.installed
	$(BIN)/ruff check chaoskit targets tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.proxy
	$(BIN)/python -m benchmarks.load

clean:
	rm -rf $(VENV) reports/*/
