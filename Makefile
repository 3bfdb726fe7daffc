# videoqa — two commands: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_OUT ?= out/demo

# System packages `make test` needs: the ffmpeg CLI (test videos, benchmarks),
# WordNet 3.0 (WUPS of open-ended answers), espeak-ng (narrated speech fixtures) and
# Chromium (the browser test of `videoqa serve`'s page). `make sysdeps` installs the missing ones with
# apt when it runs as root, and otherwise stops at once with one message naming them.

.PHONY: demo test install dev lint sysdeps bench-decode clean

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
	$(BIN)/videoqa ask "$$($(BIN)/videoqa data samples bikes)" "what are the people doing?" \
		--choices "riding bicycles" "swimming in a pool" "cooking food" "playing the piano" \
		--frames 16 --top-k 4 --grid 3 --save-evidence $(DEMO_OUT)
	$(BIN)/videoqa ask "$$($(BIN)/videoqa data samples carphone_distorted)" "what distortion is most visible?" \
		--save-evidence $(DEMO_OUT)/quality
	@if command -v espeak-ng >/dev/null 2>&1; then \
		$(BIN)/python -m videoqa.perception.speech.narration $(DEMO_OUT)/narrated.mp4 && \
		$(BIN)/videoqa ask $(DEMO_OUT)/narrated.mp4 "when does he mention the deadline?" \
			--save-evidence $(DEMO_OUT)/speech; \
	else echo "espeak-ng is not installed: skipping the speech question (apt-get install espeak-ng)"; fi

# ffmpeg is found on PATH; WordNet 3.0 in Debian's place, $VIDEOQA_WORDNET_DIR or an
# NLTK data directory ($NLTK_DATA/corpora/wordnet).
sysdeps:
	@missing=""; \
	command -v ffmpeg >/dev/null 2>&1 || missing="$$missing ffmpeg"; \
	command -v espeak-ng >/dev/null 2>&1 || missing="$$missing espeak-ng"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ ! -f /usr/share/wordnet/data.noun ] \
		&& [ ! -f "$${VIDEOQA_WORDNET_DIR:-/nonexistent}/data.noun" ] \
		&& [ ! -d "$${NLTK_DATA:-/nonexistent}/corpora/wordnet" ]; then \
		missing="$$missing wordnet-base"; \
	fi; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing system packages:$$missing (apt-get)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
		|| { echo "error: apt-get could not install:$$missing" >&2; exit 1; }; \
	else \
		echo "error: missing system packages:$$missing. Install them (Debian/Ubuntu:" \
			"sudo apt-get install$$missing), then rerun. ffmpeg makes test videos;" \
			"wordnet-base is WordNet 3.0 for WUPS; espeak-ng narrates the speech" \
			"fixtures; chromium runs the web page's browser test." >&2; \
		exit 1; \
	fi

test: sysdeps dev
	$(BIN)/ruff check videoqa tests benchmarks
	$(BIN)/python -m pytest -q

lint: dev
	$(BIN)/ruff check videoqa tests benchmarks

bench-decode: sysdeps dev
	$(BIN)/python benchmarks/bench_decode.py

clean:
	rm -rf $(VENV) out .pytest_cache
