# cogfit: `make run` runs the pipeline on the embedded example, `make test` runs the tests.
# Both create .venv and install cogfit into it when needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all

export PATH := $(BIN):$(PATH)

.PHONY: install run test lint report clean-results bench bench-devices bench-analysis

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)
	@echo "Report: results/report/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts data benchmarks
	$(BIN)/ruff format --check src tests scripts data benchmarks
	$(BIN)/snakemake --lint

report: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --report report.html

clean-results:
	rm -rf results .snakemake

bench-devices: $(STAMP)
	$(BIN)/python benchmarks/device_scaling.py

bench-analysis: $(STAMP)
	$(BIN)/python benchmarks/analysis.py

# cogfit vs tutorial NumPyro vs Stan (PyStan from the optional "bench" extra), then
# cogfit vs Stan on igt_orl and gng_m4 (benchmarks/families.py)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/families.py
