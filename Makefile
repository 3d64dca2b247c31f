# Heard — developer commands. `make help` lists them; CI (.ci/run) calls the same targets.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
PYTEST ?= $(PYTHON) -m pytest
PYTEST_ARGS ?= -n 2

.DEFAULT_GOAL := help
.PHONY: help install install-test serve test test-sqlite test-postgres lint bench eval weights

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install:  ## install Heard
	$(PIP) install -q -e .

install-test:  ## install Heard with the test and lint tools
	$(PIP) install -q -e '.[test]'
	scripts/ensure-browser.sh
	bash scripts/ensure-test-services.sh  # dovecot (IMAP/POP3) for the email tests

serve: install  ## install and start Heard on SQLite with demo data (http://127.0.0.1:8000)
	heard serve --demo

test: install-test  ## install test dependencies, lint, and run the whole suite on SQLite and PostgreSQL
	$(MAKE) lint
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite:  ## the suite on SQLite
	HEARD_TEST_DB=sqlite $(PYTEST) $(PYTEST_ARGS)

test-postgres:  ## the suite on PostgreSQL (127.0.0.1:5432; fails loudly if unreachable)
	HEARD_TEST_DB=postgresql $(PYTEST) $(PYTEST_ARGS)

lint:  ## ruff and mypy --strict
	$(PYTHON) -m ruff check heard tests benchmarks scripts
	$(PYTHON) -m mypy

bench:  ## run every benchmark (results: docs/benchmarks.md)
	for b in benchmarks/bench_*.py; do $(PYTHON) $$b || exit 1; done

eval:  ## evaluate the empathy engine, reply coach and email parser on the shared corpora
	heard eval empathy
	heard eval coach
	heard eval email

weights:  ## rebuild the empathy engine's shipped weights bit for bit (about 2 min)
	$(PYTHON) scripts/train_empathy.py
	$(PYTHON) scripts/train_abuse.py
