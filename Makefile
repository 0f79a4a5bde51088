# quantscope: `make demo` and `make test` work from a fresh machine (Debian/Ubuntu with rustup,
# node >= 20 and python3 >= 3.10): every step installs what is missing and is a no-op when done.

SHELL := /bin/bash
.DEFAULT_GOAL := help

WASM_BINDGEN_VERSION := 0.2.130
TOOLS   := $(CURDIR)/.tools
VENV    := $(CURDIR)/.venv
PY      := $(VENV)/bin/python
MODEL   := models/efficientnet-lite0.onnx
SAMPLES := $(wildcard samples/*.png samples/*.jpg)
export PATH := $(TOOLS)/bin:$(PATH)

WASM_TARGET := wasm32-unknown-unknown
WASM_RUNNER := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(TOOLS)/bin/wasm-bindgen-test-runner
WASM_FLAGS  := RUSTFLAGS="-C target-feature=+simd128"
# Engine tests that also run as wasm (node): kernels compared scalar vs SIMD128, and every op.
WASM_TESTS  := --test kernels --test ops

.PHONY: help demo test test-native test-wasm lint models bench tools venv clean-models

help:
	@echo "make demo    build everything and classify the sample photos"
	@echo "make test    install what is missing, then run every test"
	@echo "make bench   median latency vs onnxruntime (single thread)"
	@echo "make models  download and convert EfficientNet-Lite0 to models/"

## ---- installs (each guarded) -------------------------------------------------------------

tools: $(TOOLS)/bin/wasm-bindgen-test-runner
	@rustup target list --installed --toolchain stable | grep -qx $(WASM_TARGET) \
	  || rustup target add $(WASM_TARGET) --toolchain stable

$(TOOLS)/bin/wasm-bindgen-test-runner:
	@echo "== installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) into .tools (about 3 minutes, once)"
	cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(TOOLS)

venv: $(VENV)/.installed

$(VENV)/.installed: scripts/requirements.txt
	@echo "== creating the Python venv (onnx, onnxruntime) in .venv"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r scripts/requirements.txt
	touch $@

## ---- model ------------------------------------------------------------------------------

models: $(MODEL)

$(MODEL): $(VENV)/.installed scripts/make_models.py
	$(PY) scripts/make_models.py --cache .cache --out models

clean-models:
	rm -f models/*.onnx models/*.json

## ---- the two commands --------------------------------------------------------------------

demo: $(MODEL)
	cargo build --release --bin quantscope
	./target/release/quantscope classify --model $(MODEL) $(SAMPLES)

test: lint test-native test-wasm
	@echo "== all tests passed"

test-native: $(MODEL) $(VENV)/.installed
	QUANTSCOPE_MODEL=$(CURDIR)/$(MODEL) QUANTSCOPE_PYTHON=$(PY) \
	ONNX_BACKEND_DATA=$$($(PY) -c 'import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), "backend/test/data/node"))') \
	cargo test --all-targets

test-wasm: tools
	$(WASM_RUNNER) $(WASM_FLAGS) cargo test --target $(WASM_TARGET) $(WASM_TESTS)

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

bench: $(MODEL) $(VENV)/.installed
	cargo build --release --bin quantscope
	./target/release/quantscope bench --model $(MODEL) --runs 30 --python $(PY)
