# exchange-edu: `make run` starts everything, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint bench setup system-deps vendor clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

# Web server, one Celery worker and beat, on SQLite and the no-server broker. Ctrl-C stops all.
run: setup
	@mkdir -p var
	DEBUG=1 $(BIN)/python manage.py migrate --no-input -v 0
	DEBUG=1 $(BIN)/python manage.py collectstatic --no-input -v 0
	DEBUG=1 $(BIN)/python manage.py broker_init
	@echo
	@echo "exchange-edu is starting at http://127.0.0.1:$(PORT)/  (API docs: http://127.0.0.1:$(PORT)/api/v1/docs)"
	@DEBUG=1 $(BIN)/python manage.py seed_demo
	@echo "Press Ctrl-C to stop the web server, the worker and beat."
	@echo
	DEBUG=1 WEB_PORT=$(PORT) $(BIN)/honcho start -f Procfile

system-deps:
	bash scripts/install_system_deps.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python scripts/vendor_static.py --check

# Lint, then the whole suite on SQLite + the no-server broker, then the integration set again
# on a throw-away PostgreSQL and Redis started on free ports.
test: setup system-deps lint
	$(BIN)/python -m pytest
	$(BIN)/python scripts/test_services.py -- $(BIN)/python -m pytest -m integration

bench: setup
	$(BIN)/python bench/engine.py --json

# Re-copy front-end libraries from the npm registry (pinned in package.json).
vendor:
	npm ci --no-audit --no-fund
	$(BIN)/python scripts/vendor_static.py

clean:
	rm -rf var $(VENV)
