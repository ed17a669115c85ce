# pkgtrace — `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
BIN := target/release/pkgtrace
DEMO_LOG := corpus/strace/npm/install-local-tgz.log.zst
CORPUS_OPTS := --home /home/pkgtrace --cwd /home/pkgtrace/project

.PHONY: help build release test lint demo demo-log corpus bench fmt clean readme-rules

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

build: ## debug build
	$(CARGO) build --workspace

release: ## optimised build of the pkgtrace binary
	$(CARGO) build --release -p pkgtrace

test: ## everything CI runs: format, lint, unit, rule, golden, CLI and robustness tests
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) nextest run --workspace --locked --no-fail-fast
	$(CARGO) test --workspace --doc --locked
	@# The binary nextest built for the integration tests (a `cargo run` would
	@# build the dev profile's all over again).
	$${CARGO_TARGET_DIR:-target}/debug/pkgtrace rules test

lint: ## clippy, warnings as errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

demo: release ## install a bundled malicious npm package in the sandbox and print the report (root)
	@$(BIN) run --no-store corpus/packages/npm/steal-npmrc-dns; test $$? -le 1

demo-log: release ## analyze the bundled log of a real npm install and print the report
	@$(BIN) analyze $(CORPUS_OPTS) --canary CANARY-npm-4f1c2a9e7d3b $(DEMO_LOG); test $$? -le 1

corpus: ## re-record the corpus logs (root; sandboxed, loopback-only network)
	corpus/record.sh

bench: ## analyze throughput vs grep; trace overhead vs native and strace; sandboxed phases traced vs untraced; results query and reanalyze; scan packages/hour, 1 and 2 jobs
	bench/run.sh
	bench/trace.sh
	bench/sandbox.sh
	bench/results.sh
	bench/scan.sh

clean:
	$(CARGO) clean

readme-rules: build ## regenerate the README's rule table from rules/
	@python3 -c 'import re,subprocess,sys; t=subprocess.run(["target/debug/pkgtrace","rules","list","--format","markdown"],capture_output=True,text=True,check=True).stdout; r=open("README.md").read(); r=re.sub(r"(<!-- rules:begin -->\n).*?(<!-- rules:end -->)", lambda m: m.group(1)+t+m.group(2), r, flags=re.S); open("README.md","w").write(r)'
