# userstream: `make` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help install run up down status produce test test-faults test-unit bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/userstream: pyproject.toml
	@echo "== creating $(VENV) and installing Python packages"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

install: $(BIN)/userstream ## install Python packages, MariaDB if missing, and the jars
	$(BIN)/userstream install

run: install ## start everything, produce on the default schedule, show status; Ctrl-C stops all
	$(BIN)/userstream run

up: install ## start the local stack and the job in the background
	$(BIN)/userstream up

down: ## stop every process the project started
	$(BIN)/userstream down

status: ## show the job, the topic, rows stored and rejects by reason
	$(BIN)/userstream status

produce: ## send 1,000 profiles now (10% invalid)
	$(BIN)/userstream produce --count 1000 --invalid-rate 0.1

test: install ## run every test but the fault tests; end-to-end tests start the local stack
	$(BIN)/python -m pytest -m "not faults"

test-faults: install ## kill and stop services mid-stream, then reconcile (about 12 minutes)
	$(BIN)/python -m pytest -m faults

bench: install ## measure throughput, latency and memory against baselines; writes docs/benchmarks.md (about 15 minutes)
	$(BIN)/python -m benchmarks.bench

test-unit: $(BIN)/userstream ## run the tests that need no services
	$(BIN)/python -m pytest -m "not stack"

clean: down ## stop the stack and delete its state (.stack)
	rm -rf .stack
