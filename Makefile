# Kaikukanta: `make run` serves the demo, `make test` runs every test. Both set up first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Development defaults; production sets its own environment (see README).
export DEBUG ?= true
HOST ?= 127.0.0.1
PORT ?= 8000

# The first Python >= 3.12 found: python3.13, python3.12, pyenv's, then python3.
PYTHON ?= $(shell for c in python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 python3 python; do \
	command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$c; break; }; done)

.PHONY: run test setup lint format messages e2e bench clean

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "ERROR: Kaikukanta needs Python 3.12 or newer (3.13 recommended); none was found on PATH or in pyenv." >&2; exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A development checkout gets a .env with DEBUG on, so plain `manage.py` commands work here too.
# Production has no .env: there DEBUG stays off unless the environment says otherwise.
.env:
	@printf '# Development settings for this checkout (not committed). See README.md.\nDEBUG=true\n' > $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python .env
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(VENV)/.installed
	$(BIN)/python manage.py compile_locale
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py createcachetable

# Links in emails follow the address served here (unless SITE_URL is set in the environment).
run: setup
	SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}" $(BIN)/python manage.py seed_demo
	@echo "Serving Kaikukanta at http://$(HOST):$(PORT)/  (Ctrl+C stops)"
	SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}" $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed
	$(BIN)/python manage.py compile_locale
	$(BIN)/python -m pytest $(PYTEST_ARGS)

e2e: $(VENV)/.installed
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: $(VENV)/.installed
	$(BIN)/python manage.py makemessages -l fi -l sv --ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*' --no-obsolete
	$(BIN)/python manage.py compile_locale

# Benchmarks on PostgreSQL (BENCH_DATABASE_URL; a database of its own, seeded with the large data
# set on first use, which takes minutes). They print numbers; nothing here passes or fails.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/kk_bench
bench: setup
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/load.py --database-url $(BENCH_DATABASE_URL)
	$(BIN)/python bench/bench_pages.py --database-url $(BENCH_DATABASE_URL)
	$(BIN)/python bench/bench_prepared.py --database-url $(BENCH_DATABASE_URL)
	if command -v valgrind >/dev/null; then $(BIN)/python bench/bench_instructions.py --database-url $(BENCH_DATABASE_URL); else echo "valgrind is not installed: bench/bench_instructions.py skipped"; fi
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/bench_queries.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/bench_stats.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/bench_stats.py --cold --runs 3
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/bench_stats.py --cold --runs 3 --changes 60

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
