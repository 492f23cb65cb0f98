# Single entry points: CI calls the same targets (see .ci/run).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install bench test test-fast lint clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

bench: install
	$(BIN)/bench run quick

# The end-to-end test renders the report in headless Chromium (Debian's package).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: the e2e test will be skipped (sudo apt-get install chromium)"; fi; }

test: install chromium
	$(BIN)/python -m pytest -q

# The inner loop: everything but the end-to-end runs (under a minute).
test-fast: install
	$(BIN)/python -m pytest -q -m "not e2e"

lint: install
	$(BIN)/ruff check bench.py target_app harness scenarios locustfiles scripts tests examples
	$(BIN)/ruff format --check bench.py target_app harness scenarios locustfiles scripts tests examples
	$(BIN)/mypy bench.py target_app harness scenarios scripts locustfiles/protocol.py locustfiles/http11.py locustfiles/window.py locustfiles/schedule.py locustfiles/distributed.py

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
