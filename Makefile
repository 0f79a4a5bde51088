# quantscope: `make demo` and `make test` work from a fresh machine (Debian/Ubuntu with rustup,
# node >= 20 and python3 >= 3.10): every step installs what is missing and is a no-op when done.

SHELL := /bin/bash
.DEFAULT_GOAL := help

WASM_BINDGEN_VERSION := 0.2.130
TOOLS   := $(CURDIR)/.tools
VENV    := $(CURDIR)/.venv
PY      := $(VENV)/bin/python
MODEL   := models/efficientnet-lite0.onnx
INT8_QDQ := models/efficientnet-lite0-int8-qdq.onnx
META    := models/efficientnet-lite0.json
# The Fashion-MNIST CNN that quantscope trains itself (`quantscope train`), and its metadata.
FMNIST_CNN      := models/fmnist-cnn.onnx
FMNIST_CNN_META := models/fmnist-cnn.json
SAMPLES := $(wildcard samples/*.png samples/*.jpg)
RUST_SOURCES := Cargo.toml Cargo.lock $(shell find src -name '*.rs')
export PATH := $(TOOLS)/bin:$(TOOLS)/node_modules/.bin:$(PATH)

WASM_TARGET := wasm32-unknown-unknown
NPM_CI      := npm ci --no-audit --no-fund --loglevel=error
# Engine tests that also run as wasm (node and Chromium): f32 and int8 kernels (scalar vs
# SIMD128), every op, and EfficientNet-Lite0 against the native logits (f32 within 1e-4, int8
# bit for bit with the same calibration ranges), the malformed-input corpus (models, images,
# metadata: each a named error, never a trap), and the labelled-data bindings the page's worker
# calls (wasm_dataset).
WASM_TESTS  := --features twins --test kernels --test qs8_kernels --test qs8_add --test qs8_lut --test qs8_mul --test qs8_unpack --test ops --test malformed --test wasm_efficientnet --test wasm_dataset --test wasm_qat
NATIVE_LOGITS := target/coffee-native-logits.bin
INT8_RANGES := target/samples-int8-ranges.json
NATIVE_INT8_LOGITS := target/coffee-native-int8-logits.bin
NATIVE_LOWBIT_LOGITS := target/coffee-native-lowbit-logits.bin
WASM_ENV := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(TOOLS)/bin/wasm-bindgen-test-runner \
	RUSTFLAGS="-C target-feature=+simd128" \
	QUANTSCOPE_WASM_MODEL=$(CURDIR)/$(MODEL) QUANTSCOPE_WASM_META=$(CURDIR)/$(META) \
	QUANTSCOPE_WASM_NATIVE_LOGITS=$(CURDIR)/$(NATIVE_LOGITS) \
	QUANTSCOPE_WASM_RANGES=$(CURDIR)/$(INT8_RANGES) \
	QUANTSCOPE_WASM_NATIVE_INT8_LOGITS=$(CURDIR)/$(NATIVE_INT8_LOGITS) \
	QUANTSCOPE_WASM_NATIVE_LOWBIT_LOGITS=$(CURDIR)/$(NATIVE_LOWBIT_LOGITS)

.PHONY: accuracy fashion-mnist test-fashion-mnist help demo test test-native test-wasm test-wasm-browser test-browser lint models corpus test-corpus bench \
	test-npm tools chromium venv pkg www clean-models fuzz fuzz-tools fuzz-seeds

help:
	@echo "make demo    build everything and serve the page on http://127.0.0.1:8080"
	@echo "make test    install what is missing, then run every test"
	@echo "make bench   latency: native vs onnxruntime; fp32 and int8 vs onnxruntime-web and LiteRT.js in Chromium;"
	@echo "            Lite0's early pointwise blocks vs LiteRT.js, one at a time (bench/pointwise.md);"
	@echo "            training images/s: native, wasm 1/2 threads and TensorFlow.js in Chromium"
	@echo "            QAT images/s in the page's worker (st, mt) and the time of one epoch"
	@echo "make accuracy  Fashion-MNIST test accuracy: float, PTQ and QAT per width (bench/accuracy.md, the page's table)"
	@echo "make models  download and convert EfficientNet-Lite0, train the Fashion-MNIST CNN, into models/"

## ---- installs (each guarded) -------------------------------------------------------------

tools: $(TOOLS)/bin/wasm-bindgen-test-runner $(TOOLS)/node_modules/.bin/wasm-opt
	@rustup target list --installed --toolchain stable | grep -qx $(WASM_TARGET) \
	  || rustup target add $(WASM_TARGET) --toolchain stable
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@rustup target list --installed --toolchain nightly | grep -qx $(WASM_TARGET) \
	  || rustup target add $(WASM_TARGET) --toolchain nightly
	@rustup component list --installed --toolchain nightly | grep -q '^rust-src' \
	  || rustup component add rust-src --toolchain nightly

$(TOOLS)/bin/wasm-bindgen-test-runner:
	@echo "== installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) into .tools (about 3 minutes, once)"
	cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(TOOLS)

$(TOOLS)/node_modules/.bin/wasm-opt:
	@echo "== installing wasm-opt (npm binaryen) into .tools"
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error binaryen

chromium:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
	  echo "== installing Debian chromium and chromium-driver"; \
	  apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }

venv: $(VENV)/.installed

$(VENV)/.installed: scripts/requirements.txt
	@echo "== creating the Python venv (onnx, onnxruntime) in .venv"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r scripts/requirements.txt
	touch $@

%/node_modules/.installed: %/package.json %/package-lock.json
	cd $* && $(NPM_CI)
	touch $@

## ---- model ------------------------------------------------------------------------------

models: $(MODEL) $(FMNIST_CNN)

$(MODEL) $(META) &: $(VENV)/.installed scripts/make_models.py
	$(PY) scripts/make_models.py --cache .cache --out models

# onnxruntime static int8 (QDQ, MinMax, per-channel) on the sample photos: the onnxruntime-web
# int8 row of the bench (about 6 s).
$(INT8_QDQ): $(MODEL) $(VENV)/.installed scripts/ort_quantize.py scripts/preprocess.py $(SAMPLES)
	$(PY) scripts/ort_quantize.py quantize --model $(MODEL) --out $@ $(SAMPLES)

# LiteRT.js's rows of the bench: the same model as TFLite fp32 and full-integer int8
# (TFLiteConverter, per-channel, calibrated on the sample photos), rebuilt op by op in TF and
# checked against onnxruntime (scripts/make_tflite.py, about 20 s). tensorflow-cpu and
# ai-edge-litert live in their own venv (about 1.5 GB, a few minutes once), used by `make bench` only.
BENCH_VENV := .venv-bench
TFLITE := models/efficientnet-lite0.tflite models/efficientnet-lite0-int8.tflite

$(BENCH_VENV)/.installed: scripts/requirements-bench.txt
	@echo "== creating the bench venv (tensorflow-cpu, ai-edge-litert) in $(BENCH_VENV)"
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet -r scripts/requirements-bench.txt
	touch $@

$(TFLITE) &: $(MODEL) $(BENCH_VENV)/.installed scripts/make_tflite.py scripts/preprocess.py $(SAMPLES)
	$(BENCH_VENV)/bin/python scripts/make_tflite.py --model $(MODEL) --out models/efficientnet-lite0 $(SAMPLES)

# Chains of Lite0's early pointwise convolutions, ONNX and TFLite, for bench/pointwise.mjs (the
# kernels against XNNPACK's one block at a time; about 10 s).
CHAINS := models/chains/chains.json

$(CHAINS): $(BENCH_VENV)/.installed scripts/make_pointwise_chains.py scripts/make_tflite.py scripts/preprocess.py $(SAMPLES)
	$(BENCH_VENV)/bin/python scripts/make_pointwise_chains.py --out models/chains $(SAMPLES)

# The corpus of exported classifiers (Keras via tf2onnx, torchvision via torch.onnx, paddle-style
# graphs) in .cache/corpus, and its check: `make corpus test-corpus`. Keras needs tensorflow-cpu
# and tf2onnx in their own venv; torch is Debian's CPU build, unpacked by the script. CI checks
# the reduced-width fixtures in tests/fixtures/corpus (`make_corpus.py --tiny`) instead.
CORPUS_VENV := .venv-corpus

$(CORPUS_VENV)/.installed:
	python3 -m venv $(CORPUS_VENV)
	$(CORPUS_VENV)/bin/pip install --quiet tensorflow-cpu==2.19.1 tf2onnx==1.17.0 onnx onnxruntime
	touch $@

corpus: $(VENV)/.installed $(CORPUS_VENV)/.installed
	$(PY) scripts/make_corpus.py --out .cache/corpus

test-corpus:
	QUANTSCOPE_CORPUS=$(CURDIR)/.cache/corpus cargo test --release --test corpus -- --nocapture

# Fashion-MNIST (MIT) from Debian's dataset-fashion-mnist: the four IDX files, gzipped as
# shipped, in .cache/fashion-mnist (a 31 MB download, once).
FMNIST := .cache/fashion-mnist
FMNIST_FILES := $(addprefix $(FMNIST)/,train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
	t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

fashion-mnist: $(FMNIST_FILES)

$(FMNIST_FILES) &:
	@echo "== Fashion-MNIST from Debian's dataset-fashion-mnist into $(FMNIST)"
	mkdir -p .cache/debs $(FMNIST)
	cd .cache/debs && { ls dataset-fashion-mnist_*.deb >/dev/null 2>&1 || apt-get download dataset-fashion-mnist \
	  || { apt-get update -qq && apt-get download dataset-fashion-mnist; }; }
	rm -rf .cache/debs/fashion-mnist-root
	dpkg -x $$(ls .cache/debs/dataset-fashion-mnist_*.deb | head -1) .cache/debs/fashion-mnist-root
	cp .cache/debs/fashion-mnist-root/usr/share/datasets/fashion-mnist/*-ubyte.gz $(FMNIST)/
	touch $(FMNIST_FILES)

# The page's copies (static files the worker fetches and decodes): the 10k test set as shipped,
# and the first 10,000 training images (calibration, and the page's QAT) as gzipped IDX.
WWW_DATA := www/public/data
WWW_DATA_FILES := $(addprefix $(WWW_DATA)/,t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz \
	train10k-images-idx3-ubyte.gz train10k-labels-idx1-ubyte.gz)

$(WWW_DATA_FILES) &: $(FMNIST_FILES) scripts/fmnist_subset.py
	mkdir -p $(WWW_DATA)
	cp $(FMNIST)/t10k-images-idx3-ubyte.gz $(FMNIST)/t10k-labels-idx1-ubyte.gz $(WWW_DATA)/
	python3 scripts/fmnist_subset.py --images $(FMNIST)/train-images-idx3-ubyte.gz \
	  --labels $(FMNIST)/train-labels-idx1-ubyte.gz --count 10000 --out-prefix $(WWW_DATA)/train10k
	touch $(WWW_DATA_FILES)

test-fashion-mnist: fashion-mnist
	QUANTSCOPE_FMNIST=$(CURDIR)/$(FMNIST) cargo test --test idx -- --nocapture

# The Fashion-MNIST CNN, trained from scratch by the release binary with threads: seeded, so
# the same build gives the same weights. FMNIST_EPOCHS trades minutes for accuracy: with seed 1,
# 6 epochs give 92.09% float test accuracy (measured 2026-12-04 on the shared 2-core machine:
# 29-38 s an epoch, 1560-2080 images/s, under 4 minutes in all; 5 epochs gave 91.97% with the
# engine before that day's speed-up, which changed the float summation order).
FMNIST_EPOCHS := 6
TRAIN_SOURCES := Cargo.toml Cargo.lock $(shell find src/train src/data src/kernels -name '*.rs') \
	src/bin/quantscope/train.rs src/bin/quantscope/main.rs src/export/build.rs

$(FMNIST_CNN) $(FMNIST_CNN_META) &: $(FMNIST_FILES) $(TRAIN_SOURCES)
	cargo build --release --features threads --bin quantscope
	./target/release/quantscope train --dataset fashion-mnist --data $(FMNIST) \
	  --epochs $(FMNIST_EPOCHS) --seed 1 --out $(FMNIST_CNN)

clean-models:
	rm -f models/*.onnx models/*.json

## ---- wasm package and page ---------------------------------------------------------------

pkg: pkg/st/quantscope_bg.wasm pkg/st-relaxed/quantscope_bg.wasm pkg/mt/quantscope_bg.wasm pkg/mt-relaxed/quantscope_bg.wasm

pkg/st/quantscope_bg.wasm: $(RUST_SOURCES) scripts/build_wasm.sh | tools
	scripts/build_wasm.sh st

pkg/st-relaxed/quantscope_bg.wasm: $(RUST_SOURCES) scripts/build_wasm.sh | tools
	scripts/build_wasm.sh st-relaxed

pkg/mt/quantscope_bg.wasm: $(RUST_SOURCES) scripts/build_wasm.sh | tools
	scripts/build_wasm.sh mt

pkg/mt-relaxed/quantscope_bg.wasm: $(RUST_SOURCES) scripts/build_wasm.sh | tools
	scripts/build_wasm.sh mt-relaxed

www: www/dist/index.html

www/dist/index.html: pkg/st/quantscope_bg.wasm pkg/st-relaxed/quantscope_bg.wasm pkg/mt/quantscope_bg.wasm pkg/mt-relaxed/quantscope_bg.wasm pkg/index.js pkg/worker.js pkg/protocol.js pkg/dataset.js \
		$(wildcard www/src/* www/src/panels/* www/*.html www/*.js) $(MODEL) $(META) $(FMNIST_CNN) $(FMNIST_CNN_META) \
		$(WWW_DATA_FILES) $(SAMPLES) www/node_modules/.installed
	mkdir -p www/public/models www/public/samples
	cp $(MODEL) $(META) $(FMNIST_CNN) $(FMNIST_CNN_META) www/public/models/
	cp $(SAMPLES) www/public/samples/
	cd www && npx vite build --logLevel warn

## ---- the two commands --------------------------------------------------------------------

demo: www
	@echo "== serving www/dist with COOP/COEP (threads); Ctrl+C to stop"
	node scripts/serve.mjs --root www/dist --port 8080 --host 127.0.0.1

test: lint test-native test-wasm test-wasm-browser test-browser test-npm
	@echo "== all tests passed"

test-native: $(MODEL) $(VENV)/.installed $(FMNIST_FILES)
	QUANTSCOPE_MODEL=$(CURDIR)/$(MODEL) QUANTSCOPE_PYTHON=$(PY) \
	QUANTSCOPE_FMNIST=$(CURDIR)/$(FMNIST) \
	QUANTSCOPE_CORPUS=$(CURDIR)/tests/fixtures/corpus \
	ONNX_BACKEND_DATA=$$($(PY) -c 'import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), "backend/test/data/node"))') \
	cargo test --all-targets
	QUANTSCOPE_MODEL=$(CURDIR)/$(MODEL) cargo test --features threads --lib --test threads --test qs8_threads

$(NATIVE_LOGITS): $(MODEL) $(RUST_SOURCES)
	cargo build --profile test --bin quantscope
	./target/debug/quantscope logits --model $(MODEL) samples/coffee.png --out $@

# Calibrated natively once; the wasm test rebuilds int8 from these ranges and must match.
$(INT8_RANGES): $(MODEL) $(RUST_SOURCES) $(SAMPLES)
	cargo build --profile test --bin quantscope
	./target/debug/quantscope quantize --model $(MODEL) --calib samples --ranges-out $@

$(NATIVE_INT8_LOGITS): $(INT8_RANGES)
	./target/debug/quantscope logits --model $(MODEL) --variant int8 --ranges $(INT8_RANGES) \
	  samples/coffee.png --out $@

# Packed low-bit weights (4-bit k-means, 2-bit uniform) from the same ranges, one after the other.
$(NATIVE_LOWBIT_LOGITS): $(INT8_RANGES)
	./target/debug/quantscope logits --model $(MODEL) --variant w4a8-kmeans --ranges $(INT8_RANGES) \
	  samples/coffee.png --out $@.kmeans
	./target/debug/quantscope logits --model $(MODEL) --variant w2a8 --ranges $(INT8_RANGES) \
	  samples/coffee.png --out $@.w2
	cat $@.kmeans $@.w2 > $@ && rm $@.kmeans $@.w2

test-wasm: tools $(NATIVE_LOGITS) $(NATIVE_INT8_LOGITS) $(NATIVE_LOWBIT_LOGITS)
	$(WASM_ENV) cargo test --target $(WASM_TARGET) $(WASM_TESTS)

# The runner polls the page over WebDriver and gives up after WASM_BINDGEN_TEST_TIMEOUT seconds
# (default 20): the EfficientNet tests keep the page's thread busy longer than that in a debug
# build on a loaded 2-core machine.
test-wasm-browser: tools chromium $(NATIVE_LOGITS) $(NATIVE_INT8_LOGITS) $(NATIVE_LOWBIT_LOGITS)
	WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=600 \
	$(WASM_ENV) cargo test --target $(WASM_TARGET) $(WASM_TESTS)
	# The relaxed-SIMD build (fused multiply-adds in the f32 kernels; Chromium runs it, node 20
	# does not without a flag): the kernel testers within their tolerances, float logits within
	# 1e-4 of native, int8 and low-bit logits bit-identical to native.
	WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=600 \
	$(WASM_ENV) RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" CARGO_TARGET_DIR=target/relaxed-test \
	cargo test --target $(WASM_TARGET) --features twins --test kernels --test qs8_kernels --test wasm_efficientnet

test-browser: chromium www tests/browser/node_modules/.installed
	QUANTSCOPE_EXPECT_MT=1 node --test tests/browser/

# The npm package as users get it: `npm pack` of pkg/ installed into a fresh Vite app and a plain
# <script type=module> page (in test-output/npm), each served with and without COOP/COEP and
# classifying in Chromium (threaded build when isolated, single-threaded otherwise).
test-npm: chromium pkg $(MODEL) $(META) tests/npm/node_modules/.installed
	node --test tests/npm/

lint: tools
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --features threads -- -D warnings
	cargo fmt --check --manifest-path bench/ceiling/Cargo.toml
	RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" cargo clippy --locked --target $(WASM_TARGET) \
	  --manifest-path bench/ceiling/Cargo.toml --target-dir target/ceiling -- -D warnings

# The output stage's ceiling beside the kernel table (bench/ceiling: a standalone wasm module of
# register-only loops, not part of the npm package; bench/bench.js runs it).
CEILING_WASM := bench/.cache/ceiling.wasm
$(CEILING_WASM): bench/ceiling/src/lib.rs bench/ceiling/Cargo.toml bench/ceiling/Cargo.lock | tools
	RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" cargo build --release --locked \
	  --target $(WASM_TARGET) --manifest-path bench/ceiling/Cargo.toml --target-dir target/ceiling
	mkdir -p $(@D) && cp target/ceiling/$(WASM_TARGET)/release/quantscope_stage_ceiling.wasm $@

# Latency (quantscope bench; bench/run.mjs: quantscope, onnxruntime-web and LiteRT.js, medians of
# 60 runs: 3 rounds of 20 in which the engines take turns, so that load from elsewhere hits them
# alike), then training throughput (bench/train.mjs): the Fashion-MNIST CNN natively (`quantscope
# train`) and, in one Chromium, quantscope st and mt beside TensorFlow.js (cpu, webgl, wasm
# backends), and QAT of $(FMNIST_CNN) (w4a4) in the page's worker, st and mt, with the time of an
# epoch; its section of bench/results.md follows the tables. Before training, bench/pointwise.mjs:
# quantscope and LiteRT.js one pointwise block at a time (bench/pointwise.md, about 3 minutes).
bench: $(MODEL) $(INT8_QDQ) $(TFLITE) $(CHAINS) $(FMNIST_CNN) $(VENV)/.installed pkg chromium bench/node_modules/.installed $(FMNIST_FILES) $(CEILING_WASM)
	cargo build --release --bin quantscope
	./target/release/quantscope bench --model $(MODEL) --runs 30 --python $(PY)
	PYTHON=$(PY) node bench/run.mjs --runs 20 --rounds 3 --warmup 5
	PYTHON=$(PY) node bench/pointwise.mjs --rounds 3 --runs 10
	node bench/train.mjs

# The table the course needs: Fashion-MNIST test accuracy of float, PTQ and QAT at w8a8, w4a8,
# w4a4, w2a8 and w2a4 (bench/accuracy.md and .json; about 15 minutes on 2 cores), and the page's
# copy with the recipe and the date (www/src/accuracy-table.json, committed: the QAT panel's
# table). `python3 scripts/accuracy_table.py --from-json bench/accuracy.json` rewrites the three
# from the last run without running again.
QAT_STEPS := 1000
accuracy: $(FMNIST_CNN) $(FMNIST_FILES)
	cargo build --release --features threads --bin quantscope
	python3 scripts/accuracy_table.py --bin target/release/quantscope --model $(FMNIST_CNN) \
	  --data $(FMNIST) --steps $(QAT_STEPS) --out bench/accuracy --page-out www/src/accuracy-table.json

## ---- fuzzing (nightly; not part of `make test`) ----------------------------------------

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := onnx_import image_decode metadata
# cargo-fuzz goes into .tools like the other tools; override to keep it elsewhere.
FUZZ_TOOLS ?= $(TOOLS)

fuzz-tools: tools
	@test -x $(FUZZ_TOOLS)/bin/cargo-fuzz || { \
	  echo "== installing cargo-fuzz into $(FUZZ_TOOLS) (about 2 minutes, once)"; \
	  cargo install cargo-fuzz --root $(FUZZ_TOOLS); }

# Seeds: small ONNX backend node models, shrunk sample photos in every format, the metadata.
fuzz-seeds: $(META) $(VENV)/.installed scripts/fuzz_seeds.py
	$(PY) scripts/fuzz_seeds.py --meta $(META) --out fuzz/corpus

# Each target for FUZZ_SECONDS, one after the other; crashes land in fuzz/artifacts/TARGET/
# (add each as a case in tests/malformed.rs). The last line of each log gives executions.
fuzz: fuzz-tools fuzz-seeds
	@mkdir -p fuzz/logs
	@for t in $(FUZZ_TARGETS); do \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  (cd fuzz && PATH=$(FUZZ_TOOLS)/bin:$$PATH cargo +nightly fuzz run $$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=3072 -print_final_stats=1) \
	    > fuzz/logs/$$t.log 2>&1 || { tail -40 fuzz/logs/$$t.log; exit 1; }; \
	  grep -E '^Done [0-9]+ runs' fuzz/logs/$$t.log; \
	  grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' fuzz/logs/$$t.log; \
	done
