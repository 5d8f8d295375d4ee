# regole: the two quick-start commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test lint typecheck bench fuzz clean help messages

help:
	@echo "make run    - create the environment if needed, evaluate the bundled example"
	@echo "make serve  - the HTTP API and the playground on http://127.0.0.1:8000/ (PORT=8001 to change)"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make bench  - run the benchmarks (figures and ratios; add --million by hand for the 1M run)"
	@echo "make fuzz   - long property-based fuzzing run"
	@echo "make clean  - remove the environment and caches"
	@echo "make messages - extract the translatable strings, update the it/en catalogs, compile them"

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

# gettext catalogs (engine/locale/, domain "regole"): extract the English msgids, merge them into the Italian
# and English catalogs, compile the .mo files (committed; tests/test_i18n.py checks they match the .po files).
LOCALES := engine/locale
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --omit-header \
		--no-wrap --project regole -o $(LOCALES)/regole.pot engine engine/_docs_templates
	for lang in it en; do \
		if [ -f $(LOCALES)/$$lang/LC_MESSAGES/regole.po ]; then \
			$(BIN)/pybabel update -D regole -l $$lang -i $(LOCALES)/regole.pot -d $(LOCALES) \
				--no-fuzzy-matching --ignore-obsolete --no-wrap; \
		else $(BIN)/pybabel init -D regole -l $$lang -i $(LOCALES)/regole.pot -d $(LOCALES) --no-wrap; fi; \
	done
	sed -i '/^"POT-Creation-Date: /d' $(LOCALES)/*/LC_MESSAGES/regole.po  # no churn (and no conflicts) per run
	$(BIN)/pybabel compile --statistics -D regole -d $(LOCALES)
