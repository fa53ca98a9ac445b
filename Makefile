# Build, run and test the Bedrock gateway. See the README and docs/development.md.
#   make run      build the filter and start the gateway in the foreground
#                 (GATEWAY_FILTER=native make run: the dynamic module instead of the .wasm)
#   make test     every check: lint (below), unit tests, wasm and native builds, pytest (stand-in
#                 + Envoy e2e, once per build), fuzz smoke
#   make native-dist  the dynamic module for x86_64 and aarch64 Linux, reproducibly (docs/native.md)
#   make lint     the layer order, fmt and clippy of the three crates, the API docs, the MSRV
#                 check, cargo-deny, ruff; each also on its own (make layers, make doc, ...)
#   make standin  the Bedrock stand-in on 127.0.0.1:9099 (its bedrock-mantle on :9100), for
#                 AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:9099 \
#                 AWS_ENDPOINT_URL_BEDROCK_MANTLE=http://127.0.0.1:9100 make run

SHELL  := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
WASM_TARGET := wasm32-wasip1
WASM   := target/$(WASM_TARGET)/release/bedrock_openai_filter.wasm
# The dynamic module (src/native/, docs/native.md), for this machine.
NATIVE := target/native/libbedrock_openai_filter.so
GATEWAY_FILTER ?= wasm
STANDIN_PORT ?= 9099
STANDIN_MANTLE_PORT ?= 9100

OCI_TAG ?= latest

FUZZ_SECONDS ?= 60

# The oldest Rust that Cargo.toml's rust-version claims, as a rustup toolchain
# ("1.88" -> "1.88.0": the first release of that minor, not its latest patch).
MSRV := $(shell sed -n 's/^rust-version *= *"\([0-9.]*\)"/\1/p' Cargo.toml)
MSRV_TOOLCHAIN := $(if $(word 3,$(subst ., ,$(MSRV))),$(MSRV),$(MSRV).0)

.PHONY: venv lint-venv node tools toolchain wasm native native-dist run test lint layers lint-rust lint-fuzz lint-floor doc msrv deny ruff \
	unit pytest standin clean oci bench bench-tools floor-wasm soak fuzz fuzz-smoke

# Rebuilt only when tests/requirements.txt changes (the stamp records it).
$(VENV)/.stamp: tests/requirements.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

venv: $(VENV)/.stamp

# The Python linter alone (tests/requirements-lint.txt), so that `make lint`
# needs none of the test venv's packages.
$(VENV)/.lint-stamp: tests/requirements-lint.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r tests/requirements-lint.txt
	touch $@

lint-venv: $(VENV)/.lint-stamp

# The npm clients of the e2e tests: the official OpenAI SDK, the Vercel AI SDK
# (ai + @ai-sdk/openai-compatible) and LangChain's @langchain/openai.
tests/node/node_modules/.stamp: tests/node/package.json tests/node/package-lock.json
	npm ci --prefix tests/node --no-audit --no-fund
	touch $@

node: tests/node/node_modules/.stamp

# Debian tools the tests use as independent judges: skopeo reads the OCI layout.
# binutils' nm and readelf read the dynamic module's symbols (tests/e2e/test_native_*.py).
tools:
	@command -v skopeo >/dev/null || { apt-get update -qq && apt-get install -y -qq skopeo >/dev/null; }
	@command -v nm >/dev/null && command -v readelf >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq binutils >/dev/null; }

# OCI image layout (Wasm image spec, compat variant) for Istio, in target/oci/; prints the digest.
oci: wasm
	$(PYTHON) scripts/oci.py --tag $(OCI_TAG)

# The toolchain rust-toolchain.toml pins, with its components and targets; a
# no-op once installed (rustup does not install it on its own when
# RUSTUP_AUTO_INSTALL=0).
toolchain:
	rustup toolchain install

# Cargo decides what to rebuild. Every cargo call here is --locked: Cargo.lock
# is what was tested, and a build that would change it fails instead.
wasm: toolchain
	cargo build --locked --release --target $(WASM_TARGET)
	@ls -l $(WASM)

# The dynamic module: the same core, for Envoy's dynamic_modules filter, on this
# machine's glibc (native-dist below builds the ones to ship).
native: toolchain
	cargo build --locked --profile native --features native
	@ls -l $(NATIVE)

# The dynamic module to ship, for x86_64 and aarch64 Linux with glibc >= 2.17,
# built with cargo-zigbuild and Zig (both pinned) into target/dist/: see
# scripts/native-dist.sh and docs/native.md.
native-dist: toolchain venv
	scripts/native-dist.sh

run: $(GATEWAY_FILTER) venv
	exec $(VPY) scripts/gateway.py

lint: layers lint-rust lint-fuzz lint-floor doc msrv deny ruff

# The layer order of docs/architecture.md: imports between src/'s top-level
# modules point down it only (scripts/layers.py; tests/e2e/test_layers.py
# shows it failing on a planted back-import).
layers:
	$(PYTHON) scripts/layers.py

# clippy reads rust-version too: its incompatible_msrv lint refuses std APIs
# newer than that, and lints that suggest newer APIs wait until it allows them.
lint-rust: toolchain
	cargo fmt --check
	cargo clippy --locked --all-targets --features native -- -D warnings
	cargo clippy --locked --target $(WASM_TARGET) -- -D warnings
	@# STYLE.md 0.1: only the shell may name proxy_wasm.
	@if grep -rn 'proxy_wasm' src | grep -v '^src/shell/'; then \
	  echo 'error: proxy_wasm used outside src/shell/ (STYLE.md 0.1)'; exit 1; fi

