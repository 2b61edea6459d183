# Two commands for a new user:  `make run`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.signpost-installed

# Offline switches (DESIGN.md): nothing is fetched at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export RAGAS_DO_NOT_TRACK := true
export TOKENIZERS_PARALLELISM := false

.PHONY: help install run serve ingest lint test test-fast eval baseline triage-model section-prior coverage-model bench bench-scale browser-deps clean
.DEFAULT_GOAL := help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# torch goes first, pinned, so pip takes the local CPU wheel instead of a CUDA build;
# everything else resolves inside requirements.lock (a pip constraint file).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

install: $(STAMP)  ## create .venv and install Signpost (pinned)

ingest: install  ## index corpus/ (only what changed)
	$(BIN)/signpost ingest

run: install  ## install, index the corpus if needed, start the web app
	$(BIN)/signpost ingest --quiet
	$(BIN)/signpost serve

serve: install  ## start the web app on the current index
	$(BIN)/signpost serve

# Browser tests need Debian's chromium (never a downloaded browser) and axe-core.
browser-deps:
	@command -v chromium >/dev/null || { echo "installing Debian chromium (apt)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@test -f tests/browser/node_modules/axe-core/axe.min.js || (cd tests/browser && npm ci --no-audit --no-fund --silent)

lint: install  ## ruff (configured in pyproject.toml)
	$(BIN)/ruff check .

test: install browser-deps lint  ## install, lint, then run the whole test suite (CI runs this)
	$(BIN)/python -m pytest

test-fast: install  ## the suite without browser and Chroma-server tests
	$(BIN)/python -m pytest -m "not browser and not server"

eval: install  ## full evaluation report in reports/eval (HTML + JSON)
	$(BIN)/signpost ingest --quiet
	$(BIN)/signpost eval --report reports/eval --json reports/eval/summary.json

triage-model: install  ## retrain the safety-triage head from eval/data/triage (deterministic)
	$(BIN)/python eval/data/triage/build.py
	$(BIN)/python -m eval.triage_train

section-prior: install  ## retrain the search's section prior from the real questions' tuning split (deterministic)
	$(BIN)/python -m eval.section_prior_train

coverage-model: install  ## retrain the coverage check from the tuning splits, on what the pipeline answers (deterministic on one machine)
	$(BIN)/signpost ingest --quiet
	$(BIN)/python -m eval.coverage_train

baseline: install  ## rerun the eval and rewrite eval/baseline.json (review the diff before committing)
	$(BIN)/signpost ingest --quiet
	$(BIN)/signpost eval --report reports/eval --json reports/eval/summary.json --write-baseline

bench: install  ## answer latency benchmark (prints numbers, asserts nothing)
	$(BIN)/signpost ingest --quiet
	$(BIN)/python -m eval.bench

N ?= 5000
bench-scale: install  ## scale benchmark on N synthetic chunks (make bench-scale N=100000); prints ratios
	$(BIN)/python -m eval.bench_scale --chunks $(N) --json reports/bench-scale-$(N).json

clean:  ## remove the local index and reports (not the venv)
	rm -rf .signpost reports
