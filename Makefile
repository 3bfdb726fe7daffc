# videoqa — two commands: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_OUT ?= out/demo

.PHONY: demo test install dev lint bench-decode clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: the CPU wheel; an unpinned spec would pull GBs of CUDA packages.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: install
	$(BIN)/videoqa ask "$$($(BIN)/videoqa samples bikes)" "what are the people doing?" \
		--choices "riding bicycles" "swimming in a pool" "cooking food" "playing the piano" \
		--frames 16 --top-k 4 --grid 3 --save-evidence $(DEMO_OUT)
	$(BIN)/videoqa ask "$$($(BIN)/videoqa samples carphone_distorted)" "what distortion is most visible?" \
		--save-evidence $(DEMO_OUT)/quality

test: dev
	$(BIN)/ruff check videoqa tests benchmarks
	$(BIN)/python -m pytest -q

lint: dev
	$(BIN)/ruff check videoqa tests benchmarks

bench-decode: dev
	$(BIN)/python benchmarks/bench_decode.py

clean:
	rm -rf $(VENV) out .pytest_cache
