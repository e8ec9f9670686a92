# Switchboard: `make run` to try it, `make test` to check it. Both install what they need.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
FRONTEND_SOURCES := $(shell find frontend/src frontend/index.html frontend/package.json frontend/vite.config.ts -type f 2>/dev/null)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck pytest frontend frontend-test clean

$(UV):
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --user --quiet uv || python3 -m pip install --quiet uv

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && npm run build

frontend: frontend/dist/index.html

install: $(VENV)/.installed frontend

run: install
	$(VENV)/bin/switchboard migrate
	$(VENV)/bin/switchboard seed-demo
	$(VENV)/bin/switchboard run --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# The frontend's pure logic (vitest, in Node; the pages themselves are tested in Chromium).
frontend-test: frontend/node_modules/.installed
	cd frontend && npx vitest run

pytest: install
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test: install lint typecheck frontend-test pytest

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist var .mypy_cache .ruff_cache
