# gridmgmt — the two commands: `make run` and `make test`.
SHELL := /bin/bash
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 3
SCALE ?= district
PY := .venv/bin/python
MANAGE := $(PY) manage.py

.PHONY: run web worker beat test setup lint bench

setup:
	@scripts/setup.sh

# The web server, the task queue's worker and its scheduler (scripts/run.sh; README, "Processes").
run: setup
	@$(MANAGE) prepare --scale $(SCALE) --url http://$(HOST):$(PORT)
	@HOST=$(HOST) PORT=$(PORT) WORKERS=$(WORKERS) exec scripts/run.sh

# One process each, e.g. on machines of their own (after `make setup` and `manage.py prepare` once).
web worker beat: setup
	@HOST=$(HOST) PORT=$(PORT) WORKERS=$(WORKERS) exec scripts/run.sh $@

lint: setup
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@$(MANAGE) makemigrations --check --dry-run

test: lint
	@WITH_BROWSER=1 scripts/setup.sh
	@.venv/bin/pytest $(PYTEST_ARGS)

# make bench [SCALE=small|district|city] [BENCH_WRITE=1] [BENCH_REBUILD=1]: bench/README.md (Chromium for the phone
# app's row).
bench:
	@WITH_BROWSER=1 scripts/setup.sh
	@$(PY) -m bench.run --scale $(SCALE) $(if $(filter 1,$(BENCH_WRITE)),--write) \
		$(if $(filter 1,$(BENCH_REBUILD)),--rebuild)
