# ven build, test and release targets. Bun is pinned; when it is missing it is installed from the
# npm registry, so a machine with only Node.js and npm can run every target.
BUN_VERSION := 1.4.5
BUN ?= $(shell command -v bun 2>/dev/null)
ifeq ($(BUN),)
BUN := $(shell npm prefix -g)/bin/bun
endif

VERSION := $(shell node -p "require('./package.json').version" 2>/dev/null)
ENTRY := src/cli/index.ts
DIST := dist

.PHONY: all bun deps typecheck build run test test-fast e2e release clean

all: build

# Installs the pinned Bun from the npm registry when it is missing or another version is found.
bun:
	@if [ ! -x "$(BUN)" ] || [ "$$("$(BUN)" --version 2>/dev/null)" != "$(BUN_VERSION)" ]; then \
	  echo "Installing bun@$(BUN_VERSION) from the npm registry"; \
	  npm install -g --allow-scripts=bun "bun@$(BUN_VERSION)" >/dev/null 2>&1 || npm install -g "bun@$(BUN_VERSION)"; \
	fi

deps: bun
	@"$(BUN)" install --frozen-lockfile

typecheck: deps
	"$(BUN)" x tsc --noEmit -p tsconfig.json

$(DIST)/ven: deps $(shell find src -name '*.ts') package.json
	@mkdir -p $(DIST)
	"$(BUN)" build --compile --minify $(ENTRY) --outfile $(DIST)/ven

build: $(DIST)/ven

# Runs the agent on the embedded broker (127.0.0.1:1883); state goes to ~/.local/state/ven/<venId>.
run: deps
	"$(BUN)" $(ENTRY) run

# The whole suite: unit and integration tests in-process, then the end-to-end tier with the
# compiled binary and mosquitto (skipped with a notice when mosquitto is missing, except under CI=true).
test: deps build
	"$(BUN)" test --timeout 30000

test-fast: deps
	"$(BUN)" test --timeout 30000 test/unit test/integration

e2e: deps build
	"$(BUN)" test --timeout 60000 test/e2e

# Benchmarks the compiled binary against a local mosquitto and writes test/bench/RESULTS.md. Not
# part of `test`. BENCH=listener runs one measurement, BENCH_QUICK=1 shortens every measurement,
# BENCH_FOOTPRINT_SECONDS (default 300) sets the footprint run; see test/bench/run.ts.
.PHONY: bench
bench: deps build
	"$(BUN)" test/bench/run.ts

# Soak check of the compiled binary: forced reconnects through a proxy while RSS and open file
# descriptors are sampled, then prints a JSON summary. Not part of `test`. Bounded by SOAK_RECONNECTS
# (default 300) and SOAK_MAX_DURATION_S (default 300); see test/soak/soak.ts.
.PHONY: soak
soak: deps build
	"$(BUN)" test/soak/soak.ts

# Cross-compiles the release binaries with a SHA-256 checksum file. Not run in CI.
release: deps
	@mkdir -p $(DIST)/release
	"$(BUN)" build --compile --minify --target=bun-linux-x64 $(ENTRY) --outfile $(DIST)/release/ven-$(VERSION)-linux-x64
	"$(BUN)" build --compile --minify --target=bun-linux-arm64 $(ENTRY) --outfile $(DIST)/release/ven-$(VERSION)-linux-arm64
	cd $(DIST)/release && sha256sum ven-$(VERSION)-linux-* > SHA256SUMS

clean:
	rm -rf $(DIST)