# fuzz/ is its own crate, run on nightly by cargo-fuzz; it also builds on the
# pinned stable, so it is linted there.
lint-fuzz: toolchain
	cd fuzz && cargo fmt --check
	cd fuzz && cargo clippy --locked --all-targets -- -D warnings

# bench/floor is its own crate too, built only for wasm.
lint-floor: toolchain
	cd bench/floor && cargo fmt --check
	cd bench/floor && CARGO_TARGET_DIR=$(CURDIR)/target/floor cargo clippy --locked --target $(WASM_TARGET) -- -D warnings

# The API docs build without a warning (broken intra-doc links, bad code
# blocks, ...), on the host (with the native shell) and for the .wasm (where src/shell/ exists).
doc: toolchain
	RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --features native
	RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --target $(WASM_TARGET)

# MSRV: the library, native and .wasm, type-checks with the exact toolchain
# rust-version names ($(MSRV_TOOLCHAIN)), with the committed Cargo.lock. It does
# not prove that the tests build there (the dev-dependencies, aws-sigv4 and
# aws-smithy-*, need Rust 1.94.1), nor that a fresh resolution of the version
# ranges in Cargo.toml would (newer releases of dependencies may need newer Rust).
msrv:
	@rustup run $(MSRV_TOOLCHAIN) rustc --version >/dev/null 2>&1 || \
	  rustup toolchain install $(MSRV_TOOLCHAIN) --profile minimal --target $(WASM_TARGET)
	rustup target add --toolchain $(MSRV_TOOLCHAIN) $(WASM_TARGET)
	CARGO_TARGET_DIR=target/msrv cargo +$(MSRV_TOOLCHAIN) check --locked --lib --features native
	CARGO_TARGET_DIR=target/msrv cargo +$(MSRV_TOOLCHAIN) check --locked --lib --target $(WASM_TARGET)

# Licences, duplicate crates, sources and RustSec advisories of the three crates
# (deny.toml). Without network to github.com the advisories are not checked
# (unless an earlier run left a copy of the database), and it says so:
# scripts/deny.sh has the details.
deny: toolchain
	scripts/deny.sh

# Python (scripts/, bench/, tests/): pyflakes, pycodestyle, import order, bugbear (ruff.toml).
ruff: lint-venv
	$(VENV)/bin/ruff check scripts bench tests

unit: toolchain
	cargo test --locked
	cargo test --locked --features native --lib native::

# The suite once per build, both at once (each run starts its own stand-in and
# gateways on free ports, in its own temporary directory): the whole suite with
# the .wasm, the e2e tests that start a gateway with the dynamic module
# (tests/e2e/conftest.py says which are left to the first). The native run's
# output follows the wasm run's.
PYTEST := $(VPY) -m pytest -c tests/pytest.ini --rootdir tests
pytest: venv node tools wasm native native-dist
	@mkdir -p target/pytest
	@GATEWAY_FILTER=native $(PYTEST) -p no:cacheprovider --basetemp=target/pytest/native tests/e2e \
	  > target/pytest/native.log 2>&1 & native=$$!; \
	wasm=0; GATEWAY_FILTER=wasm $(PYTEST) --basetemp=target/pytest/wasm tests || wasm=$$?; \
	status=0; wait $$native || status=$$?; \
	echo "---- GATEWAY_FILTER=native (target/pytest/native.log)"; cat target/pytest/native.log; \
	test $$wasm -eq 0 && test $$status -eq 0

# cargo-fuzz targets (fuzz/); installs the pinned nightly and cargo-fuzz if missing (scripts/fuzz.sh).
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

# Short, reproducible run for make test: 30,000 inputs per target, fixed seed
# (a random run could fail CI on a new finding; `make fuzz` explores).
fuzz-smoke:
	FUZZ_RUNS=30000 scripts/fuzz.sh 60

test: lint unit wasm native pytest fuzz-smoke

# The bench's `floor` case: a proxy-wasm filter that only moves the bodies
# (bench/floor, its own crate), built into target/floor/.
FLOOR_WASM := target/floor/$(WASM_TARGET)/release/floor_filter.wasm
floor-wasm: toolchain
	cd bench/floor && CARGO_TARGET_DIR=$(CURDIR)/target/floor cargo build --locked --release --target $(WASM_TARGET)
	@ls -l $(FLOOR_WASM)

# Benchmarks, not part of `make test`: writes bench/RESULTS.md and bench/results.png.
# Beyond what `make run` sets up (the toolchain, .venv, the .wasm and the .so) it
# installs nothing: what it lacks, it names with `make bench-tools`, and skips.
bench: wasm native floor-wasm venv
	$(VPY) bench/run.py

# What `make bench` measures with or against, on request (bench/tools.py):
# Debian's wrk, binaryen (wasm-opt) and nodejs; pinned LiteLLM and matplotlib,
# and bedrock-access-gateway's own requirements when BAG_DIR is given, each in a
# venv of its own under bench/.venvs/.
bench-tools: venv
	$(VPY) bench/tools.py install

# Soak test, not part of `make test`: ~10 min; writes the Soak section of bench/RESULTS.md.
soak: wasm venv
	$(VPY) bench/soak.py

standin: venv
	cd tests && PYTHONPATH=. exec ../$(VPY) -m standin --host 127.0.0.1 --port $(STANDIN_PORT) \
	  --mantle-port $(STANDIN_MANTLE_PORT)

clean:
	cargo clean
	rm -rf $(VENV) run tests/node/node_modules fuzz/target
