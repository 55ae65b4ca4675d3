# The two commands of the README:
#   make run   the portal at http://127.0.0.1:8000 on embedded defaults (no server to install)
#   make test  everything CI checks: formatting, lint, types, the import layers and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test sandbox-python

# llama.cpp (the embedded model) is built from source. Its default build targets the build
# machine's own CPU (-march=native): on a Xeon with AMX it crashed in decode inside a VM, and
# pip caches such a wheel under a key that ignores the CPU, so every later install reused it.
# A portable build (AVX2/FMA/F16C, no AMX) goes once into a cache of our own, found first.
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([^"]*\)".*/\1/p' pyproject.toml)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_WHEELS := $(HOME)/.cache/sce/wheels/llama-cpp-portable-1
LLAMA_WHEEL := $(LLAMA_WHEELS)/.built-$(LLAMA_VERSION)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "SCE needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(LLAMA_WHEEL): | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --quiet --no-deps --no-cache-dir \
		--no-binary llama-cpp-python -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	@touch $@

# The sandbox's own Python for the generated services' tests (codegen/sandbox/python_env.py):
# a venv of the system's python3.11 with the pinned allowlist, installed once (pip needs the
# network here only). It lives where settings.CODEGEN_SANDBOX_DIR points (the same default,
# or the same environment variable); a change of the pins prepares a fresh one. It imports
# codegen, so it runs after the venv's install (called from run and test, in that order).
CODEGEN_SANDBOX_DIR ?= $(HOME)/.cache/sce/sandbox
SANDBOX_PYTHON := $(CODEGEN_SANDBOX_DIR)/.prepared

$(SANDBOX_PYTHON): codegen/targets/python_sandbox.py codegen/sandbox/python_env.py | $(BIN)/python
	$(BIN)/python -m codegen.sandbox.python_env --root $(CODEGEN_SANDBOX_DIR)
	@touch $@

sandbox-python: $(SANDBOX_PYTHON)

$(VENV)/.installed-run: pyproject.toml $(LLAMA_WHEEL) | $(BIN)/python
	$(BIN)/pip install --quiet --find-links $(LLAMA_WHEELS) -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(LLAMA_WHEEL) | $(BIN)/python
	$(BIN)/pip install --quiet --find-links $(LLAMA_WHEELS) -e '.[dev]'
	@touch $@

run: $(VENV)/.installed-run
	scripts/ensure-system-tools run
	@$(MAKE) --no-print-directory sandbox-python
	$(BIN)/python manage.py serve

test: $(VENV)/.installed-dev
	@$(MAKE) --no-print-directory sandbox-python
	scripts/ensure-system-tools test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/pytest
