# Corridor: `make demo` runs the product on a local broker, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CODE := corridor producers processors consumers schemas tests bench
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Corridor needs Python 3.11 or newer ($(PYTHON) is older)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

.PHONY: install
install: $(BIN)/.installed ## Create the local virtualenv with Corridor and its dev tools.

.PHONY: lint
lint: install ## ruff (lint and format check) and mypy --strict.
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy

.PHONY: unit
unit: install ## Unit tests only (no broker).
	$(BIN)/pytest tests/unit -q $(PYTEST_ARGS)

.PHONY: system-deps
system-deps: ## Debian packages the tests drive: chromium (live page), prometheus (promtool).
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/promtool ] && [ -x /usr/bin/prometheus ]; then \
		echo "chromium and prometheus are installed"; \
	else \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			chromium prometheus; \
	fi

.PHONY: test
test: lint system-deps ## The whole suite: lint, unit, integration and system tests on real Kafka.
	$(BIN)/pytest tests $(PYTEST_ARGS)

# The broker-fault stream of `make chaos` is the full 20,000 alerts; inside `make test`
# it is shorter (the test's default) to keep the whole suite within CI's time budget.
CHAOS_BROKER_ALERTS ?= 20000

.PHONY: chaos
chaos: install ## Faults and hostile input on real Kafka (1 and 3 nodes), with a closing table.
	CORRIDOR_CHAOS_BROKER_ALERTS=$(CHAOS_BROKER_ALERTS) $(BIN)/pytest -m chaos tests/chaos $(PYTEST_ARGS)

.PHONY: demo
demo: install ## The whole pipeline on a local broker with a sample network (Ctrl-C to stop).
	$(BIN)/corridor demo $(DEMO_ARGS)

.PHONY: down
down: install ## Stop the local broker started by `make demo`.
	$(BIN)/corridor infra down

.PHONY: bench
bench: install ## Benchmarks on a fresh local broker (about 10 min; BENCH_ARGS=--quick for 2).
	$(BIN)/corridor bench $(BENCH_ARGS)

.PHONY: clean
clean: ## Stop the local broker and remove the virtualenv, caches and local state.
	-[ -x $(BIN)/corridor ] && $(BIN)/corridor infra down
	rm -rf $(VENV) .cache .corridor .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info
