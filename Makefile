# Everything a fresh clone needs, with only python3 (3.11+) and PyPI: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-unit docs conformance bench

# The virtual environment is made once; its interpreter stands for it.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The main job: the Order Processing System on a stepfn server, on the seed's example order.
demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python examples/order_processing/main.py

test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# Debian's chromium for the console's browser tests (they skip, saying so, without it).
	bash scripts/ensure_chromium.sh || echo "chromium could not be installed: browser tests skip"
	# Debian's PostgreSQL server binaries: the store suites start a throwaway server.
	bash scripts/ensure_postgres.sh || echo "postgresql could not be installed: its tests skip"
	# The Order Processing System's Node dependencies (better-sqlite3, built from source).
	[ -d examples/order_processing/functions/node_modules ] || npm ci --prefix examples/order_processing/functions || echo "npm ci failed: the Order Processing tests install it again or skip"
	$(BIN)/ruff check src tests
	$(BIN)/mypy src
	$(BIN)/pytest

# The unit tier alone: in-process tests, under a minute (tests/conftest.py gives the tiers).
test-unit: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/pytest -m unit -q

# Rewrite docs/cli.md from the commands' --help (a test fails when it is stale).
docs: $(BIN)/python
	$(BIN)/python scripts/gen_cli_docs.py

# The AWS-recorded cases, per category (STEPFN_CONFORMANCE_DIR or ../shared/conformance/cases).
conformance: $(BIN)/python
	$(BIN)/python scripts/conformance.py

# Throughput and latency on the shared workloads (STEPFN_BENCH_DIR or ../shared/bench).
bench: $(BIN)/python
	$(BIN)/python bench/run_workloads.py
