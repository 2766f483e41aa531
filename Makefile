# zhongtai — make help lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.zt-installed
UV_VERSION := 0.13.9
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := false
export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: help install run test lint bench bench-splink lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

install: $(STAMP) ## build .venv with every pinned dependency and the zt command (no-op when up to date)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

run: install ## the whole daily pipeline on the embedded default (generates a demo day if landing is empty)
	$(BIN)/zt run --demo

test: install ## the whole suite (what CI runs)
	$(BIN)/python -m pytest

lint: install ## ruff and mypy
	$(BIN)/ruff check zhongtai dags spark_jobs tests
	$(BIN)/ruff format --check zhongtai dags spark_jobs tests
	$(BIN)/mypy

bench: install ## the benchmark scripts at their default sizes (figures go to the README; slow)
	@for b in generate ingest clean match; do echo "== bench/bench_$$b.py"; $(BIN)/python bench/bench_$$b.py || exit 1; done

BENCH_DIR ?= ../bench
bench-splink: install ## our linker and Splink side by side on the same records (Splink in .venv-bench; slow)
	@test -x .venv-bench/bin/python || ($(PYTHON) -m venv .venv-bench && .venv-bench/bin/pip install -q "uv==$(UV_VERSION)" && .venv-bench/bin/uv pip install -q --python .venv-bench/bin/python -r bench/requirements-splink.txt)
	$(BIN)/python bench/bench_vs_splink.py --workdir $(BENCH_DIR)/splink-100k --reuse --out $(BENCH_DIR)/splink-100k/figures.json

lock: ## re-pin requirements.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -q -o requirements.lock
	sed -i "1i # Pinned environment for zhongtai (make lock regenerates it from pyproject.toml)." requirements.lock

clean: ## remove run state (lake, warehouse, Airflow home); keeps .venv
	rm -rf lake warehouse .zt truth
