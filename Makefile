# regole: the two quick-start commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test lint typecheck bench fuzz clean help

help:
	@echo "make run    - create the environment if needed, evaluate the bundled example"
	@echo "make serve  - the HTTP API and the playground on http://127.0.0.1:8000/ (PORT=8001 to change)"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make bench  - run the benchmarks (figures and ratios; add --million by hand for the 1M run)"
	@echo "make fuzz   - long property-based fuzzing run"
	@echo "make clean  - remove the environment and caches"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/regole evaluate examples/iscro-2024-ammessa.json

serve: $(STAMP)
	$(BIN)/regole serve --port $(or $(PORT),8000)

test: $(STAMP)
	$(BIN)/ruff check engine tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_kernel.py
	$(BIN)/python benchmarks/bench_impact.py
	$(BIN)/python benchmarks/bench_service.py
	$(BIN)/python benchmarks/bench_population.py --n 200000 --rete-n 20000 --growth 100000,1000000

fuzz: $(STAMP)
	REGOLE_FUZZ_EXAMPLES=20000 $(BIN)/python -m pytest tests/test_fuzz.py -p no:cacheprovider

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
