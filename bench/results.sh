#!/usr/bin/env bash
# `make bench`, results repository part: how fast `pkgtrace query` answers
# over an index of 100,000 findings, and how many stored package versions
# `pkgtrace reanalyze` re-evaluates per second. Printed, not asserted.
# See bench/README.md ("Results repository"). Needs no root: the stored
# versions are synthesised (query) or made from a corpus log (reanalyze).
#
# Environment overrides:
#   PKGTRACE          the binary (default: a fresh target/release/pkgtrace)
#   BENCH_FINDINGS    findings in the query index (default 100000)
#   BENCH_VERSIONS    stored versions to reanalyze (default 40)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -z "${PKGTRACE:-}" ]]; then
    echo "bench: cargo build --release -p pkgtrace"
    cargo build --release -p pkgtrace
    PKGTRACE="${CARGO_TARGET_DIR:-target}/release/pkgtrace"
fi
exec python3 bench/results_bench.py --pkgtrace "$PKGTRACE" \
    --findings "${BENCH_FINDINGS:-100000}" --versions "${BENCH_VERSIONS:-40}"
