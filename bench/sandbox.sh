#!/usr/bin/env bash
# `pkgtrace run` phases: wall time traced and untraced (the same sandbox and
# commands, without ptrace), in the same session, interleaved; the ratio is
# pkgtrace's tracing overhead on a real install. Also the sandbox set-up
# time (fork to the command's first exec). Needs root. Local corpus
# packages only: no network, no registry noise in the timings.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -n "${PKGTRACE:-}" ]] || { cargo build --release -q -p pkgtrace; PKGTRACE=$PWD/target/release/pkgtrace; }
exec python3 bench/sandbox_measure.py "$PKGTRACE" "${SANDBOX_RUNS:-3}" \
    corpus/packages/npm/benign-native corpus/packages/npm/steal-npmrc-dns \
    corpus/packages/pypi/benign corpus/packages/cargo/benign
