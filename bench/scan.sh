#!/usr/bin/env bash
# `pkgtrace scan` throughput: bench/scan-list.txt (32 small npm packages,
# 3 PyPI ones) scanned with --jobs 1 and then --jobs 2, each into a fresh
# results repository with a fresh cache (so each pays its own fetches and
# control runs), in the same session. Prints packages/hour and the mean
# time per package of each step (fetch, sandbox set-up, each phase,
# baseline labelling, store), from the children's progress lines. Root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -n "${PKGTRACE:-}" ]] || { cargo build --release -q -p pkgtrace; PKGTRACE=$PWD/target/release/pkgtrace; }
work=$(mktemp -d /tmp/pkgtrace-scan-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
for jobs in ${SCAN_JOBS:-1 2}; do
    echo "== scan --jobs $jobs: $(grep -c '^pkg:' bench/scan-list.txt) packages"
    "$PKGTRACE" scan bench/scan-list.txt --jobs "$jobs" --timeout 120 \
        --results "$work/results-$jobs" --cache "$work/cache-$jobs" 2>"$work/log-$jobs" || true
    tail -n 3 "$work/log-$jobs" | sed 's/^/   log: /'
done
