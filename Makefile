# Two commands matter: `make demo` and `make test`. Both build the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-nightly bench-crypto bench-faults mutation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/takedown demo

test: $(STAMP)
	$(BIN)/ruff check takedown tests bench
	$(BIN)/ruff format --check takedown tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py

bench-nightly: $(STAMP)
	$(BIN)/python bench/nightly.py

bench-crypto: $(STAMP)
	$(BIN)/python bench/crypto.py

bench-faults: $(STAMP)
	$(BIN)/python bench/faults.py

# Slow (the tests run once per mutant), so not part of `make test`; results stay in mutants/.
mutation: $(STAMP)
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/python bench/mutation_score.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
