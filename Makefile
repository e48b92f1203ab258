# Two commands on a fresh machine: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run console test lint typecheck unit eval bench catalogs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/chokepoint run

console: $(STAMP)
	$(BIN)/chokepoint console

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

eval: $(STAMP)
	$(BIN)/python -m tests.evaluate

# `make bench` runs every benchmark; `make bench peer measure` runs those named (bench/__main__.py checks the names):
# the words after `bench` become targets that do nothing, so make does not look for rules to build them.
ifeq ($(firstword $(MAKECMDGOALS)),bench)
BENCH_NAMES := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
ifneq ($(BENCH_NAMES),)
$(eval $(BENCH_NAMES):;@:)
endif
endif
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_NAMES)

# The message catalogs: every message id of the code into bot/domain/locale/LANG.po (new ones untranslated).
LOCALE := bot/domain/locale
catalogs: $(STAMP)
	$(BIN)/pybabel extract -k NP_:1c,2 -k Problem --no-location --omit-header --sort-output -o $(LOCALE)/messages.pot bot handlers jobs
	for po in $(LOCALE)/*.po; do \
		$(BIN)/pybabel update -w 120 --no-fuzzy-matching --omit-header --ignore-obsolete -i $(LOCALE)/messages.pot -o $$po \
			-l $$(basename $$po .po); done
	rm $(LOCALE)/messages.pot

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
