# Two commands matter: `make demo` (offline, real bundled data) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
DEMO_DB := snapshots/demo.duckdb
SAMPLE := snapshots/sample/hf_downloads_30d_2024H2.csv.gz
FINETUNES := snapshots/sample/finetunes_2025-02-18.csv.gz

.PHONY: demo test lint typecheck unit pytest-all install dev clean bench bench-full

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(DEVSTAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@ $(STAMP)

install: $(STAMP)
dev: $(DEVSTAMP)

REPORT := snapshots/report
SITE   := snapshots/site
# PNGs in the report need a Chromium; the HTML report does not.
PNG_FLAG := $(if $(shell command -v chromium || command -v chromium-browser || command -v google-chrome),--png,--no-png)

demo: $(STAMP)
	rm -f $(DEMO_DB) $(DEMO_DB).wal
	$(BIN)/ram --db $(DEMO_DB) import panel $(SAMPLE)
	$(BIN)/ram --db $(DEMO_DB) import derivatives $(FINETUNES)
	$(BIN)/ram --db $(DEMO_DB) top --day 30 --limit 5 --format table
	$(BIN)/ram --db $(DEMO_DB) report --out $(REPORT) $(PNG_FLAG)
	$(BIN)/ram --db $(DEMO_DB) publish $(SITE)
	@echo "Report: $(REPORT)/index.html; site: $(SITE)/index.html (both open offline)"

lint: $(DEVSTAMP)
	$(BIN)/ruff check ram collectors tests benchmarks
	$(BIN)/ruff format --check ram collectors tests benchmarks

typecheck: $(DEVSTAMP)
	$(BIN)/mypy

unit: $(DEVSTAMP)
	$(BIN)/pytest -m "not slow"

pytest-all: $(DEVSTAMP)
	$(BIN)/pytest

test: lint typecheck pytest-all

bench: $(DEVSTAMP)
	$(BIN)/python -m benchmarks.run --quick

bench-full: $(DEVSTAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(DEMO_DB) $(DEMO_DB).wal $(SITE)
