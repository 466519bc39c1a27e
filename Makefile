# Two commands on a fresh machine: `make run` (the app on http://127.0.0.1:8000) and
# `make test` (static checks and the whole test suite). Both create .venv first.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
# Rebuilt whenever a requirements file is newer than the last successful install.
INSTALLED := $(VENV)/.installed
# torch==2.14.1 installs from a local cp311 wheel, so nothing but CPython 3.11 will do.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
IS_PY311 := import sys; sys.exit(sys.version_info[:2] != (3, 11))
PYTEST_ARGS ?=
# mypy's Django plugin imports the settings, which require both URLs; nothing connects.
LINT_ENV := DATABASE_URL=$${DATABASE_URL:-postgres://lint@localhost/hpd} \
	REDIS_URL=$${REDIS_URL:-redis://localhost:6379/0}

.PHONY: help venv run test lint clean-data chromium

# The browser tests drive Debian's chromium package (headless) through Playwright.
CHROMIUM ?= /usr/bin/chromium

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)
	@echo "  make test PYTEST_ARGS=\"-k import\"   passes arguments to pytest"

venv: $(INSTALLED) ## create .venv with Python 3.11 and install requirements-dev.txt

$(VENV_PYTHON):
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: no python3.11 or python3 on PATH; install Python 3.11" >&2; exit 1; fi
	@$(PYTHON) -c '$(IS_PY311)' || { \
		echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'), but 3.11 is required (torch==2.14.1 installs from a cp311 wheel). Install Python 3.11 or run: make PYTHON=/path/to/python3.11 ..." >&2; \
		exit 1; }
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): requirements.txt requirements-dev.txt requirements-compat.txt | $(VENV_PYTHON)
	@$(VENV_PYTHON) -c '$(IS_PY311)' || { \
		echo "error: $(VENV) was made with Python $$($(VENV_PYTHON) -c 'import platform; print(platform.python_version())'), but 3.11 is required; remove it (rm -rf $(VENV)) and run make again" >&2; \
		exit 1; }
	$(VENV_PYTHON) -m pip install --upgrade pip
	$(VENV)/bin/pip install -r requirements-dev.txt
	$(VENV)/bin/pip install --no-deps -r requirements-compat.txt
	$(VENV_PYTHON) scripts/complete_hpsv2.py
	touch $(INSTALLED)

run: venv ## start PostgreSQL, Redis, migrate, seed the demo, run web + Celery (Ctrl-C stops all)
	$(VENV_PYTHON) scripts/stack.py run

chromium: ## install Debian's chromium for the browser tests when it is missing (as root)
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update && apt-get install -y chromium; \
		else \
			echo "error: $(CHROMIUM) is missing; the browser tests need it. Install it with: sudo apt-get install -y chromium (or run make as root)" >&2; \
			exit 1; \
		fi; \
	fi

test: venv chromium ## start PostgreSQL and Redis, run ruff, mypy, Django checks and pytest
	$(VENV_PYTHON) scripts/stack.py test $(PYTEST_ARGS)

lint: venv ## ruff check, ruff format --check, mypy, import contracts (no servers needed)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(LINT_ENV) $(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	$(VENV_PYTHON) scripts/import_cycles.py

clean-data: ## delete .data/ (databases, Redis snapshots, media); stop `make run` first
	rm -rf .data/
