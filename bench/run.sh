#!/usr/bin/env bash
# `make bench`: throughput and peak RSS of `pkgtrace analyze` on a >= 300 MB
# strace log of real npm and pip installs (bench/make-real-log.sh), against `grep -c openat` on the same file in the same run.
# See bench/README.md.
#
# Environment overrides:
#   PKGTRACE       command to benchmark instead of the freshly built
#                  target/release/pkgtrace (skips `cargo build`), e.g. a
#                  stand-in:  PKGTRACE='wc -l' PKGTRACE_ARGS= bench/run.sh
#   PKGTRACE_ARGS  arguments before the log path (default: analyze --format json)
#   BENCH_LOG      log file to use instead of target/bench-real/real.log (skips make-real-log.sh)
#   BENCH_RUNS     runs per tool, median reported (default 3)
#   BENCH_FF=0     skip the several-files figure (the same log split into an
#                  `-ff` directory, one file per task, as `strace -ff` writes)
#   BENCH_JSON     also write the results as JSON to this path
#   BENCH_STRICT=1 exit 1 when a target is missed (default: report only)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -z "${PKGTRACE:-}" ]]; then
    echo "bench: cargo build --release -p pkgtrace"
    cargo build --release -p pkgtrace
    PKGTRACE="${CARGO_TARGET_DIR:-target}/release/pkgtrace"
fi
PKGTRACE_ARGS=${PKGTRACE_ARGS-analyze --format json}

if [[ -z "${BENCH_LOG:-}" ]]; then
    # Real npm and pip installs recorded offline, >= 300 MB (cached in target/).
    bench/make-real-log.sh
    BENCH_LOG=${CARGO_TARGET_DIR:-target}/bench-real/real.log
fi
[[ -s $BENCH_LOG ]] || { echo "bench: $BENCH_LOG missing or empty" >&2; exit 2; }

echo "bench: warming the page cache"
cat "$BENCH_LOG" >/dev/null
LINES=$(wc -l <"$BENCH_LOG")

extra=()
if [[ "${BENCH_FF:-1}" != 0 ]]; then
    # The same log as `strace -ff` would have written it: one file per
    # task, merged back by time when analyzed (cached next to the log).
    FF_DIR=${BENCH_LOG%.log}.ff
    if [[ ! -d $FF_DIR || $FF_DIR -ot $BENCH_LOG ]]; then
        python3 bench/split-ff.py "$BENCH_LOG" "$FF_DIR"
        touch "$FF_DIR"
    fi
    cat "$FF_DIR"/* >/dev/null
    extra+=(--ff-dir "$FF_DIR")
fi
[[ -n "${BENCH_JSON:-}" ]] && extra+=(--json "$BENCH_JSON")
[[ "${BENCH_STRICT:-}" == 1 ]] && extra+=(--strict)

exec python3 bench/measure.py --log "$BENCH_LOG" --lines "$LINES" \
    --runs "${BENCH_RUNS:-3}" --pkgtrace "$PKGTRACE" --pkgtrace-args "$PKGTRACE_ARGS" \
    ${extra[@]+"${extra[@]}"}
