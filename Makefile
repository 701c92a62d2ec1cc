# Developer commands. `make check` is what CI runs (besides the fresh install): lint, types and the
# whole suite; `make test` is the fast suite, without the tests marked slow.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lint format types test check bench demo screenshots

$(BIN)/alertd:
	python3 -m venv $(VENV) && $(BIN)/pip install -e '.[test]'

install: $(BIN)/alertd

lint: install
	$(BIN)/ruff check alertd zones gateways templates tests
	$(BIN)/ruff format --check alertd zones gateways templates tests

format: install
	$(BIN)/ruff format alertd zones gateways templates tests
	$(BIN)/ruff check --fix alertd zones gateways templates tests

types: install
	$(BIN)/mypy

test: install
	$(BIN)/pytest -m "not slow"

check: lint types
	$(BIN)/pytest

bench: install
	$(BIN)/alertd bench import --rows 1000000 --json

demo: install
	$(BIN)/alertd demo

# The README's pictures of the sign-up pages, taken by the browser tests (needs /usr/bin/chromium).
screenshots: install
	ALERTD_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/web/test_browser.py
