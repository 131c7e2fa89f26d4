# Aether — build, keys and tests. `make help` lists the targets.
#
# CARGO_TARGET_DIR may point at a shared cache (CI does); everything below finds the
# binaries through $(TARGET_DIR).

SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
KEYS_DIR ?= $(CURDIR)/validator-keys
# The dev node's ledger for `make run`.
LEDGER ?= $(CURDIR)/ledger
# Size of `make bench-tps`.
TPS_DURATION ?= 10
TPS_RATE ?= 10000
# Scales the randomised differential run (cases per primitive family).
DIFFERENTIAL_COUNT ?= 40

# Debian packages the build and tests need: a C/C++ toolchain for blst, c-kzg and
# RocksDB, clang + libclang for RocksDB's bindgen, and Python with venv for the
# differential tests against libsodium, py_ecc and c-kzg.
SYSTEM_PACKAGES := build-essential pkg-config clang libclang-dev python3 python3-venv python3-pip

.PHONY: help deps build release keys run devnet status devnet-stop self-check test test-rust test-differential test-docker bench bench-tps bench-accounts crash sim lint fmt clean

help:
	@echo "make run                 build (release) and run a single-node dev chain: RPC :8899, TPU :8003, metrics :9898"
	@echo "make devnet              build (release) and start a 4-validator devnet on loopback in .devnet/ (scripts/devnet.sh)"
	@echo "make status              one row per devnet node: pid alive, slot, finalized slot, peers, last vote"
	@echo "make devnet-stop         stop the devnet, keep .devnet/ (DEVNET_RESET=1 also deletes it)"
	@echo "make bench-tps           aether-bench tps against a fresh dev node (release, JSON)"
	@echo "make test                system packages, all Rust tests, differential tests vs independent libraries"
	@echo "make build | release     debug | release build of the workspace"
	@echo "make keys                aetherctl keys new --out \$$KEYS_DIR (refuses to overwrite)"
	@echo "make bench               criterion: signature verification against same-run baselines"
	@echo "make bench-accounts      aether-bench accounts at 1M keys (JSON)"
	@echo "make crash               storage kill test with CRASH_ITERATIONS=$(CRASH_ITERATIONS) kill points"
	@echo "make sim SEEDS=N         consensus simulation over N seeds per test (CI runs 100 + 24 + 40)"
	@echo "make lint                rustfmt --check and clippy -D warnings"
	@echo "variables: KEYS_DIR=$(KEYS_DIR) DIFFERENTIAL_COUNT=$(DIFFERENTIAL_COUNT)"

# Installs missing system packages when run as root; otherwise names the command.
deps:
	@missing=$$(for package in $(SYSTEM_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || echo $$package; \
	  done | xargs); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing system packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
	  echo "missing system packages; install them with:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y $$missing"; \
	  exit 1; \
	fi

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release -p aetherctl

keys: release
	@if [ -e "$(KEYS_DIR)/identity.json" ]; then \
	  echo "keys already exist in $(KEYS_DIR):"; $(TARGET_DIR)/release/aetherctl keys show "$(KEYS_DIR)"; \
	else \
	  $(TARGET_DIR)/release/aetherctl keys new --out "$(KEYS_DIR)"; \
	fi

self-check: release
	$(TARGET_DIR)/release/aetherctl self-check

# The main job: a single-node dev chain from the embedded genesis (faucet funded), its
# ledger in $(LEDGER). Stop it with Ctrl-C; run it again to continue the same chain.
run:
	$(CARGO) build --release -p aether-validator -p aetherctl
	$(TARGET_DIR)/release/aether-validator run --dev --ledger "$(LEDGER)"

# A 4-validator cluster on loopback, in .devnet/ (keys, genesis, per-node config.toml,
# node.log and ledger/; cluster.json lists pids and addresses). Node i: TPU 8003+10i,
# RPC 8899+10i, metrics 9898+10i, cluster 8100+10i. Returns once every node answers
# getHealth (DEVNET_TIMEOUT=60 s). Running again resumes the same chain.
devnet:
	CARGO="$(CARGO)" CARGO_TARGET_DIR="$(TARGET_DIR)" scripts/devnet.sh start

status:
	scripts/devnet-status.sh

devnet-stop:
	scripts/devnet.sh stop

test: deps test-rust test-differential test-docker

# The container devnet without Docker: the Dockerfile's copy list, the compose file's
# ports, and its entrypoint running 4 validators on their own loopback addresses.
test-docker:
	$(CARGO) build -p aether-validator -p aetherctl
	deploy/docker/check.sh "$(TARGET_DIR)/debug"

# Unit, property, vector and CLI tests; then every criterion bench once, as a smoke test.
test-rust:
	$(CARGO) test --workspace --no-fail-fast
	$(CARGO) test --workspace --benches

bench:
	$(CARGO) bench -p aether-crypto --bench signatures
	$(CARGO) bench -p aether-state-commitment --bench commitment

# Committed TPS of a fresh dev node over QUIC against the same-run sigverify baseline.
bench-tps:
	$(CARGO) build --release -p aether-validator -p aether-bench
	$(TARGET_DIR)/release/aether-bench tps --duration $(TPS_DURATION) --rate $(TPS_RATE) --json

# The accounts-db at 1M keys (release build); prints one JSON object.
bench-accounts:
	$(CARGO) run --release -p aether-bench -- accounts --json

# The storage kill test with more kill points than CI's 50.
CRASH_ITERATIONS ?= 1000
crash:
	AETHER_CRASH_ITERATIONS=$(CRASH_ITERATIONS) $(CARGO) test --release -p aether-account-storage --test crash -- --nocapture

# The deterministic consensus simulation over more seeds than CI's (release build).
# A failing seed prints the command that replays it (AETHER_SIM_SEED=S).
SEEDS ?= 1000
sim:
	AETHER_SIM_SEEDS=$(SEEDS) $(CARGO) test --release -p aether-consensus --test simulation -- --nocapture

test-differential:
	$(CARGO) build -p aetherctl
	tests/differential/run.sh --aetherctl "$(TARGET_DIR)/debug/aetherctl" --count $(DIFFERENTIAL_COUNT)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean

# ---- GPU signature verification (kernels/) ----
# Mesa's lavapipe: the Vulkan driver the WGSL backend's tests run on without a GPU.
SYSTEM_PACKAGES += mesa-vulkan-drivers
# Quiets Mesa's warning about a missing runtime directory in CI containers.
XDG_RUNTIME_DIR ?= /tmp
export XDG_RUNTIME_DIR

.PHONY: kernels-nvcc kernels-ptx device-bundle device-check

# PyPI's nvcc (CUDA 13.0) in kernels/.venv-cuda (git-ignored; seconds when present),
# for tests/cuda_compile.rs, which compiles every kernels/cuda/*.cu.
kernels-nvcc:
	kernels/setup-nvcc.sh >/dev/null
test-rust: kernels-nvcc

# Rebuilds the shipped PTX and cubin after a change to kernels/cuda/*.cu (commit them).
kernels-ptx: kernels-nvcc
	kernels/build-cuda.sh

# Release test and bench executables, PTX/cubin and vectors for a GPU machine without
# Rust (kernels/device-bundle, git-ignored); device-check runs them there.
device-bundle:
	CARGO="$(CARGO)" kernels/make-device-bundle.sh
device-check: device-bundle
	kernels/device-check.sh
